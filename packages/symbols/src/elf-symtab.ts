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
 * The file is read through @vmpipe/elf with positioned reads: a vmlinux with DWARF
 * is ~300 MB and only the headers, the symtab and its strtab are needed.
 */
import { cString } from '@vmpipe/bytes';
import { EM_AARCH64, EM_X86_64, ElfError, ElfFile, SHT_NOBITS, SHT_SYMTAB, type ElfSection } from '@vmpipe/elf';
import type { KernelSymbol } from './table.js';
import { SymbolFileError } from './system-map.js';

export { EM_AARCH64, EM_X86_64 };

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

export interface VmlinuxSymbols {
  machine: number;
  /** lowercase hex of the GNU build-id note, when the file has one */
  buildId: string | undefined;
  symbols: KernelSymbol[];
}

export function machineName(machine: number): string {
  return machine === EM_X86_64 ? 'x86_64' : machine === EM_AARCH64 ? 'arm64 (aarch64)' : `e_machine ${machine}`;
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
    if (sec.flags & SHF_EXECINSTR) c = 't';
    else if (!(sec.flags & SHF_ALLOC)) c = 'n';
    else if (sec.type === SHT_NOBITS) c = 'b';
    else if (!(sec.flags & SHF_WRITE)) c = 'r';
    else c = 'd';
  }
  return bind === STB_GLOBAL ? c.toUpperCase() : c;
}

/**
 * Reads an ELF64 little-endian file's header, build-id and (unless
 * `withSymbols` is false: matching needs only the build-id) its symtab.
 */
export function readVmlinuxSymbols(path: string, withSymbols = true): VmlinuxSymbols {
  let file: ElfFile;
  try {
    file = ElfFile.open(path);
  } catch (err) {
    if (err instanceof ElfError) throw new SymbolFileError(`vmlinux ${err.message}`, err.reason === 'no-input' ? 'no-input' : 'bad-format');
    throw err;
  }
  try {
    const machine = file.machine;
    const buildId = file.buildId();
    if (!withSymbols) return { machine, buildId, symbols: [] };
    const sections = file.sections;
    const symtab = sections.find((s) => s.type === SHT_SYMTAB);
    if (!symtab) throw new SymbolFileError(`vmlinux ${path}: no .symtab (stripped?)`, 'bad-format');
    const strtab = sections[symtab.link];
    if (!strtab) throw new SymbolFileError(`vmlinux ${path}: .symtab links to no string table`, 'bad-format');
    const syms = Buffer.from(file.contentsRaw(symtab));
    const strs = Buffer.from(file.contentsRaw(strtab));
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
  } catch (err) {
    if (err instanceof ElfError) throw new SymbolFileError(`vmlinux ${err.message}`, 'bad-format');
    throw err;
  } finally {
    file.close();
  }
}
