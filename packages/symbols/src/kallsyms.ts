/**
 * kallsyms read from the dump's memory, located through VMCOREINFO.
 *
 * Spec: the kernel's own writer and reader of these tables, scripts/kallsyms.c
 * and kernel/kallsyms.c (+ kernel/kallsyms_internal.h), as of 6.0–6.x, and
 * kernel/crash_core.c (6.0+: 5fd8fea935a1 "vmcoreinfo: include kallsyms
 * symbols", f09bddbd8661 "vmcoreinfo: add kallsyms_num_syms symbol"):
 *
 * - `kallsyms_num_syms`: unsigned int, the number of symbols.
 * - `kallsyms_names`: per symbol, a length then that many token indexes
 *   (u8). The length is one byte; since 73bbb94466fd ("kallsyms: support
 *   "big" kernel symbols", 6.1) a length with bit 7 set takes a second byte:
 *   len = (b0 & 0x7f) | (b1 << 7). Nothing in the dump says which rule the
 *   kernel used, so we take the release (6.1+ two-byte) and check the
 *   result: the other rule is tried when `_stext` does not decode.
 * - `kallsyms_token_table`: 256 NUL-terminated strings; `kallsyms_token_index`:
 *   256 u16 offsets of each token in that table. A symbol's text is the
 *   concatenation of its tokens; its first character is the nm type letter.
 * - Addresses, three encodings over the years (CONFIG_KALLSYMS_BASE_RELATIVE):
 *     `kallsyms_addresses[]` (unsigned long, absolute), before 6.11 without
 *     BASE_RELATIVE;
 *     `kallsyms_offsets[]` (int) + `kallsyms_relative_base` (unsigned long):
 *     without KALLSYMS_ABSOLUTE_PERCPU, address = relative_base + (u32)offset;
 *     with it (x86_64 SMP until 6.15), offset >= 0 is an absolute value (the
 *     per-cpu offsets near zero) and offset < 0 means relative_base - 1 - offset;
 *     since 7.0 ("kallsyms: Get rid of kallsyms relative base") offsets are
 *     place-relative: address = &kallsyms_offsets[i] + offset.
 *   Which one a kernel uses is not recorded either; VMCOREINFO's
 *   SYMBOL(_stext) is, so the encoding is the one that gives `_stext` there.
 * - The runtime tables already hold the KASLR-relocated addresses.
 * - kallsyms has no sizes: a symbol extends to the next higher address.
 *   `kallsyms_markers` and `kallsyms_seqs_of_names` (6.2+) only speed up the
 *   kernel's own searches and are not needed here.
 */
import { join } from 'node:path';
import { cacheDir, isBuildId, readCacheEntry, writeCacheEntry } from '@vmpipe/cache';
import type { Vmcoreinfo } from '@vmpipe/dump';
import type { KernelSymbol } from './table.js';

/** What the reader needs of kernel memory (KernelMemory from @vmpipe/addrxlat has it). */
export interface SymbolMemory {
  readBytes(vaddr: bigint, length: number): Uint8Array;
}

export class KallsymsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KallsymsError';
  }
}

export type KallsymsEncoding = 'absolute' | 'base-relative' | 'absolute-percpu' | 'place-relative';

export interface Kallsyms {
  symbols: KernelSymbol[];
  encoding: KallsymsEncoding;
  bigLengths: boolean;
}

const KALLSYMS_LOCATIONS = ['kallsyms_names', 'kallsyms_num_syms', 'kallsyms_token_table', 'kallsyms_token_index'] as const;

/** True when VMCOREINFO locates the kallsyms tables (Linux 6.0+, or a backport). */
export function hasKallsyms(info: Vmcoreinfo | undefined): boolean {
  if (!info) return false;
  if (!KALLSYMS_LOCATIONS.every((n) => info.symbol(n) !== undefined)) return false;
  return info.symbol('kallsyms_offsets') !== undefined || info.symbol('kallsyms_addresses') !== undefined;
}

/**
 * Why VMCOREINFO does not locate the kallsyms tables, naming the keys: absent
 * (the kernel is older than 6.0 and has no backport) or present but refused
 * as impossible (a damaged or patched VMCOREINFO: a different fault).
 */
export function kallsymsAbsentReason(info: Vmcoreinfo | undefined): string {
  if (!info) return 'the dump has no VMCOREINFO';
  const keys = [...KALLSYMS_LOCATIONS, info.get('SYMBOL(kallsyms_addresses)') !== undefined ? 'kallsyms_addresses' : 'kallsyms_offsets'].map((n) => `SYMBOL(${n})`);
  const refused = keys.filter((k) => info.entries[k] !== undefined && info.isInvalid(k));
  if (refused.length) return `VMCOREINFO's ${refused.map((k) => `${k}=${info.entries[k]!.slice(0, 24)}`).join(', ')} cannot be ${refused.length > 1 ? 'addresses' : 'an address'}`;
  const missing = keys.filter((k) => info.entries[k] === undefined);
  if (missing.length === keys.length) return 'VMCOREINFO does not locate the kallsyms tables (Linux 6.0+ exports them)';
  return `VMCOREINFO lacks ${missing.join(', ')} (it has the other kallsyms entries: damaged?)`;
}

/** Whether the release is 6.1 or later, where symbol lengths above 127 take two bytes. */
export function bigLengthsByRelease(release: string | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release ?? '');
  if (!m) return true;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 6 || (major === 6 && minor >= 1);
}

function u16(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads `kallsyms_names` forward in chunks: its length is only known once every symbol is walked. */
class ChunkedReader {
  private buf = new Uint8Array(0);
  private readonly chunk = 256 * 1024;

  constructor(private readonly memory: SymbolMemory, private readonly base: bigint) {}

  /** Ensures bytes [0, end) are loaded and returns the buffer. */
  upTo(end: number): Uint8Array {
    while (this.buf.length < end) {
      const at = this.base + BigInt(this.buf.length);
      const need = end - this.buf.length;
      let more: Uint8Array;
      try {
        more = this.memory.readBytes(at, Math.max(this.chunk, need));
      } catch {
        more = this.memory.readBytes(at, need); // near the end of what is readable: only what is needed
      }
      const next = new Uint8Array(this.buf.length + more.length);
      next.set(this.buf);
      next.set(more, this.buf.length);
      this.buf = next;
    }
    return this.buf;
  }
}

function readTokens(memory: SymbolMemory, tableAddr: bigint, indexAddr: bigint): Uint8Array[] {
  const index = memory.readBytes(indexAddr, 256 * 2);
  let max = 0;
  for (let i = 0; i < 256; i++) max = Math.max(max, u16(index, i * 2));
  // The longest token is short (the compressor joins pairs); 256 bytes past the last start is plenty.
  let table: Uint8Array;
  try {
    table = memory.readBytes(tableAddr, max + 256);
  } catch {
    // The table ends near unreadable memory: read up to the last token's start, then byte by byte to its NUL.
    const head = Array.from(memory.readBytes(tableAddr, max + 1));
    while (head[head.length - 1] !== 0 && head.length < max + 256) head.push(memory.readBytes(tableAddr + BigInt(head.length), 1)[0]!);
    table = Uint8Array.from(head);
  }
  const tokens: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const start = u16(index, i * 2);
    const end = table.indexOf(0, start);
    if (end < 0) throw new KallsymsError(`kallsyms_token_table: token ${i} at offset ${start} has no NUL`);
    tokens.push(table.slice(start, end));
  }
  return tokens;
}

/**
 * Expands every symbol's text (type letter first) with one length rule, as
 * one latin1 string with a newline after each (a name never holds one); null
 * when the table does not parse under the rule. Bytes are joined first and
 * decoded once: string concatenation token by token makes ~90k rope strings.
 */
function expandNames(names: ChunkedReader, count: number, tokens: Uint8Array[], big: boolean): string | null {
  let out: Buffer = Buffer.allocUnsafe(count * 24);
  let at = 0;
  let off = 0;
  let buf = names.upTo(2);
  for (let i = 0; i < count; i++) {
    if (off + 2 > buf.length) buf = names.upTo(off + 2);
    let len = buf[off++]!;
    if (big && len & 0x80) {
      const second = buf[off++]!;
      if (second & 0x80) return null; // the kernel writes at most two bytes
      len = (len & 0x7f) | (second << 7);
    }
    if (len === 0) return null;
    if (off + len > buf.length) buf = names.upTo(off + len);
    for (let k = 0; k < len; k++) {
      const token = tokens[buf[off + k]!]!;
      if (at + token.length + 1 > out.length) out = grow(out, at + token.length + 1);
      out.set(token, at);
      at += token.length;
    }
    off += len;
    if (at + 1 > out.length) out = grow(out, at + 1);
    out[at++] = 10;
  }
  return out.toString('latin1', 0, at);
}

function grow(buf: Buffer, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, buf.length * 2));
  buf.copy(next);
  return next;
}

/** The texts of a joined names string (each with its newline). */
function splitNames(joined: string): string[] {
  const texts = joined.split('\n');
  texts.pop();
  return texts;
}

function decodeAddresses(
  memory: SymbolMemory,
  info: Vmcoreinfo,
  count: number,
  stextIndex: number,
): { addrs: bigint[]; encoding: KallsymsEncoding } {
  const stext = info.symbol('_stext');
  const absolute = info.symbol('kallsyms_addresses');
  if (absolute !== undefined) {
    const bytes = view(memory.readBytes(absolute, count * 8));
    const addrs = Array.from({ length: count }, (_, i) => bytes.getBigUint64(i * 8, true));
    return { addrs, encoding: 'absolute' };
  }
  const offsetsAddr = info.symbol('kallsyms_offsets')!;
  const baseAddr = info.symbol('kallsyms_relative_base');
  const offsets = view(memory.readBytes(offsetsAddr, count * 4));
  const relativeBase = baseAddr !== undefined ? view(memory.readBytes(baseAddr, 8)).getBigUint64(0, true) : undefined;
  const mask = (1n << 64n) - 1n;
  const rules: [KallsymsEncoding, (i: number) => bigint][] = [];
  if (relativeBase !== undefined) {
    rules.push(['base-relative', (i) => (relativeBase + BigInt(offsets.getUint32(i * 4, true))) & mask]);
    rules.push([
      'absolute-percpu',
      (i) => {
        const o = offsets.getInt32(i * 4, true);
        return o >= 0 ? BigInt(o) : (relativeBase - 1n - BigInt(o)) & mask;
      },
    ]);
  }
  rules.push(['place-relative', (i) => (offsetsAddr + BigInt(i * 4) + BigInt(offsets.getInt32(i * 4, true))) & mask]);
  if (stext === undefined) throw new KallsymsError('VMCOREINFO has no SYMBOL(_stext): cannot tell how kallsyms_offsets are encoded');
  for (const [encoding, rule] of rules) {
    if (rule(stextIndex) === stext) return { addrs: Array.from({ length: count }, (_, i) => rule(i)), encoding };
  }
  throw new KallsymsError(`kallsyms_offsets: no known encoding gives _stext = 0x${stext.toString(16)} (VMCOREINFO)`);
}

export interface KallsymsCacheOptions {
  /** false: neither read nor write the names cache. Default true. */
  cache?: boolean;
  /** directory instead of @vmpipe/cache's */
  cacheDir?: string;
}

/**
 * The expanded names are kept by VMCOREINFO BUILD-ID (@vmpipe/cache,
 * `kallsyms-<build-id>.bin`): expanding ~90k names is most of the work, and
 * every boot of a build has the same names in the same order. Addresses are
 * always decoded from this dump (KASLR moves them). A hit is used only when
 * this dump's symbol count and the first bytes of its `kallsyms_names` are the
 * cached ones, and `_stext` then decodes to VMCOREINFO's; anything else reads
 * the dump as if there were no cache.
 */
const NAMES_FORMAT = 'vmpipe-kallsyms-names/1';
const PROBE = 512;

interface NamesHead {
  buildId: string;
  count: number;
  bigLengths: boolean;
  stextIndex: number;
  probe: string;
}

export function kallsymsCachePath(buildId: string, dir = cacheDir()): string {
  return join(dir, `kallsyms-${buildId}.bin`);
}

function cachedNames(memory: SymbolMemory, info: Vmcoreinfo, count: number, buildId: string, dir: string): { texts: string[]; head: NamesHead } | undefined {
  const entry = readCacheEntry<NamesHead>(kallsymsCachePath(buildId, dir), NAMES_FORMAT);
  if (!entry) return undefined;
  const { head } = entry;
  if (head.buildId !== buildId || head.count !== count || typeof head.probe !== 'string' || typeof head.stextIndex !== 'number') return undefined;
  let probe: string;
  try {
    probe = Buffer.from(memory.readBytes(info.symbol('kallsyms_names')!, head.probe.length / 2)).toString('hex');
  } catch {
    return undefined;
  }
  if (probe !== head.probe) return undefined;
  const texts = splitNames(entry.payload.toString('latin1'));
  if (texts.length !== count || texts[head.stextIndex]?.slice(1) !== '_stext') return undefined;
  return { texts, head };
}

/**
 * Reads the kernel's kallsyms tables. Throws KallsymsError when VMCOREINFO
 * lacks them or they do not decode, and the memory's own error when a table
 * cannot be read.
 */
export function readKallsyms(memory: SymbolMemory, info: Vmcoreinfo, opts: KallsymsCacheOptions = {}): Kallsyms {
  if (!hasKallsyms(info)) throw new KallsymsError(kallsymsAbsentReason(info));
  const count = view(memory.readBytes(info.symbol('kallsyms_num_syms')!, 4)).getUint32(0, true);
  if (count === 0 || count > 10_000_000) throw new KallsymsError(`kallsyms_num_syms is ${count}: not a symbol count`);
  const buildId = info.get('BUILD-ID');
  const useCache = opts.cache !== false && isBuildId(buildId);
  const dir = opts.cacheDir ?? cacheDir();
  if (useCache) {
    const hit = cachedNames(memory, info, count, buildId, dir);
    if (hit) {
      try {
        const { addrs, encoding } = decodeAddresses(memory, info, count, hit.head.stextIndex);
        return { symbols: hit.texts.map((t, i) => ({ name: t.slice(1), type: t[0]!, addr: addrs[i]! })), encoding, bigLengths: hit.head.bigLengths };
      } catch {
        /* not this build after all: read the dump */
      }
    }
  }
  const tokens = readTokens(memory, info.symbol('kallsyms_token_table')!, info.symbol('kallsyms_token_index')!);
  const names = new ChunkedReader(memory, info.symbol('kallsyms_names')!);
  const guess = bigLengthsByRelease(info.osrelease);
  let readError: unknown;
  for (const big of [guess, !guess]) {
    let joined: string | null;
    try {
      joined = expandNames(names, count, tokens, big);
    } catch (err) {
      // The wrong length rule walks off the end of the table; the right one may not.
      readError = err;
      continue;
    }
    if (joined === null) continue;
    const texts = splitNames(joined);
    const stextIndex = texts.findIndex((t) => t.length > 1 && t.slice(1) === '_stext');
    if (stextIndex < 0) continue;
    const { addrs, encoding } = decodeAddresses(memory, info, count, stextIndex);
    const symbols: KernelSymbol[] = texts.map((t, i) => ({ name: t.slice(1), type: t[0]!, addr: addrs[i]! }));
    if (useCache) {
      const probe = Buffer.from(names.upTo(1).subarray(0, PROBE)).toString('hex');
      const head: NamesHead = { buildId: buildId!, count, bigLengths: big, stextIndex, probe };
      writeCacheEntry(kallsymsCachePath(buildId!, dir), NAMES_FORMAT, head, Buffer.from(joined, 'latin1'));
    }
    return { symbols, encoding, bigLengths: big };
  }
  if (readError) throw readError;
  throw new KallsymsError('kallsyms_names does not decode: _stext not found under either length rule');
}
