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

export function translationLines(record: AnyRecord): string[] | null {
  const vaddr = parseHex(record.vaddr);
  const paddr = parseHex(record.paddr);
  const levels = levelsOf(record);
  const pageSize = record.pageSize;
  if (vaddr === null || paddr === null || levels === null || typeof pageSize !== 'number') return null;
  const root = parseHex(record.root);
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
