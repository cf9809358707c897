import type { AnyRecord } from '@vmpipe/records';
import { stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// crash's `kmem -i` (memory.c: dump_kmeminfo): label, pages, size and the
// percentage of its group's total, computed in integer arithmetic as crash
// does; sizes as crash's pages_to_size(): one decimal in the largest unit,
// a trailing ".0" dropped.

export function crashSize(bytes: number): string {
  const units: [number, string][] = [[1024 ** 4, 'TB'], [1024 ** 3, 'GB'], [1024 ** 2, 'MB'], [1024, 'KB']];
  for (const [unit, name] of units) {
    if (bytes >= unit) return `${(bytes / unit).toFixed(1).replace(/\.0$/, '')} ${name}`;
  }
  return String(bytes);
}

type Row = [label: string, field: string, of?: [total: string, name: string]];
const GROUPS: Row[][] = [
  [['TOTAL MEM', 'total'], ['FREE', 'free', ['total', 'TOTAL MEM']], ['USED', 'used', ['total', 'TOTAL MEM']], ['SHARED', 'shared', ['total', 'TOTAL MEM']],
    ['BUFFERS', 'buffers', ['total', 'TOTAL MEM']], ['CACHED', 'cached', ['total', 'TOTAL MEM']], ['SLAB', 'slab', ['total', 'TOTAL MEM']]],
  [['TOTAL HUGE', 'hugeTotal'], ['HUGE FREE', 'hugeFree', ['hugeTotal', 'TOTAL HUGE']]],
  [['TOTAL SWAP', 'swapTotal'], ['SWAP USED', 'swapUsed', ['swapTotal', 'TOTAL SWAP']], ['SWAP FREE', 'swapFree', ['swapTotal', 'TOTAL SWAP']]],
  [['COMMIT LIMIT', 'commitLimit'], ['COMMITTED', 'committed', ['commitLimit', 'TOTAL LIMIT']]],
];

function pages(r: AnyRecord, field: string): { pages: number; bytes: number } | null {
  const v = r[field] as { pages?: unknown; bytes?: unknown } | undefined;
  return v && typeof v.pages === 'number' && typeof v.bytes === 'number' ? { pages: v.pages, bytes: v.bytes } : null;
}

function kmemInfo(r: AnyRecord): string[] {
  const lines = ['                 PAGES        TOTAL      PERCENTAGE'];
  for (const [g, rows] of GROUPS.entries()) {
    if (g > 0) lines.push('');
    for (const [label, field, of] of rows) {
      const v = pages(r, field);
      if (!v) return [jsonLine(r)];
      let pct = '         ----';
      if (of) {
        const total = pages(r, of[0])?.pages ?? 0;
        pct = `${String(total ? Math.floor((v.pages * 100) / total) : 0).padStart(5)}% of ${of[1]}`;
      }
      lines.push(`${label.padStart(13)}${String(v.pages).padStart(9)}${crashSize(v.bytes).padStart(13)}${pct}`);
    }
  }
  return lines;
}

export const memorySummaryLayout: LayoutFactory = () => stateless(true, kmemInfo);
