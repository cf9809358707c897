# drgn script used by collect.sh:  drgn -q -c DUMP -s vmlinux -s crashmod.ko drgn-scenario.py
# (drgn 0.0.22 has no -e.) Every step prints its label, then its answer or the error drgn gave.
import os
from drgn import Object, cast
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.pid import for_each_task

LIST = os.environ.get("VMPIPE_LIST", "vmpipe_queue")
# manytasks: pid and comm of every task, no stack traces (2,000 stacks would not fit the fixture budget)
TRACES = os.environ.get("VMPIPE_TASK_TRACES", "1") != "0"


def step(label, fn):
    try:
        print(label + ":", fn())
    except Exception as e:  # keep going: record what each call does
        print(label + ": ERROR %s: %s" % (type(e).__name__, e))


def trace(t):
    try:
        return str(prog.stack_trace(t))
    except Exception as e:
        return "ERROR %s: %s" % (type(e).__name__, e)


def queue():
    out = []
    head = prog[LIST].address_of_()
    try:
        for it in list_for_each_entry("struct vmpipe_item", head, "node"):
            out.append("0x%x seq=%d flags=0x%x next=0x%x" % (it.value_(), it.seq, it.flags, it.node.next.value_()))
    except Exception as e:  # the seed's poisoned entry ends the walk here
        out.append("ERROR %s: %s" % (type(e).__name__, e))
    n = len([l for l in out if not l.startswith("ERROR")])
    if len(out) > 20:  # a long list: its length, its ends
        out = out[:5] + ["..."] + out[-5:]
    return "%d entries\n" % n + "\n".join(out)


step("panic_cpu", lambda: prog["panic_cpu"].counter.value_())
step("crashed_thread.tid", lambda: prog.crashed_thread().tid)
step("crashed_thread.comm", lambda: prog.crashed_thread().object.comm.string_().decode())
step("crashed_thread.cpu", lambda: prog.crashed_thread().object.thread_info.cpu.value_())
step("crashed_thread.stack_trace", lambda: "\n" + str(prog.crashed_thread().stack_trace()))
step("tasks", lambda: len(list(for_each_task(prog))))
step("list_for_each_entry(struct vmpipe_item, &" + LIST + ", node)", queue)
print("every task's stack trace:" if TRACES else "every task (VMPIPE_TASK_TRACES=0: no traces):")
tasks = []
try:
    for t in for_each_task(prog):
        try:
            tasks.append((t.pid.value_(), t))
        except Exception as e:  # a task_struct the dump does not hold (an excluded page)
            print("task 0x%x: ERROR %s: %s" % (t.value_(), type(e).__name__, e))
except Exception as e:
    print("for_each_task: ERROR %s: %s" % (type(e).__name__, e))
for pid, t in sorted(tasks, key=lambda pt: pt[0]):
    try:
        comm = t.comm.string_().decode()
    except Exception as e:
        comm = "ERROR %s: %s" % (type(e).__name__, e)
    print("pid %d %s:" % (pid, comm))
    if TRACES:
        print(trace(t))
