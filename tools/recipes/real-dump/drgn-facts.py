# drgn script used by collect.sh:  drgn -q -c DUMP -s vmlinux drgn-facts.py
# (drgn 0.0.22 has no -e option.)  Prints a few facts, one per line.
from drgn.helpers.linux.pid import for_each_task


def step(label, fn):
    try:
        print(label + ":", fn())
    except Exception as e:  # keep going: record what each call does
        print(label + ": ERROR %s: %s" % (type(e).__name__, e))


step("init_task.comm", lambda: prog["init_task"].comm.string_().decode())
step("UTS_RELEASE", lambda: prog["UTS_RELEASE"].string_().decode())
step("panic_cpu", lambda: prog["panic_cpu"].counter.value_())
step("crashed_thread.tid", lambda: prog.crashed_thread().tid)
step("crashed_thread.comm", lambda: prog.crashed_thread().object.comm.string_().decode())
step("crashed_thread.cpu", lambda: prog.crashed_thread().object.thread_info.cpu.value_())
step("tasks", lambda: sorted((t.pid.value_(), t.comm.string_().decode()) for t in for_each_task(prog)))
step("threads(tid)", lambda: sorted(t.tid for t in prog.threads()))
step("crashed_thread.stack_trace", lambda: "\n" + str(prog.crashed_thread().stack_trace()))
