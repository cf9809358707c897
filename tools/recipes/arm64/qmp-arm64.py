#!/usr/bin/env python3
"""QMP steps of make.sh for an arm64 guest (no pvpanic in Debian's arm64 cloud kernel).

usage: qmp-arm64.py SOCKET wait-end-panic TIMEOUT_S CONSOLE_LOG
       qmp-arm64.py SOCKET hmp 'info registers -a'
       qmp-arm64.py SOCKET cmd '{"execute": ..., "arguments": {...}}'

wait-end-panic polls the serial console log for the kernel's
"---[ end Kernel panic" line (printed by panic() after the other CPUs are stopped
and just before it spins), then stops the guest with QMP `stop`.
The QMP client itself is ../real-dump/qmp.py's.
"""
import json, os, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "real-dump"))
from qmp import QMP  # noqa: E402


def main():
    path, what = sys.argv[1], sys.argv[2]
    q = QMP(path)
    if what == "wait-end-panic":
        timeout, console = float(sys.argv[3]), sys.argv[4]
        t0 = time.time()
        while time.time() - t0 < timeout:
            try:
                txt = open(console, "rb").read().decode("utf-8", "replace")
            except OSError:
                txt = ""
            if "---[ end Kernel panic" in txt:
                # let the console line drain, then freeze both vCPUs
                time.sleep(1.0)
                q.cmd({"execute": "stop"})
                print("stopped by QMP stop %.1f s after boot, 1 s after the console's '---[ end Kernel panic' line"
                      % (time.time() - t0))
                return
            time.sleep(0.2)
        sys.exit("timeout waiting for '---[ end Kernel panic' on the console")
    elif what == "hmp":
        print(q.cmd({"execute": "human-monitor-command", "arguments": {"command-line": sys.argv[3]}}), end="")
    elif what == "cmd":
        print(json.dumps(q.cmd(json.loads(sys.argv[3]))))
    else:
        sys.exit("unknown action " + what)


if __name__ == "__main__":
    main()
