/**
 * DWARF DIEs as the project's type model (../model.ts), decoded lazily: a
 * TypeId is the DIE's global id (see info.ts), `get` decodes the DIE the
 * first time it is asked for. Follows DWARF 5 sections 5.1–5.8 (base,
 * modified, typedef, array, structure/union, enumeration, subroutine types)
 * and 5.7.6 for member locations and bit offsets, including the DWARF 2/3
 * DW_AT_bit_offset form that DWARF 4 producers still emit.
 */
import type { CType, EnumValue, Member, NamedKind, Param, TypeId, TypeSource, TypeTable } from '../model.js';
import * as C from './constants.js';
import { DwarfError } from './errors.js';
import { IndexKind, type NameIndex } from './indexer.js';
import { AB_CHILDREN, AB_COUNT, AB_PAIRS, AB_TAG, parseUnitHeader, readForm, skipForm, TYPES_BASE, type AbbrevTable, type AttrValue, type Unit } from './info.js';
import { Cursor } from './reader.js';
import type { DwarfFile } from './sections.js';

/** Ids of types that have no DIE of their own (inner dimensions of multi-dimensional arrays). */
const SYNTH_BASE = 2 ** 50;

interface UnitCtx {
  unit: Unit;
  /** the unit's bytes, from its header */
  buf: Uint8Array;
  table: AbbrevTable;
  strOffsetsBase: number;
}

interface Die {
  id: number;
  tag: number;
  ctx: UnitCtx;
  attrs: Map<number, AttrValue>;
  hasChildren: boolean;
  /** buffer position just past the attributes (the first child, if any) */
  next: number;
}

/** Unit headers, discovered on demand by walking the length fields. */
class UnitDirectory {
  private readonly lists: [Unit[], Unit[]] = [[], []];
  private readonly walked = [0, 0];

  constructor(private readonly f: DwarfFile) {}

  find(id: number): Unit {
    const inTypes = id >= TYPES_BASE && id < SYNTH_BASE;
    const off = inTypes ? id - TYPES_BASE : id;
    const t = inTypes ? 1 : 0;
    const list = this.lists[t];
    const size = this.f.sectionSize(inTypes);
    if (off < 0 || off >= size) throw new DwarfError('damaged', `${this.f.elf.path}: DIE reference ${off} is outside ${inTypes ? '.debug_types' : '.debug_info'} (${size} bytes)`);
    while (this.walked[t]! <= off) {
      const pos = this.walked[t]!;
      const head = this.f.slice(inTypes, pos, Math.min(size, pos + 64));
      const u = parseUnitHeader(head, pos, pos, size, inTypes, `${this.f.elf.path}: ${inTypes ? '.debug_types' : '.debug_info'}`);
      list.push(u);
      this.walked[t] = u.end;
    }
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (list[mid]!.offset <= off) lo = mid;
      else hi = mid - 1;
    }
    return list[lo]!;
  }
}

export class DwarfTypeTable implements TypeTable {
  readonly source: TypeSource = 'dwarf';
  readonly littleEndian = true;
  readonly pointerSize: number;
  private readonly types = new Map<TypeId, CType>();
  private readonly units: UnitDirectory;
  private readonly ctxs = new Map<number, UnitCtx>();
  private nextSynth = SYNTH_BASE;

  constructor(private readonly f: DwarfFile, readonly index: NameIndex, private readonly onScan?: () => void) {
    this.units = new UnitDirectory(f);
    this.types.set(0, { kind: 'void' });
    this.pointerSize = f.elf.machine === 62 || f.elf.machine === 183 ? 8 : 8;
  }

  /** Closes the file; types already decoded stay usable. */
  close(): void {
    this.f.elf.close();
  }

  get(id: TypeId): CType {
    const known = this.types.get(id);
    if (known) return known;
    if (id >= SYNTH_BASE) throw new Error(`type ${id}: no such type`);
    const die = this.die(id);
    const t = this.build(die);
    this.types.set(id, t);
    return t;
  }

  lookup(kind: NamedKind, name: string): TypeId | undefined {
    const ik = INDEX_KIND[kind];
    if (ik !== undefined) {
      const e = this.find(ik, name);
      return e && e.def >= 0 ? e.def : undefined;
    }
    if (kind === 'fwd') {
      for (const k of [IndexKind.struct, IndexKind.union, IndexKind.enum]) {
        const e = this.find(k, name);
        if (e && e.decl >= 0 && e.def < 0) return e.decl;
      }
    }
    return undefined; // func/var: a DWARF table does not produce declarations
  }

  names(kind: NamedKind): Iterable<string> {
    const ik = INDEX_KIND[kind];
    if (ik === undefined) return [];
    const out = this.index.names(ik);
    this.onScan?.();
    return out;
  }

  private find(kind: IndexKind, name: string) {
    const e = this.index.find(kind, name);
    if (this.index.dirty) this.onScan?.();
    return e;
  }

  // --- DIEs ---------------------------------------------------------------

  private ctx(u: Unit): UnitCtx {
    let ctx = this.ctxs.get(u.id);
    if (ctx) return ctx;
    const buf = this.f.slice(u.inTypes, u.offset, u.end);
    const table = this.f.abbrevTable(u);
    ctx = { unit: u, buf, table, strOffsetsBase: u.version >= 5 ? 8 : 0 };
    // The root DIE may set DW_AT_str_offsets_base (DWARF 5 3.1.1).
    const root = this.parseAt(ctx, u.dieOffset - u.offset);
    const base = root?.attrs.get(C.DW_AT_str_offsets_base);
    if (base && base.k === 'u') ctx.strOffsetsBase = Number(base.v);
    this.ctxs.set(u.id, ctx);
    return ctx;
  }

  private die(id: number): Die {
    const u = this.units.find(id);
    const ctx = this.ctx(u);
    const pos = id - u.id;
    if (pos < u.dieOffset - u.offset || pos >= ctx.buf.length) throw new DwarfError('damaged', `${this.f.elf.path}: DIE reference ${id} is not inside a unit's DIEs`);
    const d = this.parseAt(ctx, pos);
    if (!d) throw new DwarfError('damaged', `${this.f.elf.path}: DIE reference ${id} points at a null entry`);
    return d;
  }

  /** The DIE at buffer position `pos`, or undefined for a null entry. */
  private parseAt(ctx: UnitCtx, pos: number): Die | undefined {
    const c = new Cursor(ctx.buf, pos);
    const code = c.uleb();
    if (code === 0) return undefined;
    const { data, index, implicit } = ctx.table;
    const q = code < index.length ? index[code]! : 0;
    if (q === 0) throw new DwarfError('damaged', `${this.f.elf.path}: DIE at ${ctx.unit.id + pos}: unknown abbreviation code ${code}`);
    const attrs = new Map<number, AttrValue>();
    for (let i = 0, n = data[q + AB_COUNT]!; i < n; i++) {
      const pq = q + AB_PAIRS + 2 * i;
      attrs.set(data[pq]!, readForm(c, data[pq + 1]!, ctx.unit, 0, this.f, ctx.strOffsetsBase, implicit.get(pq)));
    }
    if (c.p > ctx.buf.length) throw new DwarfError('damaged', `${this.f.elf.path}: DIE at ${ctx.unit.id + pos} runs past the end of its unit`);
    return { id: ctx.unit.id + pos, tag: data[q + AB_TAG]!, ctx, attrs, hasChildren: data[q + AB_CHILDREN] === 1, next: c.p };
  }

  private children(d: Die): Die[] {
    const out: Die[] = [];
    if (!d.hasChildren) return out;
    const ctx = d.ctx;
    let pos = d.next;
    for (;;) {
      if (pos >= ctx.buf.length) throw new DwarfError('damaged', `${this.f.elf.path}: children of DIE ${d.id} run past the end of the unit`);
      const child = this.parseAt(ctx, pos);
      if (!child) break;
      out.push(child);
      pos = this.after(child);
    }
    return out;
  }

  /** Buffer position of the DIE after `d` and all its children. */
  private after(d: Die): number {
    if (!d.hasChildren) return d.next;
    const sib = d.attrs.get(C.DW_AT_sibling);
    if (sib && sib.k === 'ref') {
      const pos = sib.v - d.ctx.unit.id;
      if (pos > d.next - 1 && pos <= d.ctx.buf.length) return pos;
    }
    // Walk: skip attributes by abbreviation, count depth.
    const ctx = d.ctx;
    const { data, index } = ctx.table;
    const c = new Cursor(ctx.buf, d.next);
    let depth = 1;
    while (depth > 0) {
      if (c.p >= ctx.buf.length) throw new DwarfError('damaged', `${this.f.elf.path}: children of DIE ${d.id} run past the end of the unit`);
      const code = c.uleb();
      if (code === 0) {
        depth--;
        continue;
      }
      const q = code < index.length ? index[code]! : 0;
      if (q === 0) throw new DwarfError('damaged', `${this.f.elf.path}: unknown abbreviation code ${code} in unit at ${ctx.unit.offset}`);
      for (let i = 0, n = data[q + AB_COUNT]!; i < n; i++) skipForm(c, data[q + AB_PAIRS + 2 * i + 1]!, ctx.unit);
      if (data[q + AB_CHILDREN] === 1) depth++;
    }
    return c.p;
  }

  // --- attributes -----------------------------------------------------------

  private name(d: Die): string {
    const v = d.attrs.get(C.DW_AT_name);
    return v && v.k === 'str' ? v.v : '';
  }

  /** DW_AT_type as a TypeId (0 = void when absent), following type signatures. */
  private typeRef(d: Die, at = C.DW_AT_type): TypeId {
    const v = d.attrs.get(at);
    if (!v) return 0;
    if (v.k === 'ref') return v.v;
    if (v.k === 'sig') {
      const id = this.index.signature(v.v);
      if (id === undefined) throw new DwarfError('damaged', `${this.f.elf.path}: DIE ${d.id} refers to type signature 0x${v.v.toString(16)}, which no type unit has`);
      return id;
    }
    return 0;
  }

  private num(d: Die, at: number): number | undefined {
    const v = d.attrs.get(at);
    if (!v) return undefined;
    if (v.k === 'u' || v.k === 's') return Number(v.v);
    return undefined;
  }

  private flag(d: Die, at: number): boolean {
    const v = d.attrs.get(at);
    return !!v && v.k === 'flag' && v.v;
  }

  // --- types -----------------------------------------------------------------

  private build(d: Die): CType {
    switch (d.tag) {
      case C.DW_TAG_base_type:
        return this.baseType(d);
      case C.DW_TAG_unspecified_type:
        return { kind: 'void' };
      case C.DW_TAG_pointer_type:
      case C.DW_TAG_reference_type:
      case C.DW_TAG_rvalue_reference_type:
      case C.DW_TAG_ptr_to_member_type:
        return { kind: 'pointer', type: this.typeRef(d), size: this.num(d, C.DW_AT_byte_size) ?? d.ctx.unit.addressSize };
      case C.DW_TAG_const_type:
        return { kind: 'const', type: this.typeRef(d) };
      case C.DW_TAG_volatile_type:
        return { kind: 'volatile', type: this.typeRef(d) };
      case C.DW_TAG_restrict_type:
        return { kind: 'restrict', type: this.typeRef(d) };
      case C.DW_TAG_atomic_type:
        // The model has no _Atomic qualifier (see index.ts): carried as a type tag.
        return { kind: 'type_tag', type: this.typeRef(d), name: '_Atomic' };
      case C.DW_TAG_immutable_type:
        return { kind: 'const', type: this.typeRef(d) };
      case C.DW_TAG_typedef:
        return { kind: 'typedef', name: this.name(d), type: this.typeRef(d) };
      case C.DW_TAG_structure_type:
      case C.DW_TAG_class_type:
      case C.DW_TAG_union_type:
        return this.structType(d);
      case C.DW_TAG_enumeration_type:
        return this.enumType(d);
      case C.DW_TAG_array_type:
        return this.arrayType(d);
      case C.DW_TAG_subroutine_type:
        return this.funcType(d);
      default:
        throw new DwarfError('damaged', `${this.f.elf.path}: DIE ${d.id} (tag 0x${d.tag.toString(16)}) is not a type`);
    }
  }

  private baseType(d: Die): CType {
    const enc = this.num(d, C.DW_AT_encoding) ?? C.DW_ATE_signed;
    const size = this.num(d, C.DW_AT_byte_size) ?? 0;
    const name = this.name(d);
    if (enc === C.DW_ATE_float || enc === C.DW_ATE_complex_float) return { kind: 'float', name, size };
    return {
      kind: 'int',
      name,
      size,
      signed: enc === C.DW_ATE_signed || enc === C.DW_ATE_signed_char,
      char: enc === C.DW_ATE_signed_char || enc === C.DW_ATE_unsigned_char,
      bool: enc === C.DW_ATE_boolean,
      bits: this.num(d, C.DW_AT_bit_size) ?? size * 8,
    };
  }

  /** A type-unit skeleton (DW_AT_signature) stands for the type unit's definition. */
  private signatureTarget(d: Die): CType | undefined {
    if (!d.attrs.has(C.DW_AT_signature)) return undefined;
    const id = this.typeRef(d, C.DW_AT_signature);
    return id && id !== d.id ? this.get(id) : undefined;
  }

  /**
   * The full definition for a forward declaration, found by name across all
   * units as pahole does (the first definition in unit order); `id` itself
   * when it is not a declaration or nothing defines it. Kept out of `get` so
   * that naming a `struct foo *` never costs an index scan.
   */
  definition(id: TypeId): TypeId {
    const t = this.get(id);
    if (t.kind !== 'fwd') return id;
    return this.lookup(t.fwdKind, t.name) ?? id;
  }

  private structType(d: Die): CType {
    const kind = d.tag === C.DW_TAG_union_type ? 'union' : 'struct';
    const name = this.name(d);
    if (this.flag(d, C.DW_AT_declaration) || d.attrs.has(C.DW_AT_signature)) {
      return this.signatureTarget(d) ?? { kind: 'fwd', name, fwdKind: kind };
    }
    const members: Member[] = [];
    for (const m of this.children(d)) {
      if (m.tag !== C.DW_TAG_member) continue; // inheritance, nested types, methods: not C layout
      members.push(this.member(m));
    }
    const t: CType = { kind, name, size: this.num(d, C.DW_AT_byte_size) ?? 0, members };
    const align = this.num(d, C.DW_AT_alignment);
    if (align) t.align = align;
    return t;
  }

  private member(m: Die): Member {
    const type = this.typeRef(m);
    const bitSize = this.num(m, C.DW_AT_bit_size) ?? 0;
    let bitOffset: number;
    const dbo = this.num(m, C.DW_AT_data_bit_offset);
    if (dbo !== undefined) bitOffset = dbo;
    else {
      bitOffset = this.memberLocation(m) * 8;
      const old = this.num(m, C.DW_AT_bit_offset);
      if (old !== undefined && bitSize) {
        // DWARF 2/3: bits counted from the most significant bit of a storage unit of DW_AT_byte_size bytes
        // (the member type's size when absent). Little-endian: from the low end that is unit*8 - old - size.
        const storage = this.num(m, C.DW_AT_byte_size) ?? sizeOfId(this, type);
        bitOffset += storage * 8 - old - bitSize;
      }
    }
    return { name: this.name(m), type, bitOffset, bitSize };
  }

  /** DW_AT_data_member_location: a constant, or the simple expressions producers emit for it. */
  private memberLocation(m: Die): number {
    const v = m.attrs.get(C.DW_AT_data_member_location);
    if (!v) return 0; // union members, and the first member in some producers
    if (v.k === 'u' || v.k === 's') return Number(v.v);
    if (v.k === 'block') {
      const c = new Cursor(v.v);
      const op = c.u8();
      if ((op === C.DW_OP_plus_uconst || op === C.DW_OP_constu) && c.p < v.v.length) {
        const n = c.uleb();
        if (c.p === v.v.length) return n;
      }
      throw new DwarfError('unsupported', `${this.f.elf.path}: member DIE ${m.id}: location expression 0x${Buffer.from(v.v).toString('hex')} is not a constant offset`);
    }
    return 0;
  }

  private enumType(d: Die): CType {
    const name = this.name(d);
    if (this.flag(d, C.DW_AT_declaration) || d.attrs.has(C.DW_AT_signature)) {
      return this.signatureTarget(d) ?? { kind: 'fwd', name, fwdKind: 'enum' };
    }
    const size = this.num(d, C.DW_AT_byte_size) ?? 4;
    let signed: boolean | undefined;
    const under = this.typeRef(d);
    if (under) {
      const t = resolveId(this, under);
      if (t.kind === 'int') signed = t.signed;
    }
    const kids = this.children(d).filter((k) => k.tag === C.DW_TAG_enumerator);
    if (signed === undefined) {
      // No underlying type (DWARF < 5 producers): gcc writes negative values as sdata.
      signed = kids.some((k) => {
        const v = k.attrs.get(C.DW_AT_const_value);
        return v?.k === 's' && v.v < 0n;
      });
    }
    const values: EnumValue[] = kids.map((k) => {
      const v = k.attrs.get(C.DW_AT_const_value);
      let value = 0n;
      if (v?.k === 's') value = v.v;
      else if (v?.k === 'u') {
        value = BigInt(v.v);
        // dataN carries no sign; the enum's signedness says how to read it (DWARF 5 7.5.5).
        if (signed && v.size > 0) value = BigInt.asIntN(v.size * 8, value);
      }
      return { name: this.name(k), value };
    });
    return { kind: 'enum', name, size, signed, values };
  }

  private arrayType(d: Die): CType {
    const elem = this.typeRef(d);
    const dims: number[] = [];
    for (const s of this.children(d)) {
      if (s.tag !== C.DW_TAG_subrange_type) continue;
      dims.push(this.subrangeCount(s));
    }
    if (dims.length === 0) dims.push(0);
    // int a[2][3]: one DIE, two subranges → array(2) of array(3) of int; the inner arrays get ids of their own.
    let inner = elem;
    for (let i = dims.length - 1; i >= 1; i--) {
      const id = this.nextSynth++;
      this.types.set(id, { kind: 'array', type: inner, count: dims[i]! });
      inner = id;
    }
    return { kind: 'array', type: inner, count: dims[0]! };
  }

  private subrangeCount(s: Die): number {
    const count = s.attrs.get(C.DW_AT_count);
    if (count && (count.k === 'u' || count.k === 's')) return Number(count.v);
    const ub = s.attrs.get(C.DW_AT_upper_bound);
    if (!ub || (ub.k !== 'u' && ub.k !== 's')) return 0; // flexible array member or a VLA
    let upper = BigInt(ub.v);
    if (ub.k === 'u' && ub.size > 0) upper = BigInt.asIntN(ub.size * 8, upper); // gcc writes x[0] as upper bound -1
    const lb = this.num(s, C.DW_AT_lower_bound) ?? 0;
    const n = Number(upper) - lb + 1;
    return n > 0 ? n : 0;
  }

  private funcType(d: Die): CType {
    const params: Param[] = [];
    let variadic = false;
    for (const k of this.children(d)) {
      if (k.tag === C.DW_TAG_formal_parameter) params.push({ name: this.name(k), type: this.typeRef(k) });
      else if (k.tag === C.DW_TAG_unspecified_parameters) variadic = true;
    }
    return { kind: 'function', returnType: this.typeRef(d), params, variadic };
  }
}

const INDEX_KIND: Partial<Record<NamedKind, IndexKind>> = {
  struct: IndexKind.struct,
  union: IndexKind.union,
  enum: IndexKind.enum,
  typedef: IndexKind.typedef,
  int: IndexKind.int,
  float: IndexKind.float,
};

function resolveId(t: TypeTable, id: TypeId): CType {
  let ty = t.get(id);
  for (let i = 0; i < 64 && (ty.kind === 'typedef' || ty.kind === 'const' || ty.kind === 'volatile' || ty.kind === 'restrict' || ty.kind === 'type_tag'); i++) ty = t.get(ty.type);
  return ty;
}

function sizeOfId(t: TypeTable, id: TypeId): number {
  const ty = resolveId(t, id);
  return 'size' in ty && typeof ty.size === 'number' ? ty.size : 0;
}
