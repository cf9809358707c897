/**
 * Where BTF bytes come from: a raw BTF file (a copy of /sys/kernel/btf/vmlinux,
 * optionally zstd-compressed like the fixture's vmlinux.btf.zst), the `.BTF`
 * section of a vmlinux ELF, or the kernel's own memory between `__start_BTF`
 * and `__stop_BTF` (the linker puts the same section there, so a dump of a
 * BTF-enabled kernel carries its types).
 *
 * ELF: System V gABI, ELF64 header and section headers (e_shoff, e_shnum,
 * e_shstrndx; sh_name, sh_offset, sh_size, sh_flags & SHF_COMPRESSED).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { decompress as zstdDecompress } from 'fzstd';
import type { KernelMemory } from '@vmpipe/addrxlat';
import { BtfError, BtfTable } from './reader.js';

const ZSTD_MAGIC = 0xfd2fb528;
const SHF_COMPRESSED = 0x800;
/** No real vmlinux BTF is near this; a bigger span between the symbols means they are wrong. */
const MAX_BTF_BYTES = 256 << 20;

/** A file is missing or unreadable (as opposed to corrupt). */
export class SourceFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceFileError';
  }
}

function openFile(path: string): number {
  try {
    const fd = openSync(path, 'r');
    if (fstatSync(fd).isDirectory()) {
      closeSync(fd);
      throw new SourceFileError(`${path}: is a directory`);
    }
    return fd;
  } catch (e) {
    if (e instanceof SourceFileError) throw e;
    throw new SourceFileError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
}

/** The section headers of an ELF64 little-endian file (all vmpipe arches). */
export function elfSections(fd: number, path: string): ElfSection[] {
  const eh = readAt(fd, 0, 64);
  if (eh.length < 64 || eh.readUInt32BE(0) !== 0x7f454c46) throw new BtfError(`${path}: not an ELF file`);
  if (eh[4] !== 2 || eh[5] !== 1) throw new BtfError(`${path}: only little-endian ELF64 is supported`);
  const shoff = Number(eh.readBigUInt64LE(0x28));
  const shentsize = eh.readUInt16LE(0x3a);
  const shnum = eh.readUInt16LE(0x3c);
  const shstrndx = eh.readUInt16LE(0x3e);
  if (shoff === 0 || shnum === 0) throw new BtfError(`${path}: ELF file has no section headers`);
  const table = readAt(fd, shoff, shentsize * shnum);
  if (table.length < shentsize * shnum) throw new BtfError(`${path}: ELF section headers truncated`);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = i * shentsize;
    raw.push({
      nameOff: table.readUInt32LE(o),
      type: table.readUInt32LE(o + 4),
      flags: table.readBigUInt64LE(o + 8),
      addr: table.readBigUInt64LE(o + 16),
      offset: Number(table.readBigUInt64LE(o + 24)),
      size: Number(table.readBigUInt64LE(o + 32)),
    });
  }
  const strs = raw[shstrndx];
  const names = strs ? readAt(fd, strs.offset, strs.size) : Buffer.alloc(0);
  return raw.map((s) => {
    const end = names.indexOf(0, s.nameOff);
    return { name: names.toString('latin1', s.nameOff, end < 0 ? names.length : end), type: s.type, flags: s.flags, addr: s.addr, offset: s.offset, size: s.size };
  });
}

/** BTF of a vmlinux ELF's `.BTF` section; undefined when it has none. */
export function readVmlinuxBtf(path: string): BtfTable | undefined {
  const fd = openFile(path);
  try {
    const sec = elfSections(fd, path).find((s) => s.name === '.BTF');
    if (!sec) return undefined;
    if (sec.flags & BigInt(SHF_COMPRESSED)) throw new BtfError(`${path}: compressed .BTF sections are not supported`);
    const bytes = readAt(fd, sec.offset, sec.size);
    if (bytes.length < sec.size) throw new BtfError(`${path}: .BTF section truncated (${bytes.length} of ${sec.size} bytes)`);
    return new BtfTable(bytes, { source: 'btf-vmlinux' });
  } finally {
    closeSync(fd);
  }
}

/** A raw BTF file, zstd-compressed or not; an ELF file given here is read for its `.BTF` section. */
export function readBtfFile(path: string, base?: BtfTable): BtfTable {
  const fd = openFile(path);
  let bytes: Uint8Array;
  try {
    const size = fstatSync(fd).size;
    bytes = readAt(fd, 0, size);
  } finally {
    closeSync(fd);
  }
  if (bytes.length >= 4 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32LE(0) === ZSTD_MAGIC) {
    try {
      bytes = zstdDecompress(bytes);
    } catch (e) {
      throw new BtfError(`${path}: zstd data is corrupt: ${(e as Error).message}`);
    }
  }
  if (bytes.length >= 4 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).readUInt32BE(0) === 0x7f454c46) {
    const t = readVmlinuxBtf(path);
    if (!t) throw new BtfError(`${path}: ELF file has no .BTF section`);
    return t;
  }
  try {
    return new BtfTable(bytes, { source: 'btf-file', ...(base ? { base } : {}) });
  } catch (e) {
    if (e instanceof BtfError) throw new BtfError(`${path}: ${e.message}`);
    throw e;
  }
}

/** The kernel's BTF from memory, given `__start_BTF` and `__stop_BTF`. */
export function readDumpBtf(mem: KernelMemory, start: bigint, stop: bigint): BtfTable {
  const length = Number(stop - start);
  if (!(length > 24 && length < MAX_BTF_BYTES)) throw new BtfError(`__start_BTF..__stop_BTF spans ${length} bytes: not a BTF section`);
  let bytes: Uint8Array;
  try {
    bytes = mem.readBytes(start, length);
  } catch (e) {
    throw new BtfError(`BTF in the dump at 0x${start.toString(16)} is not readable: ${(e as Error).message}`);
  }
  return new BtfTable(bytes, { source: 'btf-dump' });
}
