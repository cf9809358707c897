/**
 * Record kinds of struct-decode (docs/records.md). `type` and
 * `object` are in the baseline contract (shared RECORDS.md): never rename
 * their fields.
 */
import type { Hex } from './kinds.js';

export interface TypeMemberRecord {
  /** dotted path from the outer type; anonymous structs/unions flattened into it */
  path: string;
  /** bytes from the outer type's start (for a bitfield: the byte holding its first bit) */
  offset: number;
  size: number;
  /** C spelling of the member's type, as the debug info names it: `long unsigned int`, `struct list_head *`, `char [16]` */
  type: string;
  /** bitfields only: bits from the outer type's start */
  bitOffset?: number;
  bitSize?: number;
  /** index into `scopes` of the innermost anonymous struct/union that holds this member */
  scope?: number;
  /** struct-typed members: bytes of padding at the end of that struct */
  padding?: number;
  /** alignment stated by the debug info or inferred from a hole before the member (pahole's `__aligned__`) */
  aligned?: number;
}

export interface TypeScopeRecord {
  kind: 'struct' | 'union';
  offset: number;
  size: number;
  parent?: number;
  /** set for a named member expanded with --expand */
  name?: string;
  type?: string;
  aligned?: number;
}

export interface TypeRecord {
  kind: 'type';
  dump?: string;
  /** the vmlinux or BTF file when no dump was given */
  debuginfo?: string;
  /** as C spells it: `struct page`, `union thread_union`, `enum pid_type`, `atomic_t` */
  name: string;
  /** `struct` | `union` | `enum` | `typedef` | `int` | `float` | `pointer` */
  typeKind: string;
  size: number;
  align: number;
  /** for typedefs: the type it names */
  target?: string;
  members: TypeMemberRecord[];
  scopes: TypeScopeRecord[];
  /** enum constants (numbers, or hex strings past 53 bits) */
  values?: { name: string; value: number | string }[];
  /** the struct's alignment when above its members' (stated, or inferred from tail padding) */
  aligned?: number;
  /** where the types came from (the `source` record's `types` values) */
  types: string;
  /** render hint: `pahole` prints like `pahole -C`, else crash's `struct -o` */
  style?: 'crash' | 'pahole';
  /** the loaded module whose own types (its split BTF) hold the type; absent for the kernel's */
  module?: string;
}

export interface OffsetRecord {
  kind: 'offset';
  dump?: string;
  debuginfo?: string;
  /** the outer type: `struct page` */
  type: string;
  /** the member path: `deferred_list`, `se.vruntime`, `pids[1].node` */
  member: string;
  /** when asked as `page[2].deferred_list`: the element of an array of the outer type */
  index?: number;
  /** bytes from the start of the outer object (from element 0 when `index` is given) */
  offset: number;
  size: number;
  memberType: string;
  bitOffset?: number;
  bitSize?: number;
  /** size of the outer type (crash sizes its offset column by it) */
  typeSize: number;
  /** how many anonymous structs/unions the member sits in (crash indents by it) */
  depth: number;
  types: string;
  /** the loaded module whose own types (its split BTF) hold the type; absent for the kernel's */
  module?: string;
}

export interface ObjectRecord {
  kind: 'object';
  dump: string;
  /** `struct page` */
  type: string;
  addr: Hex;
  /** member name (or the dotted path given to --fields) → decoded value */
  value: Record<string, unknown>;
  /** the --fields asked for, when some were */
  fields?: string[];
  /** position in a --count run (0-based) */
  index?: number;
  /** the symbol the address was given as (`jiffies`), so a renderer can print crash's `p jiffies` */
  symbol?: string;
  /** the loaded module whose own types (its split BTF) hold the type; absent for the kernel's */
  module?: string;
}
