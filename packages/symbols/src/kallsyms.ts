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
import { endianness } from 'node:os';
import { join } from 'node:path';
import { cacheDir, isBuildId, readCacheEntry, writeCacheEntry } from '@vmpipe/cache';
import type { Vmcoreinfo } from '@vmpipe/dump';
import { nameOrder, type KernelSymbol, type PackedSymbols } from './table.js';

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
  /** nameOrder(symbols), when the cache had it (a SymbolTable hint) */
  nameOrder?: Uint32Array;
  /** the same symbols packed, from the cache (a SymbolTable over them makes objects only for what is asked) */
  packed?: PackedSymbols;
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
 * one latin1 string with a newline after each (a name never holds one), and
 * how many bytes of `kallsyms_names` that took; null when the table does not
 * parse under the rule. Bytes are joined first and decoded once: string
 * concatenation token by token makes ~90k rope strings.
 */
function expandNames(names: ChunkedReader, count: number, tokens: Uint8Array[], big: boolean): { joined: string; end: number } | null {
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
  return { joined: out.toString('latin1', 0, at), end: off };
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

/** What addresses are decoded from: the table as the dump holds it, and the one pointer it may be relative to. */
interface AddressTable {
  /** kallsyms_offsets[] (count * 4 bytes) or kallsyms_addresses[] (count * 8) */
  bytes: Uint8Array;
  absolute: boolean;
  relativeBase: bigint | undefined;
}

function readAddressTable(memory: SymbolMemory, info: Vmcoreinfo, count: number): AddressTable {
  const absolute = info.symbol('kallsyms_addresses');
  if (absolute !== undefined) return { bytes: memory.readBytes(absolute, count * 8), absolute: true, relativeBase: undefined };
  return { bytes: memory.readBytes(info.symbol('kallsyms_offsets')!, count * 4), absolute: false, relativeBase: readRelativeBase(memory, info) };
}

function readRelativeBase(memory: SymbolMemory, info: Vmcoreinfo): bigint | undefined {
  const baseAddr = info.symbol('kallsyms_relative_base');
  return baseAddr !== undefined ? view(memory.readBytes(baseAddr, 8)).getBigUint64(0, true) : undefined;
}

const TWO32 = 2 ** 32;

/**
 * The same rules as decodeAddresses' over 32-bit halves in Numbers, written
 * into a BigUint64Array: at most one bigint made per symbol (when it is read)
 * instead of four or five, ~30 ms of a start-up. Each rule is a 64-bit base plus a
 * delta that fits a Number exactly. Undefined on a big-endian host (the
 * caller then uses the bigint rule).
 */
function wordRule(encoding: KallsymsEncoding, offsets: DataView, relativeBase: bigint | undefined, offsetsAddr: bigint, count: number): BigUint64Array | undefined {
  if (endianness() !== 'LE') return undefined;
  const out = new BigUint64Array(count);
  const words = new Uint32Array(out.buffer);
  const rb = relativeBase ?? 0n;
  const baseLo = Number(rb & 0xffffffffn);
  const baseHi = Number(rb >> 32n);
  const set = (i: number, delta: number, hiBase: number, loBase: number) => {
    const lo = loBase + delta;
    const carry = Math.floor(lo / TWO32);
    words[i * 2] = lo - carry * TWO32;
    words[i * 2 + 1] = (hiBase + carry) >>> 0;
  };
  if (encoding === 'base-relative') for (let i = 0; i < count; i++) set(i, offsets.getUint32(i * 4, true), baseHi, baseLo);
  else if (encoding === 'absolute-percpu') {
    for (let i = 0; i < count; i++) {
      const o = offsets.getInt32(i * 4, true);
      if (o >= 0) set(i, o, 0, 0);
      else set(i, -1 - o, baseHi, baseLo);
    }
  } else if (encoding === 'place-relative') {
    const atLo = Number(offsetsAddr & 0xffffffffn);
    const atHi = Number(offsetsAddr >> 32n);
    for (let i = 0; i < count; i++) set(i, i * 4 + offsets.getInt32(i * 4, true), atHi, atLo);
  } else return undefined;
  return out;
}

function decodeAddresses(
  table: AddressTable,
  info: Vmcoreinfo,
  count: number,
  stextIndex: number,
  only?: KallsymsEncoding,
): { addrs: bigint[] | BigUint64Array; encoding: KallsymsEncoding } {
  const stext = info.symbol('_stext');
  if (table.absolute) {
    const bytes = view(table.bytes);
    const addrs = Array.from({ length: count }, (_, i) => bytes.getBigUint64(i * 8, true));
    return { addrs, encoding: 'absolute' };
  }
  const offsetsAddr = info.symbol('kallsyms_offsets')!;
  const offsets = view(table.bytes);
  const relativeBase = table.relativeBase;
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
    if (only !== undefined && encoding !== only) continue;
    if (rule(stextIndex) !== stext) continue;
    const fast = wordRule(encoding, offsets, relativeBase, offsetsAddr, count);
    return { addrs: fast && fast[stextIndex] === stext ? fast : Array.from({ length: count }, (_, i) => rule(i)), encoding };
  }
  throw new KallsymsError(`kallsyms_offsets: no known encoding gives _stext = 0x${stext.toString(16)} (VMCOREINFO)`);
}

export interface KallsymsCacheOptions {
  /** false: neither read nor write the cache. Default true. */
  cache?: boolean;
  /** directory instead of @vmpipe/cache's */
  cacheDir?: string;
}

/**
 * The decoded table is kept by VMCOREINFO BUILD-ID (@vmpipe/cache,
 * `kallsyms-table-<build-id>.bin`): expanding ~90k names and reading the ~90 pages of
 * `kallsyms_offsets` are most of the work, and every boot of a build has the
 * same names and the same `kallsyms_offsets[]` (link-time values: KASLR moves
 * only what they are relative to, `kallsyms_relative_base` or the table's own
 * address, which are read from this dump each time). So the entry holds the
 * names and the raw offsets, and a hit decodes addresses with the kernel's
 * rule exactly as a miss does. (`kallsyms_addresses[]`, absolute and relocated
 * at boot, is never cached: only the names are.)
 *
 * A hit is used only when this dump agrees with the entry where it is cheap to
 * look: the symbol count, the first and last bytes of `kallsyms_names`, a
 * spread of sampled `kallsyms_offsets` entries (among them `_stext`'s), and
 * `_stext` decoding to VMCOREINFO's under the cached encoding; anything else
 * reads the dump as if there were no cache. A damaged entry (size or sha256)
 * is a miss (@vmpipe/cache).
 */
const TABLE_FORMAT = 'vmpipe-kallsyms/3';
const PROBE = 512;
const SAMPLES = 16;

interface TableHead {
  buildId: string;
  count: number;
  bigLengths: boolean;
  stextIndex: number;
  encoding: KallsymsEncoding;
  /** hex of the first PROBE bytes of kallsyms_names */
  probe: string;
  /** bytes of kallsyms_names the symbols take, and hex of the last PROBE of them */
  namesEnd: number;
  tailProbe: string;
  /**
   * bytes of the names (without type letters, each followed by a newline) at
   * the payload's start; then the type letters (one byte each); then
   * nameOrder(symbols) (u32 each) and where each name starts (count + 1 u32),
   * both in `endian` order (another host's entry is a miss); then the raw
   * kallsyms_offsets (none for 'absolute')
   */
  namesLength: number;
  endian: string;
}

export function kallsymsCachePath(buildId: string, dir = cacheDir()): string {
  // Its own name, not the names-only entry's (`kallsyms-<id>.bin`): older and newer vmpipe sharing a cache do not overwrite each other.
  return join(dir, `kallsyms-table-${buildId}.bin`);
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** Indexes of the offsets compared on a hit: the ends, `_stext`'s, and an even spread between. */
function sampleIndexes(count: number, stextIndex: number): number[] {
  const out = new Set([0, count - 1, stextIndex]);
  for (let k = 1; k < SAMPLES - 2; k++) out.add(Math.floor((k * (count - 1)) / (SAMPLES - 2)));
  return [...out];
}

function cachedTable(memory: SymbolMemory, info: Vmcoreinfo, count: number, buildId: string, dir: string): Kallsyms | undefined {
  const entry = readCacheEntry<TableHead>(kallsymsCachePath(buildId, dir), TABLE_FORMAT);
  if (!entry) return undefined;
  const { head, payload } = entry;
  const absolute = info.symbol('kallsyms_addresses') !== undefined;
  if (head.buildId !== buildId || head.count !== count || typeof head.probe !== 'string' || typeof head.tailProbe !== 'string') return undefined;
  if (!Number.isInteger(head.stextIndex) || !Number.isInteger(head.namesEnd) || !Number.isInteger(head.namesLength) || head.namesEnd < head.tailProbe.length / 2) return undefined;
  const orderAt = head.namesLength + count;
  const startsAt = orderAt + count * 4;
  const offsetsAt = startsAt + (count + 1) * 4;
  if (head.endian !== endianness() || (head.encoding === 'absolute') !== absolute || payload.length !== offsetsAt + (absolute ? 0 : count * 4)) return undefined;
  const namesAddr = info.symbol('kallsyms_names')!;
  let table: AddressTable;
  try {
    if (hex(memory.readBytes(namesAddr, head.probe.length / 2)) !== head.probe) return undefined;
    if (hex(memory.readBytes(namesAddr + BigInt(head.namesEnd - head.tailProbe.length / 2), head.tailProbe.length / 2)) !== head.tailProbe) return undefined;
    if (absolute) table = readAddressTable(memory, info, count);
    else {
      const offsets = payload.subarray(offsetsAt);
      const offsetsAddr = info.symbol('kallsyms_offsets')!;
      for (const i of sampleIndexes(count, head.stextIndex)) {
        const got = memory.readBytes(offsetsAddr + BigInt(i * 4), 4);
        for (let b = 0; b < 4; b++) if (got[b] !== offsets[i * 4 + b]) return undefined;
      }
      table = { bytes: offsets, absolute: false, relativeBase: readRelativeBase(memory, info) };
    }
  } catch {
    return undefined; // the dump cannot show the probes: read it as if there were no cache
  }
  // Names and type letters apart: no string per symbol to slice the letter off.
  const names = payload.subarray(0, head.namesLength);
  const starts = new Uint32Array(count + 1); // aligned copies
  new Uint8Array(starts.buffer).set(payload.subarray(startsAt, offsetsAt));
  if (!namesCheck(names, starts, head.stextIndex)) return undefined;
  const order = new Uint32Array(count);
  new Uint8Array(order.buffer).set(payload.subarray(orderAt, startsAt));
  const types = payload.subarray(head.namesLength, head.namesLength + count);
  let decoded: { addrs: bigint[] | BigUint64Array; encoding: KallsymsEncoding };
  try {
    decoded = decodeAddresses(table, info, count, head.stextIndex, head.encoding);
  } catch {
    return undefined;
  }
  const { addrs, encoding } = decoded;
  let symbols: KernelSymbol[] | undefined;
  const made = () => {
    const letters = Array.from({ length: 256 }, (_, c) => String.fromCharCode(c));
    const texts = splitNames(names.toString('latin1'));
    symbols = new Array(count);
    for (let i = 0; i < count; i++) symbols[i] = { name: texts[i]!, type: letters[types[i]!]!, addr: addrs[i]! };
    return symbols;
  };
  // The symbol objects only when asked for: a table over `packed` makes the few it is asked.
  const hit: Kallsyms = {
    get symbols() {
      return symbols ?? made();
    },
    encoding,
    bigLengths: head.bigLengths,
    nameOrder: order,
  };
  if (addrs instanceof BigUint64Array) hit.packed = { names, types, addrs, nameOrder: order, nameStarts: starts };
  return hit;
}

/** The names end where `starts` say, each with a newline, and `_stext` is at its index. */
function namesCheck(names: Buffer, starts: Uint32Array, stextIndex: number): boolean {
  const count = starts.length - 1;
  if (starts[0] !== 0 || starts[count] !== names.length || stextIndex >= count) return false;
  for (let i = 0; i < count; i++) if (starts[i + 1]! <= starts[i]! || names[starts[i + 1]! - 1] !== 10) return false;
  return names.toString('latin1', starts[stextIndex]!, starts[stextIndex + 1]!) === '_stext\n';
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
    const hit = cachedTable(memory, info, count, buildId, dir);
    if (hit) return hit;
  }
  const tokens = readTokens(memory, info.symbol('kallsyms_token_table')!, info.symbol('kallsyms_token_index')!);
  const names = new ChunkedReader(memory, info.symbol('kallsyms_names')!);
  const guess = bigLengthsByRelease(info.osrelease);
  let readError: unknown;
  for (const big of [guess, !guess]) {
    let expanded: { joined: string; end: number } | null;
    try {
      expanded = expandNames(names, count, tokens, big);
    } catch (err) {
      // The wrong length rule walks off the end of the table; the right one may not.
      readError = err;
      continue;
    }
    if (expanded === null) continue;
    const { joined, end } = expanded;
    const texts = splitNames(joined);
    const stextIndex = texts.findIndex((t) => t.length > 1 && t.slice(1) === '_stext');
    if (stextIndex < 0) continue;
    const table = readAddressTable(memory, info, count);
    const { addrs, encoding } = decodeAddresses(table, info, count, stextIndex);
    const symbols: KernelSymbol[] = texts.map((t, i) => ({ name: t.slice(1), type: t[0]!, addr: addrs[i]! }));
    if (useCache) {
      const bytes = names.upTo(end);
      const tail = Math.min(PROBE, end);
      const namesBytes = Buffer.from(symbols.map((x) => `${x.name}\n`).join(''), 'latin1');
      const typeBytes = Buffer.from(symbols.map((x) => x.type).join(''), 'latin1');
      const head: TableHead = {
        buildId: buildId!,
        count,
        bigLengths: big,
        stextIndex,
        encoding,
        probe: hex(bytes.subarray(0, Math.min(PROBE, end))),
        namesEnd: end,
        tailProbe: hex(bytes.subarray(end - tail, end)),
        namesLength: namesBytes.length,
        endian: endianness(),
      };
      const order = nameOrder(symbols);
      const orderBytes = new Uint8Array(order.buffer, order.byteOffset, order.byteLength);
      const starts = new Uint32Array(count + 1);
      for (let i = 0, at = 0; i < count; i++) starts[i + 1] = at += Buffer.byteLength(symbols[i]!.name, 'latin1') + 1;
      const startBytes = new Uint8Array(starts.buffer);
      if (typeBytes.length === count) writeCacheEntry(kallsymsCachePath(buildId!, dir), TABLE_FORMAT, head, Buffer.concat(table.absolute ? [namesBytes, typeBytes, orderBytes, startBytes] : [namesBytes, typeBytes, orderBytes, startBytes, table.bytes]));
    }
    return { symbols, encoding, bigLengths: big };
  }
  if (readError) throw readError;
  throw new KallsymsError('kallsyms_names does not decode: _stext not found under either length rule');
}
