/**
 * Maple trees (include/linux/maple_tree.h, lib/maple_tree.c; Linux 6.1+, where
 * `mm->mm_mt` holds a process's VMAs), walked as mt_for_each does: every
 * present entry in index order, with the range [index, last] it covers.
 *
 * Encoding (maple_tree.h): `ma_root` is either an entry for index 0 alone or
 * an encoded node: internal (low bits 10) and above 4096 (xa_is_node), the
 * node at `entry & ~0xff` (nodes are 256-byte aligned), its type in bits 3..6
 * (enum maple_type: maple_dense, maple_leaf_64, maple_range_64,
 * maple_arange_64). Range nodes hold `pivot[]`: slot i covers
 * (pivot[i-1], pivot[i]], the last slot up to the node's max; where the data
 * ends comes from ma_data_end's rule (a last pivot equal to max, else the
 * metadata's `end`). A node's `parent` points at its parent node (low byte:
 * type and slot) or, for the root, at the tree with bit 0 set
 * (MA_ROOT_PARENT). Layouts (pivot and slot counts, metadata offset) come from
 * the types. XA_ZERO_ENTRY is a reservation, not an entry, as mt_find says.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt } from '@vmpipe/types';
import { badLinkCorruption, badLinkReason, linkUnreadable, readLink, rootUnreadable, type ListCorruption } from './list.js';
import type { Program } from './program.js';
import type { TreeStep } from './rbtree.js';

const hex = (v: bigint) => `0x${v.toString(16)}`;

export const MAPLE_NODE_TYPES = ['maple_dense', 'maple_leaf_64', 'maple_range_64', 'maple_arange_64'] as const;
/** maple_tree.h: MAPLE_HEIGHT_MAX */
const MAPLE_HEIGHT_MAX = 31;
const MAPLE_NODE_MASK = 0xffn;
const XA_ZERO_ENTRY = 0x406n;
const ULONG_MAX = (1n << 64n) - 1n;

interface RangeLayout {
  pivot: number;
  pivots: number;
  slot: number;
  slots: number;
  metaEnd: number;
}

function rangeLayout(prog: Program, type: 'maple_range_64' | 'maple_arange_64'): RangeLayout {
  const t = findType(prog.types, `struct ${type}`);
  const pivot = memberAt(prog.types, t, 'pivot');
  const slot = memberAt(prog.types, t, 'slot');
  return { pivot: pivot.offset, pivots: pivot.size / 8, slot: slot.offset, slots: slot.size / 8, metaEnd: memberAt(prog.types, t, 'meta.end').offset };
}

const xa_is_node = (e: bigint) => (e & 3n) === 2n && e > 4096n;

/**
 * mt_for_each: every entry of the maple tree at `tree` (a struct maple_tree),
 * as `{ node, index: walk position, key: first index, last, entry }`.
 */
export function* mt_for_each(prog: Program, tree: bigint, opts: { max?: number } = {}): Generator<TreeStep> {
  const max = opts.max ?? Infinity;
  const mt = findType(prog.types, 'struct maple_tree');
  const rootAt = BigInt(memberAt(prog.types, mt, 'ma_root').offset);
  const parentAt = BigInt(memberAt(prog.types, findType(prog.types, 'struct maple_node'), 'parent').offset);
  const layouts = { maple_leaf_64: rangeLayout(prog, 'maple_range_64'), maple_range_64: rangeLayout(prog, 'maple_range_64'), maple_arange_64: rangeLayout(prog, 'maple_arange_64') };
  const root = readLink(prog, tree + rootAt);
  if (root instanceof MemoryError) {
    yield { corrupt: rootUnreadable(tree, 'root', root) };
    return;
  }
  if (root === 0n) return;
  if (!xa_is_node(root)) {
    yield { node: tree, index: 0, key: 0n, last: 0n, entry: root };
    return;
  }
  let walked = 0;
  type Frame = { node: bigint; type: (typeof MAPLE_NODE_TYPES)[number]; min: bigint; max: bigint; slot: number; end: number; pivots: bigint[]; slots: bigint[] };
  const stack: Frame[] = [];
  const open = (from: bigint, link: 'root' | 'slot', enode: bigint, lo: bigint, hi: bigint, slotNo: number): ListCorruption | undefined => {
    const node = enode & ~MAPLE_NODE_MASK;
    const where = link === 'root' ? `ma_root of ${hex(tree)}` : `slot ${slotNo} of ${hex(from)}`;
    const reason = badLinkReason(node);
    if (reason) return badLinkCorruption(reason, from, link, enode, walked);
    const type = MAPLE_NODE_TYPES[Number((enode >> 3n) & 0xfn)];
    if (!type || type === 'maple_dense') {
      return { reason: 'bad-node', node: from, link, value: enode, walked, message: `${where} is ${hex(enode)}: node type ${(enode >> 3n) & 0xfn} ${type ?? 'is none'}${type ? ', which no kernel tree uses' : ''}` };
    }
    if (stack.length >= MAPLE_HEIGHT_MAX) return { reason: 'depth', node: from, link, value: enode, walked, message: `deeper than MAPLE_HEIGHT_MAX (${MAPLE_HEIGHT_MAX}) under ${hex(tree)}: a loop` };
    const l = layouts[type];
    let raw: Uint8Array;
    let parent: bigint;
    try {
      parent = prog.mem.readU64(node + parentAt);
      raw = prog.mem.readBytes(node, Math.max(l.slot + l.slots * 8, l.metaEnd + 1));
    } catch (err) {
      if (err instanceof MemoryError) return linkUnreadable(from, link, enode, walked, err);
      throw err;
    }
    const wantParent = link === 'root' ? tree : from;
    const gotParent = link === 'root' ? parent & ~1n : parent & ~MAPLE_NODE_MASK;
    if (gotParent !== wantParent || (link === 'root' && (parent & 1n) !== 1n)) {
      return {
        reason: 'parent-mismatch', node: from, link, value: enode, walked, pointee: node, pointeePrev: parent,
        message: `${where} is the node ${hex(node)}, but its parent is ${hex(parent)}, not ${link === 'root' ? `${hex(tree)} | MA_ROOT_PARENT` : hex(from)}`,
      };
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const pivots = Array.from({ length: l.pivots }, (_, i) => dv.getBigUint64(l.pivot + i * 8, true));
    const slots = Array.from({ length: l.slots }, (_, i) => dv.getBigUint64(l.slot + i * 8, true));
    // ma_data_end
    let end: number;
    const metaEnd = raw[l.metaEnd]!;
    if (type === 'maple_arange_64') end = metaEnd;
    else if (pivots[l.pivots - 1] === 0n) end = metaEnd;
    else if (pivots[l.pivots - 1] === hi) end = l.pivots - 1;
    else end = l.pivots;
    if (end >= l.slots) return { reason: 'bad-node', node: from, link, value: enode, walked, message: `${where} is the ${type} node ${hex(node)}, whose data end ${end} is past its ${l.slots} slots` };
    stack.push({ node, type, min: lo, max: hi, slot: 0, end, pivots, slots });
    return undefined;
  };
  let bad = open(tree, 'root', root, 0n, ULONG_MAX, 0);
  for (;;) {
    if (bad) {
      yield { corrupt: bad };
      return;
    }
    const f = stack.at(-1);
    if (!f) return;
    if (f.slot > f.end) {
      stack.pop();
      continue;
    }
    const i = f.slot++;
    const lo = i === 0 ? f.min : f.pivots[i - 1]! + 1n;
    // mas_logical_pivot: past the pivots, or a zero pivot after the first slot, is the node's max.
    let hi = i < f.pivots.length ? f.pivots[i]! : f.max;
    if (hi === 0n && i > 0) hi = f.max;
    if (hi < lo || hi > f.max) {
      bad = { reason: 'pivot-order', node: f.node, link: 'slot', value: hi, walked, message: `the ${f.type} node ${hex(f.node)}: slot ${i} ends at ${hex(hi)}, outside ${hex(lo)}..${hex(f.max)}` };
      continue;
    }
    const e = f.slots[i]!;
    if (e === 0n) continue;
    if (f.type !== 'maple_leaf_64') {
      bad = open(f.node, 'slot', e, lo, hi, i);
      continue;
    }
    if (e === XA_ZERO_ENTRY) continue;
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node: f.node, link: 'slot', value: e, walked, message: `stopped after ${walked} entries (--max ${max})` } };
      return;
    }
    walked++;
    yield { node: f.node, index: walked - 1, key: lo, last: hi, entry: e };
  }
}
