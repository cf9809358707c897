/**
 * Kernel facts that need types (member offsets) as well as symbols, read the
 * way crash reads them for `sys` and `bt`:
 *
 *  - the wall-clock time at the crash: `tk_core.timekeeper.xtime_sec`
 *    (kernel/time/timekeeping.c: `static struct { seqcount_raw_spinlock_t seq;
 *    struct timekeeper timekeeper; } tk_core`, struct timekeeper in
 *    include/linux/timekeeper_internal.h); crash's DATE is this xtime_sec;
 *  - each CPU's current task: the per-CPU `pcpu_hot.current_task` (6.2+,
 *    arch/x86/include/asm/current.h) or `current_task` (before), at the
 *    symbol's per-CPU offset + `__per_cpu_offset[cpu]`; the task's `pid` and
 *    `comm` from struct task_struct;
 *  - which CPUs were online: the bits of `__cpu_online_mask` (struct cpumask,
 *    include/linux/cpumask.h) below `nr_cpu_ids`; crash's `[OFFLINE: n]`.
 *
 * Types come from @vmpipe/types (the dump's own BTF by default), symbols from
 * @vmpipe/symbols (kallsyms). Without either the facts are simply absent and
 * the caller says why once (`TypedUnavailable.note`).
 */
import type { KernelMemory } from '@vmpipe/addrxlat';
import type { Dump } from '@vmpipe/dump';
import { symbolsFor } from '@vmpipe/symbols';
import { alignOf, memberAt, resolve, sizeOf, typesFor, type FoundType, type TypeId, type TypeTable } from '@vmpipe/types';

/** What the typed readers need: types, kernel memory, and kernel symbol addresses. */
export interface TypedKernel {
  table: TypeTable;
  mem: KernelMemory;
  symbol(name: string): bigint | undefined;
}

/** Why there are no typed facts, as one line for a note. */
export interface TypedUnavailable {
  note: string;
}

/** Types and symbols for a dump, or why they could not be had (never throws for a dump without them). */
export async function typedKernel(dump: Dump, mem: KernelMemory): Promise<TypedKernel | TypedUnavailable> {
  let symbol: (name: string) => bigint | undefined;
  try {
    const symbols = symbolsFor(dump, { memory: mem });
    if (symbols.source === 'none') return { note: 'no kernel symbols in the dump (kallsyms needs Linux 6.0+ VMCOREINFO): crash time, current task and online CPUs need them' };
    symbol = (name) => symbols.table.lookup(name)[0]?.addr;
  } catch (err) {
    return { note: `kernel symbols unavailable (${(err as Error).message}): crash time, current task and online CPUs need them` };
  }
  try {
    const table = await typesFor({ memory: mem, symbol });
    return { table, mem, symbol };
  } catch (err) {
    return { note: `no types (${(err as Error).message}): crash time, current task and online CPUs need them` };
  }
}

/** A typed fact that could not be read: which, and why. */
export class TypedReadError extends Error {
  constructor(readonly what: string, message: string) {
    super(`${what}: ${message}`);
    this.name = 'TypedReadError';
  }
}

function struct(table: TypeTable, name: string): FoundType {
  const id = table.lookup('struct', name);
  if (id === undefined) throw new TypedReadError(`struct ${name}`, 'not in the type information');
  return { id, name: `struct ${name}` };
}

function need(k: TypedKernel, name: string): bigint {
  const a = k.symbol(name);
  if (a === undefined) throw new TypedReadError(name, 'no such kernel symbol');
  return a;
}

function readInt(mem: KernelMemory, addr: bigint, size: number, signed: boolean): bigint {
  const b = mem.readBytes(addr, size);
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

function intMember(k: TypedKernel, base: bigint, type: FoundType, path: string): bigint {
  const m = memberAt(k.table, type, path);
  const t = resolve(k.table, m.typeId).type;
  const signed = t.kind === 'int' ? t.signed : false;
  return readInt(k.mem, base + BigInt(m.offset), m.size, signed);
}

/**
 * Offset of `timekeeper` in tk_core's anonymous struct. BTF has no VAR for
 * tk_core (pahole emits only per-CPU variables), so the type is found by its
 * shape: the anonymous struct whose members are `seq` and a `struct timekeeper`
 * named `timekeeper`. Failing that, C layout: `seq` rounded up to timekeeper's alignment.
 */
export function tkCoreTimekeeperOffset(table: TypeTable, timekeeper: TypeId): number {
  for (let id = 1; ; id++) {
    let t;
    try {
      t = table.get(id);
    } catch {
      break;
    }
    if (t.kind !== 'struct' || t.name !== '' || t.members.length !== 2) continue;
    const [a, b] = t.members;
    if (a!.name === 'seq' && b!.name === 'timekeeper' && resolve(table, b!.type).id === timekeeper) return b!.bitOffset / 8;
  }
  const seq = table.lookup('typedef', 'seqcount_raw_spinlock_t');
  if (seq === undefined) throw new TypedReadError('tk_core', 'its type (seq + timekeeper) is not in the type information');
  const align = alignOf(table, timekeeper);
  return Math.ceil(sizeOf(table, seq) / align) * align;
}

/** `tk_core.timekeeper.xtime_sec`: seconds since the epoch (UTC) at the last timekeeping update before the crash. */
export function timekeeperSeconds(k: TypedKernel): bigint {
  const tkCore = need(k, 'tk_core');
  const tk = struct(k.table, 'timekeeper');
  const off = tkCoreTimekeeperOffset(k.table, tk.id);
  return intMember(k, tkCore + BigInt(off), tk, 'xtime_sec');
}

export interface CurrentTask {
  cpu: number;
  /** address of the task_struct */
  task: bigint;
  pid: number;
  comm: string;
  /** the per-CPU variable it came from */
  via: 'pcpu_hot.current_task' | 'current_task';
}

/** The task running on `cpu` when the dump was taken. */
export function currentTask(k: TypedKernel, cpu: number): CurrentTask {
  const nr = nrCpuIds(k);
  if (nr !== null && (cpu < 0 || cpu >= nr)) throw new TypedReadError('current task', `CPU ${cpu} is not below nr_cpu_ids ${nr}`);
  const perCpu = k.mem.readU64(need(k, '__per_cpu_offset') + BigInt(cpu * 8));
  let slot: bigint;
  let via: CurrentTask['via'];
  const hot = k.symbol('pcpu_hot');
  if (hot !== undefined && k.table.lookup('struct', 'pcpu_hot') !== undefined) {
    slot = hot + perCpu + BigInt(memberAt(k.table, struct(k.table, 'pcpu_hot'), 'current_task').offset);
    via = 'pcpu_hot.current_task';
  } else {
    slot = need(k, 'current_task') + perCpu;
    via = 'current_task';
  }
  const task = k.mem.readU64(slot);
  if (task === 0n) throw new TypedReadError('current task', `CPU ${cpu} has no current task (NULL)`);
  const ts = struct(k.table, 'task_struct');
  const pid = Number(intMember(k, task, ts, 'pid'));
  const comm = memberAt(k.table, ts, 'comm');
  const bytes = Buffer.from(k.mem.readBytes(task + BigInt(comm.offset), comm.size));
  const nul = bytes.indexOf(0);
  return { cpu, task, pid, comm: bytes.toString('latin1', 0, nul < 0 ? bytes.length : nul), via };
}

/** `panic_cpu` (kernel/panic.c): the CPU that called panic(), or null when none did (PANIC_CPU_INVALID, -1). */
export function panicCpu(k: TypedKernel): number | null {
  const a = k.symbol('panic_cpu');
  if (a === undefined) return null;
  const v = Number(readInt(k.mem, a, 4, true));
  return v < 0 ? null : v;
}

function nrCpuIds(k: TypedKernel): number | null {
  const a = k.symbol('nr_cpu_ids');
  return a === undefined ? null : k.mem.readU32(a);
}

export interface CpuOnline {
  nrCpuIds: number;
  online: number[];
  offline: number[];
}

/** CPUs below nr_cpu_ids, split by their bit in `__cpu_online_mask`. */
export function cpuOnline(k: TypedKernel): CpuOnline {
  const nr = nrCpuIds(k);
  if (nr === null) throw new TypedReadError('nr_cpu_ids', 'no such kernel symbol');
  const mask = need(k, '__cpu_online_mask') + BigInt(memberAt(k.table, struct(k.table, 'cpumask'), 'bits').offset);
  const bytes = k.mem.readBytes(mask, Math.ceil(nr / 64) * 8);
  const online: number[] = [];
  const offline: number[] = [];
  for (let cpu = 0; cpu < nr; cpu++) ((bytes[cpu >> 3]! >> (cpu & 7)) & 1 ? online : offline).push(cpu);
  return { nrCpuIds: nr, online, offline };
}

export interface PanicTask {
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  /** the task_struct, when the current task could be read */
  task?: bigint;
  /** where cpu/pid/comm came from: the log's `CPU: N PID: P Comm: C` line, or the CPU's current task */
  taskSource?: 'log' | 'current_task';
  /** the log and the current task disagree (the log's values are kept) */
  mismatch?: string;
  /** the current task could not be read */
  problem?: TypedReadError | Error;
}

/**
 * The crashing task: the log's `CPU: N PID: P Comm: C` line when there is one,
 * checked against the current task of that CPU; without the line, the current
 * task of `panic_cpu`. `k` null: the log's values only.
 */
export function panicTask(k: TypedKernel | null, log: { cpu: number | null; pid: number | null; comm: string | null }): PanicTask {
  const fromLog = log.cpu !== null || log.pid !== null || log.comm !== null;
  const out: PanicTask = { cpu: log.cpu, pid: log.pid, comm: log.comm };
  if (fromLog) out.taskSource = 'log';
  if (!k) return out;
  try {
    const cpu = log.cpu ?? panicCpu(k);
    if (cpu === null) return out;
    const cur = currentTask(k, cpu);
    out.task = cur.task;
    if (!fromLog) return { ...out, cpu, pid: cur.pid, comm: cur.comm, taskSource: 'current_task' };
    const diff: string[] = [];
    if (log.pid !== null && log.pid !== cur.pid) diff.push(`PID ${log.pid} (log) vs ${cur.pid} (current task)`);
    // The log's Comm is the task's comm as printed (TASK_COMM_LEN, so the same 15 characters).
    if (log.comm !== null && log.comm !== cur.comm) diff.push(`comm "${log.comm}" (log) vs "${cur.comm}" (current task)`);
    if (diff.length) out.mismatch = `CPU ${cpu}: ${diff.join(', ')}`;
  } catch (err) {
    out.problem = err as Error;
  }
  return out;
}
