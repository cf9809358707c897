"""drgn reference for the arm64 oops dump: tools/recipes/arm64/README.md#oops.

run: drgn-run -q -c qemu.elf -s vmlinux -s crashmod.ko drgn-oops.py

Prints drgn's view of the oops the console shows, each part under a '### NAME' line:
  crashed_thread   the task and panic_cpu
  stack_trace      its stack from the panic CPU's NT_PRSTATUS (panic, die, the fault path, the exception
                   entry el1h_64_sync, then the faulting function); at most 16 frames (see NOTES.md: drgn
                   a2d50fd6 repeats the faulting leaf function without end below el1h_64_sync)
  fault_regs       the struct pt_regs of the fault, read from the dump: kernel_entry (arch/arm64/kernel/entry.S)
                   saves it on the stack and links a frame record at pt_regs.stackframe (x29 = &regs->stackframe),
                   so the exception entry's frame (el1h_64_sync) has fp = &regs->stackframe; these are the
                   registers the oops printed as pc/lr/sp/x29..x0/pstate (die()'s regs argument itself is
                   optimized out in this build's DWARF)
"""
from drgn import Object, offsetof

NAMES = ["pc", "lr", "sp", "pstate"] + [f"x{n}" for n in range(29, -1, -1)]


def show_regs(regs):
    print(f"address 0x{regs.address_:016x}")
    r = regs.regs
    vals = {"pc": regs.pc.value_(), "sp": regs.sp.value_(), "pstate": regs.pstate.value_(), "lr": r[30].value_()}
    for n in range(30):
        vals[f"x{n}"] = r[n].value_()
    for k in NAMES:
        print(f"{k} 0x{vals[k]:016x}")
    sym = prog.symbol(vals["pc"])
    print(f"pc_symbol {sym.name}+0x{vals['pc'] - sym.address:x}/0x{sym.size:x}")
    lr = vals["lr"] | 0xffff000000000000  # the PAC bits stripped, as ptrauth_strip_kernel_insn_pac does for TTBR1 addresses
    lsym = prog.symbol(lr)
    print(f"lr_symbol {lsym.name}+0x{lr - lsym.address:x}/0x{lsym.size:x}")
    print(f"orig_x0 0x{regs.orig_x0.value_():016x} syscallno {regs.syscallno.value_()}")


t = prog.crashed_thread()
print("### crashed_thread")
print(f"tid {t.tid} comm {t.object.comm.string_().decode()} panic_cpu {prog['panic_cpu'].counter.value_()} task 0x{t.object.value_():016x}")
trace = t.stack_trace()
print("### stack_trace")
for i, f in enumerate(trace):
    if i >= 16:
        print("...")
        break
    print(f"#{i} {f.name} pc=0x{f.pc:x}")
print("### fault_regs")
entry = next(f for f in trace if f.name == "el1h_64_sync")
base = entry.registers()["fp"] - offsetof(prog.type("struct pt_regs"), "stackframe")
print(f"frame el1h_64_sync fp 0x{entry.registers()['fp']:016x}")
show_regs(Object(prog, "struct pt_regs", address=base))
