/**
 * `struct pt_regs` on x86_64 (arch/x86/include/asm/ptrace.h; the layout is
 * the ptrace user ABI, arch/x86/include/uapi/asm/ptrace.h, and never
 * changes): r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di orig_ax, then
 * the hardware's iret frame ip cs flags sp ss. Exception and interrupt entry
 * code saves one on the stack; ORC_TYPE_REGS points at a whole one,
 * ORC_TYPE_REGS_PARTIAL at its iret frame only (IRET_FRAME_OFFSET = 16 words
 * in). Registers are named as the `cpu` record names them.
 */
import type { Program } from '../program.js';

export const PT_REGS_NAMES = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi', 'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss'] as const;
export type PtRegName = (typeof PT_REGS_NAMES)[number];
export const PT_REGS_SIZE = PT_REGS_NAMES.length * 8; // 168
/** offsetof(struct pt_regs, ip): where an iret frame starts */
export const IRET_FRAME_OFFSET = 16 * 8;
export const IRET_FRAME_SIZE = 5 * 8;

export type Regs = Partial<Record<PtRegName, bigint>>;

/** The pt_regs at addr, or only its iret frame (ip cs flags sp ss) when `partial`. Throws MemoryError. */
export function readPtRegs(prog: Program, addr: bigint, partial = false): Regs {
  const first = partial ? 16 : 0;
  const bytes = prog.mem.readBytes(addr + BigInt(first * 8), (PT_REGS_NAMES.length - first) * 8);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const regs: Regs = {};
  for (let i = first; i < PT_REGS_NAMES.length; i++) regs[PT_REGS_NAMES[i]!] = dv.getBigUint64((i - first) * 8, true);
  return regs;
}

/** user_mode(regs): the CPL in the saved CS is 3. */
export function userMode(regs: Regs): boolean {
  return regs.cs !== undefined && (regs.cs & 3n) === 3n;
}
