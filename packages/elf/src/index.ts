/**
 * ELF object files: vmlinux, modules, objects — their sections, for symbols (.symtab), types
 * (.BTF, DWARF) and the build-id. Follows the System V gABI
 * ("Sections", "Section Compression" with Elf64_Chdr, "Note Section",
 * "Relocation") for 64-bit little-endian files (x86_64, arm64): vmlinux
 * (ET_EXEC), shared objects and relocatable objects (.o, .ko).
 *
 * Reads are positioned: only the section headers and the sections asked for
 * are read, so a 600 MB vmlinux costs what its .debug_info costs. Sections
 * with SHF_COMPRESSED (ELFCOMPRESS_ZLIB = 1, ELFCOMPRESS_ZSTD = 2) and the
 * older GNU `.zdebug_*` form ("ZLIB" + big-endian size) are decompressed.
 * For ET_REL files the RELA relocations of a debug section are applied
 * (absolute 32/64-bit relocations: S + A), because there .debug_info's
 * offsets into .debug_str/.debug_abbrev are left for the linker to fill in.
 */
import { cString } from '@vmpipe/bytes';
import { createRequire } from 'node:module';
import { DumpError, FileSource } from '@vmpipe/dump/source';

/**
 * zlib and zstd (fzstd) are loaded only when a section needs them: loading
 * modules is a visible part of a 200 ms start-up. For the same reason files are
 * read through @vmpipe/dump's FileSource alone, not its index, which pulls in
 * every dump format and codec.
 */
const lazyRequire = createRequire(import.meta.url);
function zstdDecompress(data: Uint8Array): Uint8Array {
  return (lazyRequire('fzstd') as { decompress(d: Uint8Array): Uint8Array }).decompress(data);
}
function inflateSync(data: Uint8Array): Uint8Array {
  return (lazyRequire('node:zlib') as typeof import('node:zlib')).inflateSync(data);
}

/** Why an ELF file cannot be read; the message is one line, printed as is by a command. */
export type ElfErrorReason = 'no-input' | 'not-elf' | 'unsupported' | 'damaged';

export class ElfError extends Error {
  constructor(readonly reason: ElfErrorReason, message: string) {
    super(message);
    this.name = 'ElfError';
  }
}

export const ET_REL = 1;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const SHT_SYMTAB = 2;
const SHT_RELA = 4;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHF_COMPRESSED = 0x800;
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;
const NT_GNU_BUILD_ID = 3;
// Relocation types (x86-64 psABI 4.4, ELF for the Arm 64-bit Architecture 5.7): the absolute ones
// are the only kinds debug sections use; PC32/PLT32 are what a module's code holds besides.
export const R_X86_64_64 = 1;
export const R_X86_64_PC32 = 2;
export const R_X86_64_PLT32 = 4;
export const R_X86_64_32 = 10;
export const R_X86_64_32S = 11;
const R_AARCH64_ABS64 = 257;
const R_AARCH64_ABS32 = 258;

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export class ElfFile {
  readonly sections: ElfSection[] = [];
  readonly type: number;
  readonly machine: number;
  private readonly byName = new Map<string, ElfSection>();

  private constructor(readonly path: string, private readonly src: FileSource) {
    const ident = src.read(0, 64);
    if (ident.length < 4 || ident[0] !== 0x7f || ident[1] !== 0x45 || ident[2] !== 0x4c || ident[3] !== 0x46) {
      throw new ElfError('not-elf', `${path}: not an ELF file`);
    }
    if (ident[4] !== 2) throw new ElfError('unsupported', `${path}: 32-bit ELF is not supported (only ELF64)`);
    if (ident[5] !== 1) throw new ElfError('unsupported', `${path}: big-endian ELF is not supported`);
    if (ident.length < 64) throw new ElfError('damaged', `${path}: truncated file: the ELF header needs 64 bytes, the file has ${ident.length}`);
    const h = dv(ident);
    this.type = h.getUint16(16, true);
    this.machine = h.getUint16(18, true);
    const shoff = Number(h.getBigUint64(40, true));
    const shentsize = h.getUint16(58, true);
    let shnum = h.getUint16(60, true);
    let shstrndx = h.getUint16(62, true);
    if (shoff === 0) throw new ElfError('damaged', `${path}: ELF file has no section headers (stripped, or a core file?)`);
    if (shentsize < 64) throw new ElfError('damaged', `${path}: ELF section header size ${shentsize} is too small`);
    if (shnum === 0 || shstrndx === 0xffff) {
      // Extended numbering (gABI): the real values sit in section header 0.
      const s0 = dv(this.readExact(shoff, 64, 'section header 0'));
      if (shnum === 0) shnum = Number(s0.getBigUint64(32, true));
      if (shstrndx === 0xffff) shstrndx = s0.getUint32(40, true);
    }
    if (shnum > 1_000_000) throw new ElfError('damaged', `${path}: implausible section count ${shnum}`);
    const table = dv(this.readExact(shoff, shnum * shentsize, 'section header table'));
    const raw: Omit<ElfSection, 'name'>[] & { nameOff: number }[] = [];
    for (let i = 0; i < shnum; i++) {
      const b = i * shentsize;
      raw.push({
        index: i,
        nameOff: table.getUint32(b, true),
        type: table.getUint32(b + 4, true),
        flags: Number(table.getBigUint64(b + 8, true)),
        addr: table.getBigUint64(b + 16, true),
        offset: Number(table.getBigUint64(b + 24, true)),
        size: Number(table.getBigUint64(b + 32, true)),
        link: table.getUint32(b + 40, true),
        info: table.getUint32(b + 44, true),
        entsize: Number(table.getBigUint64(b + 56, true)),
      } as never);
    }
    if (shstrndx >= shnum) throw new ElfError('damaged', `${path}: section name table index ${shstrndx} out of range`);
    const strSec = raw[shstrndx] as unknown as ElfSection;
    const names = this.readExact(strSec.offset, strSec.size, 'section name table');
    for (const r of raw as unknown as (ElfSection & { nameOff: number })[]) {
      const name = cString(names, r.nameOff);
      const { nameOff: _n, ...rest } = r;
      const s: ElfSection = { ...rest, name };
      this.sections.push(s);
      if (!this.byName.has(name)) this.byName.set(name, s);
    }
  }

  static open(path: string): ElfFile {
    let src: FileSource;
    try {
      src = FileSource.open(path);
    } catch (err) {
      if (err instanceof DumpError) throw new ElfError('no-input', err.message);
      throw err;
    }
    try {
      return new ElfFile(path, src);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  close(): void {
    this.src.close();
  }

  section(name: string): ElfSection | undefined {
    return this.byName.get(name) ?? this.byName.get(name.replace(/^\.debug_/, '.zdebug_'));
  }

  /** True when the section's bytes in the file are its contents (no compression, no relocations): positioned reads work. */
  isPlain(s: ElfSection): boolean {
    return (s.flags & SHF_COMPRESSED) === 0 && !s.name.startsWith('.zdebug_') && !(this.type === ET_REL && this.relaFor(s));
  }

  /** Positioned read inside a plain section. */
  readIn(s: ElfSection, offset: number, length: number, what: string): Uint8Array {
    if (offset < 0 || offset + length > s.size) {
      throw new ElfError('damaged', `${this.path}: ${what} at offset ${offset}+${length} runs past the end of ${s.name} (${s.size} bytes)`);
    }
    return this.readExact(s.offset + offset, length, `${s.name} ${what}`);
  }

  /** The section's contents: decompressed, and relocated for ET_REL files. */
  contents(s: ElfSection): Uint8Array {
    if (s.type === SHT_NOBITS) return new Uint8Array(0);
    let bytes = this.readExact(s.offset, s.size, s.name);
    if (s.flags & SHF_COMPRESSED) bytes = this.decompressChdr(s, bytes);
    else if (s.name.startsWith('.zdebug_')) bytes = this.decompressZdebug(s, bytes);
    if (this.type === ET_REL) {
      const rela = this.relaFor(s);
      if (rela) {
        this.applyRela(s, rela, bytes);
      }
    }
    return bytes;
  }

  /** The GNU build-id as lowercase hex, from the first NT_GNU_BUILD_ID note. */
  buildId(): string | undefined {
    for (const s of this.sections) {
      if (s.type !== SHT_NOTE || s.size > 1 << 20) continue;
      const b = this.readExact(s.offset, s.size, s.name);
      const v = dv(b);
      let p = 0;
      while (p + 12 <= b.length) {
        const namesz = v.getUint32(p, true);
        const descsz = v.getUint32(p + 4, true);
        const type = v.getUint32(p + 8, true);
        const nameStart = p + 12;
        const descStart = nameStart + align4(namesz);
        if (descStart + descsz > b.length) break;
        if (type === NT_GNU_BUILD_ID && namesz === 4 && cString(b, nameStart) === 'GNU') {
          return Buffer.from(b.subarray(descStart, descStart + descsz)).toString('hex');
        }
        p = descStart + align4(descsz);
      }
    }
    return undefined;
  }

  private relaFor(s: ElfSection): ElfSection | undefined {
    return this.sections.find((r) => r.type === SHT_RELA && r.info === s.index);
  }

  private decompressChdr(s: ElfSection, bytes: Uint8Array): Uint8Array {
    if (bytes.length < 24) throw new ElfError('damaged', `${this.path}: ${s.name}: compressed section shorter than its Elf64_Chdr`);
    const h = dv(bytes);
    const chType = h.getUint32(0, true);
    const chSize = Number(h.getBigUint64(8, true));
    const payload = bytes.subarray(24);
    let out: Uint8Array;
    try {
      if (chType === ELFCOMPRESS_ZLIB) out = inflateSync(payload);
      else if (chType === ELFCOMPRESS_ZSTD) out = zstdDecompress(payload);
      else throw new ElfError('unsupported', `${this.path}: ${s.name}: unknown compression type ${chType} (known: 1 zlib, 2 zstd)`);
    } catch (err) {
      if (err instanceof ElfError) throw err;
      throw new ElfError('damaged', `${this.path}: ${s.name}: cannot decompress: ${(err as Error).message}`);
    }
    if (out.length !== chSize) {
      throw new ElfError('damaged', `${this.path}: ${s.name}: decompressed to ${out.length} bytes, the header says ${chSize}`);
    }
    return out;
  }

  private decompressZdebug(s: ElfSection, bytes: Uint8Array): Uint8Array {
    if (bytes.length < 12 || Buffer.from(bytes.subarray(0, 4)).toString('latin1') !== 'ZLIB') return bytes;
    const size = Number(dv(bytes).getBigUint64(4, false));
    let out: Uint8Array;
    try {
      out = inflateSync(bytes.subarray(12));
    } catch (err) {
      throw new ElfError('damaged', `${this.path}: ${s.name}: cannot decompress: ${(err as Error).message}`);
    }
    if (out.length !== size) throw new ElfError('damaged', `${this.path}: ${s.name}: decompressed to ${out.length} bytes, the header says ${size}`);
    return out;
  }

  private applyRela(target: ElfSection, rela: ElfSection, bytes: Uint8Array): void {
    const symtab = this.sections[rela.link];
    if (!symtab || symtab.type !== SHT_SYMTAB) return;
    const syms = dv(this.contentsRaw(symtab));
    const r = dv(this.contentsRaw(rela));
    const out = dv(bytes);
    const nsyms = Math.floor(syms.byteLength / 24);
    for (let p = 0; p + 24 <= r.byteLength; p += 24) {
      const off = Number(r.getBigUint64(p, true));
      const info = r.getBigUint64(p + 8, true);
      const addend = r.getBigInt64(p + 16, true);
      const sym = Number(info >> 32n);
      const type = Number(info & 0xffffffffn);
      const value = (sym < nsyms ? syms.getBigUint64(sym * 24 + 8, true) : 0n) + addend;
      if (type === R_X86_64_64 || type === R_AARCH64_ABS64) {
        if (off + 8 > bytes.length) throw this.badReloc(target, off);
        out.setBigUint64(off, BigInt.asUintN(64, value), true);
      } else if (type === R_X86_64_32 || type === R_X86_64_32S || type === R_AARCH64_ABS32) {
        if (off + 4 > bytes.length) throw this.badReloc(target, off);
        out.setUint32(off, Number(BigInt.asUintN(32, value)), true);
      }
      // Other kinds (PC-relative) do not occur in debug sections; left as is.
    }
  }

  private badReloc(s: ElfSection, off: number): ElfError {
    return new ElfError('damaged', `${this.path}: relocation at offset ${off} lies outside ${s.name} (${s.size} bytes)`);
  }

  /** The section's bytes as the file holds them. */
  contentsRaw(s: ElfSection): Uint8Array {
    return this.readExact(s.offset, s.size, s.name);
  }

  private readExact(offset: number, length: number, what: string): Uint8Array {
    const b = this.src.read(offset, length);
    if (b.length < length) {
      throw new ElfError('damaged', `${this.path}: truncated file: ${what} needs ${length} bytes at offset ${offset}, the file has ${Math.max(0, this.src.size - offset)}`);
    }
    return b;
  }
}

function dv(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function align4(n: number): number {
  return (n + 3) & ~3;
}


