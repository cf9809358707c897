/**
 * Does a symbol file belong to this dump, and where did KASLR move it?
 *
 * VMCOREINFO (kernel/crash_core.c) carries `BUILD-ID` (the running kernel's
 * GNU build-id, 5.9+), `KERNELOFFSET` (how far KASLR moved the image, bare
 * hex) and a few `SYMBOL(name)` values at their runtime addresses. A vmlinux
 * whose build-id differs is refused, as crash refuses it ("vmlinux and vmcore
 * do not match"); a System.map has no build-id, so its symbols are checked
 * against VMCOREINFO's, after the offset. `--force` uses the file anyway.
 *
 * Relocation moves only the kernel image (link address at or above `_text`):
 * per-cpu offsets (x86_64, near zero) and absolute (`A`) symbols stay put,
 * as the kernel's own kallsyms keeps them.
 */
import type { Vmcoreinfo } from '@vmpipe/dump';
import type { KernelSymbol } from './table.js';

/** VMCOREINFO symbols that name a fixed place in the kernel image (SYMBOL(mem_section) holds a pointer's value, so it is not here). */
export const CHECKED_SYMBOLS = ['_stext', 'init_uts_ns', 'swapper_pg_dir', 'init_top_pgt', 'node_online_map', 'vmap_area_list', 'prb', 'node_data'];

export interface MatchResult {
  ok: boolean;
  /** what to add to the file's kernel-image addresses */
  offset: bigint;
  /** the names compared and whether each agreed */
  checked: { name: string; file: bigint; dump: bigint; agrees: boolean }[];
  /** why not, when !ok */
  reason?: string;
}

function firstAddr(symbols: KernelSymbol[], name: string): bigint | undefined {
  return symbols.find((s) => s.name === name && s.type !== 'A' && s.type !== 'a')?.addr;
}

/** The start of the kernel image in the file's own addresses. */
export function imageStart(symbols: KernelSymbol[]): bigint | undefined {
  return firstAddr(symbols, '_text') ?? firstAddr(symbols, '_stext');
}

/**
 * Compares a symbol file's symbols with VMCOREINFO's. The offset is
 * KERNELOFFSET (or, when that is missing or damaged, VMCOREINFO's `_stext`
 * less the file's) when the file is the link-time one, zero when it already
 * holds runtime addresses (a copy of /proc/kallsyms), else whatever `_stext`
 * says (and the match fails).
 */
export function matchSymbols(symbols: KernelSymbol[], info: Vmcoreinfo | undefined): MatchResult {
  if (!info) return compare(symbols, info);
  // A run checks one file up to three times (validation, then loading, as the Program falls back): once is enough.
  let byInfo = matched.get(symbols);
  if (!byInfo) matched.set(symbols, (byInfo = new WeakMap()));
  let result = byInfo.get(info);
  if (!result) byInfo.set(info, (result = compare(symbols, info)));
  return result;
}

const matched = new WeakMap<KernelSymbol[], WeakMap<Vmcoreinfo, MatchResult>>();

function compare(symbols: KernelSymbol[], info: Vmcoreinfo | undefined): MatchResult {
  if (!info) return { ok: true, offset: 0n, checked: [], reason: 'the dump has no VMCOREINFO to check against' };
  const fileStext = firstAddr(symbols, '_stext');
  const dumpStext = info.symbol('_stext');
  // A KERNELOFFSET that is missing or damaged: _stext's two addresses say how far the image moved.
  const kaslr = info.kernelOffset ?? (fileStext !== undefined && dumpStext !== undefined ? BigInt.asUintN(64, dumpStext - fileStext) : 0n);
  let offset = kaslr;
  if (fileStext !== undefined && dumpStext !== undefined && fileStext === dumpStext) offset = 0n;
  const checked: MatchResult['checked'] = [];
  for (const name of CHECKED_SYMBOLS) {
    const dump = info.symbol(name);
    const file = firstAddr(symbols, name);
    if (dump === undefined || file === undefined) continue;
    const moved = BigInt.asUintN(64, file + offset);
    checked.push({ name, file: moved, dump, agrees: moved === dump });
  }
  const bad = checked.filter((c) => !c.agrees);
  if (checked.length === 0) return { ok: false, offset, checked, reason: `none of ${CHECKED_SYMBOLS.join(', ')} is in both the file and VMCOREINFO` };
  if (bad.length > 0) {
    const b = bad[0]!;
    return { ok: false, offset, checked, reason: `${b.name} is 0x${b.file.toString(16)} in the file (KASLR offset 0x${offset.toString(16)} applied) but 0x${b.dump.toString(16)} in VMCOREINFO` };
  }
  return { ok: true, offset, checked };
}

/** Moves the kernel image's symbols by `offset`; per-cpu and absolute symbols stay. */
export function relocate(symbols: KernelSymbol[], offset: bigint): KernelSymbol[] {
  if (offset === 0n) return symbols;
  const start = imageStart(symbols);
  return symbols.map((s) => {
    if (s.type === 'A' || s.type === 'a' || (start !== undefined && s.addr < start)) return s;
    return { ...s, addr: BigInt.asUintN(64, s.addr + offset) };
  });
}
