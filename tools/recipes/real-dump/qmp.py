#!/usr/bin/env python3
"""Minimal QMP client used by make.sh (no dependencies beyond python3).

usage: qmp.py SOCKET wait-panic TIMEOUT_S CONSOLE_LOG
       qmp.py SOCKET cmd '{"execute": ..., "arguments": {...}}'
"""
import json, socket, sys, time


class QMP:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rwb", buffering=0)
        self._read()  # greeting
        self.cmd({"execute": "qmp_capabilities"})

    def _read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("QMP socket closed")
        return json.loads(line)

    def cmd(self, obj):
        self.f.write((json.dumps(obj) + "\n").encode())
        while True:
            r = self._read()
            if "event" in r:
                print("qmp event:", json.dumps(r), file=sys.stderr)
                continue
            if "error" in r:
                raise RuntimeError("QMP error for %s: %s" % (obj, r["error"]))
            return r.get("return")


def main():
    path, what = sys.argv[1], sys.argv[2]
    q = QMP(path)
    if what == "wait-panic":
        timeout, console = float(sys.argv[3]), sys.argv[4]
        t0 = time.time()
        seen_panic = None
        while time.time() - t0 < timeout:
            st = q.cmd({"execute": "query-status"})["status"]
            if st == "guest-panicked":
                print("guest-panicked (paused by pvpanic)")
                return
            try:
                txt = open(console, "rb").read().decode("utf-8", "replace")
            except OSError:
                txt = ""
            if "Kernel panic - not syncing" in txt:
                if seen_panic is None:
                    seen_panic = time.time()
                elif time.time() - seen_panic > 5:
                    # pvpanic did not stop the guest: stop it ourselves
                    q.cmd({"execute": "stop"})
                    print("stopped by QMP stop after console panic (pvpanic did not fire)")
                    return
            time.sleep(0.2)
        sys.exit("timeout waiting for the guest to panic")
    elif what == "cmd":
        print(json.dumps(q.cmd(json.loads(sys.argv[3]))))
    else:
        sys.exit("unknown action " + what)


if __name__ == "__main__":
    main()
