import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, type LayoutFactory, table } from './layout.js';

// crash's `kmem -s` (memory.c, SLUB): one line per cache under one header,
// the slab size in KiB with a `k`.

const HEADER = `${'CACHE'.padEnd(16)}${'OBJSIZE'.padStart(9)}${'ALLOCATED'.padStart(11)}${'TOTAL'.padStart(10)}${'SLABS'.padStart(7)}${'SSIZE'.padStart(7)}  NAME`;

export function slabLine(r: AnyRecord): string {
  const ssize = typeof r.slabSize === 'number' ? `${Math.floor(r.slabSize / 1024)}k` : '?';
  return `${hexDigits(parseHex(r.cache) ?? 0n, 16)}${String(r.objectSize).padStart(9)}${String(r.allocated).padStart(11)}${String(r.total).padStart(10)}${String(r.slabs).padStart(7)}${ssize.padStart(7)}  ${String(r.name)}`;
}

export const slabCacheLayout: LayoutFactory = () => table(HEADER, slabLine);

export { HEADER as SLAB_HEADER };
