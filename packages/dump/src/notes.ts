/**
 * ELF notes of a vmcore (ELF gABI "Note Section"; Linux include/uapi/linux/elf.h).
 * - "CORE" NT_PRSTATUS: `struct elf_prstatus` (include/linux/elfcore.h) with
 *   pr_reg = `struct user_regs_struct` (arch/x86/include/asm/user_64.h) on x86_64,
 *   `struct user_pt_regs` (x0..x30, sp, pc, pstate) on arm64.
 * - "VMCOREINFO" type 0: the VMCOREINFO text.
 * - "QEMU": QEMU's QEMUCPUState (qemu target/i386/arch_dump.c), one per CPU,
 *   written by `dump-guest-memory` after all the NT_PRSTATUS notes.
 */
import type { Arch } from './dump.js';

export interface ElfNote {
  name: string;
  type: number;
  desc: Uint8Array;
}

export const NT_PRSTATUS = 1;

export function parseNotes(bytes: Uint8Array, littleEndian: boolean): { notes: ElfNote[]; problem?: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const notes: ElfNote[] = [];
  let off = 0;
  while (off + 12 <= bytes.length) {
    const namesz = view.getUint32(off, littleEndian);
    const descsz = view.getUint32(off + 4, littleEndian);
    const type = view.getUint32(off + 8, littleEndian);
    if (namesz === 0 && descsz === 0 && type === 0) break; // padding after the last note
    const nameStart = off + 12;
    const descStart = nameStart + align4(namesz);
    const end = descStart + align4(descsz);
    if (descStart + descsz > bytes.length || namesz > 256) {
      return { notes, problem: `note at offset ${off} runs past the end of the notes (namesz ${namesz}, descsz ${descsz})` };
    }
    const name = Buffer.from(bytes.subarray(nameStart, nameStart + namesz)).toString('latin1').replace(/\0+$/, '');
    notes.push({ name, type, desc: bytes.subarray(descStart, descStart + descsz) });
    off = end;
  }
  return { notes };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** pr_reg order of `struct user_regs_struct` on x86_64. */
const X86_64_PR_REG = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi',
  'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
];
const ARM64_PR_REG = [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'];
const PR_REG_OFFSET = 112; // after pr_info, pr_cursig, pr_sigpend, pr_sighold, 4 ids, 4 timevals
const PR_PID_OFFSET = 32;

export const PRSTATUS_SIZE: Record<Arch, number> = { x86_64: 336, arm64: 392 };

export interface Prstatus {
  prPid: number;
  regs: Record<string, bigint>;
}

export function parsePrstatus(desc: Uint8Array, arch: Arch): Prstatus | null {
  const names = arch === 'x86_64' ? X86_64_PR_REG : ARM64_PR_REG;
  if (desc.length < PR_REG_OFFSET + names.length * 8) return null;
  const view = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const regs: Record<string, bigint> = {};
  names.forEach((name, i) => {
    regs[name] = view.getBigUint64(PR_REG_OFFSET + i * 8, true);
  });
  return { prPid: view.getInt32(PR_PID_OFFSET, true), regs };
}

/** QEMUCPUState: 16 GPRs, rip, rflags, 10 segments of 24 bytes, cr0..cr4, kernel_gs_base (version 1). */
const QEMU_GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rip', 'rflags'];
const QEMU_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldt', 'tr', 'gdt', 'idt'];

export function parseQemuCpuState(desc: Uint8Array): Record<string, bigint> | null {
  const segStart = 8 + QEMU_GPRS.length * 8;
  const crStart = segStart + QEMU_SEGMENTS.length * 24;
  if (desc.length < crStart + 5 * 8) return null;
  const view = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
  const out: Record<string, bigint> = {};
  out['version'] = BigInt(view.getUint32(0, true));
  QEMU_GPRS.forEach((name, i) => (out[name] = view.getBigUint64(8 + i * 8, true)));
  QEMU_SEGMENTS.forEach((seg, i) => {
    const o = segStart + i * 24;
    out[`${seg}_selector`] = BigInt(view.getUint32(o, true));
    out[`${seg}_limit`] = BigInt(view.getUint32(o + 4, true));
    out[`${seg}_flags`] = BigInt(view.getUint32(o + 8, true));
    out[`${seg}_base`] = view.getBigUint64(o + 16, true);
  });
  for (let i = 0; i < 5; i++) out[`cr${i}`] = view.getBigUint64(crStart + i * 8, true);
  if (desc.length >= crStart + 48) out['kernel_gs_base'] = view.getBigUint64(crStart + 40, true);
  return out;
}

export interface CpuState {
  cpu: number;
  prPid: number;
  /** What pr_pid means: QEMU stores the CPU number + 1 there, kdump the task's PID. */
  prPidMeaning: 'pid' | 'cpu-plus-one';
  regs: Record<string, bigint>;
  qemu?: Record<string, bigint>;
}

/**
 * Pairs the Nth NT_PRSTATUS with the Nth QEMU note: QEMU writes them in CPU order.
 * `byQemu`: the caller knows QEMU wrote the notes though there is no "QEMU" note (QEMU writes
 * those for x86 only; an arm64 dump is known by its header). QEMU's pr_pid is the vCPU's
 * cpu_index + 1 (qemu dump/dump.c, target/arm/arch_dump.c), so the CPU number is pr_pid - 1
 * when every note agrees on that, else the note's position.
 */
export function cpuStates(notes: ElfNote[], arch: Arch, byQemu = false): CpuState[] {
  const prstatus = notes.filter((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
  const qemu = notes.filter((n) => n.name === 'QEMU');
  const fromQemu = qemu.length > 0 || byQemu;
  const parsedAll = prstatus.map((note) => parsePrstatus(note.desc, arch));
  const pids = parsedAll.flatMap((p) => (p ? [p.prPid] : []));
  const pidIsCpu = byQemu && pids.length > 0 && new Set(pids).size === pids.length && pids.every((p) => p >= 1 && p <= prstatus.length);
  const cpus: CpuState[] = [];
  parsedAll.forEach((parsed, index) => {
    if (!parsed) return;
    const cpu = pidIsCpu ? parsed.prPid - 1 : index;
    const state: CpuState = { cpu, prPid: parsed.prPid, prPidMeaning: fromQemu ? 'cpu-plus-one' : 'pid', regs: parsed.regs };
    const q = qemu[index] ? parseQemuCpuState(qemu[index]!.desc) : null;
    if (q) state.qemu = q;
    cpus.push(state);
  });
  return pidIsCpu ? cpus.sort((a, b) => a.cpu - b.cpu) : cpus;
}

export function vmcoreinfoText(notes: ElfNote[]): string | undefined {
  const note = notes.find((n) => n.name === 'VMCOREINFO');
  return note ? Buffer.from(note.desc).toString('latin1').replace(/\0+$/, '') : undefined;
}
