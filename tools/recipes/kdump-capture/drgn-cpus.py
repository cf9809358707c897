# drgn script for the kdump capture (tools/recipes/kdump-capture/cut.sh):
#   drgn -q -c vmcore.kdump -s vmlinux -s crashmod.ko drgn-cpus.py
# Every CPU's current task and its stack trace from that CPU's NT_PRSTATUS (what
# `backtrace --all-cpus` is compared with), the crashed thread, and the NT_PRSTATUS pr_pid
# values as drgn reads them. Works with drgn 0.0.22 and current drgn (no -e in 0.0.22).
from drgn.helpers.linux.cpumask import for_each_online_cpu
from drgn.helpers.linux.percpu import per_cpu

try:
    from drgn.helpers.linux.sched import cpu_curr
except ImportError:  # drgn 0.0.22: the same thing, cpu_rq(cpu)->curr
    def cpu_curr(prog, cpu):
        return per_cpu(prog["runqueues"], cpu).curr


def step(label, fn):
    try:
        print(label + ":", fn())
    except Exception as e:  # keep going: record what each call does
        print(label + ": ERROR %s: %s" % (type(e).__name__, e))


step("panic_cpu", lambda: prog["panic_cpu"].counter.value_())
step("crashed_thread.tid", lambda: prog.crashed_thread().tid)
step("crashed_thread.comm", lambda: prog.crashed_thread().object.comm.string_().decode())
for cpu in for_each_online_cpu(prog):
    t = cpu_curr(prog, cpu)
    print("cpu %d: pid %d comm %s task 0x%x" % (cpu, t.pid.value_(), t.comm.string_().decode(), t.value_()))
    try:
        print(prog.stack_trace(t))
    except Exception as e:
        print("ERROR %s: %s" % (type(e).__name__, e))
