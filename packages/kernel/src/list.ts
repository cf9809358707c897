/**
 * Kernel linked lists, walked the way include/linux/list.h defines them:
 * `struct list_head { next, prev }` (circular, the head standalone or inside
 * an entry), `struct hlist_head { first }` / `struct hlist_node { next, pprev }`
 * (NULL-terminated), and plain singly linked structures (a `next` pointer at an
 * offset, crash `list -o`). Helpers are named after the kernel's macros.
 *
 * Damage is a value, never an exception: a walk yields `{ corrupt }` as its
 * last step and stops, saying what is wrong and where (the poison values of
 * include/linux/poison.h, NULL, a pointer that is non-canonical, misaligned or
 * cannot be read, `next->prev` not pointing back, a cycle that does not return
 * to the head, found with Brent's method in constant memory, or the caller's
 * `max`). `list_both_ways` brackets a break from both sides, as one does by
 * hand with crash `list` and `list -r`.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { Decoder, findType, memberAt, readObject, sizeOf, type FoundType, type Json, type TypeTable } from '@vmpipe/types';
import type { Program } from './program.js';

/**
 * include/linux/poison.h: LIST_POISON1 = 0x100 + POISON_POINTER_DELTA,
 * LIST_POISON2 = 0x122 + POISON_POINTER_DELTA, where the delta is
 * CONFIG_ILLEGAL_POINTER_VALUE: 0xdead000000000000 on x86_64 and arm64.
 */
export const POISON_POINTER_DELTA = 0xdead000000000000n;
export const LIST_POISON1 = 0x100n + POISON_POINTER_DELTA;
export const LIST_POISON2 = 0x122n + POISON_POINTER_DELTA;

export type ListCorruptionReason =
  | 'poison' // LIST_POISON1/2: the entry was deleted (list_del) but is still reached
  | 'null' // a NULL link in a circular list
  | 'misaligned' // a link that is not pointer-aligned
  | 'non-canonical' // a link no x86_64/arm64 kernel pointer can be (bits 63..56 neither all 0 nor all 1)
  | 'unreadable' // a link that points where memory cannot be read (`code`: not-mapped, page-excluded, non-canonical, ...)
  | 'prev-mismatch' // next->prev does not point back to the node
  | 'cycle' // the walk returns to a node that is not the head
  | 'max' // the caller's bound was reached
  // trees (rbtree.ts, xarray.ts, maple.ts) report in the same shape:
  | 'parent-mismatch' // a child whose parent link does not point back at the node it hangs from
  | 'bad-node' // a node whose type or shift cannot be (a maple node type that is not one, an xa_node shift out of step)
  | 'pivot-order' // maple pivots not ascending within the node's range
  | 'depth'; // deeper than any valid tree of its kind: a loop

export interface ListCorruption {
  reason: ListCorruptionReason;
  /** the node whose link is bad (the last good node); the head itself when the head cannot be read */
  node: bigint;
  /** which link: 'next', 'prev', 'first' (hlist head), 'pprev'; trees: 'root', 'left', 'right', 'slot', 'parent' */
  link: 'next' | 'prev' | 'first' | 'pprev' | 'root' | 'left' | 'right' | 'slot' | 'parent';
  /** the bad link's value (the head's address when the head cannot be read) */
  value: bigint;
  /** nodes walked before this one went wrong (the head not counted) */
  walked: number;
  /** for prev-mismatch: the node pointed at and what its prev holds */
  pointee?: bigint;
  pointeePrev?: bigint;
  /** for 'poison': LIST_POISON1 or LIST_POISON2 */
  poison?: 'LIST_POISON1' | 'LIST_POISON2';
  /**
   * for 'cycle': the first node met twice, its index in the walk, and the loop's length; `node`
   * is then the node whose link closes the loop (index loopAt + loopLength - 1) and `value` the
   * loop's start. Brent's check finds a loop within two laps, so steps past that index were repeats.
   */
  loopStart?: bigint;
  loopAt?: number;
  loopLength?: number;
  /** the memory problem code for 'unreadable' (not-mapped, page-excluded, non-canonical, ...) */
  code?: string;
  message: string;
}

/** A node reached, with its links as read on the way (next/prev; an hlist node's pprev) where the walk read them. */
export type ListStep = { node: bigint; index: number; next?: bigint; prev?: bigint; pprev?: bigint } | { corrupt: ListCorruption };

export interface ListWalkOptions {
  /** walk `prev` instead of `next` (list_for_each_prev) */
  reverse?: boolean;
  /** stop with a 'max' corruption after this many nodes */
  max?: number;
  /** do not check next->prev (faster, and what crash's `list` does) */
  noPrevCheck?: boolean;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** The poison's name, when a value is one of include/linux/poison.h's list poisons. */
export function poisonName(value: bigint): 'LIST_POISON1' | 'LIST_POISON2' | undefined {
  return value === LIST_POISON1 ? 'LIST_POISON1' : value === LIST_POISON2 ? 'LIST_POISON2' : undefined;
}

/**
 * Canonical on every x86_64 paging mode and arm64: bits 63..56 all equal. A
 * stricter 48-bit check would be wrong for 5-level paging; the translation
 * still refuses what the dump's own paging mode does not allow ('unreadable',
 * code 'non-canonical').
 */
function canonical(value: bigint): boolean {
  const top = value >> 56n;
  return top === 0n || top === 0xffn;
}

/** Names a bad link value without reading memory: poison, NULL, misaligned, non-canonical; undefined when it looks like a pointer. */
export function badLinkReason(value: bigint): 'null' | 'poison' | 'misaligned' | 'non-canonical' | undefined {
  if (value === 0n) return 'null';
  if (poisonName(value)) return 'poison';
  if ((value & 7n) !== 0n) return 'misaligned';
  if (!canonical(value)) return 'non-canonical';
  return undefined;
}

function describe(reason: ListCorruptionReason, node: bigint, link: string, value: bigint): string {
  switch (reason) {
    case 'poison':
      return `${link} of ${hex(node)} is ${poisonName(value)} (${hex(value)}): the entry was deleted with list_del but is still reached`;
    case 'null':
      return `${link} of ${hex(node)} is NULL`;
    case 'misaligned':
      return `${link} of ${hex(node)} is ${hex(value)}, not pointer-aligned`;
    case 'non-canonical':
      return `${link} of ${hex(node)} is ${hex(value)}, not a canonical kernel address`;
    default:
      return `${link} of ${hex(node)} is ${hex(value)}`;
  }
}

/** What a bad link value is, as the fields of a corruption. */
export function badLinkCorruption(reason: ListCorruptionReason, node: bigint, link: ListCorruption['link'], value: bigint, walked: number): ListCorruption {
  const c: ListCorruption = { reason, node, link, value, walked, message: describe(reason, node, link, value) };
  if (reason === 'poison') c.poison = poisonName(value)!;
  return c;
}

/** Reads one pointer, or says why it cannot be read. */
export function readLink(prog: Program, addr: bigint): bigint | MemoryError {
  try {
    return prog.mem.readU64(addr);
  } catch (err) {
    if (err instanceof MemoryError) return err;
    throw err;
  }
}

/**
 * Kernel memory read a page at a time, for walks: a walk reads two words per
 * node, and nodes share pages (slab objects, arrays), so one translation and
 * one page lookup serve many reads. A page that does not read whole falls
 * back to the exact read, so errors are the memory's own.
 */
export class PageReader {
  private readonly pages = new Map<bigint, DataView | null>();
  private readonly size: bigint;
  constructor(private readonly prog: Program) {
    this.size = BigInt(prog.mem.pageSize);
  }
  private lastBase = -1n;
  private lastPage: DataView | null = null;
  private page(base: bigint): DataView | null {
    // Consecutive reads mostly stay in one page (a node's next and prev, neighbours in a slab).
    if (base === this.lastBase) return this.lastPage;
    let dv = this.pages.get(base);
    if (dv === undefined) {
      try {
        const b = this.prog.mem.readBytes(base, Number(this.size)).slice(); // a copy: readers may reuse their buffers
        dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      } catch (err) {
        if (!(err instanceof MemoryError)) throw err;
        dv = null;
      }
      if (this.pages.size >= 256) this.pages.clear();
      this.pages.set(base, dv);
    }
    this.lastBase = base;
    this.lastPage = dv;
    return dv;
  }
  /** One 64-bit little-endian word, or why it cannot be read. */
  read(addr: bigint): bigint | MemoryError {
    const off = addr % this.size;
    const dv = off + 8n <= this.size ? this.page(addr - off) : null;
    if (dv) return dv.getBigUint64(Number(off), true);
    return readLink(this.prog, addr);
  }
  /** `length` bytes within one readable page, or undefined (read them another way). */
  bytes(addr: bigint, length: number): Uint8Array | undefined {
    const off = addr % this.size;
    if (off + BigInt(length) > this.size) return undefined;
    const dv = this.page(addr - off);
    return dv ? new Uint8Array(dv.buffer, dv.byteOffset + Number(off), length) : undefined;
  }
}

export function linkUnreadable(node: bigint, link: ListCorruption['link'], value: bigint, walked: number, err: MemoryError): ListCorruption {
  const what = err.code === 'page-excluded' ? 'in a page the dump excluded' : err.code === 'non-canonical' ? 'not canonical' : 'unreadable';
  return { reason: 'unreadable', node, link, value, walked, code: err.code, message: `${link} of ${hex(node)} is ${hex(value)}, ${what}: ${err.message}` };
}

export function rootUnreadable(head: bigint, link: ListCorruption['link'], err: MemoryError): ListCorruption {
  return { reason: 'unreadable', node: head, link, value: head, walked: 0, code: err.code, message: `the head ${hex(head)} cannot be read: ${err.message}` };
}

/**
 * Brent's cycle finding, the check half: call `seen(node)` for each node walked;
 * true when the node was met before (the walk is in a loop).
 */
class Brent {
  private tortoise: bigint;
  private power = 1;
  private lambda = 0;
  constructor(start: bigint) {
    this.tortoise = start;
  }
  seen(node: bigint): boolean {
    if (node === this.tortoise) return true;
    if (++this.lambda === this.power) {
      this.tortoise = node;
      this.power *= 2;
      this.lambda = 0;
    }
    return false;
  }
}

/**
 * Where a loop begins, once Brent's check found one: walks again from `start`
 * with two pointers a loop-length apart (constant memory, as the detection).
 */
function loopOf(step: (n: bigint) => bigint, start: bigint, at: bigint): { start: bigint; at: number; length: number; closer: bigint } {
  let length = 1;
  for (let n = step(at); n !== at; n = step(n)) length++;
  let a = start;
  let b = start;
  for (let i = 0; i < length; i++) b = step(b);
  let mu = 0;
  while (a !== b) {
    a = step(a);
    b = step(b);
    mu++;
  }
  let closer = a;
  for (let i = 1; i < length; i++) closer = step(closer);
  return { start: a, at: mu, length, closer };
}

function cycle(loop: ReturnType<typeof loopOf>, link: ListCorruption['link'], walked: number, end: string): ListCorruption {
  const closing = loop.at + loop.length - 1;
  return {
    reason: 'cycle', node: loop.closer, link, value: loop.start, walked, loopStart: loop.start, loopAt: loop.at, loopLength: loop.length,
    message: `the list loops without reaching ${end}: ${link} of ${hex(loop.closer)} (entry ${closing}) is ${hex(loop.start)}, entry ${loop.at} again (a loop of ${loop.length}); entries after ${closing} were repeats`,
  };
}

/**
 * list_for_each / list_for_each_prev: every node of the circular list at `head`,
 * the head itself excluded. With `{ includeHead: true }` the head is the first
 * node (crash `list -h`: a node inside an entry, that entry included).
 */
export function* list_for_each(prog: Program, head: bigint, opts: ListWalkOptions & { includeHead?: boolean } = {}): Generator<ListStep> {
  const [fwd, back] = opts.reverse ? [8n, 0n] : [0n, 8n];
  const link = opts.reverse ? 'prev' : 'next';
  const max = opts.max ?? Infinity;
  const links = new PageReader(prog);
  let index = 0;
  let node = head;
  let next = links.read(node + fwd);
  if (next instanceof MemoryError) {
    yield { corrupt: rootUnreadable(head, link, next) };
    return;
  }
  if (opts.includeHead) yield { node: head, index: index++, ...(opts.reverse ? { prev: next } : { next }) };
  const brent = new Brent(head);
  let walked = 0;
  for (;;) {
    if (next === head) return;
    const reason = badLinkReason(next);
    if (reason) {
      yield { corrupt: badLinkCorruption(reason, node, link, next, walked) };
      return;
    }
    // The next node's own link is read before it is yielded, so an unreadable node is never handed out.
    const after = links.read(next + fwd);
    if (after instanceof MemoryError) {
      yield { corrupt: linkUnreadable(node, link, next, walked, after) };
      return;
    }
    let back_: bigint | MemoryError | undefined;
    if (!opts.noPrevCheck) {
      back_ = links.read(next + back);
      if (back_ instanceof MemoryError) {
        yield { corrupt: linkUnreadable(node, link, next, walked, back_) };
        return;
      }
      // A poisoned back link marks the pointee as deleted (list_del poisons both links): it is
      // handed out, as crash does, and the walk stops at its own poisoned link with the poison named.
      if (back_ !== node && !poisonName(back_)) {
        const other = opts.reverse ? 'next' : 'prev';
        yield {
          corrupt: {
            reason: 'prev-mismatch', node, link, value: next, walked, pointee: next, pointeePrev: back_,
            message: `${link} of ${hex(node)} is ${hex(next)}, but ${other} of ${hex(next)} is ${hex(back_)}, not ${hex(node)}`,
          },
        };
        return;
      }
    }
    if (brent.seen(next)) {
      const loop = loopOf((n) => prog.mem.readU64(n + fwd), head, next);
      loop.at -= opts.includeHead ? 0 : 1; // the head is not an index unless included
      yield { corrupt: cycle(loop, link, walked, `the head ${hex(head)}`) };
      return;
    }
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node, link, value: next, walked, message: `stopped after ${walked} nodes (--max ${max}); ${link} of ${hex(node)} is ${hex(next)}` } };
      return;
    }
    node = next;
    next = after;
    walked++;
    const step: ListStep = { node, index: index++ };
    if (opts.reverse) step.prev = after;
    else step.next = after;
    if (typeof back_ === 'bigint') {
      if (opts.reverse) step.next = back_;
      else step.prev = back_;
    }
    yield step;
  }
}

/** offsetof(type, member) from the program's types: the `container_of` distance. */
export function offsetOf(prog: Program, type: string, member: string): number {
  return memberAt(prog.types, findType(prog.types, type), member).offset;
}

export type EntryStep = { entry: bigint; node: bigint; index: number } | { corrupt: ListCorruption };

/** list_for_each_entry: the entries of `type` linked through `member` on the list at `head`. */
export function* list_for_each_entry(prog: Program, head: bigint, type: string, member: string, opts: ListWalkOptions & { includeHead?: boolean } = {}): Generator<EntryStep> {
  const off = BigInt(offsetOf(prog, type, member));
  for (const step of list_for_each(prog, head, opts)) {
    if ('corrupt' in step) yield step;
    else yield { entry: step.node - off, node: step.node, index: step.index };
  }
}

/** One side of a list walked as far as it goes. */
export interface ListSide {
  /** nodes reached (the head not counted) */
  nodes: number;
  /** the last node reached before the damage (the head when none was) */
  lastGood: bigint;
  corrupt?: ListCorruption;
}

/**
 * A broken circular list bracketed from both sides: forward through `next`
 * until it breaks, then back from the head through `prev` until that breaks
 * too. Between the two last good nodes lies what neither side reaches.
 */
export function list_both_ways(prog: Program, head: bigint, opts: ListWalkOptions & { includeHead?: boolean } = {}): { forward: ListSide; backward: ListSide } {
  const side = (reverse: boolean): ListSide => {
    const s: ListSide = { nodes: 0, lastGood: head };
    for (const step of list_for_each(prog, head, { ...opts, reverse })) {
      if ('corrupt' in step) s.corrupt = step.corrupt;
      else if (step.node !== head) {
        s.nodes++;
        s.lastGood = step.node;
      }
    }
    return s;
  };
  return { forward: side(!!opts.reverse), backward: side(!opts.reverse) };
}

/**
 * hlist_for_each: the nodes of the NULL-terminated list at `head` (struct
 * hlist_head { first }), checking each node's pprev points back at the link
 * that led to it.
 */
export function* hlist_for_each(prog: Program, head: bigint, opts: Pick<ListWalkOptions, 'max' | 'noPrevCheck'> = {}): Generator<ListStep> {
  const max = opts.max ?? Infinity;
  let linkAddr = head; // the address of the link we follow (head->first, then node->next)
  let link: ListCorruption['link'] = 'first';
  let from = head;
  const brent = new Brent(0n);
  const links = new PageReader(prog);
  let walked = 0;
  for (;;) {
    const next = links.read(linkAddr);
    if (next instanceof MemoryError) {
      // Only the head can fail here: every node's next was read when it was reached.
      yield { corrupt: rootUnreadable(head, link, next) };
      return;
    }
    if (next === 0n) return;
    const reason = badLinkReason(next);
    if (reason) {
      yield { corrupt: badLinkCorruption(reason, from, link, next, walked) };
      return;
    }
    const own = links.read(next);
    if (own instanceof MemoryError) {
      yield { corrupt: linkUnreadable(from, link, next, walked, own) };
      return;
    }
    let pprev: bigint | MemoryError | undefined;
    if (!opts.noPrevCheck) {
      pprev = links.read(next + 8n);
      if (pprev instanceof MemoryError) {
        yield { corrupt: linkUnreadable(from, link, next, walked, pprev) };
        return;
      }
      if (pprev !== linkAddr) {
        yield {
          corrupt: {
            reason: 'prev-mismatch', node: from, link, value: next, walked, pointee: next, pointeePrev: pprev,
            message: `${link} of ${hex(from)} is ${hex(next)}, but pprev of ${hex(next)} is ${hex(pprev)}, not ${hex(linkAddr)}`,
          },
        };
        return;
      }
    }
    if (brent.seen(next)) {
      const first = prog.mem.readU64(head);
      const loop = loopOf((n) => prog.mem.readU64(n), first, next);
      yield { corrupt: cycle(loop, 'next', walked, 'NULL') };
      return;
    }
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node: from, link, value: next, walked, message: `stopped after ${walked} nodes (--max ${max}); ${link} of ${hex(from)} is ${hex(next)}` } };
      return;
    }
    walked++;
    yield typeof pprev === 'bigint' ? { node: next, index: walked - 1, next: own, pprev } : { node: next, index: walked - 1, next: own };
    from = next;
    linkAddr = next;
    link = 'next';
  }
}

/**
 * A singly linked list of structures (crash `list -o OFFSET START`): `start` is
 * the first entry, the pointer at `offset` in each entry is the address of the
 * next entry; it ends at NULL or back at `start`.
 */
export function* slist_for_each(prog: Program, start: bigint, offset: number, opts: Pick<ListWalkOptions, 'max'> = {}): Generator<ListStep> {
  const max = opts.max ?? Infinity;
  const off = BigInt(offset);
  if (start === 0n) return;
  const links = new PageReader(prog);
  let node = start;
  let next = links.read(node + off);
  if (next instanceof MemoryError) {
    yield { corrupt: rootUnreadable(start, 'next', next) };
    return;
  }
  const brent = new Brent(start);
  let walked = 0;
  yield { node, index: walked++, next };
  for (;;) {
    if (next === 0n || next === start) return;
    // NULL ends a singly linked list; the other bad values are still damage.
    const reason = badLinkReason(next);
    if (reason) {
      yield { corrupt: badLinkCorruption(reason, node, 'next', next, walked) };
      return;
    }
    const after = links.read(next + off);
    if (after instanceof MemoryError) {
      yield { corrupt: linkUnreadable(node, 'next', next, walked, after) };
      return;
    }
    if (brent.seen(next)) {
      const loop = loopOf((n) => prog.mem.readU64(n + off), start, next);
      yield { corrupt: cycle(loop, 'next', walked, `NULL or ${hex(start)}`) };
      return;
    }
    if (walked >= max) {
      yield { corrupt: { reason: 'max', node, link: 'next', value: next, walked, message: `stopped after ${walked} nodes (--max ${max}); next of ${hex(node)} is ${hex(next)}` } };
      return;
    }
    node = next;
    next = after;
    yield { node, index: walked++, next };
  }
}

/** An entry type as users spell it (`page`, `struct page`, `vmpipe_item [crashmod]`), for walks that turn nodes into entries. */
export interface EntryType {
  name: string;
  found: FoundType;
  /** the types that decode it: the kernel's, or the module's whose own type it is */
  table: TypeTable;
  module?: string;
}

export function entryType(prog: Program, spelled: string): EntryType {
  const t = prog.findType(spelled);
  return { name: t.found.name, found: t.found, table: t.table, ...(t.module !== undefined ? { module: t.module } : {}) };
}

/** offsetof(type, member) for a dotted member path (TypeLookupError when there is none). */
export function memberOffset(prog: Program, type: EntryType, member: string): number {
  return memberAt(type.table, type.found, member).offset;
}

/**
 * Members of each entry of a walk decoded as struct-decode decodes them
 * (`--fields`): only the bytes the members need are read, from the walk's
 * page cache when they lie in one page; an unreadable member is `{ error }`.
 */
export class EntryFields {
  private readonly picks: { path: string; at: ReturnType<typeof memberAt> }[];
  private readonly span: number;
  private readonly decoder: Decoder;
  private readonly pages: PageReader;
  /** Checks every member exists (TypeLookupError otherwise) before anything is read. */
  constructor(private readonly prog: Program, type: EntryType, readonly fields: string[]) {
    this.picks = fields.map((path) => ({ path, at: memberAt(type.table, type.found, path) }));
    const size = sizeOf(type.table, type.found.id);
    const end = Math.max(0, ...this.picks.map(({ at }) => at.offset + Math.max(at.size, 1)));
    this.span = size > 0 ? Math.min(end, size) : end;
    this.decoder = new Decoder(type.table, { mem: prog.mem });
    this.pages = new PageReader(prog);
  }
  decode(at: bigint): { [member: string]: Json } {
    const bytes = this.pages.bytes(at, this.span);
    const obj = bytes ? { addr: at, bytes, holes: [] } : readObject(this.prog.mem, at, this.span);
    const value: { [member: string]: Json } = {};
    for (const { path, at: m } of this.picks) value[path] = this.decoder.value(obj, m.typeId, 0, m.bitSize ? m.bitOffset! : m.offset * 8, m.bitSize ?? 0, 0, new Set([at]));
    return value;
  }
}
