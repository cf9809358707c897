"""drgn script for the arm64 references (run: drgn-run -q -c DUMP.elf -s vmlinux drgn-arm64.py DUMP.elf).

Prints, each under a '### NAME' line: drgn's crashed_thread() and its stack (drgn a2d50fd6 picks it
from panic_cpu; Debian's 0.0.22 took NT_PRSTATUS pr_pid for a PID, and QEMU's pr_pid is vCPU + 1),
then each CPU's trace started from that CPU's own NT_PRSTATUS registers as a struct pt_regs (arm64's
pt_regs begins with user_pt_regs: x0..x30, sp, pc, pstate = pr_reg), the tasks, the modules and
init_uts_ns.
"""
import struct
import sys

from drgn import Object
from drgn.helpers.linux.module import for_each_module
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.sched import task_cpu

path = sys.argv[1]


def prstatus_notes(path):
    """(pr_pid, pr_reg bytes) of each NT_PRSTATUS in the ELF's PT_NOTEs, in file order."""
    with open(path, "rb") as f:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", eh, 0x36)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
        out = []
        for i in range(phnum):
            p_type, _, p_off, _, _, p_filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
            if p_type != 4:
                continue
            f.seek(p_off)
            blob = f.read(p_filesz)
            o = 0
            while o + 12 <= len(blob):
                namesz, descsz, ntype = struct.unpack_from("<III", blob, o)
                name = blob[o + 12:o + 12 + namesz].rstrip(b"\0")
                d = o + 12 + ((namesz + 3) & ~3)
                desc = blob[d:d + descsz]
                if name == b"CORE" and ntype == 1:
                    out.append((struct.unpack_from("<i", desc, 32)[0], desc[112:112 + 34 * 8]))
                o = d + ((descsz + 3) & ~3)
        return out


print("### version")
import drgn  # noqa: E402
print("drgn", drgn.__version__, prog.platform)

print("### crashed_thread() (its choice and its trace; QEMU gives pr_pid = vCPU+1, not a PID)")
t = prog.crashed_thread()
print("tid", t.tid, "comm", t.object.comm.string_().decode() if t.object else None)
try:
    print(t.stack_trace())
except Exception as e:  # noqa: BLE001
    print("error:", type(e).__name__, e)

print("### panic_cpu")
panic_cpu = int(prog["panic_cpu"].counter)
print(panic_cpu)

notes = prstatus_notes(path)
print("### prstatus notes (pr_pid, pc)")
for pid, reg in notes:
    print(pid, hex(struct.unpack_from("<Q", reg, 32 * 8)[0]))

regs_type = prog.type("struct pt_regs")
for cpu, (pid, reg) in enumerate(notes):
    print("### stack_trace cpu %d (pr_pid %d) from its NT_PRSTATUS as struct pt_regs%s"
          % (cpu, pid, ", the panic CPU" if cpu == panic_cpu else ""))
    raw = reg + bytes(regs_type.size - len(reg))
    print(prog.stack_trace(Object.from_bytes_(prog, regs_type, raw)))

print("### for_each_task (pid comm cpu state)")
for task in for_each_task(prog):
    print(int(task.pid), task.comm.string_().decode(), task_cpu(task), int(task.__state))

print("### for_each_module")
for m in for_each_module(prog):
    print(m.name.string_().decode(), hex(int(m.mem[0].base)) if m.prog_.type("struct module").has_member("mem") else hex(int(m.core_layout.base)))

print("### init_uts_ns")
print(prog["init_uts_ns"])
