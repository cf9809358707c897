/**
 * Record kinds of walked kernel lists and trees (list-walk): `list-entry`,
 * `list-count`, `list-bracket`; damage travels as an `error` record with code
 * `list-corrupt` (docs/records.md). Contract fields (shared/design/RECORDS.md) first.
 */
import type { Hex } from './kinds.js';

export interface ListEntryRecord {
  kind: 'list-entry';
  dump: string;
  /** 0-based position in the walk (per direction with --both-ways) */
  index: number;
  /** the list_head / hlist_node / rb_node address; for xarrays and maple trees the node holding the slot */
  node: Hex;
  /** the container (node - offset) with --type/--member or -o; the slot's value for xarrays and maple trees; else the node */
  entry: Hex;
  /** the C type of entry, when given ("struct page") */
  type?: string;
  /** the node's links as read: next and prev (hlist: next and pprev) */
  next?: Hex;
  prev?: Hex;
  pprev?: Hex;
  /** trees: the xarray index / the first index of a maple range */
  key?: Hex;
  /** maple trees: the last index of the range */
  last?: Hex;
  /** with --both-ways: which walk reached it (forward through next, backward through prev from the head) */
  direction?: 'forward' | 'backward';
  /** with --fields: the members decoded, as struct-decode's object value */
  fields?: string[];
  value?: unknown;
}

export interface ListCountRecord {
  kind: 'list-count';
  dump: string;
  /** the head, start or root walked */
  head: Hex;
  count: number;
  /** false when the walk stopped at damage (a list-corrupt error record says where) */
  complete: boolean;
}

export interface ListSideSummary {
  entries: number;
  /** the last node reached before the damage, and its entry */
  lastGood: Hex;
  lastGoodEntry: Hex;
  /** the damage that stopped this side (its reason), absent when the side went round to the head */
  reason?: string;
}

export interface ListBracketRecord {
  kind: 'list-bracket';
  dump: string;
  head: Hex;
  forward: ListSideSummary;
  backward: ListSideSummary;
}
