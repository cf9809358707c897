#!/usr/bin/env python3
"""The facts of one scenario fixture, for tests: read out of its console log and of the
reference tools' outputs in expected/ (nothing here is typed by hand).

usage: facts.py SCENARIO FIXDIR > FIXDIR/expected/facts.json
"""
import json, os, re, sys

scen, fix = sys.argv[1], sys.argv[2]
exp = os.path.join(fix, "expected")


def read(name):
    try:
        return open(os.path.join(exp, name), errors="replace").read()
    except OSError:
        return ""


facts = {"scenario": scen, "sources": "console.log, expected/crash.*.txt, expected/drgn.scenario.txt"}

# ---- console (the kernel's own words)
con = open(os.path.join(fix, "console.log"), errors="replace").read()
strip = lambda l: re.sub(r"^\[\s*[\d.]+\]\s?", "", l)
lines = [strip(l) for l in con.splitlines()]
c = {}
started = False  # reports count from the moment crashmod is loaded (boot prints NMI watchdog lines too)
for l in lines:
    if l.startswith("crashmod: mode="):
        started = True
    if started and re.match(r"(general protection fault|BUG:|kernel BUG at|WARNING:|watchdog:|INFO: task|list_del corruption|rcu: INFO|Kernel panic - not syncing|Oops)", l):
        c.setdefault("first_report", l)
    m = re.match(r"Kernel panic - not syncing: (.*)", l)
    if m:
        c["panic_message"] = m.group(1)
    m = re.match(r"CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (\S+)", l)
    if m and "cpu" not in c:
        c.update(cpu=int(m.group(1)), pid=int(m.group(2)), comm=m.group(3))
    m = re.match(r"RIP: 0010:(\S+)\+(0x[0-9a-f]+)/(0x[0-9a-f]+)(?: \[(\w+)\])?", l)
    if m and "rip" not in c:
        c["rip"] = {"function": m.group(1), "offset": m.group(2), "size": m.group(3), "module": m.group(4)}
    m = re.search(r"general protection fault, probably for non-canonical address (0x[0-9a-f]+)", l)
    if m:
        c["gpf_address"] = m.group(1)
    m = re.match(r"BUG: kernel NULL pointer dereference, address: ([0-9a-f]+)", l)
    if m:
        c["null_address"] = "0x" + m.group(1)
    m = re.match(r"crashmod: mode=(\S+) vmpipe_queue=([0-9a-f]+) cache=([0-9a-f]+)", l)
    if m:
        c["vmpipe_queue"], c["vmpipe_item_cache"] = "0x" + m.group(2), "0x" + m.group(3)
    m = re.match(r"crashmod: vmpipe_long=([0-9a-f]+) holds (\d+)", l)
    if m:
        c["vmpipe_long"], c["vmpipe_long_entries"] = "0x" + m.group(1), int(m.group(2))
trace, inside = [], False
for l in lines:
    if l.strip() == "Call Trace:" and not trace:
        inside = True
        continue
    if inside:
        if l.strip().startswith("Modules linked in") or l.startswith("---[") or re.match(r"RIP:|Code:", l):
            break
        if l.strip() in ("<TASK>", "</TASK>", "<IRQ>", "</IRQ>", "<NMI>", "</NMI>", "<SOFTIRQ>", "</SOFTIRQ>"):
            trace.append(l.strip())
        else:
            trace.append(l.strip())
c["call_trace"] = trace
facts["console"] = c

# ---- crash
bt = read("crash.bt.txt")
k = {}
m = re.search(r"PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)\s+COMMAND: \"([^\"]*)\"", bt)
if m:
    k["panic_task"] = {"pid": int(m.group(1)), "task": "0x" + m.group(2), "cpu": int(m.group(3)), "comm": m.group(4)}
k["frames"] = [{"sp": "0x" + a, "function": f, "pc": "0x" + pc} for a, f, pc in re.findall(r"#\d+ \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)", bt)]
m = re.search(r"\[exception RIP: (\S+)\]\s+RIP: ([0-9a-f]+)\s+RSP: ([0-9a-f]+)", bt)
if m:
    k["exception"] = {"rip_symbol": m.group(1), "rip": "0x" + m.group(2), "rsp": "0x" + m.group(3)}
    regs = dict(re.findall(r"\b([A-Z0-9]{2,8}): ([0-9a-f]{8,16})\b", bt[m.start():]))
    k["exception"]["regs"] = {r.lower(): "0x" + v for r, v in regs.items() if r not in ("RIP", "RSP", "TASK", "PID", "CPU")}
for name in ("vmpipe_queue", "vmpipe_victim", "vmpipe_long"):
    m = re.search(r"^([0-9a-f]+) \(\w\) " + name, read("crash.sym-%s.txt" % name), re.M)
    if m:
        k["sym_" + name] = "0x" + m.group(1)
m = re.search(r"= \(struct vmpipe_item \*\) (0x[0-9a-f]+)", read("crash.p-vmpipe_victim.txt"))
if m:
    k["vmpipe_victim"] = m.group(1)
m = re.search(r"= \(struct kmem_cache \*\) (0x[0-9a-f]+)", read("crash.p-vmpipe_item_cache.txt"))
if m:
    k["vmpipe_item_cache"] = m.group(1)
m = re.search(r"^([0-9a-f]+)\s+crashmod\s+([0-9a-f]+)\s+(\d+)", read("crash.mod.txt"), re.M)
if m:
    k["crashmod"] = {"module": "0x" + m.group(1), "base": "0x" + m.group(2), "size": int(m.group(3))}
lst = read("crash.list-H-vmpipe_queue-s-vmpipe_item.txt")
k["vmpipe_queue_entries"] = ["0x" + a for a in re.findall(r"^([0-9a-f]{16})$", lst, re.M)]
m = re.search(r"^\s*(\d+)\s*$", read("crash.list-H-vmpipe_long-wc-l.txt"), re.M)
if m:
    k["vmpipe_long_count"] = int(m.group(1))
ps = read("crash.ps.txt")
k["ps_lines"] = max(0, len(ps.splitlines()) - 1)
facts["crash"] = k

# ---- drgn 0.0.22
dr = read("drgn.scenario.txt")
d = {}
for key in ("panic_cpu", "crashed_thread.tid", "crashed_thread.comm", "crashed_thread.cpu", "tasks"):
    m = re.search(r"^" + re.escape(key) + r": (.*)$", dr, re.M)
    if m:
        d[key] = m.group(1)
m = re.search(r"^crashed_thread.stack_trace: \n((?:#.*\n)+)", dr, re.M)
if m:
    d["crashed_thread.stack_trace"] = m.group(1).splitlines()
facts["drgn"] = d
print(json.dumps(facts, indent=1))
