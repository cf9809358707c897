/**
 * The symbol table of a vmlinux ELF file.
 *
 * Spec: System V ABI gABI "ELF Object Files" (ELF-64 header, section header,
 * Elf64_Sym; SHT_SYMTAB / SHT_STRTAB / SHT_NOTE / SHT_NOBITS, SHF_WRITE /
 * SHF_ALLOC / SHF_EXECINSTR, STB_*, STT_*, SHN_UNDEF / SHN_ABS / SHN_COMMON)
 * and the GNU build-id note (NT_GNU_BUILD_ID = 3, owner "GNU", in
 * `.note.gnu.build-id` or the kernel's `.notes`).
 *
 * Type letters are nm's (binutils bfd_decode_symclass and decode_section_type):
 * common `C`; undefined `U` (weak: `w`, weak object `v`); GNU ifunc `i`; weak
 * defined `W` (object `V`); GNU unique `u`; absolute `A`; otherwise by the
 * section's flags: executable `t`, NOBITS `b`, allocated and read-only `r`,
 * allocated and writable `d`, not allocated `n`; uppercase when global.
 * Section and file symbols are left out, as nm leaves them out.
 *
 * The file is read with positioned reads: a vmlinux with DWARF is ~300 MB and
 * only the headers, the symtab and its strtab are needed.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { KernelSymbol } from './table.js';
import { SymbolFileError } from './system-map.js';

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHF_WRITE = 0x1;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const SHN_ABS = 0xfff1;
const SHN_COMMON = 0xfff2;
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STB_WEAK = 2;
const STB_GNU_UNIQUE = 10;
const STT_OBJECT = 1;
const STT_SECTION = 3;
const STT_FILE = 4;
const STT_COMMON = 5;
const STT_GNU_IFUNC = 10;
const NT_GNU_BUILD_ID = 3;

export interface ElfSection {
  name: string;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

export interface VmlinuxSymbols {
  machine: number;
  /** lowercase hex of the GNU build-id note, when the file has one */
  buildId: string | undefined;
  symbols: KernelSymbol[];
}

export function machineName(machine: number): string {
  return machine === EM_X86_64 ? 'x86_64' : machine === EM_AARCH64 ? 'arm64 (aarch64)' : `e_machine ${machine}`;
}

class PositionedFile {
  readonly fd: number;
  readonly size: number;
  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SymbolFileError(`vmlinux ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 'no-input');
    }
    const st = fstatSync(this.fd);
    if (st.isDirectory()) {
      closeSync(this.fd);
      throw new SymbolFileError(`vmlinux ${path}: is a directory`, 'no-input');
    }
    this.size = st.size;
  }

  read(offset: number, length: number, what: string): Buffer {
    if (offset < 0 || offset + length > this.size) {
      throw new SymbolFileError(`vmlinux ${this.path}: truncated: ${what} at ${offset}+${length} lies past the end (${this.size} bytes)`, 'bad-format');
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return buf;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function cString(buf: Buffer, at: number): string {
  if (at >= buf.length) return '';
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
}

function nmLetter(info: number, shndx: number, sections: ElfSection[]): string | undefined {
  const bind = info >> 4;
  const type = info & 0xf;
  if (type === STT_SECTION || type === STT_FILE) return undefined;
  const isObject = type === STT_OBJECT || type === STT_COMMON;
  if (shndx === SHN_COMMON || type === STT_COMMON) return 'C';
  if (shndx === SHN_UNDEF) return bind === STB_WEAK ? (isObject ? 'v' : 'w') : 'U';
  if (type === STT_GNU_IFUNC) return 'i';
  if (bind === STB_WEAK) return isObject ? 'V' : 'W';
  if (bind === STB_GNU_UNIQUE) return 'u';
  if (bind !== STB_GLOBAL && bind !== STB_LOCAL) return '?';
  let c: string;
  if (shndx === SHN_ABS) c = 'a';
  else if (shndx >= SHN_LORESERVE) return '?';
  else {
    const sec = sections[shndx];
    if (!sec) return '?';
    if (sec.flags & BigInt(SHF_EXECINSTR)) c = 't';
    else if (!(sec.flags & BigInt(SHF_ALLOC))) c = 'n';
    else if (sec.type === SHT_NOBITS) c = 'b';
    else if (!(sec.flags & BigInt(SHF_WRITE))) c = 'r';
    else c = 'd';
  }
  return bind === STB_GLOBAL ? c.toUpperCase() : c;
}

function buildIdFromNotes(notes: Buffer): string | undefined {
  let off = 0;
  while (off + 12 <= notes.length) {
    const namesz = notes.readUInt32LE(off);
    const descsz = notes.readUInt32LE(off + 4);
    const type = notes.readUInt32LE(off + 8);
    const nameAt = off + 12;
    const descAt = nameAt + ((namesz + 3) & ~3);
    const next = descAt + ((descsz + 3) & ~3);
    if (next > notes.length || next <= off) break;
    const name = notes.toString('latin1', nameAt, nameAt + namesz).replace(/\0+$/, '');
    if (type === NT_GNU_BUILD_ID && name === 'GNU') return notes.toString('hex', descAt, descAt + descsz);
    off = next;
  }
  return undefined;
}

/**
 * Reads an ELF64 little-endian file's header, build-id and (unless
 * `withSymbols` is false: matching needs only the build-id) its symtab.
 */
export function readVmlinuxSymbols(path: string, withSymbols = true): VmlinuxSymbols {
  const file = new PositionedFile(path);
  try {
    const head = file.read(0, Math.min(64, file.size), 'ELF header');
    if (head.length < 16 || head.toString('latin1', 0, 4) !== '\x7fELF') {
      throw new SymbolFileError(`vmlinux ${path}: not an ELF file`, 'bad-format');
    }
    if (head[4] !== 2) throw new SymbolFileError(`vmlinux ${path}: a 32-bit ELF file; only 64-bit kernels are supported`, 'bad-format');
    if (head[5] !== 1) throw new SymbolFileError(`vmlinux ${path}: a big-endian ELF file; only little-endian kernels are supported`, 'bad-format');
    if (head.length < 64) throw new SymbolFileError(`vmlinux ${path}: truncated ELF header`, 'bad-format');
    const machine = head.readUInt16LE(18);
    const shoff = Number(head.readBigUInt64LE(40));
    const shentsize = head.readUInt16LE(58);
    const shnum = head.readUInt16LE(60);
    const shstrndx = head.readUInt16LE(62);
    if (shoff === 0 || shnum === 0) throw new SymbolFileError(`vmlinux ${path}: no section headers (a stripped or core file?)`, 'bad-format');
    if (shentsize < 64) throw new SymbolFileError(`vmlinux ${path}: section header entries of ${shentsize} bytes (64 expected)`, 'bad-format');
    const table = file.read(shoff, shnum * shentsize, 'section headers');
    const raw = Array.from({ length: shnum }, (_, i) => {
      const at = i * shentsize;
      return {
        nameOff: table.readUInt32LE(at),
        type: table.readUInt32LE(at + 4),
        flags: table.readBigUInt64LE(at + 8),
        addr: table.readBigUInt64LE(at + 16),
        offset: Number(table.readBigUInt64LE(at + 24)),
        size: Number(table.readBigUInt64LE(at + 32)),
        link: table.readUInt32LE(at + 40),
        entsize: Number(table.readBigUInt64LE(at + 56)),
      };
    });
    const shstr = raw[shstrndx] && raw[shstrndx]!.type !== SHT_NOBITS ? file.read(raw[shstrndx]!.offset, raw[shstrndx]!.size, 'section names') : Buffer.alloc(0);
    const sections: ElfSection[] = raw.map((s) => ({ name: cString(shstr, s.nameOff), type: s.type, flags: s.flags, addr: s.addr, offset: s.offset, size: s.size, link: s.link, entsize: s.entsize }));

    let buildId: string | undefined;
    for (const s of sections) {
      if (s.type !== SHT_NOTE || s.size === 0 || s.size > 1 << 20) continue;
      buildId = buildIdFromNotes(file.read(s.offset, s.size, `note section ${s.name}`));
      if (buildId) break;
    }

    const symtab = sections.find((s) => s.type === SHT_SYMTAB);
    if (!withSymbols) return { machine, buildId, symbols: [] };
    if (!symtab) throw new SymbolFileError(`vmlinux ${path}: no .symtab (stripped?)`, 'bad-format');
    const strtab = sections[symtab.link];
    if (!strtab) throw new SymbolFileError(`vmlinux ${path}: .symtab links to no string table`, 'bad-format');
    const syms = file.read(symtab.offset, symtab.size, '.symtab');
    const strs = file.read(strtab.offset, strtab.size, '.strtab');
    const entsize = symtab.entsize || 24;
    const symbols: KernelSymbol[] = [];
    for (let at = entsize; at + 24 <= syms.length; at += entsize) {
      const name = cString(strs, syms.readUInt32LE(at));
      if (name === '') continue;
      const info = syms[at + 4]!;
      const shndx = syms.readUInt16LE(at + 6);
      const type = nmLetter(info, shndx, sections);
      if (type === undefined || type === 'U' || type === 'w' || type === 'v') continue; // undefined symbols name no address
      const size = Number(syms.readBigUInt64LE(at + 16));
      symbols.push({ name, addr: syms.readBigUInt64LE(at + 8), type, size });
    }
    return { machine, buildId, symbols };
  } finally {
    file.close();
  }
}
