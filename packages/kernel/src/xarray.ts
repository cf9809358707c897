/**
 * XArrays (include/linux/xarray.h, lib/xarray.c; Linux 4.20+, also every
 * `radix_tree_root` and `idr` since then) and the radix trees of older kernels
 * (include/linux/radix-tree.h before 4.20), walked as xa_for_each /
 * radix_tree_for_each_slot do and crash `tree -t xarray` / `-t radix` prints:
 * present entries in index order, with their index.
 *
 * Entry encoding (xarray.h): the low two bits are 10 for internal entries;
 * an internal entry above 4096 is a node (xa_to_node: minus 2), below
 * XA_CHUNK_SIZE it is a sibling (a multi-index entry's other slots), and
 * 256/257 are the retry and zero entries; none of those is handed out.
 * Values (low bit 1) are. The radix tree before 4.20 marks nodes with bit 0
 * (RADIX_TREE_INTERNAL_NODE; RADIX_TREE_INDIRECT_PTR before 4.7) and keeps a
 * `shift` (4.10+) or `height` in each node. Layouts come from the types.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt, memberIfPresent } from '@vmpipe/types';
import { badLinkCorruption, badLinkReason, linkUnreadable, readLink, rootUnreadable, type ListCorruption } from './list.js';
import type { Program } from './program.js';
import type { TreeStep } from './rbtree.js';

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Radix tree nodes address 64 bits 6 bits at a time: 11 levels at most. */
const MAX_LEVELS = 12;

interface NodeLayout {
  kind: 'xarray' | 'radix';
  /** offset of the root's head pointer (xarray.xa_head, radix_tree_root.rnode) */
  head: number;
  shift?: number; // xa_node.shift / radix_tree_node.shift (a byte)
  height?: number; // radix_tree_node.height (before 4.10; an unsigned int)
  offset?: number; // xa_node.offset (the node's slot in its parent)
  parent?: number;
  slots: number;
  chunk: number; // XA_CHUNK_SIZE: the slots array's length
}


/** The layout the program's kernel has: an xarray (4.20+) or the older radix tree. */
export function xarrayLayout(prog: Program): NodeLayout {
  const types = prog.types;
  const rnode = memberIfPresent(types, 'struct radix_tree_root', 'rnode');
  if (rnode) {
    const slots = memberIfPresent(types, 'struct radix_tree_node', 'slots')!;
    const shift = memberIfPresent(types, 'struct radix_tree_node', 'shift');
    const height = memberIfPresent(types, 'struct radix_tree_node', 'height');
    const parent = memberIfPresent(types, 'struct radix_tree_node', 'parent');
    const l: NodeLayout = { kind: 'radix', head: rnode.offset, slots: slots.offset, chunk: slots.size / 8 };
    if (shift) l.shift = shift.offset;
    else if (height) l.height = height.offset;
    if (parent) l.parent = parent.offset;
    return l;
  }
  const at = (m: string) => memberAt(types, findType(types, 'struct xa_node'), m);
  const slots = at('slots');
  return {
    kind: 'xarray', head: memberAt(types, findType(types, 'struct xarray'), 'xa_head').offset,
    shift: at('shift').offset, offset: at('offset').offset, parent: at('parent').offset, slots: slots.offset, chunk: slots.size / 8,
  };
}

const XA_RETRY_ENTRY = 0x402n; // xa_mk_internal(256)
const XA_ZERO_ENTRY = 0x406n; // xa_mk_internal(257)

/**
 * xa_for_each: every present entry of the XArray (or radix tree root) at
 * `root`, as `{ node: the xa_node holding it (the root for a lone entry), index, entry }`.
 */
export function* xa_for_each(prog: Program, root: bigint, opts: { max?: number } = {}): Generator<TreeStep> {
  const l = xarrayLayout(prog);
  const max = opts.max ?? Infinity;
  const isNode = l.kind === 'xarray' ? (e: bigint) => (e & 3n) === 2n && e > 4096n : (e: bigint) => (e & 1n) === 1n && (e & 2n) === 0n;
  const toNode = (e: bigint) => (l.kind === 'xarray' ? e - 2n : e & ~3n);
  const head = readLink(prog, root + BigInt(l.head));
  if (head instanceof MemoryError) {
    yield { corrupt: rootUnreadable(root, 'root', head) };
    return;
  }
  if (head === 0n) return;
  if (!isNode(head)) {
    yield { node: root, index: 0, key: 0n, entry: head };
    return;
  }
  const chunkShift = BigInt(Math.log2(l.chunk));
  let walked = 0;
  const shiftOf = (node: bigint): bigint =>
    l.shift !== undefined ? BigInt(prog.mem.readU8(node + BigInt(l.shift))) : (BigInt(prog.mem.readU32(node + BigInt(l.height!))) - 1n) * chunkShift;
  // Depth-first, slots in order: a stack of [node, base index, next slot, shift].
  const stack: { node: bigint; base: bigint; slot: number; shift: bigint; slots: bigint[] }[] = [];
  /** Opens the node behind `entry` (found in `link` of `from`, slot `slot`), or says why it cannot be opened. */
  const open = (from: bigint, link: 'root' | 'slot', entry: bigint, base: bigint, slot: number, parentShift: bigint | undefined): ListCorruption | undefined => {
    const node = toNode(entry);
    const reason = badLinkReason(node);
    if (reason) return badLinkCorruption(reason, from, link, entry, walked);
    let raw: Uint8Array;
    let shift: bigint;
    try {
      raw = prog.mem.readBytes(node + BigInt(l.slots), l.chunk * 8);
      shift = shiftOf(node);
    } catch (err) {
      if (err instanceof MemoryError) return linkUnreadable(from, link, entry, walked, err);
      throw err;
    }
    const where = link === 'root' ? `the head of ${hex(root)}` : `slot ${slot} of ${hex(from)}`;
    if (parentShift !== undefined ? shift !== parentShift - chunkShift : shift > chunkShift * BigInt(MAX_LEVELS) || shift % chunkShift !== 0n) {
      return { reason: 'bad-node', node: from, link, value: entry, walked, message: `${where} is the node ${hex(node)} with shift ${shift}${parentShift !== undefined ? `, not ${parentShift - chunkShift}` : ''}` };
    }
    if (l.parent !== undefined) {
      const parent = prog.mem.readU64(node + BigInt(l.parent));
      const want = link === 'root' ? 0n : from;
      // Radix trees before 4.10 kept no parent in the node the same way; only xarrays are checked.
      if (l.kind === 'xarray' && parent !== want) {
        return {
          reason: 'parent-mismatch', node: from, link, value: entry, walked, pointee: node, pointeePrev: parent,
          message: `${where} is the node ${hex(node)}, but its parent is ${hex(parent)}, not ${hex(want)}`,
        };
      }
    }
    if (stack.length >= MAX_LEVELS) return { reason: 'depth', node: from, link, value: entry, walked, message: `deeper than ${MAX_LEVELS} levels under ${hex(root)}: a loop` };
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const slots = Array.from({ length: l.chunk }, (_, i) => dv.getBigUint64(i * 8, true));
    stack.push({ node, base, slot: 0, shift, slots });
    return undefined;
  };
  let bad = open(root, 'root', head, 0n, 0, undefined);
  for (;;) {
    if (bad) {
      yield { corrupt: bad };
      return;
    }
    const top = stack.at(-1);
    if (!top) return;
    if (top.slot >= l.chunk) {
      stack.pop();
      continue;
    }
    const i = top.slot++;
    const e = top.slots[i]!;
    if (e === 0n) continue;
    const index = top.base + (BigInt(i) << top.shift);
    const slotsAt = top.node + BigInt(l.slots);
    if (l.kind === 'radix' && (e & 3n) === 1n && (e & ~3n) >= slotsAt && (e & ~3n) < slotsAt + BigInt(l.chunk * 8)) continue; // a sibling: points into this node's slots
    if (isNode(e) && top.shift > 0n) {
      bad = open(top.node, 'slot', e, index, i, top.shift);
      continue;
    }
    if (l.kind === 'xarray' && (e & 3n) === 2n) continue; // sibling, retry or zero entry: not an entry of its own
    if (e === XA_RETRY_ENTRY || e === XA_ZERO_ENTRY) continue;
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node: top.node, link: 'slot', value: e, walked, message: `stopped after ${walked} entries (--max ${max})` } };
      return;
    }
    walked++;
    yield { node: top.node, index: walked - 1, key: index, entry: e };
  }
}
