/**
 * The tree walkers over hand-built memory: order, and each kind of damage
 * (parent links not pointing back, poisoned or unreadable children, loops,
 * maple node types and pivots that cannot be), with layouts from a made-up
 * type table shaped as the kernel's (include/linux/rbtree_types.h, xarray.h,
 * radix-tree.h before 4.20, maple_tree.h). The real dump's trees against
 * crash are in lists.real.test.ts.
 */
import test from 'ava';
import type { CType } from '@vmpipe/types';
import { LIST_POISON1, mt_for_each, Program, rb_first, rb_next, rbtree_for_each, xa_for_each, type ListCorruption, type TreeStep } from './index.js';
import { int, member as m, table, TestMemory } from './memkit.test-helper.js';

const ulong = 1;
const ptr = 2;
const u8 = 3;
const arr = (type: number, count: number): CType => ({ kind: 'array', type, count });
const base: CType[] = [/* 1 */ int('long unsigned int', 8, false), /* 2 */ { kind: 'pointer', type: 0, size: 8 }, /* 3 */ int('unsigned char', 1, false)];

function typesFor(extra: CType[]) {
  return table([...base, ...extra]);
}

const corrupt = (steps: TreeStep[]): ListCorruption | undefined => {
  const last = steps.at(-1);
  return last && 'corrupt' in last ? last.corrupt : undefined;
};
const good = (steps: TreeStep[]) => steps.flatMap((s) => ('corrupt' in s ? [] : [s]));

// ---- rbtree ----
const rbTypes = typesFor([{ kind: 'struct', name: 'rb_node', size: 24, members: [m('__rb_parent_color', ulong, 0), m('rb_right', ptr, 8), m('rb_left', ptr, 16)] }]);
const ROOT = 0xffff888000001000n;
const R = (i: number) => 0xffff888000002000n + BigInt(i) * 0x40n;

/** The tree      3
 *              /   \
 *             1     5
 *            / \   /
 *           0   2 4        colours in bit 0 of the parent word, which must not matter. */
function rbMem(): TestMemory {
  const mem = new TestMemory().u64(ROOT, R(3));
  const node = (i: number, parent: bigint, right: bigint, left: bigint, black = 1n) => mem.u64(R(i), parent | black, right, left);
  node(3, 0n, R(5), R(1));
  node(1, R(3), R(2), R(0), 0n);
  node(0, R(1), 0n, 0n);
  node(2, R(1), 0n, 0n);
  node(5, R(3), 0n, R(4));
  node(4, R(5), 0n, 0n, 0n);
  return mem;
}

test('rbtree: in order (rb_first/rb_next, crash tree -l) and pre-order (crash tree\'s default)', (t) => {
  const p = Program.fromParts({ mem: rbMem(), types: rbTypes });
  t.deepEqual(good([...rbtree_for_each(p, ROOT)]).map((s) => s.node), [0, 1, 2, 3, 4, 5].map(R));
  t.deepEqual(good([...rbtree_for_each(p, ROOT, { preorder: true })]).map((s) => s.node), [3, 1, 0, 2, 5, 4].map(R));
  const viaNext: bigint[] = [];
  for (let n = rb_first(p, ROOT); n !== 0n; n = rb_next(p, n)) viaNext.push(n);
  t.deepEqual(viaNext, [0, 1, 2, 3, 4, 5].map(R));
  t.deepEqual([...rbtree_for_each(Program.fromParts({ mem: new TestMemory().u64(ROOT, 0n), types: rbTypes }), ROOT)], []);
});

test('rbtree damage: a child whose parent is elsewhere, a poisoned child, a loop, an unreadable child, max', (t) => {
  const stray = rbMem().u64(R(2), R(5) | 1n);
  const s = [...rbtree_for_each(Program.fromParts({ mem: stray, types: rbTypes }), ROOT)];
  t.deepEqual(good(s).map((x) => x.node), [0, 1].map(R));
  t.like(corrupt(s), { reason: 'parent-mismatch', node: R(1), link: 'right', value: R(2), pointeePrev: R(5) });
  const poisoned = rbMem().u64(R(5) + 16n, LIST_POISON1);
  t.like(corrupt([...rbtree_for_each(Program.fromParts({ mem: poisoned, types: rbTypes }), ROOT)]), { reason: 'poison', node: R(5), link: 'left', poison: 'LIST_POISON1' });
  // 0's left is 0 itself, its parent word still 1: a loop, found before it spins.
  const loop = rbMem().u64(R(0) + 16n, R(0));
  t.like(corrupt([...rbtree_for_each(Program.fromParts({ mem: loop, types: rbTypes }), ROOT)]), { reason: 'cycle', node: R(0), link: 'left' });
  // A left chain that points back up with consistent-looking parents cannot be told from a deep tree except by depth.
  const deep = new TestMemory().u64(ROOT, R(0));
  deep.u64(R(0), 0n, 0n, R(1));
  deep.u64(R(1), R(0), 0n, R(2));
  deep.u64(R(2), R(1), 0n, R(1)); // left of 2 is 1 again, whose parent is 0, not 2: caught as a mismatch
  t.like(corrupt([...rbtree_for_each(Program.fromParts({ mem: deep, types: rbTypes }), ROOT)]), { reason: 'parent-mismatch', node: R(2), value: R(1) });
  const away = rbMem().u64(R(5) + 16n, 0xffff888000900000n);
  t.like(corrupt([...rbtree_for_each(Program.fromParts({ mem: away, types: rbTypes }), ROOT)]), { reason: 'unreadable', code: 'not-mapped', node: R(5), link: 'left' });
  const capped = [...rbtree_for_each(Program.fromParts({ mem: rbMem(), types: rbTypes }), ROOT, { max: 2 })];
  t.is(good(capped).length, 2);
  t.like(corrupt(capped), { reason: 'max', walked: 2 });
});

// ---- xarray ----
const xaTypes = typesFor([
  /* 4 */ { kind: 'struct', name: 'xarray', size: 16, members: [m('xa_lock', u8, 0), m('xa_head', ptr, 8)] },
  /* 5 */ arr(ptr, 64),
  /* 6 */ { kind: 'struct', name: 'xa_node', size: 576, members: [m('shift', u8, 0), m('offset', u8, 1), m('count', u8, 2), m('nr_values', u8, 3), m('parent', ptr, 8), m('array', ptr, 16), m('slots', 5, 40)] },
]);
const XA = 0xffff888000001000n;
const X = (i: number) => 0xffff888000010000n + BigInt(i) * 0x400n; // nodes
const E = (i: number) => 0xffff888000100000n + BigInt(i) * 0x40n; // entries

function xaNode(mem: TestMemory, at: bigint, shift: number, offset: number, parent: bigint, slots: Record<number, bigint>) {
  mem.zero(at, 576);
  mem.add(at, new Uint8Array([shift, offset]));
  mem.u64(at + 8n, parent, XA);
  for (const [i, v] of Object.entries(slots)) mem.u64(at + 40n + BigInt(Number(i) * 8), v);
}

/** Two levels: the root node (shift 6) with children at slots 0 and 2; indices 1, 5, 130, 131 (a value entry) present. */
function xaMem(): TestMemory {
  const mem = new TestMemory().u64(XA, 0n, X(0) + 2n);
  xaNode(mem, X(0), 6, 0, 0n, { 0: X(1) + 2n, 2: X(2) + 2n });
  xaNode(mem, X(1), 0, 0, X(0), { 1: E(1), 5: E(5) });
  // slot 3 holds a value entry (xa_mk_value(7) = 15); slot 4 a sibling of slot 2 (xa_mk_internal(2) = 10); slot 6 XA_ZERO_ENTRY
  xaNode(mem, X(2), 0, 2, X(0), { 2: E(130), 3: 15n, 4: 10n, 6: 0x406n });
  return mem;
}

test('xarray: entries in index order with their indices; siblings and zero entries skipped, values kept', (t) => {
  const p = Program.fromParts({ mem: xaMem(), types: xaTypes });
  t.deepEqual(good([...xa_for_each(p, XA)]).map((s) => [s.key, s.entry]), [[1n, E(1)], [5n, E(5)], [130n, E(130)], [131n, 15n]]);
  // A lone entry in xa_head is index 0.
  t.deepEqual(good([...xa_for_each(Program.fromParts({ mem: new TestMemory().u64(XA, 0n, E(9)), types: xaTypes }), XA)]).map((s) => [s.key, s.entry]), [[0n, E(9)]]);
});

test('xarray damage: a child whose parent or shift is wrong, an unreadable node', (t) => {
  const stray = xaMem();
  stray.u64(X(2) + 8n, X(1));
  const s = [...xa_for_each(Program.fromParts({ mem: stray, types: xaTypes }), XA)];
  t.is(good(s).length, 2);
  t.like(corrupt(s), { reason: 'parent-mismatch', node: X(0), link: 'slot', pointee: X(2), pointeePrev: X(1) });
  const shift = xaMem().add(X(1), new Uint8Array([6]));
  t.like(corrupt([...xa_for_each(Program.fromParts({ mem: shift, types: xaTypes }), XA)]), { reason: 'bad-node', node: X(0), value: X(1) + 2n });
  const away = xaMem().u64(X(0) + 40n + 16n, 0xffff888000900002n);
  t.like(corrupt([...xa_for_each(Program.fromParts({ mem: away, types: xaTypes }), XA)]), { reason: 'unreadable', code: 'not-mapped', node: X(0) });
});

test('radix tree before 4.20: nodes marked with bit 0, shift per node, siblings pointing into the node skipped', (t) => {
  const types = typesFor([
    /* 4 */ { kind: 'struct', name: 'radix_tree_root', size: 16, members: [m('gfp_mask', u8, 0), m('rnode', ptr, 8)] },
    /* 5 */ arr(ptr, 64),
    /* 6 */ { kind: 'struct', name: 'radix_tree_node', size: 576, members: [m('shift', u8, 0), m('offset', u8, 1), m('parent', ptr, 8), m('slots', 5, 40)] },
  ]);
  const mem = new TestMemory().u64(XA, 0n, X(0) + 1n);
  xaNode(mem, X(0), 6, 0, 0n, { 1: X(1) + 1n });
  // index 64 + 3; slot 4 a sibling (internal, pointing at slot 3 of the same node)
  xaNode(mem, X(1), 0, 1, X(0), { 3: E(3), 4: X(1) + 40n + 3n * 8n + 1n, 9: E(9) });
  const p = Program.fromParts({ mem, types });
  t.deepEqual(good([...xa_for_each(p, XA)]).map((s) => [s.key, s.entry]), [[67n, E(3)], [73n, E(9)]]);
});

// ---- maple tree ----
const mtTypes = typesFor([
  /* 4 */ { kind: 'struct', name: 'maple_tree', size: 24, members: [m('ma_lock', u8, 0), m('ma_root', ptr, 8), m('ma_flags', u8, 16)] },
  /* 5 */ { kind: 'struct', name: 'maple_metadata', size: 2, members: [m('end', u8, 0), m('gap', u8, 1)] },
  /* 6 */ arr(ulong, 15),
  /* 7 */ arr(ptr, 16),
  /* 8 */ { kind: 'struct', name: 'maple_range_64', size: 256, members: [m('parent', ptr, 0), m('pivot', 6, 8), m('slot', 7, 128), m('meta', 5, 248)] },
  /* 9 */ arr(ulong, 9),
  /* 10 */ arr(ptr, 10),
  /* 11 */ arr(ulong, 10),
  /* 12 */ { kind: 'struct', name: 'maple_arange_64', size: 248, members: [m('parent', ptr, 0), m('pivot', 9, 8), m('slot', 10, 80), m('gap', 11, 160), m('meta', 5, 240)] },
  /* 13 */ { kind: 'struct', name: 'maple_node', size: 256, members: [m('parent', ptr, 0)] },
]);
const MT = 0xffff888000001008n; // a tree inside some struct: not 256-aligned
const M = (i: number) => 0xffff888000020000n + BigInt(i) * 0x100n;
const enc = (node: bigint, type: number) => node | (BigInt(type) << 3n) | 2n; // mt_mk_node: type in bits 3..6, internal 10
const LEAF = 1;
const ARANGE = 3;

function leaf(mem: TestMemory, at: bigint, parent: bigint, pivots: bigint[], slots: bigint[], metaEnd: number) {
  mem.zero(at, 256);
  mem.u64(at, parent);
  mem.u64(at + 8n, ...pivots);
  mem.u64(at + 128n, ...slots);
  mem.add(at + 248n, new Uint8Array([metaEnd]));
}

/** An arange_64 root over two leaves: VMAs [0x1000,0x1fff], [0x5000,0x7fff] in leaf 1; [0x10000,0x10fff] in leaf 2. */
function mtMem(): TestMemory {
  const mem = new TestMemory().zero(MT, 24).u64(MT + 8n, enc(M(0), ARANGE));
  mem.zero(M(0), 256);
  mem.u64(M(0), MT | 1n); // MA_ROOT_PARENT
  mem.u64(M(0) + 8n, 0x7fffn); // pivot[0]; slot 1 runs to the max
  mem.u64(M(0) + 80n, enc(M(1), LEAF), enc(M(2), LEAF));
  mem.add(M(0) + 240n, new Uint8Array([1])); // meta.end: two slots used
  // leaf 1: [0,0xfff] NULL, [0x1000,0x1fff] E1, [0x2000,0x4fff] NULL, [0x5000,0x7fff] E2 (pivot == node max: data end)
  leaf(mem, M(1), M(0) | (0n << 3n) | 6n, [0xfffn, 0x1fffn, 0x4fffn, 0x7fffn], [0n, E(1), 0n, E(2)], 3);
  // leaf 2: [0x8000,0xffff] NULL, [0x10000,0x10fff] E3, [0x11000, max] NULL; XA_ZERO_ENTRY at [0x12000..] is a reservation
  leaf(mem, M(2), M(0) | (1n << 3n) | 6n, [0xffffn, 0x10fffn, 0x11fffn, 0x12fffn], [0n, E(3), 0n, 0x406n, 0n], 4);
  return mem;
}

test('maple tree: entries in index order with their ranges (mt_for_each); zero entries skipped; a lone root entry is index 0', (t) => {
  const p = Program.fromParts({ mem: mtMem(), types: mtTypes });
  t.deepEqual(good([...mt_for_each(p, MT)]).map((s) => [s.key, s.last, s.entry]), [
    [0x1000n, 0x1fffn, E(1)],
    [0x5000n, 0x7fffn, E(2)],
    [0x10000n, 0x10fffn, E(3)],
  ]);
  const lone = new TestMemory().zero(MT, 24).u64(MT + 8n, E(7));
  t.deepEqual(good([...mt_for_each(Program.fromParts({ mem: lone, types: mtTypes }), MT)]).map((s) => [s.key, s.entry]), [[0n, E(7)]]);
});

test('maple tree damage: a node type that is none, a parent elsewhere, pivots out of order, the root not marked as root', (t) => {
  const run = (mem: TestMemory) => [...mt_for_each(Program.fromParts({ mem, types: mtTypes }), MT)];
  const dense = mtMem().u64(M(0) + 88n, enc(M(2), 0));
  const d = run(dense);
  t.is(good(d).length, 2);
  t.like(corrupt(d), { reason: 'bad-node', node: M(0), link: 'slot', value: enc(M(2), 0) });
  t.regex(corrupt(d)!.message, /maple_dense, which no kernel tree uses/);
  t.like(corrupt(run(mtMem().u64(M(2), M(1) | 6n))), { reason: 'parent-mismatch', node: M(0), pointee: M(2), pointeePrev: M(1) | 6n });
  t.like(corrupt(run(mtMem().u64(M(1) + 16n, 0x800n))), { reason: 'pivot-order', node: M(1), value: 0x800n });
  t.like(corrupt(run(mtMem().u64(M(0), MT))), { reason: 'parent-mismatch', link: 'root' });
  t.like(corrupt(run(mtMem().u64(M(0) + 80n, LIST_POISON1))), { reason: 'poison', node: M(0), link: 'slot' });
});
