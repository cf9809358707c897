/**
 * Which member of a type a memory operand's displacement lands in: the
 * question "0x98(%rdx), and rdx is a struct page: what is 0x98?". Past the
 * type's size the displacement is counted in whole objects, as
 * `struct-decode --offset page[2].deferred_list` counts them.
 */
import { findType, layoutOf, sizeOf, type FoundType, type TypeTable } from '@vmpipe/types';

export interface TypeMembers {
  name: string;
  size: number;
  members: readonly { path: string; offset: number; size: number }[];
}

/** The flattened members of a type, by name or as found (TypeLookupError for an unknown name). */
export function typeMembers(table: TypeTable, type: string | FoundType): TypeMembers {
  const found = typeof type === 'string' ? findType(table, type) : type;
  return { name: found.name.replace(/^(struct|union) /, ''), size: sizeOf(table, found.id), members: layoutOf(table, found, { expand: false }).members };
}

/**
 * Member paths at `displacement` (`page[2].deferred_list`, `page.lru+0x8`): a
 * union offers several members at one offset and all are named, those that
 * start exactly there first.
 */
export function membersAt(t: TypeMembers, displacement: number): string[] {
  const index = t.size > 0 ? Math.floor(displacement / t.size) : 0;
  const within = displacement - index * t.size;
  const prefix = index > 0 ? `${t.name}[${index}].` : `${t.name}.`;
  const hits = t.members.filter((m) => within >= m.offset && within < m.offset + Math.max(m.size, 1));
  hits.sort((a, b) => Number(b.offset === within) - Number(a.offset === within) || b.offset - a.offset);
  return hits.map((m) => `${prefix}${m.path}${m.offset === within ? '' : `+0x${(within - m.offset).toString(16)}`}`);
}
