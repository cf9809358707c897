import type { AnyRecord } from '@vmpipe/records';
import { parseHex, stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// crash's `vtop` of a kernel address (memory.c do_vtop, x86_64.c
// x86_64_kvtop / x86_64_translate_pte), as crash 8.0.2 prints it:
//
//   VIRTUAL           PHYSICAL            both columns %-16s (crash keeps the trailing spaces)
//   ffffffff8a51ffe0  5d1ffe0
//                                         (blank)
//   PGD DIRECTORY: ffffffff8ae10000       the top table's virtual address (init_top_pgt)
//   PAGE DIRECTORY: 6615067               the top-level entry's value (its address is not shown)
//      P4D: <addr> => <entry>             5-level only
//      PUD: 6615ff0 => 6616063            then PMD, and PTE for a 4K page
//     PAGE: 5c00000  (2MB)                "(1GB)", or nothing after a 4K page's address
//                                         (blank)
//         PTE         PHYSICAL  FLAGS      columns as wide as the values (mkstring CENTER)
//   8000000005c001e1   5c00000  (PRESENT|ACCESSED|DIRTY|PSE|GLOBAL|NX)
//
// crash goes on with the `kmem -p` line of the page's struct page, which needs
// the page flags' names from the kernel's types: not shown here.

const LEVEL_LABEL: Record<string, string> = { p4d: 'P4D', pud: 'PUD', pmd: 'PMD', pte: 'PTE' };

// arch/x86/include/asm/pgtable_types.h bits, in crash's order of printing.
const FLAG_BITS: [string, bigint][] = [
  ['PRESENT', 1n << 0n],
  ['RW', 1n << 1n],
  ['USER', 1n << 2n],
  ['PWT', 1n << 3n],
  ['PCD', 1n << 4n],
  ['ACCESSED', 1n << 5n],
  ['DIRTY', 1n << 6n],
  ['PSE', 1n << 7n],
  ['PROTNONE', 1n << 8n],
  ['GLOBAL', 1n << 8n],
  ['NX', 1n << 63n],
];
/** Frame bits 12..51 (__PHYSICAL_MASK_SHIFT 52). */
const FRAME_MASK = ((1n << 52n) - 1n) & ~0xfffn;

/** crash's pte flag list: PSE only with PRESENT, PROTNONE (the GLOBAL bit) only without it. */
function flagNames(pte: bigint): string {
  if (pte === 0n) return 'no mapping';
  const present = (pte & 1n) !== 0n;
  const names: string[] = [];
  for (const [name, bit] of FLAG_BITS) {
    if ((pte & bit) === 0n) continue;
    if (name === 'PSE' && !present) continue;
    if (name === 'PROTNONE' && present) continue;
    names.push(name);
  }
  return names.join('|');
}

/** crash's mkstring(CENTER|LJUST or RJUST): centred, the odd space going right (LJUST) or left (RJUST). */
function center(text: string, width: number, odd: 'left' | 'right'): string {
  const extra = width - text.length;
  if (extra <= 0) return text;
  let left = Math.floor(extra / 2);
  if (extra % 2 && odd === 'left') left += 1;
  return ' '.repeat(left) + text + ' '.repeat(extra - left);
}

const x = (v: bigint) => v.toString(16);

interface Level {
  level: string;
  addr: bigint;
  entry: bigint;
}

function levelsOf(record: AnyRecord): Level[] | null {
  if (!Array.isArray(record.levels) || record.levels.length === 0) return null;
  const out: Level[] = [];
  for (const l of record.levels as unknown[]) {
    const o = l as Record<string, unknown>;
    const addr = parseHex(o?.addr);
    const entry = parseHex(o?.entry);
    if (typeof o?.level !== 'string' || addr === null || entry === null) return null;
    out.push({ level: o.level, addr, entry });
  }
  return out;
}

// crash's arm64 `vtop` (arm64.c arm64_kvtop -> arm64_vtop_4level_4k and kin, arm64_translate_pte):
//
//   VIRTUAL           PHYSICAL
//   ffff000008082080  48082080
//                                         (blank)
//   PAGE DIRECTORY: ffffa23e0178f000      swapper_pg_dir
//      PGD: ffffa23e0178f000 => 180000004fff7003     each entry's kernel virtual address (linear map below the PGD)
//      PUD: ffff00000fff7000 => 180000004fff6003
//      PMD: ...   PTE: ...
//     PAGE: 48082000                      then two spaces; a block says "(1GB)", "(2MB)", "(32MB)" or "(512MB)"
//                                         (blank)
//         PTE         PHYSICAL  FLAGS
//   e8000048082707  48082000  (VALID|SHARED|AF|NG|PXN|UXN|DIRTY)

// arch/arm64/include/asm/pgtable-hwdef.h / pgtable-prot.h bits, in crash's order; PROT_NONE is bit 58 on 5.19..6.9.
const ARM64_FLAG_BITS: [string, bigint][] = [
  ['VALID', 1n << 0n],
  ['PROT_NONE', 1n << 58n],
  ['USER', 1n << 6n],
  ['RDONLY', 1n << 7n],
  ['SHARED', 3n << 8n],
  ['AF', 1n << 10n],
  ['NG', 1n << 11n],
  ['PXN', 1n << 53n],
  ['UXN', 1n << 54n],
  ['DIRTY', 1n << 55n],
  ['SPECIAL', 1n << 56n],
];

function arm64Lines(vaddr: bigint, paddr: bigint, levels: (Level & { vaddr: bigint | null })[], pageSize: number, root: bigint | null): string[] {
  const lines = [`${'VIRTUAL'.padEnd(16)}  ${'PHYSICAL'.padEnd(16)}`, `${x(vaddr).padEnd(16)}  ${x(paddr).padEnd(16)}`, ''];
  if (root !== null) lines.push(`PAGE DIRECTORY: ${x(root)}`);
  for (const l of levels) lines.push(`   ${l.level.toUpperCase()}: ${x(l.vaddr ?? l.addr)} => ${x(l.entry)}`);
  const base = paddr & ~BigInt(pageSize - 1);
  const last = levels[levels.length - 1]!;
  const block = last.level !== 'pte';
  const sizes: Record<number, string> = { [1 << 30]: '1GB', [1 << 21]: '2MB', [1 << 25]: '32MB', [1 << 29]: '512MB' };
  lines.push(block ? `  PAGE: ${x(base)}  (${sizes[pageSize] ?? `${pageSize >> 20}MB`})` : `  PAGE: ${x(base)}  `, '');
  const pte = last.entry;
  const pteText = x(pte);
  // PTE_TO_PHYS: bits 47..PAGE_SHIFT (crash's page shift: the granule; a block's low bits are zero anyway)
  const physText = x(pte & ((1n << 48n) - 1n) & ~0xfffn);
  const w1 = Math.max(pteText.length, 'PTE'.length);
  const w2 = Math.max(physText.length, 'PHYSICAL'.length);
  const names = pte === 0n ? 'no mapping' : ARM64_FLAG_BITS.filter(([, bit]) => (pte & bit) !== 0n).map(([n]) => n).join('|');
  lines.push(`${center('PTE', w1, 'right')}  ${center('PHYSICAL', w2, 'right')}  FLAGS`);
  lines.push(`${center(pteText, w1, 'left')}  ${center(physText, w2, 'left')}  (${names})`);
  return lines;
}

export function translationLines(record: AnyRecord): string[] | null {
  const vaddr = parseHex(record.vaddr);
  const paddr = parseHex(record.paddr);
  const levels = levelsOf(record);
  const pageSize = record.pageSize;
  if (vaddr === null || paddr === null || levels === null || typeof pageSize !== 'number') return null;
  const root = parseHex(record.root);
  if (record.arch === 'arm64') {
    const withV = levels.map((l, i) => ({ ...l, vaddr: parseHex(((record.levels as unknown[])[i] as Record<string, unknown>)?.vaddr) }));
    return arm64Lines(vaddr, paddr, withV, pageSize, root);
  }
  const lines = [`${'VIRTUAL'.padEnd(16)}  ${'PHYSICAL'.padEnd(16)}`, `${x(vaddr).padEnd(16)}  ${x(paddr).padEnd(16)}`, ''];
  if (root !== null) lines.push(`PGD DIRECTORY: ${x(root)}`);
  const [top, ...rest] = levels;
  lines.push(`PAGE DIRECTORY: ${x(top!.entry)}`);
  for (const l of rest) lines.push(`   ${LEVEL_LABEL[l.level] ?? l.level.toUpperCase()}: ${x(l.addr)} => ${x(l.entry)}`);
  // The page's base from the translation itself (crash masks the entry to 4K, which differs only when a large page's PAT bit 12 is set).
  const base = paddr & ~BigInt(pageSize - 1);
  const size = pageSize === 1 << 30 ? '  (1GB)' : pageSize === 1 << 21 ? '  (2MB)' : '';
  lines.push(`  PAGE: ${x(base)}${size}`, '');
  const pte = levels[levels.length - 1]!.entry;
  const pteText = x(pte);
  const physText = x(pte & FRAME_MASK);
  const w1 = Math.max(pteText.length, 'PTE'.length);
  const w2 = Math.max(physText.length, 'PHYSICAL'.length);
  lines.push(`${center('PTE', w1, 'right')}  ${center('PHYSICAL', w2, 'right')}  FLAGS`);
  lines.push(`${center(pteText, w1, 'left')}  ${center(physText, w2, 'left')}  (${flagNames(pte)})`);
  return lines;
}

/** A `translation` record as crash's `vtop` block; JSON when it is not well formed. */
export const translationLayout: LayoutFactory = () => stateless(true, (record) => translationLines(record) ?? [jsonLine(record)]);
