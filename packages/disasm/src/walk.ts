/**
 * Walking a function's instructions: crash's `[FTRACE NOP]`, the window around
 * an address (`dis -r`/`-f`: boundaries come from decoding from the
 * function's start, never from guessing backwards), and memory against the
 * file it was loaded from, instruction by instruction.
 *
 * Why memory and file differ on x86_64 (arch/x86/kernel/alternative.c,
 * ftrace.c, jump_label.c, static_call.c; arch/x86/tools/relocs.c):
 *  - ftrace: each traced function's `call __fentry__` (from __mcount_loc)
 *    becomes a 5-byte nop at boot; crash prints it as `nopl 0x0(%rax,%rax,1) [FTRACE NOP]`;
 *  - KASLR: 32-bit absolute addresses (`mov $0xffffffff823697b9,%rdi`) move
 *    by the KASLR offset, and %gs-relative per-CPU offsets move the other way;
 *  - return thunks: `jmp __x86_return_thunk` (.return_sites) becomes `ret; int3`
 *    when the CPU needs no retbleed mitigation;
 *  - retpolines: `call __x86_indirect_thunk_r*` (.retpoline_sites) may become
 *    `call *%r*` or `lfence; call *%r*`;
 *  - paravirt: `call *pv_ops+N(%rip)` (.parainstructions) becomes the native
 *    instruction (`cli`, `sti`, `pushf; pop %rax`) padded with nops;
 *  - alternatives, paravirt and static keys/calls: replaced instructions,
 *    nops turned into jumps and back.
 */
import type { PatchSite, PatchSites } from './patch-sites.js';
import type { Instruction } from './x86_64.js';

/** A 5-byte nop at a function's start (or after its endbr64): crash's `[FTRACE NOP]`. */
export function isFtraceNop(insn: Instruction, functionStart: bigint, insns?: readonly Instruction[]): boolean {
  const b = insn.bytes;
  const nop5 = b.length === 5 && b[0] === 0x0f && b[1] === 0x1f && b[2] === 0x44 && b[3] === 0x00 && b[4] === 0x00;
  if (!nop5) return false;
  if (insn.addr === functionStart) return true;
  const first = insns?.[0];
  return insn.addr === functionStart + 4n && first !== undefined && first.addr === functionStart && first.mnemonic === 'endbr64';
}

/**
 * Up to `before` instructions before the one containing `addr` and `after`
 * instructions after it, from a walk that started at the function's start.
 * `index` is the position of the instruction containing addr in the result,
 * -1 when addr falls inside no decoded instruction (mid-instruction addresses
 * are inside one; an address past the walk has none).
 */
export function around(insns: readonly Instruction[], addr: bigint, before: number, after: number): { insns: Instruction[]; index: number } {
  const at = insns.findIndex((i) => addr >= i.addr && addr < i.addr + BigInt(i.length));
  if (at < 0) return { insns: [], index: -1 };
  const from = Math.max(0, at - before);
  return { insns: insns.slice(from, at + after + 1), index: at - from };
}

export type DiffReason = 'ftrace' | 'kaslr-relocation' | 'return-thunk' | 'retpoline' | 'paravirt' | 'static-key' | 'static-call' | 'alternative' | 'patched';

export interface DiffRow {
  /** the instruction in memory (what ran) */
  memory?: Instruction;
  /** the file's instruction(s) covering the same bytes */
  file: Instruction[];
  same: boolean;
  /** why they differ: a known pattern, or the patch site the vmlinux's tables list there; 'patched' when neither says */
  reason?: DiffReason;
  /** the patch site (static key, static call, alternative) at this instruction, when the reason is one */
  site?: PatchSite;
}

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Differ only in one 4-byte field whose little-endian value moved by the KASLR offset (either way): a relocation. */
function isRelocation(mem: Uint8Array, file: Uint8Array, kaslrOffset: bigint): boolean {
  if (mem.length !== file.length || kaslrOffset === 0n) return false;
  let first = -1;
  let last = -1;
  for (let i = 0; i < mem.length; i++) {
    if (mem[i] !== file[i]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) return false;
  const k = BigInt.asUintN(32, kaslrOffset);
  for (let start = Math.max(0, last - 3); start <= first && start + 4 <= mem.length; start++) {
    const m = new DataView(mem.buffer, mem.byteOffset + start, 4).getUint32(0, true);
    const f = new DataView(file.buffer, file.byteOffset + start, 4).getUint32(0, true);
    const d = BigInt.asUintN(32, BigInt(m) - BigInt(f));
    if (d === k || d === BigInt.asUintN(32, -k)) return true;
  }
  return false;
}

/**
 * Memory against file, aligned by address: both walks are cut where both
 * have an instruction boundary, so a patched span (a 5-byte nop for a call,
 * `ret; int3` for a jmp) is one row with the file's instructions beside it.
 * `fileAddr(memAddr)` maps a memory address to the file's (KASLR).
 */
export function diffInstructions(memory: readonly Instruction[], file: readonly Instruction[], kaslrOffset: bigint, symbolAt: (target: bigint) => string | undefined = () => undefined, sites?: PatchSites): DiffRow[] {
  const rows: DiffRow[] = [];
  let j = 0;
  for (let i = 0; i < memory.length; i++) {
    const m = memory[i]!;
    const fileStart = m.addr - kaslrOffset;
    while (j < file.length && file[j]!.addr < fileStart) j++;
    const covering: Instruction[] = [];
    let k = j;
    const end = fileStart + BigInt(m.length);
    while (k < file.length && file[k]!.addr < end) covering.push(file[k++]!);
    const aligned = covering.length > 0 && covering[0]!.addr === fileStart && covering[covering.length - 1]!.addr + BigInt(covering[covering.length - 1]!.length) === end;
    if (aligned && covering.length === 1 && eqBytes(covering[0]!.bytes, m.bytes)) {
      rows.push({ memory: m, file: covering, same: true });
      continue;
    }
    const row: DiffRow = { memory: m, file: covering, same: false };
    const f0 = covering[0];
    const fileTarget = f0?.target !== undefined ? symbolAt(f0.target + kaslrOffset) ?? '' : '';
    const memoryTarget = m.target !== undefined ? symbolAt(m.target) ?? '' : '';
    const site = sites?.at(fileStart, m.length);
    // x86: `call __fentry__` became a nop at boot, or `call ftrace_caller` when traced
    if (f0 && /^__fentry__/.test(fileTarget) && (m.mnemonic.startsWith('nop') || /^ftrace_(regs_)?caller/.test(memoryTarget))) row.reason = 'ftrace';
    // arm64 (DYNAMIC_FTRACE_WITH_REGS): the first patchable-entry nop becomes `mov x9, x30` at boot, the second `bl ftrace_caller` when traced
    else if (f0?.mnemonic === 'nop' && (m.text === 'mov x9, x30' || /^ftrace_(regs_)?caller/.test(memoryTarget))) row.reason = 'ftrace';
    else if (f0 && /^__x86_return_thunk/.test(fileTarget) && m.mnemonic === 'ret') row.reason = 'return-thunk';
    else if (f0 && /^__x86_indirect_(thunk|jump_thunk|call_thunk)/.test(fileTarget)) row.reason = 'retpoline';
    else if (f0 && f0.flow === 'indirect-call' && /<pv_ops\+/.test(f0.comment ?? '')) row.reason = 'paravirt';
    else if (aligned && covering.length === 1 && isRelocation(m.bytes, f0!.bytes, kaslrOffset)) row.reason = 'kaslr-relocation';
    else if (site) {
      row.reason = site.kind;
      row.site = site;
    } else row.reason = 'patched';
    rows.push(row);
    // Memory instructions made out of the rest of the same file instruction (the nops after `cli`, the int3s after `ret`).
    const last = covering[covering.length - 1];
    if (last) {
      const fileEnd = last.addr + BigInt(last.length) + kaslrOffset;
      while (i + 1 < memory.length && memory[i + 1]!.addr < fileEnd) {
        i++;
        rows.push({ memory: memory[i]!, file: [], same: false, reason: row.reason, ...(row.site ? { site: row.site } : {}) });
      }
    }
  }
  return rows;
}
