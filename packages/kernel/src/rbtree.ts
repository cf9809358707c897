/**
 * Red-black trees as include/linux/rbtree.h lays them out: `struct rb_root {
 * rb_node }`, `struct rb_node { __rb_parent_color; rb_right; rb_left }` (the
 * parent pointer with the colour in bit 0). Walked in order, as rb_first and
 * rb_next do and crash `tree -t rbtree` prints; offsets come from the types.
 *
 * Damage is a `{ corrupt }` value, as for lists (list.ts): a child pointer that
 * is poison, misaligned, non-canonical or unreadable, a child whose parent is
 * not the node it hangs from, or a tree deeper than any red-black tree can be
 * (2·log2(n+1) <= 128 for 64-bit addresses): a loop.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt } from '@vmpipe/types';
import { badLinkCorruption, badLinkReason, linkUnreadable, readLink, rootUnreadable, type ListCorruption } from './list.js';
import type { Program } from './program.js';

export type TreeStep = { node: bigint; index: number; key?: bigint; last?: bigint; entry?: bigint } | { corrupt: ListCorruption };

/** A red-black tree of 64-bit addresses is never deeper than 2·log2(n+1) < 128. */
const RB_MAX_DEPTH = 128;

interface RbLayout {
  parent: bigint;
  right: bigint;
  left: bigint;
}

function layout(prog: Program): RbLayout {
  // Kernels since 2.6.18 all have this layout; the types say it when they are there.
  const types = prog.tryTypes();
  if (types instanceof Error) return { parent: 0n, right: 8n, left: 16n };
  const t = findType(types, 'struct rb_node');
  const at = (m: string) => BigInt(memberAt(types, t, m).offset);
  return { parent: at('__rb_parent_color'), right: at('rb_right'), left: at('rb_left') };
}

const rb_parent = (parentColor: bigint) => parentColor & ~3n;

/** rb_first: the leftmost node under `root` (the address of a struct rb_root), 0n when empty. */
export function rb_first(prog: Program, root: bigint): bigint {
  const l = layout(prog);
  let n = prog.mem.readU64(root);
  if (n === 0n) return 0n;
  for (let left = prog.mem.readU64(n + l.left); left !== 0n; left = prog.mem.readU64(n + l.left)) n = left;
  return n;
}

/** rb_next: the in-order successor of `node`, 0n after the last. */
export function rb_next(prog: Program, node: bigint): bigint {
  const l = layout(prog);
  let right = prog.mem.readU64(node + l.right);
  if (right !== 0n) {
    for (let left = prog.mem.readU64(right + l.left); left !== 0n; left = prog.mem.readU64(right + l.left)) right = left;
    return right;
  }
  let n = node;
  for (let parent = rb_parent(prog.mem.readU64(n + l.parent)); parent !== 0n; parent = rb_parent(prog.mem.readU64(n + l.parent))) {
    if (prog.mem.readU64(parent + l.right) !== n) return parent;
    n = parent;
  }
  return 0n;
}

/**
 * rbtree_for_each: every node of the tree at `root`, smallest first (rb_first,
 * rb_next; crash `tree -l`), or with `preorder` each node before its subtrees
 * (crash `tree -t rbtree`'s default order); each child's parent link checked.
 * Explicit stacks, so a damaged tree cannot recurse without end.
 */
export function* rbtree_for_each(prog: Program, root: bigint, opts: { max?: number; preorder?: boolean } = {}): Generator<TreeStep> {
  const l = layout(prog);
  const max = opts.max ?? Infinity;
  const top = readLink(prog, root);
  if (top instanceof MemoryError) {
    yield { corrupt: rootUnreadable(root, 'root', top) };
    return;
  }
  let walked = 0;
  const stack: bigint[] = [];
  /** Checks the child pointer `child` found in `link` of `from`; undefined when it is a good node (or NULL). */
  const check = (from: bigint, link: 'root' | 'left' | 'right', child: bigint): ListCorruption | undefined => {
    if (child === 0n) return undefined;
    if (child === from) return { reason: 'cycle', node: from, link, value: child, walked, message: `${link} of ${hex(from)} is the node itself` };
    const reason = badLinkReason(child);
    if (reason) return badLinkCorruption(reason, from, link, child, walked);
    const pc = readLink(prog, child + l.parent);
    if (pc instanceof MemoryError) return linkUnreadable(from, link, child, walked, pc);
    const want = link === 'root' ? 0n : from;
    if (rb_parent(pc) !== want) {
      return {
        reason: 'parent-mismatch', node: from, link, value: child, walked, pointee: child, pointeePrev: rb_parent(pc),
        message: `${link === 'root' ? `the root ${hex(root)}` : `${link} of ${hex(from)}`} is ${hex(child)}, but its parent is ${hex(rb_parent(pc))}, not ${hex(want)}`,
      };
    }
    return undefined;
  };
  const descend = (from: bigint, link: 'root' | 'left' | 'right', start: bigint): ListCorruption | undefined => {
    let n = start;
    let linkName = link;
    let parent = from;
    while (n !== 0n) {
      const bad = check(parent, linkName, n);
      if (bad) return bad;
      if (stack.length >= RB_MAX_DEPTH) return { reason: 'depth', node: parent, link: linkName, value: n, walked, message: `the tree under ${hex(root)} is deeper than ${RB_MAX_DEPTH}: a loop` };
      stack.push(n);
      parent = n;
      linkName = 'left';
      n = prog.mem.readU64(n + l.left);
    }
    return undefined;
  };
  if (opts.preorder) {
    // crash `tree -t rbtree` without -l: each node before its left, then right, subtree.
    const pending: { from: bigint; link: 'root' | 'left' | 'right'; n: bigint; depth: number }[] = [{ from: root, link: 'root', n: top, depth: 0 }];
    for (let p = pending.pop(); p; p = pending.pop()) {
      if (p.n === 0n) continue;
      const bad = check(p.from, p.link, p.n) ?? (p.depth >= RB_MAX_DEPTH ? { reason: 'depth' as const, node: p.from, link: p.link, value: p.n, walked, message: `the tree under ${hex(root)} is deeper than ${RB_MAX_DEPTH}: a loop` } : undefined);
      if (bad) {
        yield { corrupt: bad };
        return;
      }
      if (walked >= max) {
        yield { corrupt: { reason: 'max', node: p.n, link: p.link, value: p.n, walked, message: `stopped after ${walked} nodes (--max ${max})` } };
        return;
      }
      yield { node: p.n, index: walked++ };
      pending.push({ from: p.n, link: 'right', n: prog.mem.readU64(p.n + l.right), depth: p.depth + 1 });
      pending.push({ from: p.n, link: 'left', n: prog.mem.readU64(p.n + l.left), depth: p.depth + 1 });
    }
    return;
  }
  let bad = descend(root, 'root', top);
  for (;;) {
    if (bad) {
      yield { corrupt: bad };
      return;
    }
    const n = stack.pop();
    if (n === undefined) return;
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node: n, link: 'left', value: n, walked, message: `stopped after ${walked} nodes (--max ${max})` } };
      return;
    }
    yield { node: n, index: walked++ };
    bad = descend(n, 'right', prog.mem.readU64(n + l.right));
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;
