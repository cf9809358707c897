/**
 * Where BTF bytes come from: a raw BTF file (a copy of /sys/kernel/btf/vmlinux,
 * optionally zstd-compressed like the fixture's vmlinux.btf.zst), the `.BTF`
 * section of a vmlinux ELF, or the kernel's own memory between `__start_BTF`
 * and `__stop_BTF` (the linker puts the same section there, so a dump of a
 * BTF-enabled kernel carries its types).
 * ELF sections are read by @vmpipe/elf (a compressed .BTF is decompressed there).
 */
import { readFileSync, statSync } from 'node:fs';
import { ElfError, ElfFile } from '@vmpipe/elf';
import { decompress as zstdDecompress } from 'fzstd';
import type { KernelMemory } from '@vmpipe/addrxlat';
import { BtfError, BtfTable } from './reader.js';

const ZSTD_MAGIC = 0xfd2fb528;
/** No real vmlinux BTF is near this; a bigger span between the symbols means they are wrong. */
const MAX_BTF_BYTES = 256 << 20;

/** A file is missing or unreadable (as opposed to corrupt). */
export class SourceFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceFileError';
  }
}

/** BTF of a vmlinux ELF's `.BTF` section; undefined when it has none. */
export function readVmlinuxBtf(path: string): BtfTable | undefined {
  let elf: ElfFile;
  try {
    elf = ElfFile.open(path);
  } catch (e) {
    if (e instanceof ElfError) throw e.reason === 'no-input' ? new SourceFileError(e.message) : new BtfError(e.message);
    throw e;
  }
  try {
    const sec = elf.section('.BTF');
    if (!sec) return undefined;
    return new BtfTable(elf.contents(sec), { source: 'btf-vmlinux' });
  } catch (e) {
    if (e instanceof ElfError) throw new BtfError(e.message);
    throw e;
  } finally {
    elf.close();
  }
}

/** A raw BTF file, zstd-compressed or not; an ELF file given here is read for its `.BTF` section. */
export function readBtfFile(path: string, base?: BtfTable): BtfTable {
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) throw new SourceFileError(`${path}: is a directory`);
    bytes = readFileSync(path); // a raw BTF file is a few MB: read whole
  } catch (e) {
    if (e instanceof SourceFileError) throw e;
    throw new SourceFileError(`${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
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

/** The bytes of the kernel's BTF in memory, between `__start_BTF` and `__stop_BTF`. */
export function dumpBtfBytes(mem: KernelMemory, start: bigint, stop: bigint): Uint8Array {
  const length = Number(stop - start);
  if (!(length > 24 && length < MAX_BTF_BYTES)) throw new BtfError(`__start_BTF..__stop_BTF spans ${length} bytes: not a BTF section`);
  try {
    return mem.readBytes(start, length);
  } catch (e) {
    throw new BtfError(`BTF in the dump at 0x${start.toString(16)} is not readable: ${(e as Error).message}`);
  }
}

/** The kernel's BTF from memory, given `__start_BTF` and `__stop_BTF` (readDumpBtfCached in cache.ts keeps it by build-id). */
export function readDumpBtf(mem: KernelMemory, start: bigint, stop: bigint): BtfTable {
  return new BtfTable(dumpBtfBytes(mem, start, stop), { source: 'btf-dump' });
}
