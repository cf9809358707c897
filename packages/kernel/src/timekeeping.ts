/**
 * The wall-clock time at the crash: `tk_core.timekeeper.xtime_sec`
 * (kernel/time/timekeeping.c: `static struct { seqcount_raw_spinlock_t seq;
 * struct timekeeper timekeeper; } tk_core`, struct timekeeper in
 * include/linux/timekeeper_internal.h); crash's `sys` DATE is this xtime_sec.
 */
import { alignOf, resolve, sizeOf, type TypeId, type TypeTable } from '@vmpipe/types';
import { intMember, KernelReadError, need, struct } from './read.js';
import type { Program } from './program.js';

/**
 * Offset of `timekeeper` in tk_core's anonymous struct. BTF has no VAR for
 * tk_core (pahole emits only per-CPU variables), so the type is found by its
 * shape: the anonymous struct whose members are `seq` and a `struct timekeeper`
 * named `timekeeper`. Failing that, C layout: `seq` rounded up to timekeeper's alignment.
 */
export function tkCoreTimekeeperOffset(table: TypeTable, timekeeper: TypeId): number {
  // BTF finds the few anonymous two-member structs without decoding its ~100k types (0.1 s of `--sys`).
  for (const id of table.structsShaped ? table.structsShaped('', 2) : allIds(table)) {
    const t = table.get(id);
    if (t.kind !== 'struct' || t.name !== '' || t.members.length !== 2) continue;
    const [a, b] = t.members;
    if (a!.name === 'seq' && b!.name === 'timekeeper' && resolve(table, b!.type).id === timekeeper) return b!.bitOffset / 8;
  }
  const seq = table.lookup('typedef', 'seqcount_raw_spinlock_t');
  if (seq === undefined) throw new KernelReadError('tk_core', 'its type (seq + timekeeper) is not in the type information');
  const align = alignOf(table, timekeeper);
  return Math.ceil(sizeOf(table, seq) / align) * align;
}

/** Every type id of a table that cannot search by shape (DWARF), in order, up to the first it does not have. */
function* allIds(table: TypeTable): Iterable<TypeId> {
  for (let id = 1; ; id++) {
    try {
      table.get(id);
    } catch {
      return;
    }
    yield id;
  }
}

/** `tk_core.timekeeper.xtime_sec`: seconds since the epoch (UTC) at the last timekeeping update before the crash. */
export function timekeeperSeconds(prog: Program): bigint {
  const tkCore = need(prog, 'tk_core');
  const tk = struct(prog, 'timekeeper');
  const off = tkCoreTimekeeperOffset(prog.types, tk.id);
  return intMember(prog, tkCore + BigInt(off), tk, 'xtime_sec');
}
