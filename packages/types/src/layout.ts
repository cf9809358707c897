/**
 * Layouts: a struct/union/enum/typedef as the `type` record describes it
 * (docs/records.md), member paths (`page.deferred_list`,
 * `task_struct.se.vruntime`, `page[2].deferred_list`) and finding types by
 * the names users type (`struct page`, `page`, `union foo`, `atomic_t`).
 */
import type { TypeMemberRecord, TypeScopeRecord } from '@vmpipe/records';
import { alignOf, resolve, sizeOf, TypeLoopError, type CType, type Member, type NamedKind, type StructType, type TypeId, type TypeTable } from './model.js';
import { typeName } from './names.js';

/** Unknown type or member: one clear line, with close names when there are some. */
export class TypeLookupError extends Error {
  constructor(message: string, readonly suggestions: string[] = []) {
    super(suggestions.length ? `${message} (did you mean ${suggestions.map((s) => `"${s}"`).join(', ')}?)` : message);
    this.name = 'TypeLookupError';
  }
}

/** An anonymous struct/union (or, with expand, a named struct member) that members sit inside. */
/** The layout shapes are the record contract's (docs/records.md#type): one definition, in @vmpipe/records. */
export type LayoutScope = TypeScopeRecord;
export type LayoutMember = TypeMemberRecord;

export interface Layout {
  /** as C spells it: `struct page`, `union thread_union`, `enum pid_type`, `atomic_t` */
  name: string;
  kind: 'struct' | 'union' | 'enum' | 'typedef' | 'int' | 'float' | 'pointer';
  size: number;
  align: number;
  /** for typedefs: what it stands for */
  target?: string;
  members: LayoutMember[];
  scopes: LayoutScope[];
  /** enum constants */
  values?: { name: string; value: number | string }[];
  /** an alignment above the natural one, stated or inferred from tail padding (pahole's `} __attribute__((__aligned__(N)));`) */
  aligned?: number;
}

export interface FoundType {
  id: TypeId;
  /** the C spelling */
  name: string;
}

const SPELLED = /^(struct|union|enum)\s+(\S+)$/;

/** Finds a type by what a user types: `struct page`, `page`, `union thread_union`, `enum pid_type`, `atomic_t`, `unsigned int`. */
export function findType(table: TypeTable, spelled: string): FoundType {
  const found = lookupType(table, spelled);
  if (found) return found;
  const s = spelled.trim().replace(/\s+/g, ' ');
  const m = SPELLED.exec(s);
  if (m) {
    const kind = m[1] as 'struct' | 'union' | 'enum';
    throw new TypeLookupError(`no ${s} in the type information`, suggest(table, m[2]!, [kind]).map((n) => `${kind} ${n}`));
  }
  throw new TypeLookupError(`no type named "${s}" in the type information`, suggest(table, s, ['struct', 'union', 'typedef']));
}

/**
 * findType without the error: undefined when the kernel has no such type. For
 * code that asks whether this kernel has a type; the suggestions findType's
 * error carries cost a pass over every type name (tens of ms on a distro BTF).
 */
export function lookupType(table: TypeTable, spelled: string): FoundType | undefined {
  const s = spelled.trim().replace(/\s+/g, ' ');
  const m = SPELLED.exec(s);
  if (m) {
    const id = table.lookup(m[1] as 'struct' | 'union' | 'enum', m[2]!);
    return id === undefined ? undefined : { id, name: s };
  }
  for (const kind of ['struct', 'union', 'typedef', 'enum', 'int', 'float'] as const) {
    const id = table.lookup(kind, s);
    if (id !== undefined) return { id, name: kind === 'struct' || kind === 'union' || kind === 'enum' ? `${kind} ${s}` : s };
  }
  return undefined;
}

/** Names within edit distance ~1/3 of the asked one, closest first (at most 3). */
export function suggest(table: TypeTable, name: string, kinds: NamedKind[]): string[] {
  const seen = new Set<string>();
  const scored: [number, string][] = [];
  const max = Math.max(2, Math.floor(name.length / 3));
  for (const kind of kinds) {
    for (const n of table.names(kind)) {
      if (seen.has(n) || Math.abs(n.length - name.length) > max) continue;
      seen.add(n);
      const d = distance(name, n, max);
      if (d <= max) scored.push([d, n]);
    }
  }
  return scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1])).slice(0, 3).map((x) => x[1]);
}

/** Levenshtein distance, giving up above `max`. */
function distance(a: string, b: string, max: number): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      best = Math.min(best, cur[j]!);
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** The layout of a struct, union, enum or typedef, members flattened through anonymous structs/unions. */
export function layoutOf(table: TypeTable, found: FoundType, opts: { expand?: boolean } = {}): Layout {
  const raw = table.get(found.id);
  const { type } = resolve(table, found.id);
  const kind = raw.kind === 'typedef' ? 'typedef' : (type.kind as Layout['kind']);
  const out: Layout = { name: found.name, kind, size: sizeOf(table, found.id), align: alignOf(table, found.id), members: [], scopes: [] };
  if (raw.kind === 'typedef') out.target = typeName(table, raw.type);
  if (type.kind === 'struct' || type.kind === 'union') {
    flatten(table, type, 0, '', undefined, out, opts.expand === true, 0);
    const aligned = structAligned(table, type);
    if (aligned) out.aligned = aligned;
  }
  if (type.kind === 'enum') out.values = type.values.map((v) => ({ name: v.name, value: jsonInt(v.value) }));
  return out;
}

/** Integers as JSON numbers when they fit in 53 bits, else hex strings (negative ones as `-0x...`). */
export function jsonInt(v: bigint): number | string {
  if (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

/**
 * An alignment the source did not state but the offsets show, the way pahole
 * infers it from BTF: a member that sits past a hole its natural alignment
 * did not need was forced there (`____cacheline_aligned`); its alignment is
 * the largest power of two dividing its offset, at most a cacheline (64).
 */
function inferredAlign(table: TypeTable, m: Member, prevEndBits: number | undefined, bits: number): number | undefined {
  if (m.align) return m.align;
  // A type declared with an alignment (DWARF DW_AT_alignment: `struct callback_head {...} __aligned(8)`) carries it to every member of that type.
  const declared = statedAlign(table, m.type);
  if (declared) return declared;
  if (m.bitSize || prevEndBits === undefined || bits <= prevEndBits || bits % 8) return undefined;
  const natural = alignOf(table, m.type);
  const prevEnd = Math.ceil(prevEndBits / 8);
  const offset = bits / 8;
  if (Math.ceil(prevEnd / natural) * natural >= offset) return undefined;
  let a = 1;
  while (a < 64 && offset % (a * 2) === 0) a *= 2;
  return a > natural ? a : undefined;
}

function statedAlign(table: TypeTable, id: TypeId): number | undefined {
  const t = resolve(table, id).type;
  return t.kind === 'struct' || t.kind === 'union' ? t.align : undefined;
}

/** Flattens `st` into `out`; returns the largest stated/inferred member alignment met at this level (pahole gives it to an anonymous struct/union). */
function flatten(table: TypeTable, st: StructType, baseBits: number, prefix: string, scope: number | undefined, out: Layout, expand: boolean, depth: number): number | undefined {
  if (depth > 32) throw new TypeLoopError(`${out.name}: nesting deeper than 32 levels (a loop in the type information?)`);
  let prevEnd: number | undefined; // bits, within a struct (holes have no meaning in a union)
  let levelMax: number | undefined;
  for (const m of st.members) {
    const bits = baseBits + m.bitOffset;
    const inner = resolve(table, m.type).type;
    const nested = inner.kind === 'struct' || inner.kind === 'union';
    const aligned = st.kind === 'struct' ? inferredAlign(table, m, prevEnd, bits) : m.align ?? statedAlign(table, m.type);
    if (aligned) levelMax = Math.max(levelMax ?? 0, aligned);
    // Anonymous members, and named members of an anonymous struct/union type (`struct {...} lru_gen;`), open a scope.
    if (nested && (m.name === '' || anonymousBody(table, m.type) || expand)) {
      const s: LayoutScope = { kind: inner.kind, offset: Math.floor(bits / 8), size: inner.size };
      if (scope !== undefined) s.parent = scope;
      if (m.name !== '') {
        s.name = m.name;
        if (!anonymousBody(table, m.type)) s.type = typeName(table, m.type);
      }
      out.scopes.push(s);
      const index = out.scopes.length - 1;
      const innerMax = flatten(table, inner, bits, m.name === '' ? prefix : `${prefix}${m.name}.`, index, out, expand, depth + 1);
      // An anonymous struct/union takes the strictest alignment stated inside it.
      const scopeAligned = aligned ?? (m.name === '' || anonymousBody(table, m.type) ? innerMax : undefined);
      if (scopeAligned) {
        s.aligned = scopeAligned;
        levelMax = Math.max(levelMax ?? 0, scopeAligned);
      }
      prevEnd = bits + inner.size * 8;
      continue;
    }
    const size = sizeOf(table, m.type);
    const lm: LayoutMember = { path: prefix + m.name, offset: Math.floor(bits / 8), size, type: typeName(table, m.type) };
    if (m.bitSize) {
      lm.bitOffset = bits;
      lm.bitSize = m.bitSize;
    }
    if (scope !== undefined) lm.scope = scope;
    if (inner.kind === 'struct') {
      const padding = tailPadding(table, inner);
      if (padding > 0) lm.padding = padding;
    }
    if (aligned) lm.aligned = aligned;
    out.members.push(lm);
    prevEnd = m.bitSize ? bits + m.bitSize : bits + size * 8;
  }
  return levelMax;
}

/**
 * The struct's own alignment when above its members': stated by the source,
 * or (pahole's inference) tail padding of at least the natural alignment,
 * which natural layout would not add: the largest power of two dividing the
 * size, at most 64.
 */
function structAligned(table: TypeTable, st: StructType): number | undefined {
  if (st.align) return st.align;
  if (st.kind !== 'struct') return undefined;
  let natural = 1;
  for (const m of st.members) natural = Math.max(natural, alignOf(table, m.type));
  const padding = tailPadding(table, st);
  if (padding < natural || st.size % natural) return undefined;
  let a = 1;
  while (a < 64 && st.size % (a * 2) === 0) a *= 2;
  return a > natural ? a : undefined;
}

/** Bytes after a struct's last member (bitfield runs rounded to their storage unit). */
export function tailPadding(table: TypeTable, st: StructType): number {
  let end = 0;
  for (const m of st.members) {
    const size = sizeOf(table, m.type);
    const e = m.bitSize ? (Math.floor(m.bitOffset / 8 / (size || 1)) + 1) * (size || 1) : m.bitOffset / 8 + size;
    end = Math.max(end, e);
  }
  return Math.max(0, st.size - Math.ceil(end));
}

/** The member's type is an anonymous struct/union written in place (not through a typedef such as atomic_t). */
function anonymousBody(table: TypeTable, id: TypeId): boolean {
  let t = table.get(id);
  for (let guard = 0; guard < 16 && (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'type_tag'); guard++) t = table.get(t.type);
  return (t.kind === 'struct' || t.kind === 'union') && t.name === '';
}

export interface MemberAt {
  /** the path as resolved, e.g. `page[2].deferred_list` */
  path: string;
  /** byte offset from the start of the outer object (element 0 for an indexed outer type) */
  offset: number;
  size: number;
  type: string;
  typeId: TypeId;
  /** anonymous structs/unions the first member sits in (crash indents by it) */
  depth: number;
  bitOffset?: number;
  bitSize?: number;
}

/**
 * offsetof()/sizeof of TYPE's member PATH, or undefined when this kernel has
 * no such type or member: for code that adapts to the kernel's version (a
 * member renamed or added in some release). No suggestions are computed.
 */
export function memberIfPresent(table: TypeTable, type: string, path: string): MemberAt | undefined {
  const found = lookupType(table, type);
  if (!found) return undefined;
  try {
    return memberAt(table, found, path);
  } catch {
    return undefined;
  }
}

/**
 * Resolves `member.sub[3].x` inside type `id` (anonymous structs/unions are
 * searched through, as C does), like offsetof(). An index on the outer type
 * itself (`page[2].deferred_list`) counts whole objects.
 */
export function memberAt(table: TypeTable, found: FoundType, path: string, outerIndex = 0): MemberAt {
  let bits = outerIndex * sizeOf(table, found.id) * 8;
  let id = found.id;
  let bitSize = 0;
  let shown = '';
  let depth = 0;
  const parts = path.split('.').filter((p) => p !== '');
  if (parts.length === 0) throw new TypeLookupError('empty member path');
  for (const part of parts) {
    const pm = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!pm) throw new TypeLookupError(`"${part}" is not a member name (name or name[index])`);
    const { type } = resolve(table, id);
    if (type.kind !== 'struct' && type.kind !== 'union') throw new TypeLookupError(`${shown || found.name} is ${typeName(table, id)}, which has no members (looking for "${pm[1]}")`);
    const hit = findMember(table, type, pm[1]!);
    if (!hit) {
      const names = memberNames(table, type);
      throw new TypeLookupError(`${typeName(table, id)} has no member "${pm[1]}"`, closest(pm[1]!, names));
    }
    bits += hit.bitOffset;
    bitSize = hit.bitSize;
    if (shown === '') depth = hit.depth;
    id = hit.type;
    shown = shown ? `${shown}.${pm[1]}` : pm[1]!;
    for (const im of pm[2]!.matchAll(/\[(\d+)\]/g)) {
      const arr = resolve(table, id).type;
      if (arr.kind !== 'array') throw new TypeLookupError(`${shown} is not an array`);
      const i = Number(im[1]);
      if (arr.count && i >= arr.count) throw new TypeLookupError(`${shown}[${i}] is past the end of ${shown}[${arr.count}]`);
      bits += i * sizeOf(table, arr.type) * 8;
      id = arr.type;
      shown += `[${i}]`;
    }
  }
  const r: MemberAt = { path: shown, offset: Math.floor(bits / 8), size: sizeOf(table, id), type: typeName(table, id), typeId: id, depth };
  if (bitSize) {
    r.bitOffset = bits;
    r.bitSize = bitSize;
  }
  return r;
}

/** A member by name, looking through anonymous structs/unions; its bitOffset is from `st`'s start. */
export function findMember(table: TypeTable, st: StructType, name: string): { bitOffset: number; bitSize: number; type: TypeId; depth: number } | undefined {
  for (const m of st.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, bitSize: m.bitSize, type: m.type, depth: 0 };
    if (m.name === '') {
      const inner = resolve(table, m.type).type;
      if (inner.kind === 'struct' || inner.kind === 'union') {
        const hit = findMember(table, inner, name);
        if (hit) return { ...hit, bitOffset: hit.bitOffset + m.bitOffset, depth: hit.depth + 1 };
      }
    }
  }
  return undefined;
}

function memberNames(table: TypeTable, st: StructType): string[] {
  const out: string[] = [];
  for (const m of st.members) {
    if (m.name) out.push(m.name);
    else {
      const inner = resolve(table, m.type).type;
      if (inner.kind === 'struct' || inner.kind === 'union') out.push(...memberNames(table, inner));
    }
  }
  return out;
}

function closest(name: string, names: string[]): string[] {
  const max = Math.max(2, Math.floor(name.length / 3));
  return names
    .map((n) => [distance(name, n, max), n] as const)
    .filter(([d, n]) => d <= max || n.includes(name))
    .sort((a, b) => a[0] - b[0])
    .slice(0, 3)
    .map((x) => x[1]);
}

/** Splits `page[2].deferred_list` / `struct page.lru` into the type, an outer index and the member path. */
export function splitOffsetQuery(q: string): { type: string; index: number; path: string } {
  const m = /^\s*((?:struct|union)\s+)?([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?\.(.+)$/.exec(q);
  if (!m) throw new TypeLookupError(`"${q}" is not TYPE.MEMBER (e.g. page.deferred_list, page[2].deferred_list, task_struct.se.vruntime)`);
  return { type: (m[1] ?? '') + m[2], index: m[3] ? Number(m[3]) : 0, path: m[4]! };
}

export type { CType };
