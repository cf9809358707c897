/**
 * Searching memory for a value, as crash `search` does: every aligned word of
 * `width` bytes whose bits, ignoring those set in `mask`, equal the value's.
 * Physical memory is searched page by page over the dump's present pages (an
 * excluded page is skipped: its content is unknown); kernel virtual ranges
 * through the page tables.
 */
import type { Program } from './program.js';

export interface SearchOptions {
  value: bigint;
  /** bits to ignore (crash search -m) */
  mask?: bigint;
  /** 8 (default), 4, 2 or 1 */
  width?: 1 | 2 | 4 | 8;
}

export interface SearchMatch {
  addr: bigint;
  value: bigint;
}

function matcher(o: SearchOptions): (bytes: Uint8Array, base: bigint, out: SearchMatch[]) => void {
  const width = o.width ?? 8;
  const bits = BigInt(width * 8);
  const keep = BigInt.asUintN(Number(bits), ~(o.mask ?? 0n));
  const want = o.value & keep;
  if (width === 8) {
    // Compare 32-bit halves first: most words fail on the low half without a BigInt.
    const lo = Number(want & 0xffffffffn);
    const hi = Number(want >> 32n);
    const klo = Number(keep & 0xffffffffn);
    const khi = Number(keep >> 32n);
    return (bytes, base, out) => {
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i + 8 <= bytes.length; i += 8) {
        if (((v.getUint32(i, true) & klo) >>> 0) !== lo) continue;
        if (((v.getUint32(i + 4, true) & khi) >>> 0) !== hi) continue;
        out.push({ addr: base + BigInt(i), value: v.getBigUint64(i, true) });
      }
    };
  }
  const w = Number(want);
  const k = Number(keep);
  return (bytes, base, out) => {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i + width <= bytes.length; i += width) {
      const x = width === 4 ? v.getUint32(i, true) : width === 2 ? v.getUint16(i, true) : v.getUint8(i);
      if (((x & k) >>> 0) === w) out.push({ addr: base + BigInt(i), value: BigInt(x) });
    }
  };
}

/**
 * Every match in the dump's present physical pages from `start` to `end`,
 * a page at a time; `progress(pagesDone, pagesTotal)` after each run of pages.
 */
export function* search_physical(prog: Program, o: SearchOptions, range: { start?: bigint; end?: bigint } = {}, progress?: (done: number, total: number) => void): Generator<SearchMatch> {
  const dump = prog.theDump;
  const page = BigInt(dump.pageSize);
  const match = matcher(o);
  const ranges = dump.memoryRanges().map((r) => ({ start: r.start > (range.start ?? 0n) ? r.start : range.start ?? 0n, end: range.end !== undefined && range.end < r.end ? range.end : r.end })).filter((r) => r.start < r.end);
  const total = ranges.reduce((n, r) => n + Number((r.end - r.start + page - 1n) / page), 0);
  let done = 0;
  const CHUNK = 256n * page;
  for (const r of ranges) {
    for (let at = r.start; at < r.end; at += CHUNK) {
      const len = Number((r.end - at < CHUNK ? r.end - at : CHUNK));
      const out: SearchMatch[] = [];
      for (const c of dump.readPhysical(at, len)) if ('bytes' in c) match(c.bytes, c.paddr, out);
      done += Math.ceil(len / dump.pageSize);
      progress?.(done, total);
      yield* out;
    }
  }
}

/** Every match in the kernel virtual range [start, end), through the page tables; unmapped and excluded spans are skipped. */
export function* search_virtual(prog: Program, o: SearchOptions, start: bigint, end: bigint, progress?: (done: number, total: number) => void): Generator<SearchMatch> {
  const match = matcher(o);
  const page = BigInt(prog.mem.pageSize);
  const CHUNK = 256n * page;
  const total = Number((end - start + page - 1n) / page);
  let done = 0;
  for (let at = start; at < end; at += CHUNK) {
    const len = Number(end - at < CHUNK ? end - at : CHUNK);
    const out: SearchMatch[] = [];
    for (const c of prog.mem.read(at, len)) if ('bytes' in c) match(c.bytes, c.vaddr, out);
    done += Math.ceil(len / prog.mem.pageSize);
    progress?.(done, total);
    yield* out;
  }
}
