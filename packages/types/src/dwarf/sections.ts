/**
 * The DWARF sections of one ELF file, as the type reader needs them:
 * small string and abbreviation sections are read whole (they are a few MB
 * even for a vmlinux); `.debug_info` is read whole only when an index has to
 * be built, and otherwise unit by unit with positioned reads.
 */
import { ElfFile, type ElfSection } from './elf.js';
import { DwarfError, fromElf } from './errors.js';
import { parseAbbrevs, type AbbrevTable, type Unit } from './info.js';

export class DwarfFile {
  private abbrevWhole?: Uint8Array;
  private readonly abbrevSection: ElfSection;
  readonly str?: Uint8Array;
  readonly lineStr?: Uint8Array;
  readonly strOffsets?: Uint8Array;
  readonly infoSection: ElfSection;
  readonly typesSection?: ElfSection;
  private info?: Uint8Array;
  private types?: Uint8Array;

  constructor(readonly elf: ElfFile) {
    const info = elf.section('.debug_info');
    if (!info || info.size === 0) throw new DwarfError('no-dwarf', `${elf.path}: no .debug_info section (no DWARF debug information; install the -dbg package's vmlinux or compile with -g)`);
    this.infoSection = info;
    this.typesSection = elf.section('.debug_types');
    const abbrev = elf.section('.debug_abbrev');
    if (!abbrev) throw new DwarfError('damaged', `${elf.path}: .debug_info without .debug_abbrev`);
    this.abbrevSection = abbrev;
    const opt = (n: string) => {
      const s = elf.section(n);
      return s ? fromElf(() => elf.contents(s)) : undefined;
    };
    this.str = opt('.debug_str');
    this.lineStr = opt('.debug_line_str');
    this.strOffsets = opt('.debug_str_offsets');
  }

  /** All of .debug_abbrev (the index scan needs every unit's table). */
  get abbrev(): Uint8Array {
    return (this.abbrevWhole ??= fromElf(() => this.elf.contents(this.abbrevSection)));
  }

  /** One unit's abbreviation table; a positioned read when the whole section is not in memory. */
  abbrevTable(u: Unit): AbbrevTable {
    const where = `${this.elf.path}: unit at ${u.offset}`;
    const s = this.abbrevSection;
    if (this.abbrevWhole || !this.elf.isPlain(s)) return parseAbbrevs(this.abbrev, u.abbrevOffset, u, where);
    if (u.abbrevOffset >= s.size) throw new DwarfError('damaged', `${where}: abbreviation offset ${u.abbrevOffset} is past the end of .debug_abbrev (${s.size} bytes)`);
    // A unit's table is a few KB; read 64 KB, and the rest of the section only if that was not enough.
    const first = Math.min(s.size - u.abbrevOffset, 64 * 1024);
    try {
      return parseAbbrevs(fromElf(() => this.elf.readIn(s, u.abbrevOffset, first, 'abbreviations')), u.abbrevOffset, u, where, u.abbrevOffset);
    } catch (err) {
      if (first === s.size - u.abbrevOffset) throw err;
      return parseAbbrevs(fromElf(() => this.elf.readIn(s, u.abbrevOffset, s.size - u.abbrevOffset, 'abbreviations')), u.abbrevOffset, u, where, u.abbrevOffset);
    }
  }

  /** Size of a section's contents (decompressed size for SHF_COMPRESSED: asked of the data itself). */
  get infoSize(): number {
    return this.info ? this.info.length : this.elf.isPlain(this.infoSection) ? this.infoSection.size : this.wholeInfo().length;
  }

  wholeInfo(): Uint8Array {
    return (this.info ??= fromElf(() => this.elf.contents(this.infoSection)));
  }

  wholeTypes(): Uint8Array | undefined {
    if (!this.typesSection) return undefined;
    return (this.types ??= fromElf(() => this.elf.contents(this.typesSection!)));
  }

  /** Bytes [offset, end) of .debug_info or .debug_types; positioned when the section is stored plain. */
  slice(inTypes: boolean, offset: number, end: number): Uint8Array {
    const whole = inTypes ? this.types : this.info;
    if (whole) return whole.subarray(offset, end);
    const s = inTypes ? this.typesSection : this.infoSection;
    if (!s) throw new DwarfError('damaged', `${this.elf.path}: reference into .debug_types, which the file does not have`);
    if (this.elf.isPlain(s)) return fromElf(() => this.elf.readIn(s, offset, end - offset, 'unit'));
    const all = inTypes ? this.wholeTypes()! : this.wholeInfo();
    return all.subarray(offset, end);
  }

  sectionSize(inTypes: boolean): number {
    const s = inTypes ? this.typesSection : this.infoSection;
    if (!s) return 0;
    if (this.elf.isPlain(s)) return s.size;
    return (inTypes ? this.wholeTypes()! : this.wholeInfo()).length;
  }
}
