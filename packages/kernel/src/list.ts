/**
 * Kernel linked lists, walked the way include/linux/list.h defines them:
 * `struct list_head { next, prev }` (circular, the head standalone or inside
 * an entry) and `struct hlist_head { first }` / `struct hlist_node { next, pprev }`
 * (NULL-terminated). Helpers are named after the kernel's macros.
 *
 * Damage is a value, never an exception: a walk yields `{ corrupt }` as its
 * last step and stops, saying what is wrong and where (the poison values of
 * include/linux/poison.h, NULL, a pointer that cannot be read, `next->prev`
 * not pointing back, a cycle that does not return to the head, found with
 * Brent's method in constant memory, or the caller's `max`).
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt } from '@vmpipe/types';
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
  | 'unreadable' // a link that points where memory cannot be read (unmapped, excluded, non-canonical)
  | 'prev-mismatch' // next->prev does not point back to the node
  | 'cycle' // the walk returns to a node that is not the head
  | 'max'; // the caller's bound was reached

export interface ListCorruption {
  reason: ListCorruptionReason;
  /** the node whose link is bad (the last good node) */
  node: bigint;
  /** which link: 'next', 'prev', 'first' */
  link: 'next' | 'prev' | 'first' | 'pprev';
  /** the bad link's value */
  value: bigint;
  /** nodes walked before this one went wrong */
  walked: number;
  /** for prev-mismatch: the node pointed at and what its prev holds */
  pointee?: bigint;
  pointeePrev?: bigint;
  /** the memory problem code for 'unreadable' (not-mapped, page-excluded, non-canonical, ...) */
  code?: string;
  message: string;
}

export type ListStep = { node: bigint; index: number } | { corrupt: ListCorruption };

export interface ListWalkOptions {
  /** walk `prev` instead of `next` (list_for_each_prev) */
  reverse?: boolean;
  /** stop with a 'max' corruption after this many nodes */
  max?: number;
  /** do not check next->prev (faster, and what crash's `list` does) */
  noPrevCheck?: boolean;
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Names a bad link value without reading memory: poison, NULL, misaligned; undefined when it looks like a pointer. */
export function badLinkReason(value: bigint): Exclude<ListCorruptionReason, 'unreadable' | 'prev-mismatch' | 'cycle' | 'max'> | undefined {
  if (value === 0n) return 'null';
  if (value === LIST_POISON1 || value === LIST_POISON2) return 'poison';
  if ((value & 7n) !== 0n) return 'misaligned';
  return undefined;
}

function describe(reason: ListCorruptionReason, node: bigint, link: string, value: bigint): string {
  switch (reason) {
    case 'poison':
      return `${link} of ${hex(node)} is ${value === LIST_POISON1 ? 'LIST_POISON1' : 'LIST_POISON2'} (${hex(value)}): the entry was deleted with list_del but is still on the list`;
    case 'null':
      return `${link} of ${hex(node)} is NULL`;
    case 'misaligned':
      return `${link} of ${hex(node)} is ${hex(value)}, not pointer-aligned`;
    default:
      return `${link} of ${hex(node)} is ${hex(value)}`;
  }
}

/** Reads one pointer, or says why it cannot be read. */
function readPointer(prog: Program, addr: bigint): bigint | MemoryError {
  try {
    return prog.mem.readU64(addr);
  } catch (err) {
    if (err instanceof MemoryError) return err;
    throw err;
  }
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
  let index = 0;
  if (opts.includeHead) yield { node: head, index: index++ };
  // Brent's cycle finding: the tortoise jumps to the hare at each power of two.
  let tortoise = head;
  let power = 1;
  let lambda = 0;
  let node = head;
  let walked = 0;
  for (;;) {
    const next = readPointer(prog, node + fwd);
    const bad = (reason: ListCorruptionReason, value: bigint, extra: Partial<ListCorruption> = {}): ListStep => ({
      corrupt: { reason, node, link, value, walked, message: describe(reason, node, link, value), ...extra },
    });
    if (next instanceof MemoryError) {
      // The node itself cannot be read: the link that led here is the bad one (the head: nothing walked).
      yield { corrupt: { reason: 'unreadable', node, link, value: node, walked, code: next.code, message: `${hex(node)} cannot be read: ${next.message}` } };
      return;
    }
    if (next === head) return;
    const reason = badLinkReason(next);
    if (reason) {
      yield bad(reason, next);
      return;
    }
    if (!opts.noPrevCheck) {
      const back_ = readPointer(prog, next + back);
      if (back_ instanceof MemoryError) {
        yield bad('unreadable', next, { code: back_.code, message: `${link} of ${hex(node)} is ${hex(next)}, which cannot be read: ${back_.message}` });
        return;
      }
      if (back_ !== node) {
        const other = opts.reverse ? 'next' : 'prev';
        yield bad('prev-mismatch', next, {
          pointee: next,
          pointeePrev: back_,
          message: `${link} of ${hex(node)} is ${hex(next)}, but ${other} of ${hex(next)} is ${hex(back_)}, not ${hex(node)}`,
        });
        return;
      }
    }
    if (next === tortoise) {
      yield bad('cycle', next, { message: `the list loops: ${link} of ${hex(node)} is ${hex(next)}, reached before (${lambda + 1} nodes back), without returning to the head ${hex(head)}` });
      return;
    }
    if (walked >= max) {
      yield bad('max', next, { message: `stopped after ${walked} nodes (--max ${max})` });
      return;
    }
    node = next;
    walked++;
    yield { node, index: index++ };
    lambda++;
    if (lambda === power) {
      tortoise = node;
      power *= 2;
      lambda = 0;
    }
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
  let tortoise = 0n;
  let power = 1;
  let lambda = 0;
  let walked = 0;
  for (;;) {
    const next = readPointer(prog, linkAddr);
    if (next instanceof MemoryError) {
      yield { corrupt: { reason: 'unreadable', node: from, link, value: from, walked, code: next.code, message: `${hex(from)} cannot be read: ${next.message}` } };
      return;
    }
    if (next === 0n) return;
    const reason = badLinkReason(next);
    const bad = (r: ListCorruptionReason, extra: Partial<ListCorruption> = {}): ListStep => ({
      corrupt: { reason: r, node: from, link, value: next, walked, message: describe(r, from, link, next), ...extra },
    });
    if (reason) {
      yield bad(reason);
      return;
    }
    if (!opts.noPrevCheck) {
      const pprev = readPointer(prog, next + 8n);
      if (pprev instanceof MemoryError) {
        yield bad('unreadable', { code: pprev.code, message: `${link} of ${hex(from)} is ${hex(next)}, which cannot be read: ${pprev.message}` });
        return;
      }
      if (pprev !== linkAddr) {
        yield bad('prev-mismatch', { pointee: next, pointeePrev: pprev, message: `${link} of ${hex(from)} is ${hex(next)}, but pprev of ${hex(next)} is ${hex(pprev)}, not ${hex(linkAddr)}` });
        return;
      }
    }
    if (next === tortoise) {
      yield bad('cycle', { message: `the hlist loops at ${hex(next)}` });
      return;
    }
    if (walked >= max) {
      yield bad('max', { message: `stopped after ${walked} nodes (--max ${max})` });
      return;
    }
    walked++;
    yield { node: next, index: walked - 1 };
    from = next;
    linkAddr = next;
    link = 'next';
    lambda++;
    if (lambda === power) {
      tortoise = next;
      power *= 2;
      lambda = 0;
    }
  }
}
