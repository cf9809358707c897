/**
 * The dump's BTF, kept on disk by build-id so that a second run on the same
 * kernel neither looks up `__start_BTF`/`__stop_BTF` (all of kallsyms) nor
 * decompresses the ~1,300 dump pages the BTF lies in. It lives where
 * @vmpipe/cache says, in that package's checked file format.
 *
 * One file per VMCOREINFO BUILD-ID, `btf-<build-id>.bin`: format
 * `vmpipe-btf/1`, header {buildId, start}, payload the BTF bytes. `start` is `__start_BTF` minus the dump's KASLR offset (VMCOREINFO
 * KERNELOFFSET), which is the same for every boot of that build. A hit is
 * checked before it is used: the cache's own size and sha256 (a damaged file
 * is ignored and rewritten), and the first bytes of the BTF in this dump's memory against the file's, so a
 * reused build-id or a wrong KASLR offset falls back to reading the dump.
 */
import { join } from 'node:path';
import type { KernelMemory } from '@vmpipe/addrxlat';
import { cacheDir, isBuildId, readCacheEntry, writeCacheEntry } from '@vmpipe/cache';
import { BtfTable } from './reader.js';
import { dumpBtfBytes } from './sources.js';

const FORMAT = 'vmpipe-btf/1';
/** Bytes of the dump's BTF compared with the cached copy on a hit: the header and the first types. */
const PROBE = 256;

export interface DumpBtfCacheOptions {
  /** VMCOREINFO BUILD-ID; without one nothing is cached. */
  buildId: string | undefined;
  /** VMCOREINFO KERNELOFFSET (KASLR); 0 when the dump has none. */
  kernelOffset?: bigint;
  /** `__start_BTF` and `__stop_BTF` of this dump (kallsyms); called only when the cache cannot answer. */
  locate(): { start: bigint; stop: bigint };
  /** false: neither read nor write the cache. Default true. */
  cache?: boolean;
  /** directory instead of $VMPIPE_CACHE / $XDG_CACHE_HOME/vmpipe / ~/.cache/vmpipe */
  cacheDir?: string;
}

interface Entry {
  start: bigint; // unrelocated __start_BTF
  bytes: Uint8Array;
}

export function btfCachePath(buildId: string, dir = cacheDir()): string {
  return join(dir, `btf-${buildId}.bin`);
}

/** The cached entry, or undefined when there is none or it is damaged in any way. */
function load(buildId: string, dir: string): Entry | undefined {
  const entry = readCacheEntry<{ buildId?: unknown; start?: unknown }>(btfCachePath(buildId, dir), FORMAT);
  if (!entry) return undefined;
  const { head, payload } = entry;
  if (head.buildId !== buildId || typeof head.start !== 'string' || !/^0x[0-9a-f]+$/.test(head.start)) return undefined;
  return { start: BigInt(head.start), bytes: payload };
}

function save(buildId: string, entry: Entry, dir: string): void {
  writeCacheEntry(btfCachePath(buildId, dir), FORMAT, { buildId, start: `0x${entry.start.toString(16)}` }, entry.bytes);
}

/** Does this dump hold the cached BTF where the cache says? */
function matches(mem: KernelMemory, at: bigint, bytes: Uint8Array): boolean {
  const n = Math.min(PROBE, bytes.length);
  try {
    return Buffer.from(mem.readBytes(at, n)).equals(bytes.subarray(0, n));
  } catch {
    return false;
  }
}

const U64 = (1n << 64n) - 1n;

/**
 * The dump's own BTF (memory between `__start_BTF` and `__stop_BTF`), from
 * the cache when it holds this build's, else read from the dump and cached.
 * Errors are readDumpBtf's (BtfError) and locate()'s; the cache itself never fails a run.
 */
export function readDumpBtfCached(mem: KernelMemory, opts: DumpBtfCacheOptions): BtfTable {
  const offset = opts.kernelOffset ?? 0n;
  const use = opts.cache !== false && isBuildId(opts.buildId);
  const dir = opts.cacheDir ?? cacheDir();
  if (use) {
    const hit = load(opts.buildId!, dir);
    if (hit && matches(mem, (hit.start + offset) & U64, hit.bytes)) return new BtfTable(hit.bytes, { source: 'btf-dump' });
  }
  const { start, stop } = opts.locate();
  const bytes = dumpBtfBytes(mem, start, stop);
  const table = new BtfTable(bytes, { source: 'btf-dump' }); // only BTF that parses is kept
  if (use) save(opts.buildId!, { start: (start - offset) & U64, bytes }, dir);
  return table;
}
