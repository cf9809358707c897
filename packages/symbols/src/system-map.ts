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
import { readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { KernelSymbol } from './table.js';

export interface SystemMap {
  symbols: KernelSymbol[];
  /** lines that were not `addr type name` */
  junkLines: number;
  /** the first junk lines, 1-based line number and text, for the message */
  junkSamples: { line: number; text: string }[];
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

/** Reads a System.map file, gzip-compressed or not (by its magic, not its name). */
export function readSystemMap(path: string): SystemMap {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new SymbolFileError(`System.map ${path}: is a directory`, 'no-input');
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof SymbolFileError) throw err;
    throw new SymbolFileError(`System.map ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 'no-input');
  }
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
