/**
 * One type model for C types as the kernel uses them. BTF (btf/) and DWARF
 * (dwarf/) are both read into this shape; layouts, member paths and value
 * decoding work only on it.
 *
 * Shape (stable — the DWARF reader codes against it; changes are announced here):
 *  - Types live in a TypeTable and refer to each other by TypeId (a number).
 *    TypeId 0 is always `void` (as in BTF; in DWARF a missing DW_AT_type).
 *    Ids are otherwise the source's business (BTF type ids; DWARF may use a
 *    counter or DIE offsets), as long as `get(id)` answers for every id that
 *    appears in a type the table handed out.
 *  - A table may decode lazily: `get` may build the CType on first use.
 *  - Sizes are in bytes, member offsets in bits from the start of the
 *    enclosing struct/union (`bitOffset`), `bitSize` is 0 for a member that is
 *    not a bitfield (kernel BTF kind_flag semantics; DWARF: DW_AT_data_bit_offset,
 *    or data_member_location*8 (+ converted DW_AT_bit_offset for DWARF 2/3)).
 *  - Names are the bare C identifiers (`page`, not `struct page`); anonymous
 *    structs/unions/enums and unnamed members have name ''.
 *  - Derived questions (resolve through typedefs/qualifiers, size, alignment)
 *    are free functions below, so a source only implements `get`/`lookup`/`names`.
 *
 * Change log:
 *  - 2026-11-25: Member gained optional `align` (additive; a source may ignore it).
 */

export type TypeId = number;

/** Where a TypeTable's types came from; the values of the `source` record's `types` field. */
export type TypeSource = 'btf-dump' | 'btf-vmlinux' | 'btf-file' | 'dwarf';

export interface VoidType {
  kind: 'void';
}

/** Integer types, including `_Bool` and `char`. */
export interface IntType {
  kind: 'int';
  name: string;
  size: number;
  signed: boolean;
  /** `char`, `signed char`, `unsigned char` (BTF INT encoding CHAR, DWARF DW_ATE_*char) */
  char: boolean;
  /** `_Bool` */
  bool: boolean;
  /** value bits (normally size*8; BTF INT `bits` can be fewer) */
  bits: number;
}

export interface FloatType {
  kind: 'float';
  name: string;
  size: number;
}

export interface PointerType {
  kind: 'pointer';
  type: TypeId;
  /** the target's pointer size (8 on x86_64/arm64) */
  size: number;
}

export interface ArrayType {
  kind: 'array';
  /** element type */
  type: TypeId;
  /** number of elements; 0 for a flexible array member (`x[]`) or `x[0]` */
  count: number;
  /** the index type when the source names one (BTF ARRAY index_type); informational */
  indexType?: TypeId;
}

export interface Member {
  /** '' for an anonymous struct/union member (or an unnamed bitfield) */
  name: string;
  type: TypeId;
  /** offset from the start of the enclosing struct/union, in bits */
  bitOffset: number;
  /** 0 unless this member is a bitfield */
  bitSize: number;
  /** alignment the source states for this member (DWARF DW_AT_alignment on the member); optional, added 2026-11-25 */
  align?: number;
}

export interface StructType {
  kind: 'struct' | 'union';
  /** '' when anonymous */
  name: string;
  size: number;
  members: Member[];
  /** alignment in bytes when the source states it (DWARF DW_AT_alignment); else computed by alignOf */
  align?: number;
}

export interface EnumValue {
  name: string;
  value: bigint;
}

export interface EnumType {
  kind: 'enum';
  /** '' when anonymous */
  name: string;
  size: number;
  signed: boolean;
  values: EnumValue[];
}

/** A declaration without a body: `struct foo;` (BTF FWD, DWARF DW_AT_declaration). */
export interface FwdType {
  kind: 'fwd';
  name: string;
  fwdKind: 'struct' | 'union' | 'enum';
}

export interface TypedefType {
  kind: 'typedef';
  name: string;
  type: TypeId;
}

/** const / volatile / restrict, and BTF TYPE_TAG (`__user`, `__rcu`, ...; carries `name`). */
export interface QualifiedType {
  kind: 'const' | 'volatile' | 'restrict' | 'type_tag';
  type: TypeId;
  /** the tag for 'type_tag' */
  name?: string;
}

export interface Param {
  /** '' when the prototype does not name it */
  name: string;
  type: TypeId;
}

/** A function prototype (BTF FUNC_PROTO, DWARF DW_TAG_subroutine_type). */
export interface FuncProtoType {
  kind: 'function';
  /** 0 for void */
  returnType: TypeId;
  params: Param[];
  variadic: boolean;
}

/**
 * Declarations rather than types (BTF FUNC, VAR, DATASEC, DECL_TAG). A DWARF
 * table need not produce them; layouts never meet them.
 */
export interface FuncDecl {
  kind: 'func';
  name: string;
  /** the FuncProtoType */
  type: TypeId;
  linkage: 'static' | 'global' | 'extern';
}

export interface VarDecl {
  kind: 'var';
  name: string;
  type: TypeId;
  linkage: 'static' | 'global' | 'extern';
}

export interface DataSec {
  kind: 'datasec';
  name: string;
  size: number;
  vars: { type: TypeId; offset: number; size: number }[];
}

export interface DeclTag {
  kind: 'decl_tag';
  name: string;
  type: TypeId;
  /** -1 when the tag is on the type/variable/function itself, else the member/parameter index */
  componentIdx: number;
}

export type CType =
  | VoidType
  | IntType
  | FloatType
  | PointerType
  | ArrayType
  | StructType
  | EnumType
  | FwdType
  | TypedefType
  | QualifiedType
  | FuncProtoType
  | FuncDecl
  | VarDecl
  | DataSec
  | DeclTag;

/** Kinds that have a name a user can ask for. */
export type NamedKind = 'struct' | 'union' | 'enum' | 'typedef' | 'int' | 'float' | 'fwd' | 'func' | 'var';

export interface TypeTable {
  readonly source: TypeSource;
  /** bytes in a pointer (8 for x86_64/arm64) */
  readonly pointerSize: number;
  readonly littleEndian: boolean;
  /** The type with this id; throws a TypeError-like Error for an unknown id. `get(0)` is void. */
  get(id: TypeId): CType;
  /**
   * The id of the type of this kind with this bare name, or undefined.
   * When several types share kind and name, the one with a body (and, for
   * structs, the largest) wins, so `struct page` finds the real one.
   */
  lookup(kind: NamedKind, name: string): TypeId | undefined;
  /** All names of this kind (for "did you mean" suggestions); may be slow. */
  names(kind: NamedKind): Iterable<string>;
  /**
   * Ids of the structs with this name ('' for anonymous ones) and this many
   * members, found without decoding every type; absent where a table cannot do
   * better than `get` over every id (callers then do that).
   */
  structsShaped?(name: string, members: number): TypeId[];
}

/** Skips typedefs and qualifiers (const/volatile/restrict/type_tag): the type that says how bytes are laid out. */
/**
 * Type information that loops or nests past any real kernel's (a damaged BTF
 * blob in a dump, a corrupt DWARF unit): the debug data is at fault, not the run.
 */
export class TypeLoopError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TypeLoopError';
  }
}

export function resolve(table: TypeTable, id: TypeId): { id: TypeId; type: CType } {
  let t = table.get(id);
  for (let guard = 0; guard < 64; guard++) {
    if (t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag') {
      id = t.type;
      t = table.get(id);
    } else return { id, type: t };
  }
  throw new TypeLoopError(`type ${id}: typedef/qualifier chain too long (a loop in the type information?)`);
}

/** Size in bytes; 0 for void, functions and forward declarations (incomplete types). */
export function sizeOf(table: TypeTable, id: TypeId): number {
  const { type: t } = resolve(table, id);
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'pointer':
    case 'struct':
    case 'union':
    case 'enum':
    case 'datasec':
      return t.size;
    case 'array':
      return t.count * sizeOf(table, t.type);
    default:
      return 0;
  }
}

/**
 * Alignment in bytes, as the x86_64/arm64 ABIs give it: scalars align to
 * their size (at most 16), arrays to their element, structs/unions to their
 * strictest member unless the source states one. A struct whose members sit
 * off their natural alignment, or whose size is not a multiple of it, was
 * packed: alignment 1 (pahole infers `__attribute__((__packed__))` the same way).
 */
export function alignOf(table: TypeTable, id: TypeId): number {
  let memo = alignMemo.get(table);
  if (!memo) alignMemo.set(table, (memo = new Map()));
  let a = memo.get(id);
  if (a === undefined) memo.set(id, (a = computeAlign(table, id)));
  return a;
}

/** Alignments asked for before: a struct's is its members', asked again for every struct holding it. */
const alignMemo = new WeakMap<TypeTable, Map<TypeId, number>>();

function computeAlign(table: TypeTable, id: TypeId): number {
  const { type: t } = resolve(table, id);
  switch (t.kind) {
    case 'int':
    case 'float':
    case 'enum':
    case 'pointer':
      return Math.max(1, Math.min(t.size, 16));
    case 'array':
      return alignOf(table, t.type);
    case 'struct':
    case 'union': {
      if (t.align) return t.align;
      let a = 1;
      let packed = false;
      for (const m of t.members) {
        if (m.bitSize) {
          // A bitfield's storage unit still aligns the struct (int x:3 makes it 4-aligned).
          a = Math.max(a, alignOf(table, m.type));
          continue;
        }
        const ma = alignOf(table, m.type);
        if ((m.bitOffset / 8) % ma !== 0) packed = true;
        a = Math.max(a, ma);
      }
      if (packed || (t.size % a !== 0)) return 1;
      return a;
    }
    default:
      return 1;
  }
}
