/**
 * Code as the files hold it, before the kernel patched itself at boot: a
 * vmlinux's bytes at a link-time address (its SHF_ALLOC sections), and a
 * module function's bytes from its .ko (ELF64 symtab, `Elf64_Sym`: name u32,
 * info u8, other u8, shndx u16, value u64, size u64; in an ET_REL file a
 * symbol's value is its offset in section shndx). `moduleCode` reads a .ko's
 * code as stored (its calls out of the module unrelocated);
 * `moduleCodeRelocations` and `applyCodeRelocations` relocate it as the
 * module loader did (relocate.ts).
 */
import { ElfFile } from '@vmpipe/elf';
import { applyRelocation, relocationSize } from './relocate.js';

/** Why file code cannot be read: `reason` says whether the file is missing or unusable. */
export class CodeFileError extends Error {
  constructor(message: string, readonly reason: 'no-input' | 'bad-format' | 'not-found') {
    super(message);
    this.name = 'CodeFileError';
  }
}

const opened = new Map<string, ElfFile>();
function open(path: string): ElfFile {
  let e = opened.get(path);
  if (!e) {
    try {
      e = ElfFile.open(path);
    } catch (err) {
      throw new CodeFileError((err as Error).message, (err as { reason?: string }).reason === 'no-input' ? 'no-input' : 'bad-format');
    }
    opened.set(path, e);
  }
  return e;
}

/** Up to `length` bytes at link-time address `addr` of a vmlinux (fewer at the end of its section). */
export function vmlinuxCode(path: string, addr: bigint, length: number): Uint8Array {
  const elf = open(path);
  const s = elf.sections.find((x) => x.addr !== 0n && addr >= x.addr && addr < x.addr + BigInt(x.size));
  if (!s) throw new CodeFileError(`${path}: no section holds 0x${addr.toString(16)}`, 'not-found');
  const at = Number(addr - s.addr);
  return elf.readIn(s, at, Math.min(length, s.size - at), 'code');
}

interface KoSymbol {
  name: string;
  shndx: number;
  value: bigint;
}

/** A .ko's symbol table (Elf64_Sym, 24 bytes each), in table order: relocations name symbols by index. */
function koSymbols(elf: ElfFile, path: string): { symtabIndex: number; symbols: KoSymbol[] } {
  const symtab = elf.section('.symtab');
  const strtab = symtab ? elf.sections[symtab.link] : undefined;
  if (!symtab || !strtab) throw new CodeFileError(`${path}: no symbol table`, 'bad-format');
  const syms = Buffer.from(elf.contentsRaw(symtab));
  const names = Buffer.from(elf.contentsRaw(strtab));
  const symbols: KoSymbol[] = [];
  for (let o = 0; o + 24 <= syms.length; o += 24) {
    const nameOff = syms.readUInt32LE(o);
    symbols.push({ name: names.toString('latin1', nameOff, names.indexOf(0, nameOff)), shndx: syms.readUInt16LE(o + 6), value: syms.readBigUInt64LE(o + 8) });
  }
  return { symtabIndex: symtab.index, symbols };
}

/** The function `name` defined in the .ko (not an undefined reference to it), and its bytes from `offset`. */
function koFunction(elf: ElfFile, path: string, symbols: KoSymbol[], name: string, offset: number, length: number): { own: KoSymbol; start: number; bytes: Uint8Array } {
  const own = symbols.find((s) => s.name === name && s.shndx !== 0);
  const sec = own ? elf.sections[own.shndx] : undefined;
  if (!own || !sec) throw new CodeFileError(`${path}: no symbol ${name}`, 'not-found');
  const start = Number(own.value) + offset;
  return { own, start, bytes: elf.contentsRaw(sec).slice(start, start + length) };
}

/** Up to `length` bytes at `offset` into function `name` of a .ko. */
export function moduleCode(path: string, name: string, offset: number, length: number): Uint8Array {
  const elf = open(path);
  return koFunction(elf, path, koSymbols(elf, path).symbols, name, offset, length).bytes;
}

/** A relocation inside code read from a .ko (ELF64 `Elf64_Rela`: offset u64, info u64 = sym << 32 | type, addend i64). */
export interface CodeRelocation {
  /** into the bytes returned */
  at: number;
  type: number;
  size: number;
  /** the symbol's name ('' for a section symbol) */
  symbol: string;
  /** the symbol's section (0: undefined, to be found in the kernel or another module) */
  shndx: number;
  /** the symbol's value in the .ko (its offset in shndx) */
  value: bigint;
  addend: bigint;
}

/**
 * A module function's bytes as `moduleCode` reads them, with the relocations of its section
 * (`.rela<section>`) that fall inside them, and the function's own symbol (its section and value)
 * so a caller can place the section in memory.
 */
export function moduleCodeRelocations(path: string, name: string, offset: number, length: number): { bytes: Uint8Array; relocations: CodeRelocation[]; shndx: number; value: bigint; symbols: KoSymbol[]; machine: number; sectionNames: string[] } {
  const elf = open(path);
  const { symtabIndex, symbols } = koSymbols(elf, path);
  const { own, start, bytes } = koFunction(elf, path, symbols, name, offset, length);
  const relocations = sectionRelocations(elf, symtabIndex, symbols, own.shndx, start, start + bytes.length);
  return { bytes, relocations, shndx: own.shndx, value: own.value, symbols, machine: elf.machine, sectionNames: elf.sections.map((x) => x.name) };
}

/** The relocations (`.rela<section>`) of section `shndx` whose fields fall in [from, to), `at` counted from `from`. */
function sectionRelocations(elf: ElfFile, symtabIndex: number, symbols: KoSymbol[], shndx: number, from: number, to: number): CodeRelocation[] {
  const relocations: CodeRelocation[] = [];
  const rela = elf.sections.find((r) => r.type === 4 && r.info === shndx && r.link === symtabIndex);
  if (!rela) return relocations;
  const r = Buffer.from(elf.contentsRaw(rela));
  for (let p = 0; p + 24 <= r.length; p += 24) {
    const off = Number(r.readBigUInt64LE(p));
    const info = r.readBigUInt64LE(p + 8);
    const type = Number(info & 0xffffffffn);
    const size = relocationSize(elf.machine, type) ?? 4;
    if (off + size <= from || off >= to) continue;
    const sym = symbols[Number(info >> 32n)];
    relocations.push({ at: off - from, type, size, symbol: sym?.name ?? '', shndx: sym?.shndx ?? 0, value: sym?.value ?? 0n, addend: r.readBigInt64LE(p + 16) });
  }
  return relocations;
}

/**
 * A whole .ko section by name, as stored, with its relocations (`at` from the section's start),
 * or undefined when the .ko has no such section: the module's tables of patch sites, whose
 * fields only their relocations give meaning.
 */
export function koSection(path: string, name: string): { bytes: Uint8Array; relocations: CodeRelocation[] } | undefined {
  const elf = open(path);
  const index = elf.sections.findIndex((x) => x.name === name);
  if (index < 0) return undefined;
  const { symtabIndex, symbols } = koSymbols(elf, path);
  const bytes = elf.contentsRaw(elf.sections[index]!);
  return { bytes, relocations: sectionRelocations(elf, symtabIndex, symbols, index, 0, bytes.length) };
}

/**
 * The bytes with relocations applied as the module loader of ELF machine `machine` does
 * (relocate.ts), `addr` being where bytes[0] sits in memory; `symbolAddress` gives S (undefined
 * when unknown: that relocation is left as stored); `plt` names the PLT entry an arm64 branch
 * out of reach goes through (relocate.ts). Returns the relocated copy and the
 * relocations that could not be applied.
 */
export function applyCodeRelocations(bytes: Uint8Array, relocations: readonly CodeRelocation[], addr: bigint, symbolAddress: (r: CodeRelocation) => bigint | undefined, machine: number, plt?: (sa: bigint, p: bigint) => bigint | undefined): { bytes: Uint8Array; unresolved: CodeRelocation[] } {
  const out = Uint8Array.from(bytes);
  const v = new DataView(out.buffer);
  const unresolved: CodeRelocation[] = [];
  for (const r of relocations) {
    const s = symbolAddress(r);
    // a field cut by the range's ends cannot be written whole
    const whole = r.at >= 0 && r.at + r.size <= out.length;
    if (s === undefined || !whole || !applyRelocation(machine, r.type, v, r.at, s + r.addend, addr + BigInt(r.at), plt)) unresolved.push(r);
  }
  return { bytes: out, unresolved };
}
