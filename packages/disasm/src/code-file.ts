/**
 * Code as the files hold it, before the kernel patched itself at boot: a
 * vmlinux's bytes at a link-time address (its SHF_ALLOC sections), and a
 * module function's bytes from its .ko (ELF64 symtab, `Elf64_Sym`: name u32,
 * info u8, other u8, shndx u16, value u64, size u64; in an ET_REL file a
 * symbol's value is its offset in section shndx). Relocations are not
 * applied: a .ko's calls out of the module read as they are stored.
 */
import { ElfFile } from '@vmpipe/elf';

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

/** Up to `length` bytes at `offset` into function `name` of a .ko. */
export function moduleCode(path: string, name: string, offset: number, length: number): Uint8Array {
  const elf = open(path);
  const symtab = elf.section('.symtab');
  const strtab = symtab ? elf.sections[symtab.link] : undefined;
  if (!symtab || !strtab) throw new CodeFileError(`${path}: no symbol table`, 'bad-format');
  const syms = Buffer.from(elf.contentsRaw(symtab));
  const names = Buffer.from(elf.contentsRaw(strtab));
  for (let o = 0; o + 24 <= syms.length; o += 24) {
    const nameOff = syms.readUInt32LE(o);
    const end = names.indexOf(0, nameOff);
    if (names.toString('latin1', nameOff, end) !== name) continue;
    const sec = elf.sections[syms.readUInt16LE(o + 6)];
    if (!sec) break;
    const at = Number(syms.readBigUInt64LE(o + 8)) + offset;
    return elf.contentsRaw(sec).slice(at, at + length);
  }
  throw new CodeFileError(`${path}: no symbol ${name}`, 'not-found');
}
