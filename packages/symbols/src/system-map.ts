/**
 * System.map: the kernel build's `nm -n vmlinux` output, filtered
 * (scripts/mksysmap). Spec: one symbol per line, `<address> <type> <name>`,
 * the address in hex without 0x (16 digits on 64-bit), the type one nm
 * letter (binutils nm(1)), the name up to the end of the line. The same
 * shape as /proc/kallsyms, whose lines may end with `\t[module]`: that is read
 * too. Addresses are link-time ones (KASLR not applied) unless the file was
 * made from a running kernel; relocation is matching's job (match.ts).
 *
 * A line that is not of this shape is junk: counted and shown (the first few)
 * so the user sees it, never fatal.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { cacheDir, readCacheEntry, writeCacheEntry } from '@vmpipe/cache';
import { nameOrder, type KernelSymbol } from './table.js';

export interface SystemMap {
  symbols: KernelSymbol[];
  /** lines that were not `addr type name` */
  junkLines: number;
  /** the first junk lines, 1-based line number and text, for the message */
  junkSamples: { line: number; text: string }[];
  /** nameOrder(symbols), when the cache had it (a SymbolTable hint) */
  nameOrder?: Uint32Array;
}

export class SymbolFileError extends Error {
  constructor(message: string, readonly reason: 'no-input' | 'bad-format' | 'mismatch') {
    super(message);
    this.name = 'SymbolFileError';
  }
}

const LINE = /^([0-9a-fA-F]{1,16})\s+([a-zA-Z?-])\s+(\S+)(?:\s+\[(\S+)\])?\s*$/;

export function parseSystemMap(text: string): SystemMap {
  const symbols: KernelSymbol[] = [];
  const junkSamples: { line: number; text: string }[] = [];
  let junkLines = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      junkLines++;
      if (junkSamples.length < 3) junkSamples.push({ line: i + 1, text: line.length > 60 ? line.slice(0, 57) + '...' : line });
      continue;
    }
    const symbol: KernelSymbol = { name: m[3]!, addr: BigInt('0x' + m[1]!), type: m[2]! };
    if (m[4]) symbol.module = m[4];
    symbols.push(symbol);
  }
  return { symbols, junkLines, junkSamples };
}

export interface SystemMapCacheOptions {
  /** false: neither read nor write the cache. Default true. */
  cache?: boolean;
  /** directory instead of @vmpipe/cache's */
  cacheDir?: string;
}

/**
 * A parsed System.map is kept by the file's size and sha256 (@vmpipe/cache,
 * `system-map-<sha256>.bin`): parsing ~90k lines is ~0.1 s of every run that
 * is given one (arm64 kernels without CONFIG_KALLSYMS_ALL need it for every
 * data symbol), hashing the file a few ms. The entry holds the names (and
 * modules), the type letters, the addresses as the file has them and the
 * symbols' order by name (SymbolTableHints), in this host's byte order; a damaged
 * entry is a miss. A process that reads the same file twice (validation, then
 * loading) parses it once.
 */
const MAP_FORMAT = 'vmpipe-system-map/1';

interface MapHead {
  fileSize: number;
  fileSha256: string;
  count: number;
  namesLength: number;
  junkLines: number;
  junkSamples: { line: number; text: string }[];
  /** the addresses are stored in this host's byte order (a cache directory shared with another host is a miss) */
  endian: string;
}

export function systemMapCachePath(sha256: string, dir = cacheDir()): string {
  return join(dir, `system-map-${sha256}.bin`);
}

const parsedInProcess = new Map<string, SystemMap>();

function encodeMap(map: SystemMap): { names: Buffer; rest: Buffer } {
  const n = map.symbols.length;
  const names = Buffer.from(map.symbols.map((s) => (s.module ? `${s.name}\t${s.module}` : s.name)).join('\n'), 'latin1');
  const addrs = new BigUint64Array(n);
  const rest = Buffer.alloc(n * 13);
  for (let i = 0; i < n; i++) {
    const s = map.symbols[i]!;
    addrs[i] = s.addr;
    rest[n * 8 + i] = s.type.charCodeAt(0);
  }
  rest.set(new Uint8Array(addrs.buffer), 0);
  rest.set(new Uint8Array(nameOrder(map.symbols).buffer), n * 9);
  return { names, rest };
}

function decodeMap(head: MapHead, payload: Buffer): SystemMap | undefined {
  const n = head.count;
  if (head.endian !== endianness() || !Number.isInteger(n) || !Number.isInteger(head.namesLength) || payload.length !== head.namesLength + n * 13) return undefined;
  const texts = payload.toString('latin1', 0, head.namesLength).split('\n');
  if (texts.length !== n) return undefined;
  const rest = payload.subarray(head.namesLength);
  const addrs = new BigUint64Array(n); // an aligned copy: indexing it is far cheaper than readBigUInt64LE
  new Uint8Array(addrs.buffer).set(rest.subarray(0, n * 8));
  const symbols: KernelSymbol[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const text = texts[i]!;
    const tab = text.indexOf('\t');
    const symbol: KernelSymbol = { name: tab < 0 ? text : text.slice(0, tab), addr: addrs[i]!, type: String.fromCharCode(rest[n * 8 + i]!) };
    if (tab >= 0) symbol.module = text.slice(tab + 1);
    symbols[i] = symbol;
  }
  const order = new Uint32Array(n);
  new Uint8Array(order.buffer).set(rest.subarray(n * 9, n * 13));
  return { symbols, junkLines: head.junkLines, junkSamples: head.junkSamples, nameOrder: order };
}

/** Reads a System.map file, gzip-compressed or not (by its magic, not its name); parsed once per file content (see above). */
export function readSystemMap(path: string, opts: SystemMapCacheOptions = {}): SystemMap {
  let file: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new SymbolFileError(`System.map ${path}: is a directory`, 'no-input');
    file = readFileSync(path);
  } catch (err) {
    if (err instanceof SymbolFileError) throw err;
    throw new SymbolFileError(`System.map ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 'no-input');
  }
  const useCache = opts.cache !== false;
  const sha = createHash('sha256').update(file).digest('hex');
  const cachePath = systemMapCachePath(sha, opts.cacheDir ?? cacheDir());
  const key = `${file.length}:${cachePath}`;
  const seen = useCache ? parsedInProcess.get(key) : undefined;
  if (seen) return seen;
  if (useCache) {
    const entry = readCacheEntry<MapHead>(cachePath, MAP_FORMAT);
    const hit = entry && entry.head.fileSize === file.length && entry.head.fileSha256 === sha ? decodeMap(entry.head, entry.payload) : undefined;
    if (hit && hit.symbols.length > 0) {
      parsedInProcess.set(key, hit);
      return hit;
    }
  }
  const map = parseSystemMapFile(path, file);
  if (useCache) {
    parsedInProcess.set(key, map);
    const { names, rest } = encodeMap(map);
    const head: MapHead = { fileSize: file.length, fileSha256: sha, count: map.symbols.length, namesLength: names.length, junkLines: map.junkLines, junkSamples: map.junkSamples, endian: endianness() };
    writeCacheEntry(cachePath, MAP_FORMAT, head, Buffer.concat([names, rest]));
  }
  return map;
}

function parseSystemMapFile(path: string, file: Buffer): SystemMap {
  let bytes = file;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new SymbolFileError(`System.map ${path}: damaged gzip: ${(err as Error).message}`, 'bad-format');
    }
  }
  if (bytes.subarray(0, 4).toString('latin1') === '\x7fELF') {
    throw new SymbolFileError(`System.map ${path}: is an ELF file (give it with --vmlinux)`, 'bad-format');
  }
  const map = parseSystemMap(bytes.toString('latin1'));
  if (map.symbols.length === 0) throw new SymbolFileError(`System.map ${path}: no "address type name" lines in it`, 'bad-format');
  return map;
}
