/**
 * The name index: (kind, name) → DIE id of the first definition and of a
 * declaration, built without materialising DIEs. Follows DWARF 5 section 7.5
 * (unit headers, abbreviations, forms) and 7.26 (string offsets).
 *
 * Only the children of each unit's root DIE are looked at (C types are
 * declared at file scope); everything below them is jumped over with
 * DW_AT_sibling when the producer emitted it (gcc does for almost every DIE
 * with children), else walked by abbreviation. Names are kept as
 * `.debug_str` offsets — the same name is the same offset in every unit
 * because the linker merges strings — and a lookup turns its name into the
 * offsets where that string sits, so no name is decoded during the scan.
 *
 * The scan is progressive: units are read in chunks of a few MB and a lookup
 * stops as soon as its name has a definition (pahole -C stops at the same
 * unit), so the first question on a fresh vmlinux costs a few MB, not the
 * whole of .debug_info. The state (how far the scan got, the entries so
 * far) is what the cache saves; a later miss continues from there.
 */
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import { AB_CHILDREN, AB_COUNT, AB_FIXED, AB_PAIRS, AB_SIBLING, AB_TAG, parseAbbrevs, parseUnitHeader, readForm, skipForm, strxOffset, TYPES_BASE, type AbbrevTable, type StringSections, type Unit } from './info.js';
import { Cursor, strAt } from './reader.js';

/** Kinds in the index; `base` splits into int/float by DW_AT_encoding. */
export const enum IndexKind {
  struct = 1,
  union = 2,
  enum = 3,
  typedef = 4,
  int = 5,
  float = 6,
}

export const INDEX_KIND_NAMES = ['', 'struct', 'union', 'enum', 'typedef', 'int', 'float'] as const;

/** What the index knows, in a form that can be saved to the cache file and loaded back. */
export interface IndexState {
  /** next unit offset to scan in .debug_types, then in .debug_info */
  typesPos: number;
  infoPos: number;
  /** flat: kind, nameKey, def, size, decl per entry */
  entries: number[];
  inlineNames: string[];
  /** type signature (hex) → global id of the type DIE */
  signatures: [string, number][];
}

export interface IndexEntry {
  kind: IndexKind;
  /** DIE id of the first definition (in unit order, .debug_types first), -1 if only declared */
  def: number;
  size: number;
  /** DIE id of a declaration, -1 if none */
  decl: number;
}

/** What the scan needs of the file: whole string/abbreviation sections and unit bytes on demand. */
export interface ScanSource extends StringSections {
  abbrev: Uint8Array;
  sectionSize(inTypes: boolean): number;
  slice(inTypes: boolean, offset: number, end: number): Uint8Array;
}

const TAG_KIND: number[] = [];
TAG_KIND[C.DW_TAG_structure_type] = IndexKind.struct;
TAG_KIND[C.DW_TAG_class_type] = IndexKind.struct;
TAG_KIND[C.DW_TAG_union_type] = IndexKind.union;
TAG_KIND[C.DW_TAG_enumeration_type] = IndexKind.enum;
TAG_KIND[C.DW_TAG_typedef] = IndexKind.typedef;
TAG_KIND[C.DW_TAG_base_type] = IndexKind.int;

const LINE_STR_KEY = 2 ** 36;
const INLINE_KEY = 2 ** 37;
/** Units are read in chunks of about this many bytes: a lookup that is answered early reads little. */
const CHUNK = 4 << 20;

/**
 * The name index. Scans progressively: a lookup scans units in order until
 * the name has a definition (as pahole -C does), so the first question on a
 * fresh vmlinux is answered after a few units; `complete()` scans the rest.
 * The state saved in the cache includes how far the scan got.
 */
export class NameIndex {
  private readonly byKey = new Map<number, number>();
  private kinds: number[] = [];
  private keys: number[] = [];
  private defs: number[] = [];
  private sizes: number[] = [];
  private decls: number[] = [];
  private readonly inline = new Map<string, number>();
  private readonly inlineNames: string[] = [];
  readonly signatures = new Map<string, number>();
  private readonly abbrevCache = new Map<number, { table: AbbrevTable; sig: string }>();
  /** section offset of the buffer being scanned (for messages) */
  private curBase = 0;
  private typesPos = 0;
  private infoPos = 0;
  /** bytes of .debug_info/.debug_types scanned by this process (for the benchmark) */
  scannedBytes = 0;
  /** true when the state changed since load (the cache should be rewritten) */
  dirty = false;

  constructor(private readonly s: ScanSource, private readonly path: string, state?: IndexState) {
    if (state) {
      this.typesPos = state.typesPos;
      this.infoPos = state.infoPos;
      for (const n of state.inlineNames) this.inlineKey(n);
      const e = state.entries;
      for (let i = 0; i + 5 <= e.length; i += 5) {
        const idx = this.entry(e[i]!, e[i + 1]!);
        this.defs[idx] = e[i + 2]!;
        this.sizes[idx] = e[i + 3]!;
        this.decls[idx] = e[i + 4]!;
      }
      for (const [k, v] of state.signatures) this.signatures.set(k, v);
    }
  }

  get isComplete(): boolean {
    return this.typesPos >= this.s.sectionSize(true) && this.infoPos >= this.s.sectionSize(false);
  }

  state(): IndexState {
    const entries: number[] = [];
    for (let i = 0; i < this.kinds.length; i++) entries.push(this.kinds[i]!, this.keys[i]!, this.defs[i]!, this.sizes[i]!, this.decls[i]!);
    return { typesPos: this.typesPos, infoPos: this.infoPos, entries, inlineNames: this.inlineNames, signatures: [...this.signatures] };
  }

  /** The entry for this kind and name, scanning further until it has a definition or the scan is complete. */
  find(kind: IndexKind, name: string): IndexEntry | undefined {
    let e = this.peek(kind, name);
    while ((!e || e.def < 0) && !this.isComplete) {
      this.scanChunk();
      e = this.peek(kind, name);
    }
    return e;
  }

  /** The type unit's type DIE for a signature (DW_FORM_ref_sig8), scanning further if needed. */
  signature(sig: bigint): number | undefined {
    const k = sig.toString(16);
    let v = this.signatures.get(k);
    while (v === undefined && !this.isComplete) {
      this.scanChunk();
      v = this.signatures.get(k);
    }
    return v;
  }

  complete(): void {
    while (!this.isComplete) this.scanChunk();
  }

  /** Every indexed name of a kind (completes the scan). */
  names(kind: IndexKind): string[] {
    this.complete();
    const out: string[] = [];
    for (let i = 0; i < this.kinds.length; i++) if (this.kinds[i] === kind) out.push(this.nameOf(this.keys[i]!));
    return out;
  }

  /** What is known now, without scanning. */
  peek(kind: IndexKind, name: string): IndexEntry | undefined {
    let best: IndexEntry | undefined;
    for (const key of this.candidateKeys(name)) {
      const i = this.byKey.get(key * 8 + kind);
      if (i === undefined) continue;
      const e: IndexEntry = { kind, def: this.defs[i]!, size: this.sizes[i]!, decl: this.decls[i]! };
      if (!best) best = e;
      else {
        // The same name reached through two string forms: a definition beats a declaration, the earlier DIE wins.
        if (best.decl < 0) best.decl = e.decl;
        if (e.def >= 0 && (best.def < 0 || e.def < best.def)) {
          best.def = e.def;
          best.size = e.size;
        }
      }
    }
    return best;
  }

  /** Every name key this string can have: each place it sits NUL-terminated in .debug_str (the linker merges tails), inline, .debug_line_str. */
  private candidateKeys(name: string): number[] {
    const keys: number[] = [];
    const needle = Buffer.from(name + '\0', 'utf8');
    for (const [sec, base] of [[this.s.str, 0], [this.s.lineStr, LINE_STR_KEY]] as const) {
      if (!sec) continue;
      const hay = Buffer.from(sec.buffer, sec.byteOffset, sec.byteLength);
      for (let at = hay.indexOf(needle); at >= 0; at = hay.indexOf(needle, at + 1)) keys.push(base + at);
    }
    const k = this.inline.get(name);
    if (k !== undefined) keys.push(k);
    return keys;
  }

  private nameOf(key: number): string {
    let name: string | undefined;
    if (key >= INLINE_KEY) name = this.inlineNames[key - INLINE_KEY];
    else if (key >= LINE_STR_KEY) name = this.s.lineStr ? strAt(this.s.lineStr, key - LINE_STR_KEY) : undefined;
    else name = this.s.str ? strAt(this.s.str, key) : undefined;
    if (name === undefined) throw new DwarfError('damaged', `${this.path}: a type name points past the end of its string section`);
    return name;
  }

  /** Scans the units in the next chunk: .debug_types first (DWARF 4 type units hold the definitions CUs point to), then .debug_info. */
  private scanChunk(): void {
    const inTypes = this.typesPos < this.s.sectionSize(true);
    const size = this.s.sectionSize(inTypes);
    const start = inTypes ? this.typesPos : this.infoPos;
    const where = `${this.path}: ${inTypes ? '.debug_types' : '.debug_info'}`;
    let buf = this.s.slice(inTypes, start, Math.min(size, start + CHUNK));
    let first = parseUnitHeader(buf, start, start, size, inTypes, where);
    if (first.end > start + buf.length) {
      buf = this.s.slice(inTypes, start, first.end);
      first = parseUnitHeader(buf, start, start, size, inTypes, where);
    }
    let off = start;
    let u: Unit | undefined = first;
    while (u) {
      if (u.typeSignature !== undefined && u.typeOffset !== undefined) {
        this.signatures.set(u.typeSignature.toString(16), (inTypes ? TYPES_BASE : 0) + u.typeOffset);
      }
      if (u.unitType !== C.DW_UT_skeleton && u.unitType !== C.DW_UT_split_compile && u.unitType !== C.DW_UT_split_type) {
        this.scanUnit(buf, start, u);
      }
      off = u.end;
      u = undefined;
      if (off < size && off + 4 <= start + buf.length) {
        // The next unit, if it fits in this chunk.
        const c = new Cursor(buf, off - start);
        const len = c.u32();
        const total = len === 0xffffffff ? 12 + (off + 12 <= start + buf.length ? new Cursor(buf, off - start + 4).u64() : Infinity) : 4 + len;
        if (off + total <= start + buf.length) u = parseUnitHeader(buf, start, off, size, inTypes, where);
      }
    }
    this.scannedBytes += off - start;
    if (inTypes) this.typesPos = off;
    else this.infoPos = off;
    this.dirty = true;
  }

  private entry(kind: number, nameKey: number): number {
    const key = nameKey * 8 + kind;
    let e = this.byKey.get(key);
    if (e === undefined) {
      e = this.kinds.length;
      this.byKey.set(key, e);
      this.kinds.push(kind);
      this.keys.push(nameKey);
      this.defs.push(-1);
      this.sizes.push(0);
      this.decls.push(-1);
    }
    return e;
  }

  private abbrevs(u: Unit): AbbrevTable {
    const sig = `${u.version}/${u.offsetSize}/${u.addressSize}`;
    let e = this.abbrevCache.get(u.abbrevOffset);
    if (!e || e.sig !== sig) {
      e = { table: parseAbbrevs(this.s.abbrev, u.abbrevOffset, u, `${this.path}: unit at ${u.offset}`), sig };
      this.abbrevCache.set(u.abbrevOffset, e);
    }
    return e.table;
  }

  /** Scans one unit; `buf` holds the section's bytes from offset `base`. */
  private scanUnit(buf: Uint8Array, base: number, u: Unit): void {
    const table = this.abbrevs(u);
    this.curBase = base;
    const data = table.data;
    const index = table.index;
    const maxCode = index.length;
    // Positions below are in buf; section offset = base + position.
    const c = new Cursor(buf, u.dieOffset - base);
    const end = u.end - base;
    const idBase = (u.inTypes ? TYPES_BASE : 0) + base;
    const offsetSize = u.offsetSize;
    if (c.p >= end) return;
    // Root DIE (compile_unit / type_unit): read fully, for DW_AT_str_offsets_base.
    const rootCode = c.uleb();
    if (rootCode === 0) return;
    const rq = rootCode < maxCode ? index[rootCode]! : 0;
    if (rq === 0) throw this.bad(u, c.p, `unknown abbreviation code ${rootCode}`);
    let strOffsetsBase = u.version >= 5 ? 8 : 0;
    for (let i = 0, n = data[rq + AB_COUNT]!; i < n; i++) {
      const at = data[rq + AB_PAIRS + 2 * i]!;
      const form = data[rq + AB_PAIRS + 2 * i + 1]!;
      if (at === C.DW_AT_str_offsets_base) {
        const v = readForm(c, form, u, 0, this.s, 0, undefined);
        if (v.k === 'u') strOffsetsBase = Number(v.v);
      } else skipForm(c, form, u);
    }
    if (data[rq + AB_CHILDREN] === 0) return;
    const unitStart = u.offset - base;
    for (;;) {
      if (c.p >= end) break; // tolerate a missing final null entry
      const dieStart = c.p;
      const code = c.uleb();
      if (code === 0) break;
      const q = code < maxCode ? index[code]! : 0;
      if (q === 0) throw this.bad(u, dieStart, `unknown abbreviation code ${code}`);
      const kind = TAG_KIND[data[q + AB_TAG]!];
      const hasChildren = data[q + AB_CHILDREN] === 1;
      if (kind === undefined) {
        if (hasChildren) {
          if (data[q + AB_SIBLING]! >= 0) {
            const target = this.readSibling(c, table, q, u, unitStart);
            if (target <= dieStart || target > end) throw this.bad(u, dieStart, `DW_AT_sibling points to ${target}`);
            c.p = target;
          } else {
            this.skipAttrs(c, table, q, u);
            this.skipChildren(c, table, u, unitStart, end);
          }
        } else {
          const fixed = data[q + AB_FIXED]!;
          if (fixed >= 0) c.p += fixed;
          else this.skipAttrs(c, table, q, u);
        }
        continue;
      }
      // A type DIE: name, declaration, byte_size, encoding, sibling.
      let nameKey = -1;
      let decl = false;
      let size = 0;
      let encoding = 0;
      let sibling = -1;
      const n = data[q + AB_COUNT]!;
      for (let i = 0; i < n; i++) {
        const pq = q + AB_PAIRS + 2 * i;
        const at = data[pq]!;
        const form = data[pq + 1]!;
        if (at === C.DW_AT_name) {
          if (form === C.DW_FORM_strp) nameKey = c.offset(offsetSize);
          else if (form === C.DW_FORM_string) nameKey = this.inlineKey(c.cstring());
          else if (form === C.DW_FORM_line_strp) nameKey = LINE_STR_KEY + c.offset(offsetSize);
          else {
            const idx = form === C.DW_FORM_strx1 ? c.u8() : form === C.DW_FORM_strx2 ? c.u16() : form === C.DW_FORM_strx3 ? c.u24() : form === C.DW_FORM_strx4 ? c.u32() : form === C.DW_FORM_strx || form === C.DW_FORM_GNU_str_index ? c.uleb() : -1;
            if (idx < 0) skipForm(c, form, u);
            else nameKey = strxOffset(this.s, idx, u, strOffsetsBase);
          }
        } else if (at === C.DW_AT_declaration) {
          if (form === C.DW_FORM_flag_present) decl = true;
          else if (form === C.DW_FORM_flag) decl = c.u8() !== 0;
          else skipForm(c, form, u);
        } else if (at === C.DW_AT_byte_size || at === C.DW_AT_encoding) {
          let v = 0;
          if (form === C.DW_FORM_data1) v = c.u8();
          else if (form === C.DW_FORM_data2) v = c.u16();
          else if (form === C.DW_FORM_data4) v = c.u32();
          else if (form === C.DW_FORM_udata) v = c.uleb();
          else if (form === C.DW_FORM_implicit_const) v = Number(table.implicit.get(pq) ?? 0n);
          else skipForm(c, form, u);
          if (at === C.DW_AT_byte_size) size = v;
          else encoding = v;
        } else if (at === C.DW_AT_sibling) {
          sibling = this.refValue(c, form, u, unitStart);
        } else if (form === C.DW_FORM_ref4 || form === C.DW_FORM_data4) c.p += 4;
        else if (form === C.DW_FORM_data1) c.p += 1;
        else if (form === C.DW_FORM_data2) c.p += 2;
        else skipForm(c, form, u);
      }
      if (nameKey >= 0) {
        let k: number = kind;
        if (kind === IndexKind.int && (encoding === C.DW_ATE_float || encoding === C.DW_ATE_complex_float)) k = IndexKind.float;
        this.record(k, nameKey, idBase + dieStart, decl, size);
      }
      if (hasChildren) {
        if (sibling >= 0) {
          if (sibling <= dieStart || sibling > end) throw this.bad(u, dieStart, `DW_AT_sibling points to ${sibling}`);
          c.p = sibling;
        } else this.skipChildren(c, table, u, unitStart, end);
      }
    }
    if (c.p > end) throw this.bad(u, c.p, 'DIEs run past the end of the unit');
  }

  private record(kind: number, nameKey: number, die: number, decl: boolean, size: number): void {
    const e = this.entry(kind, nameKey);
    if (decl) {
      if (this.decls[e]! < 0) this.decls[e] = die;
    } else if (this.defs[e]! < 0) {
      this.defs[e] = die;
      this.sizes[e] = size;
    }
  }

  private inlineKey(name: string): number {
    let k = this.inline.get(name);
    if (k === undefined) {
      k = INLINE_KEY + this.inlineNames.length;
      this.inline.set(name, k);
      this.inlineNames.push(name);
    }
    return k;
  }

  private readSibling(c: Cursor, table: AbbrevTable, q: number, u: Unit, unitStart: number): number {
    const data = table.data;
    const sib = data[q + AB_SIBLING]!;
    for (let i = 0; i < sib; i++) skipForm(c, data[q + AB_PAIRS + 2 * i + 1]!, u);
    return this.refValue(c, data[q + AB_PAIRS + 2 * sib + 1]!, u, unitStart);
  }

  /** A reference attribute as a section offset (the unit's own section). */
  private refValue(c: Cursor, form: number, u: Unit, unitStart: number): number {
    switch (form) {
      case C.DW_FORM_ref4:
        return unitStart + c.u32();
      case C.DW_FORM_ref1:
        return unitStart + c.u8();
      case C.DW_FORM_ref2:
        return unitStart + c.u16();
      case C.DW_FORM_ref8:
        return unitStart + c.u64();
      case C.DW_FORM_ref_udata:
        return unitStart + c.uleb();
      default:
        skipForm(c, form, u);
        return -1;
    }
  }

  private skipAttrs(c: Cursor, table: AbbrevTable, q: number, u: Unit): void {
    const data = table.data;
    const fixed = data[q + AB_FIXED]!;
    if (fixed >= 0) {
      c.p += fixed;
      return;
    }
    for (let i = 0, n = data[q + AB_COUNT]!; i < n; i++) skipForm(c, data[q + AB_PAIRS + 2 * i + 1]!, u);
  }

  /** Skips the children of the DIE whose attributes were just read. */
  private skipChildren(c: Cursor, table: AbbrevTable, u: Unit, unitStart: number, end: number): void {
    const data = table.data;
    const index = table.index;
    let depth = 1;
    while (depth > 0) {
      if (c.p >= end) throw this.bad(u, c.p, 'children run past the end of the unit');
      const at = c.p;
      const code = c.uleb();
      if (code === 0) {
        depth--;
        continue;
      }
      const q = code < index.length ? index[code]! : 0;
      if (q === 0) throw this.bad(u, at, `unknown abbreviation code ${code}`);
      const hasChildren = data[q + AB_CHILDREN] === 1;
      if (hasChildren && data[q + AB_SIBLING]! >= 0) {
        const target = this.readSibling(c, table, q, u, unitStart);
        if (target > at && target <= end) {
          c.p = target;
          continue;
        }
        throw this.bad(u, at, `DW_AT_sibling points to ${target}`);
      }
      this.skipAttrs(c, table, q, u);
      if (hasChildren) depth++;
    }
  }

  private bad(u: Unit, at: number, what: string): DwarfError {
    return new DwarfError('damaged', `${this.path}: ${u.inTypes ? '.debug_types' : '.debug_info'} unit at ${u.offset}, DIE at ${this.curBase + at}: ${what}`);
  }
}
