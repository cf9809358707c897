/**
 * The list walkers over hand-built memory: every kind of damage
 * include/linux/list.h's CONFIG_DEBUG_LIST checks name (and the ones crash
 * `list` only stops at), each reported as a value at the node where it starts.
 * The real dump's lists against crash `list` are in lists.real.test.ts.
 */
import test from 'ava';
import { SymbolTable } from '@vmpipe/symbols';
import {
  hlist_for_each, LIST_POISON1, LIST_POISON2, list_both_ways, list_for_each, list_for_each_entry, Program, slist_for_each,
  type ListCorruption, type ListStep,
} from './index.js';
import { int, member, table, TestMemory } from './memkit.test-helper.js';

const HEAD = 0xffff888000001000n;
/** Nodes 0x100 apart on one page, so an address is easy to read in a failure. */
const N = (i: number) => 0xffff888000002000n + BigInt(i) * 0x100n;

/** A well-formed circular list: head <-> N(0) <-> ... <-> N(n-1) <-> head. */
function circular(n: number, mem = new TestMemory()): TestMemory {
  const ring = [HEAD, ...Array.from({ length: n }, (_, i) => N(i))];
  ring.forEach((node, i) => mem.u64(node, ring[(i + 1) % ring.length]!, ring[(i + ring.length - 1) % ring.length]!));
  return mem;
}

const prog = (mem: TestMemory) => Program.fromParts({ mem, symbols: new SymbolTable([]) });
const nodes = (steps: ListStep[]) => steps.flatMap((s) => ('node' in s ? [s.node] : []));
const corrupt = (steps: ListStep[]): ListCorruption | undefined => {
  const last = steps.at(-1);
  return last && 'corrupt' in last ? last.corrupt : undefined;
};

test('a good list: every node in order, forward and back, no damage', (t) => {
  const p = prog(circular(4));
  const fwd = [...list_for_each(p, HEAD)];
  t.deepEqual(nodes(fwd), [N(0), N(1), N(2), N(3)]);
  t.deepEqual(fwd.map((s) => ('index' in s ? s.index : -1)), [0, 1, 2, 3]);
  t.is(corrupt(fwd), undefined);
  t.deepEqual(nodes([...list_for_each(p, HEAD, { reverse: true })]), [N(3), N(2), N(1), N(0)]);
  t.deepEqual([...list_for_each(prog(circular(0)), HEAD)], []);
});

test('includeHead (crash list -h): the start node first, the walk ends back at it', (t) => {
  const p = prog(circular(3));
  t.deepEqual(nodes([...list_for_each(p, N(1), { includeHead: true })]), [N(1), N(2), HEAD, N(0)]);
});

test('list_for_each_entry: container_of with the member offset from the types', (t) => {
  // struct thing { long a; long b; struct list_head link; } with link at 16.
  const types = table([
    int('long int', 8, true),
    { kind: 'struct', name: 'list_head', size: 16, members: [member('next', 0, 0), member('prev', 0, 8)] },
    { kind: 'struct', name: 'thing', size: 32, members: [member('a', 1, 0), member('b', 1, 8), member('link', 2, 16)] },
  ]);
  const p = Program.fromParts({ mem: circular(2), types });
  t.deepEqual([...list_for_each_entry(p, HEAD, 'thing', 'link')], [
    { entry: N(0) - 16n, node: N(0), index: 0 },
    { entry: N(1) - 16n, node: N(1), index: 1 },
  ]);
});

test('poison: LIST_POISON1 in next and LIST_POISON2 in prev are named, at the node that holds them', (t) => {
  const mem = circular(4).u64(N(1), LIST_POISON1);
  const c = corrupt([...list_for_each(prog(mem), HEAD)])!;
  t.like(c, { reason: 'poison', node: N(1), link: 'next', value: 0xdead000000000100n, poison: 'LIST_POISON1', walked: 2 });
  t.regex(c.message, /^next of 0xffff888000002100 is LIST_POISON1 \(0xdead000000000100\)/);
  const mem2 = circular(4).u64(N(2) + 8n, LIST_POISON2);
  const back = [...list_for_each(prog(mem2), HEAD, { reverse: true })];
  t.deepEqual(nodes(back), [N(3), N(2)]);
  t.like(corrupt(back), { reason: 'poison', node: N(2), link: 'prev', value: 0xdead000000000122n, poison: 'LIST_POISON2' });
});

test('NULL, misaligned and non-canonical links', (t) => {
  for (const [value, reason] of [[0n, 'null'], [N(2) + 4n, 'misaligned'], [0x1234567800002000n, 'non-canonical']] as const) {
    const steps = [...list_for_each(prog(circular(4).u64(N(0), value)), HEAD)];
    t.deepEqual(nodes(steps), [N(0)], reason);
    t.like(corrupt(steps), { reason, node: N(0), value, walked: 1 }, reason);
  }
});

test('a link into unmapped memory or an excluded page: unreadable, with the memory code, the bad node never handed out', (t) => {
  const away = 0xffff888000900000n;
  const steps = [...list_for_each(prog(circular(3).u64(N(1), away)), HEAD)];
  t.deepEqual(nodes(steps), [N(0), N(1)]);
  t.like(corrupt(steps), { reason: 'unreadable', code: 'not-mapped', node: N(1), value: away, walked: 2 });
  // Also with the prev check off (crash's way): the unreadable node is still not yielded.
  t.deepEqual(nodes([...list_for_each(prog(circular(3).u64(N(1), away)), HEAD, { noPrevCheck: true })]), [N(0), N(1)]);
  const ex = circular(3).u64(0xffff888000005000n, 0n, 0n).exclude(0xffff888000005000n).u64(N(0), 0xffff888000005000n);
  const c = corrupt([...list_for_each(prog(ex), HEAD)])!;
  t.like(c, { reason: 'unreadable', code: 'page-excluded', node: N(0), value: 0xffff888000005000n });
  t.regex(c.message, /in a page the dump excluded/);
});

test('the head itself unreadable: walked 0, node and value the head', (t) => {
  const steps = [...list_for_each(prog(new TestMemory()), HEAD)];
  t.is(steps.length, 1);
  t.like(corrupt(steps), { reason: 'unreadable', node: HEAD, value: HEAD, walked: 0, code: 'not-mapped' });
});

test('next->prev mismatch: both nodes and both values', (t) => {
  const stray = 0xffff888000007000n;
  const mem = circular(4).u64(N(2) + 8n, stray); // prev of N(2) no longer N(1)
  const steps = [...list_for_each(prog(mem), HEAD)];
  t.deepEqual(nodes(steps), [N(0), N(1)]);
  const c = corrupt(steps)!;
  t.like(c, { reason: 'prev-mismatch', node: N(1), value: N(2), pointee: N(2), pointeePrev: stray, walked: 2 });
  t.is(c.message, 'next of 0xffff888000002100 is 0xffff888000002200, but prev of 0xffff888000002200 is 0xffff888000007000, not 0xffff888000002100');
  // crash's way (no check) walks through it.
  t.deepEqual(nodes([...list_for_each(prog(mem), HEAD, { noPrevCheck: true })]), [N(0), N(1), N(2), N(3)]);
});

test('a cycle that never returns to the head: found in bounded steps, where the loop starts and its length', (t) => {
  // head -> 0 -> 1 -> 2 -> 3 -> 4 -> 1 (a loop of 4 entered at node index 1)
  const mem = circular(5).u64(N(4), N(1));
  const steps = [...list_for_each(prog(mem), HEAD, { noPrevCheck: true })];
  const c = corrupt(steps)!;
  t.like(c, { reason: 'cycle', node: N(4), value: N(1), loopStart: N(1), loopAt: 1, loopLength: 4 });
  t.is(c.message, 'the list loops without reaching the head 0xffff888000001000: next of 0xffff888000002400 (entry 4) is 0xffff888000002100, entry 1 again (a loop of 4); entries after 4 were repeats');
  t.true(steps.length < 5 * 4, 'Brent finds it within a few laps');
  // With the prev check the same damage is seen earlier, as next->prev not pointing back.
  t.like(corrupt([...list_for_each(prog(mem), HEAD)]), { reason: 'prev-mismatch', node: N(4), value: N(1), pointeePrev: N(0) });
  // A node linked to itself.
  t.like(corrupt([...list_for_each(prog(circular(3).u64(N(1), N(1))), HEAD, { noPrevCheck: true })]), { reason: 'cycle', loopStart: N(1), loopAt: 1, loopLength: 1 });
});

test('max: exactly max nodes, then the bound is reported', (t) => {
  const steps = [...list_for_each(prog(circular(10)), HEAD, { max: 3 })];
  t.deepEqual(nodes(steps), [N(0), N(1), N(2)]);
  t.like(corrupt(steps), { reason: 'max', node: N(2), value: N(3), walked: 3 });
  t.is(corrupt([...list_for_each(prog(circular(3)), HEAD, { max: 3 })]), undefined, 'a list of exactly max nodes is whole');
});

test('both ways: a break bracketed by the last good node on each side', (t) => {
  // 0..5; 2 deleted with list_del (both links poisoned) while 1 and 3 still point at it.
  const mem = circular(6).u64(N(2), LIST_POISON1, LIST_POISON2);
  const { forward, backward } = list_both_ways(prog(mem), HEAD);
  t.like(forward, { nodes: 3, lastGood: N(2) });
  t.like(forward.corrupt, { reason: 'poison', node: N(2), poison: 'LIST_POISON1' });
  // back from the head: 5, 4, 3, and 2, the deleted entry (its poisoned next is no mismatch but
  // the mark of list_del), whose own prev is LIST_POISON2: both sides end at the freed entry.
  t.like(backward, { nodes: 4, lastGood: N(2) });
  t.like(backward.corrupt, { reason: 'poison', node: N(2), link: 'prev', poison: 'LIST_POISON2' });
  // One side only poisoned, the other a stray pointer: the bracket is the gap between them.
  const gap = circular(6).u64(N(2), LIST_POISON1).u64(N(4) + 8n, 0xffff888000900000n);
  const b = list_both_ways(prog(gap), HEAD);
  t.like(b.forward, { nodes: 3, lastGood: N(2) });
  t.like(b.backward, { nodes: 2, lastGood: N(4) });
  t.like(b.backward.corrupt, { reason: 'unreadable', node: N(4), link: 'prev', value: 0xffff888000900000n, code: 'not-mapped' });
  const whole = list_both_ways(prog(circular(2)), HEAD);
  t.deepEqual(whole, { forward: { nodes: 2, lastGood: N(1) }, backward: { nodes: 2, lastGood: N(0) } });
});

/** hlist: head.first -> a -> b -> NULL, each node { next, pprev }. */
function hlist(n: number, mem = new TestMemory()): TestMemory {
  mem.u64(HEAD, n ? N(0) : 0n);
  for (let i = 0; i < n; i++) mem.u64(N(i), i + 1 < n ? N(i + 1) : 0n, i === 0 ? HEAD : N(i - 1));
  return mem;
}

test('hlist: NULL-terminated, pprev checked against the link that led there', (t) => {
  t.deepEqual(nodes([...hlist_for_each(prog(hlist(3)), HEAD)]), [N(0), N(1), N(2)]);
  t.deepEqual([...hlist_for_each(prog(hlist(0)), HEAD)], []);
  const bad = [...hlist_for_each(prog(hlist(3).u64(N(1) + 8n, N(2))), HEAD)];
  t.like(corrupt(bad), { reason: 'prev-mismatch', node: N(0), link: 'next', value: N(1), pointeePrev: N(2), walked: 1 });
  t.like(corrupt([...hlist_for_each(prog(hlist(3).u64(HEAD, LIST_POISON2)), HEAD)]), { reason: 'poison', node: HEAD, link: 'first', poison: 'LIST_POISON2', walked: 0 });
  t.like(corrupt([...hlist_for_each(prog(hlist(3).u64(N(2), N(0))), HEAD, { noPrevCheck: true })]), { reason: 'cycle', node: N(2), value: N(0), loopStart: N(0), loopAt: 0, loopLength: 3 });
  t.like(corrupt([...hlist_for_each(prog(hlist(5)), HEAD, { max: 2 })]), { reason: 'max', walked: 2 });
});

test('singly linked (crash list -o): ends at NULL or back at the start; damage as for the others', (t) => {
  // struct { long pad; void *next; } at N(i), next at offset 8 pointing at the next struct's start.
  const mem = new TestMemory();
  for (let i = 0; i < 4; i++) mem.u64(N(i), 0x1111n * BigInt(i), i < 3 ? N(i + 1) : 0n);
  t.deepEqual(nodes([...slist_for_each(prog(mem), N(0), 8)]), [N(0), N(1), N(2), N(3)]);
  mem.u64(N(3) + 8n, N(0));
  t.deepEqual(nodes([...slist_for_each(prog(mem), N(0), 8)]), [N(0), N(1), N(2), N(3)], 'back at the start ends it, as crash');
  mem.u64(N(3) + 8n, N(2));
  t.like(corrupt([...slist_for_each(prog(mem), N(0), 8)]), { reason: 'cycle', node: N(3), value: N(2), loopStart: N(2), loopAt: 2, loopLength: 2 });
  mem.u64(N(1) + 8n, LIST_POISON1);
  const steps = [...slist_for_each(prog(mem), N(0), 8)];
  t.deepEqual(nodes(steps), [N(0), N(1)]);
  t.like(corrupt(steps), { reason: 'poison', node: N(1), walked: 2 });
  t.deepEqual([...slist_for_each(prog(mem), 0n, 8)], []);
});
