// Spec: ELF note records as Linux writes them in /proc/vmcore (Elf64_Nhdr
// {n_namesz, n_descsz, n_type}, name and desc each padded to 4 bytes — Linux's
// kernel/crash_core.c append_elf_note), with these descriptors:
//  - NT_PRSTATUS (1), name "CORE": Linux `struct elf_prstatus` (include/linux/elfcore.h)
//    on LP64: pr_info{si_signo,si_code,si_errno} @0, pr_cursig @12, pr_sigpend @16,
//    pr_sighold @24, pr_pid @32, pr_ppid @36, pr_pgrp @40, pr_sid @44, 4 timevals @48,
//    pr_reg @112, pr_fpvalid after pr_reg. x86_64: pr_reg = struct user_regs_struct
//    (27 u64, arch/x86/include/asm/user_64.h), 336 bytes in all. arm64: pr_reg =
//    struct user_pt_regs (x0..x30, sp, pc, pstate), 392 bytes in all.
//  - VMCOREINFO, name "VMCOREINFO", type 0, desc = the text (kernel/crash_core.c).
//  - "QEMU", type 0, desc = QEMUCPUState (QEMU target/i386/arch_dump.c): version 1,
//    size, rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags, cs ds es fs gs ss ldt tr
//    gdt idt as QEMUCPUSegment {u32 selector, limit, flags, pad; u64 base}, cr[5],
//    kernel_gs_base — 440 bytes.
// Note order follows the producers: every NT_PRSTATUS, then every QEMU note
// (QEMU dump.c write_elf64_notes), then VMCOREINFO (last in /proc/vmcore).

import { Struct, concat, type Layout } from './bytes.js';
import type { Arch, CpuSpec, Resolved } from './spec.js';

export const NT_PRSTATUS = 1;

export const X86_64_PR_REG = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi',
  'orig_rax', 'rip', 'cs', 'eflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
] as const;

export const ARM64_PR_REG = [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'] as const;

export const PRSTATUS_SIZE: Record<Arch, number> = { x86_64: 336, arm64: 392 };
export const PR_PID_OFFSET = 32;
export const PR_REG_OFFSET = 112;

export const QEMU_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldt', 'tr', 'gdt', 'idt'] as const;
export const QEMU_CPUSTATE_SIZE = 440;
export const QEMU_CPUSTATE_VERSION = 1;
const QEMU_GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

/** Register names a CpuSpec may use (others are rejected, to catch typos). */
export function knownRegs(arch: Arch): Set<string> {
  if (arch === 'arm64') return new Set(ARM64_PR_REG);
  const s = new Set<string>(X86_64_PR_REG);
  s.add('rflags');
  for (const seg of QEMU_SEGMENTS) {
    s.add(seg);
    s.add(`${seg}_base`);
    s.add(`${seg}_limit`);
    s.add(`${seg}_flags`);
  }
  for (let i = 0; i < 5; i++) s.add(`cr${i}`);
  s.add('kernel_gs_base');
  return s;
}

function checkRegs(arch: Arch, cpu: CpuSpec, i: number): void {
  const known = knownRegs(arch);
  for (const [k, v] of Object.entries(cpu.regs)) {
    if (!known.has(k)) throw new Error(`mkdump: cpus[${i}].regs.${k} is not an ${arch} register`);
    if (typeof v !== 'bigint' || v < -(1n << 63n) || v >= 1n << 64n) throw new Error(`mkdump: cpus[${i}].regs.${k} must be a 64-bit bigint`);
  }
}

function reg(cpu: CpuSpec, name: string): bigint {
  if (name === 'eflags') return cpu.regs.eflags ?? cpu.regs.rflags ?? 0n;
  if (name === 'rflags') return cpu.regs.rflags ?? cpu.regs.eflags ?? 0n;
  return cpu.regs[name] ?? 0n;
}

/** One Elf64_Nhdr note with 4-byte padding of name and desc. */
export function encodeNote(name: string, type: number, desc: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(name + '\0', 'utf8');
  const nameLen = (nameBytes.length + 3) & ~3;
  const descLen = (desc.length + 3) & ~3;
  const s = new Struct(12 + nameLen + descLen);
  s.u32(0, nameBytes.length).u32(4, desc.length).u32(8, type);
  s.set(12, nameBytes).set(12 + nameLen, desc);
  return s.bytes;
}

export function prstatus(arch: Arch, cpu: CpuSpec): Uint8Array {
  const s = new Struct(PRSTATUS_SIZE[arch]);
  s.i32(PR_PID_OFFSET, cpu.prstatusPid);
  const names: readonly string[] = arch === 'x86_64' ? X86_64_PR_REG : ARM64_PR_REG;
  names.forEach((n, i) => s.u64(PR_REG_OFFSET + 8 * i, reg(cpu, n)));
  // pr_fpvalid (after pr_reg) stays 0, as in the kernel's crash_save_cpu
  return s.bytes;
}

export function qemuCpuState(cpu: CpuSpec): Uint8Array {
  const s = new Struct(QEMU_CPUSTATE_SIZE);
  s.u32(0, QEMU_CPUSTATE_VERSION).u32(4, QEMU_CPUSTATE_SIZE);
  let o = 8;
  for (const r of QEMU_GPRS) {
    s.u64(o, reg(cpu, r));
    o += 8;
  }
  s.u64(o, reg(cpu, 'rip'));
  s.u64(o + 8, reg(cpu, 'rflags'));
  o += 16; // 152
  for (const seg of QEMU_SEGMENTS) {
    s.u32(o, Number(BigInt.asUintN(32, reg(cpu, seg))));
    s.u32(o + 4, Number(BigInt.asUintN(32, reg(cpu, `${seg}_limit`))));
    s.u32(o + 8, Number(BigInt.asUintN(32, reg(cpu, `${seg}_flags`))));
    s.u64(o + 16, reg(cpu, `${seg}_base`));
    o += 24;
  }
  for (let i = 0; i < 5; i++, o += 8) s.u64(o, reg(cpu, `cr${i}`)); // 392..432
  s.u64(o, reg(cpu, 'kernel_gs_base')); // 432
  return s.bytes;
}

export interface Notes {
  bytes: Uint8Array;
  /** keys relative to the start of the note segment */
  layout: Layout;
  /** VMCOREINFO desc (the text), relative to the note segment start, when present */
  vmcoreinfo?: { offset: number; size: number };
}

/** The note segment: NT_PRSTATUS per CPU, QEMU per CPU if asked, then VMCOREINFO. */
export function buildNotes(r: Resolved): Notes {
  const parts: Uint8Array[] = [];
  const layout: Layout = {};
  let off = 0;
  const add = (key: string, note: Uint8Array) => {
    layout[key] = { offset: off, size: note.length };
    parts.push(note);
    off += note.length;
  };
  r.cpus.forEach((cpu, i) => checkRegs(r.arch, cpu, i));
  r.cpus.forEach((cpu, i) => add(`note.prstatus.${i}`, encodeNote('CORE', NT_PRSTATUS, prstatus(r.arch, cpu))));
  if (r.qemuCpuState) r.cpus.forEach((cpu, i) => add(`note.qemu.${i}`, encodeNote('QEMU', 0, qemuCpuState(cpu))));
  const out: Notes = { bytes: new Uint8Array(0), layout };
  if (r.vmcoreinfo !== undefined) {
    const text = Buffer.from(r.vmcoreinfo, 'utf8');
    const start = off;
    add('note.vmcoreinfo', encodeNote('VMCOREINFO', 0, text));
    // 12-byte header + "VMCOREINFO\0" padded to 12
    out.vmcoreinfo = { offset: start + 12 + 12, size: text.length };
    layout.vmcoreinfo = out.vmcoreinfo;
  }
  out.bytes = concat(parts);
  return out;
}

/** Shift every entry of a layout by `by`. */
export function shift(layout: Layout, by: number): Layout {
  const out: Layout = {};
  for (const [k, v] of Object.entries(layout)) out[k] = { offset: v.offset + by, size: v.size };
  return out;
}
