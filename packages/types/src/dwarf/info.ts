/**
 * Units, abbreviations and attributes of `.debug_info` / `.debug_types`.
 * Follows the DWARF 4 and DWARF 5 standards, section 7.5 (format of
 * debugging information: 7.5.1 unit headers of v2–v5 including DWARF 4
 * `.debug_types` and DWARF 5 DW_UT_type, 7.5.3 abbreviations, 7.5.5/7.5.6
 * attribute forms) and 7.26 (`.debug_str_offsets` with
 * DW_AT_str_offsets_base). 32-bit and 64-bit DWARF both read.
 *
 * DIE offsets are global ids: the offset in `.debug_info`, or
 * TYPES_BASE + the offset in `.debug_types`.
 */
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import { Cursor, strAt } from './reader.js';

/** Ids of DIEs in `.debug_types` (DWARF 4 type units) start here; `.debug_info` is far smaller. */
export const TYPES_BASE = 2 ** 40;

/**
 * One unit's abbreviation table, flat for speed (a kernel has thousands of
 * tables; objects per abbreviation cost more to build than to use).
 * For the abbreviation with code `k`, `q = index[k]` (0: no such code) and
 * data[q] = tag, data[q+1] = has children (0/1), data[q+2] = attribute count n,
 * data[q+3] = index of DW_AT_sibling (-1 if none), data[q+4] = bytes the
 * attributes take when every form has a fixed size in this unit (else -1),
 * then n (attribute, form) pairs from data[q+5].
 */
export interface AbbrevTable {
  data: Int32Array;
  index: Int32Array;
  /** DW_FORM_implicit_const values, by the data position of their (attribute, form) pair */
  implicit: Map<number, bigint>;
}

export const AB_TAG = 0;
export const AB_CHILDREN = 1;
export const AB_COUNT = 2;
export const AB_SIBLING = 3;
export const AB_FIXED = 4;
export const AB_PAIRS = 5;

/** Parses the abbreviation table at `off` of `.debug_abbrev` (DWARF 5 7.5.3) for unit `u`'s sizes. */
export function parseAbbrevs(abbrev: Uint8Array, off: number, u: Unit, where: string, base = 0): AbbrevTable {
  if (off - base >= abbrev.length || off < base) throw new DwarfError('damaged', `${where}: abbreviation offset ${off} is past the end of .debug_abbrev`);
  const c = new Cursor(abbrev, off - base);
  // Scratch arrays shared by every call (thousands of tables in a vmlinux): only the result is allocated.
  let data: Int32Array = scratchData;
  let codes: Int32Array = scratchCodes;
  let n = 1;
  let ncodes = 0;
  let implicit: Map<number, bigint> | undefined;
  let maxCode = 0;
  const len = abbrev.length;
  for (;;) {
    if (c.p >= len) throw new DwarfError('damaged', `${where}: abbreviation table at ${off} runs past the end of .debug_abbrev`);
    const code = c.uleb();
    if (code === 0) break;
    if (code > 1_000_000) throw new DwarfError('damaged', `${where}: implausible abbreviation code ${code}`);
    if (ncodes + 2 > codes.length) codes = scratchCodes = grow(codes);
    const q = n;
    codes[ncodes++] = code;
    codes[ncodes++] = q;
    if (code > maxCode) maxCode = code;
    if (n + AB_PAIRS > data.length) data = scratchData = grow(data);
    data[q + AB_TAG] = c.uleb();
    data[q + AB_CHILDREN] = c.u8() === 1 ? 1 : 0;
    data[q + AB_SIBLING] = -1;
    n = q + AB_PAIRS;
    let count = 0;
    let fixed = 0;
    for (;;) {
      if (c.p >= len) throw new DwarfError('damaged', `${where}: abbreviation ${code} runs past the end of .debug_abbrev`);
      const at = c.uleb();
      const form = c.uleb();
      if (at === 0 && form === 0) break;
      if (at === C.DW_AT_sibling) data[q + AB_SIBLING] = count;
      if (form === C.DW_FORM_implicit_const) (implicit ??= new Map()).set(n, c.slebBig());
      if (fixed >= 0) {
        const fs = fixedFormSize(form, u);
        fixed = fs < 0 ? -1 : fixed + fs;
      }
      if (n + 2 > data.length) data = scratchData = grow(data);
      data[n++] = at;
      data[n++] = form;
      count++;
    }
    data[q + AB_COUNT] = count;
    data[q + AB_FIXED] = fixed;
  }
  const index = new Int32Array(maxCode + 1);
  for (let i = 0; i < ncodes; i += 2) index[codes[i]!] = codes[i + 1]!;
  return { data: data.slice(0, n), index, implicit: implicit ?? EMPTY_IMPLICIT };
}

let scratchData: Int32Array = new Int32Array(1 << 16);
let scratchCodes: Int32Array = new Int32Array(1 << 12);
const EMPTY_IMPLICIT = new Map<number, bigint>();

function grow(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

export interface Unit {
  /** global id of the unit header (section offset, + TYPES_BASE for .debug_types) */
  id: number;
  /** true for `.debug_types` */
  inTypes: boolean;
  /** offset of the header in its section */
  offset: number;
  /** offset just past the unit in its section */
  end: number;
  version: number;
  unitType: number;
  offsetSize: number;
  addressSize: number;
  abbrevOffset: number;
  /** offset of the first DIE in the section */
  dieOffset: number;
  typeSignature?: bigint;
  /** section offset of the type DIE of a type unit */
  typeOffset?: number;
}

/** Reads the unit header at `off` (DWARF 5 7.5.1.1–7.5.1.3; DWARF 4 7.5.1.1 and 7.5.1.2 for .debug_types). */
export function parseUnitHeader(b: Uint8Array, base: number, off: number, sectionSize: number, inTypes: boolean, where: string): Unit {
  const c = new Cursor(b, off - base);
  if (c.p + 4 > b.length) throw new DwarfError('damaged', `${where}: unit header at ${off} is truncated`);
  let length = c.u32();
  let offsetSize = 4;
  if (length === 0xffffffff) {
    offsetSize = 8;
    length = c.u64();
  } else if (length >= 0xfffffff0) throw new DwarfError('damaged', `${where}: unit at ${off} has reserved length 0x${length.toString(16)}`);
  const start = off + (offsetSize === 8 ? 12 : 4);
  const end = start + length;
  if (end > sectionSize) throw new DwarfError('damaged', `${where}: unit at ${off} (length ${length}) runs past the end of the section (${sectionSize} bytes)`);
  const headerNeed = offsetSize === 8 ? 40 : 24;
  if (c.p + Math.min(headerNeed, length) > b.length) throw new DwarfError('damaged', `${where}: unit header at ${off} is truncated`);
  const version = c.u16();
  let unitType: number = inTypes ? C.DW_UT_type : C.DW_UT_compile;
  let addressSize: number;
  let abbrevOffset: number;
  let typeSignature: bigint | undefined;
  let typeOffset: number | undefined;
  if (version >= 5) {
    if (version > 5) throw new DwarfError('unsupported', `${where}: unit at ${off} has DWARF version ${version} (this reader knows 2–5)`);
    unitType = c.u8();
    addressSize = c.u8();
    abbrevOffset = c.offset(offsetSize);
    if (unitType === C.DW_UT_skeleton || unitType === C.DW_UT_split_compile) c.p += 8; // dwo_id
    else if (unitType === C.DW_UT_type || unitType === C.DW_UT_split_type) {
      typeSignature = c.u64big();
      typeOffset = off + c.offset(offsetSize);
    }
  } else if (version >= 2) {
    abbrevOffset = c.offset(offsetSize);
    addressSize = c.u8();
    if (inTypes) {
      typeSignature = c.u64big();
      typeOffset = off + c.offset(offsetSize);
    }
  } else throw new DwarfError('unsupported', `${where}: unit at ${off} has DWARF version ${version} (this reader knows 2–5)`);
  const dieOffset = off + (c.p - (off - base));
  if (dieOffset > end) throw new DwarfError('damaged', `${where}: unit header at ${off} is longer than the unit`);
  return {
    id: inTypes ? TYPES_BASE + off : off,
    inTypes,
    offset: off,
    end,
    version,
    unitType,
    offsetSize,
    addressSize,
    abbrevOffset,
    dieOffset,
    typeSignature,
    typeOffset,
  };
}

/** Size in bytes of a form that does not depend on the data, or -1 (DWARF 5 7.5.6). */
export function fixedFormSize(form: number, u: Unit): number {
  switch (form) {
    case C.DW_FORM_flag_present:
    case C.DW_FORM_implicit_const:
      return 0;
    case C.DW_FORM_data1:
    case C.DW_FORM_ref1:
    case C.DW_FORM_flag:
    case C.DW_FORM_strx1:
    case C.DW_FORM_addrx1:
      return 1;
    case C.DW_FORM_data2:
    case C.DW_FORM_ref2:
    case C.DW_FORM_strx2:
    case C.DW_FORM_addrx2:
      return 2;
    case C.DW_FORM_strx3:
    case C.DW_FORM_addrx3:
      return 3;
    case C.DW_FORM_data4:
    case C.DW_FORM_ref4:
    case C.DW_FORM_ref_sup4:
    case C.DW_FORM_strx4:
    case C.DW_FORM_addrx4:
      return 4;
    case C.DW_FORM_data8:
    case C.DW_FORM_ref8:
    case C.DW_FORM_ref_sig8:
    case C.DW_FORM_ref_sup8:
      return 8;
    case C.DW_FORM_data16:
      return 16;
    case C.DW_FORM_addr:
      return u.addressSize;
    case C.DW_FORM_ref_addr:
      return u.version <= 2 ? u.addressSize : u.offsetSize;
    case C.DW_FORM_strp:
    case C.DW_FORM_line_strp:
    case C.DW_FORM_sec_offset:
    case C.DW_FORM_strp_sup:
    case C.DW_FORM_GNU_ref_alt:
    case C.DW_FORM_GNU_strp_alt:
      return u.offsetSize;
    default:
      return -1;
  }
}

/** Moves the cursor past one attribute value. */
export function skipForm(c: Cursor, form: number, u: Unit): void {
  const s = fixedFormSize(form, u);
  if (s >= 0) {
    c.p += s;
    return;
  }
  switch (form) {
    case C.DW_FORM_string:
      c.skipCstring();
      return;
    // (`c.p += c.u8()` would lose the length byte: the left side is read first.)
    case C.DW_FORM_block1: {
      const n = c.u8();
      c.p += n;
      return;
    }
    case C.DW_FORM_block2: {
      const n = c.u16();
      c.p += n;
      return;
    }
    case C.DW_FORM_block4: {
      const n = c.u32();
      c.p += n;
      return;
    }
    case C.DW_FORM_block:
    case C.DW_FORM_exprloc: {
      const n = c.uleb();
      c.p += n;
      return;
    }
    case C.DW_FORM_sdata:
    case C.DW_FORM_udata:
    case C.DW_FORM_ref_udata:
    case C.DW_FORM_strx:
    case C.DW_FORM_addrx:
    case C.DW_FORM_loclistx:
    case C.DW_FORM_rnglistx:
    case C.DW_FORM_GNU_addr_index:
    case C.DW_FORM_GNU_str_index:
      c.skipUleb();
      return;
    case C.DW_FORM_indirect:
      skipForm(c, c.uleb(), u);
      return;
    default:
      throw new DwarfError('damaged', `unit at ${u.offset}: unknown attribute form 0x${form.toString(16)}`);
  }
}

/** String sections a unit's string forms point into. */
export interface StringSections {
  str?: Uint8Array;
  lineStr?: Uint8Array;
  strOffsets?: Uint8Array;
}

/** An attribute value: numbers/bigints for constants, strings resolved, references as global DIE ids. */
export type AttrValue =
  | { k: 'u'; v: number | bigint; size: number } // unsigned constant (dataN, udata); size 0 for udata
  | { k: 's'; v: bigint } // sdata / implicit_const
  | { k: 'str'; v: string }
  | { k: 'ref'; v: number } // global DIE id
  | { k: 'sig'; v: bigint } // ref_sig8
  | { k: 'flag'; v: boolean }
  | { k: 'block'; v: Uint8Array }
  | { k: 'other' };

/** Reads one attribute value at the cursor. `strOffsetsBase` is the unit's DW_AT_str_offsets_base (or 8, the v5 default after the header). */
export function readForm(c: Cursor, form: number, u: Unit, base: number, strs: StringSections, strOffsetsBase: number, implicit: bigint | undefined): AttrValue {
  const unitBase = u.inTypes ? TYPES_BASE : 0;
  switch (form) {
    case C.DW_FORM_data1:
      return { k: 'u', v: c.u8(), size: 1 };
    case C.DW_FORM_data2:
      return { k: 'u', v: c.u16(), size: 2 };
    case C.DW_FORM_data4:
      return { k: 'u', v: c.u32(), size: 4 };
    case C.DW_FORM_data8:
      return { k: 'u', v: c.u64big(), size: 8 };
    case C.DW_FORM_data16:
      c.p += 16;
      return { k: 'other' };
    case C.DW_FORM_udata: {
      const v = c.ulebBig();
      return { k: 'u', v: v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, size: 0 };
    }
    case C.DW_FORM_sdata:
      return { k: 's', v: c.slebBig() };
    case C.DW_FORM_implicit_const:
      return { k: 's', v: implicit ?? 0n };
    case C.DW_FORM_flag:
      return { k: 'flag', v: c.u8() !== 0 };
    case C.DW_FORM_flag_present:
      return { k: 'flag', v: true };
    case C.DW_FORM_string:
      return { k: 'str', v: c.cstring() };
    case C.DW_FORM_strp:
      return { k: 'str', v: stringAt(strs.str, c.offset(u.offsetSize), '.debug_str', u) };
    case C.DW_FORM_line_strp:
      return { k: 'str', v: stringAt(strs.lineStr, c.offset(u.offsetSize), '.debug_line_str', u) };
    case C.DW_FORM_strx:
    case C.DW_FORM_GNU_str_index:
      return { k: 'str', v: strx(strs, c.uleb(), u, strOffsetsBase) };
    case C.DW_FORM_strx1:
      return { k: 'str', v: strx(strs, c.u8(), u, strOffsetsBase) };
    case C.DW_FORM_strx2:
      return { k: 'str', v: strx(strs, c.u16(), u, strOffsetsBase) };
    case C.DW_FORM_strx3:
      return { k: 'str', v: strx(strs, c.u24(), u, strOffsetsBase) };
    case C.DW_FORM_strx4:
      return { k: 'str', v: strx(strs, c.u32(), u, strOffsetsBase) };
    case C.DW_FORM_ref1:
      return { k: 'ref', v: unitBase + u.offset + c.u8() };
    case C.DW_FORM_ref2:
      return { k: 'ref', v: unitBase + u.offset + c.u16() };
    case C.DW_FORM_ref4:
      return { k: 'ref', v: unitBase + u.offset + c.u32() };
    case C.DW_FORM_ref8:
      return { k: 'ref', v: unitBase + u.offset + c.u64() };
    case C.DW_FORM_ref_udata:
      return { k: 'ref', v: unitBase + u.offset + c.uleb() };
    case C.DW_FORM_ref_addr:
      // Always an offset in .debug_info, even from a .debug_types unit.
      return { k: 'ref', v: u.version <= 2 ? c.offset(u.addressSize) : c.offset(u.offsetSize) };
    case C.DW_FORM_ref_sig8:
      return { k: 'sig', v: c.u64big() };
    case C.DW_FORM_block1: {
      const n = c.u8();
      const v = c.b.subarray(c.p, c.p + n);
      c.p += n;
      return { k: 'block', v };
    }
    case C.DW_FORM_block2: {
      const n = c.u16();
      const v = c.b.subarray(c.p, c.p + n);
      c.p += n;
      return { k: 'block', v };
    }
    case C.DW_FORM_block4: {
      const n = c.u32();
      const v = c.b.subarray(c.p, c.p + n);
      c.p += n;
      return { k: 'block', v };
    }
    case C.DW_FORM_block:
    case C.DW_FORM_exprloc: {
      const n = c.uleb();
      const v = c.b.subarray(c.p, c.p + n);
      c.p += n;
      return { k: 'block', v };
    }
    case C.DW_FORM_indirect:
      return readForm(c, c.uleb(), u, base, strs, strOffsetsBase, undefined);
    default:
      // addr, addrx*, sec_offset, loclistx, rnglistx, sup and alt forms: not needed for types.
      skipForm(c, form, u);
      return { k: 'other' };
  }
}

function stringAt(sec: Uint8Array | undefined, off: number, name: string, u: Unit): string {
  if (!sec) throw new DwarfError('damaged', `unit at ${u.offset}: a string refers to ${name}, which the file does not have`);
  const s = strAt(sec, off);
  if (s === undefined) throw new DwarfError('damaged', `unit at ${u.offset}: string offset ${off} is past the end of ${name} (${sec.length} bytes)`);
  return s;
}

/** DW_FORM_strx*: index into this unit's slice of .debug_str_offsets (DWARF 5 7.26). */
export function strxOffset(strs: StringSections, index: number, u: Unit, strOffsetsBase: number): number {
  const so = strs.strOffsets;
  if (!so) throw new DwarfError('damaged', `unit at ${u.offset}: DW_FORM_strx used but the file has no .debug_str_offsets`);
  const at = strOffsetsBase + index * u.offsetSize;
  if (at + u.offsetSize > so.length) throw new DwarfError('damaged', `unit at ${u.offset}: string index ${index} is past the end of .debug_str_offsets`);
  const c = new Cursor(so, at);
  return c.offset(u.offsetSize);
}

function strx(strs: StringSections, index: number, u: Unit, strOffsetsBase: number): string {
  return stringAt(strs.str, strxOffset(strs, index, u, strOffsetsBase), '.debug_str', u);
}
