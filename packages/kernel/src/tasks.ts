/**
 * Every task, as the kernel iterates them (include/linux/sched/signal.h):
 * `for_each_process` walks `init_task.tasks` (thread-group leaders),
 * `for_each_thread(p)` walks `p->signal->thread_head` through `thread_node`
 * (kernels before 3.14 and up to 6.6 also have `thread_group`, used when
 * `thread_head` is absent), and `for_each_process_thread` / `for_each_task`
 * is both: every thread of every process.
 *
 * The lists are walked first: a task whose `struct pid` is gone or damaged is
 * still found (crash 8.0.2 reads the hash and misses most tasks on Debian's
 * 6.1). Then the PID table (`init_pid_ns.idr`, 4.15+; kernel/pid.c, as drgn's
 * for_each_task and crash 9's ps read it) is walked for the tasks the lists
 * missed: a list broken at a `task_struct` page the dump lacks (makedumpfile
 * 1.7.2 drops some live ones on 6.12), a bad pointer or poison hides every
 * task after the break, and the PID table still names them. Each task is
 * yielded once. The per-CPU idle tasks of CPUs other than 0 are on no list
 * and have no PID (fork_idle links neither); `idle_task(prog, cpu)` reads them
 * from the runqueue, as crash's `ps` shows them.
 *
 * Damage is a value: a `{ corrupt }` step ends the walk it comes from (a
 * damaged thread list ends that process's threads; the process walk goes on;
 * `walk` says which).
 */
import { memberAt, memberIfPresent } from '@vmpipe/types';
import { list_for_each_entry, type ListCorruption } from './list.js';
import { per_cpu_ptr } from './percpu.js';
import { xa_for_each } from './xarray.js';
import { MemoryError } from '@vmpipe/addrxlat';
import { need, struct } from './read.js';
import type { Program } from './program.js';

/**
 * A task (`via: 'pid'` when only the PID table reached it, with `pid`, the table's number for it),
 * or damage: `walk` names the walk it ended (`tasks`: init_task.tasks, `threads`: a thread list,
 * `pid-table`: init_pid_ns.idr or one of its `struct pid`s).
 */
export type TaskStep =
  | { task: bigint; via?: 'pid'; pid?: number }
  | { corrupt: ListCorruption; leader?: bigint; walk?: 'tasks' | 'threads' | 'pid-table' };

const MAX_TASKS = 4_194_304; // PID_MAX_LIMIT: no list of tasks is longer

/** for_each_process: init_task, then every thread-group leader on `init_task.tasks`. */
export function* for_each_process(prog: Program): Generator<TaskStep> {
  const init = need(prog, 'init_task');
  yield { task: init };
  for (const step of list_for_each_entry(prog, init + BigInt(memberAt(prog.types, struct(prog, 'task_struct'), 'tasks').offset), 'struct task_struct', 'tasks', { max: MAX_TASKS })) {
    if ('corrupt' in step) yield { corrupt: step.corrupt, walk: 'tasks' };
    else yield { task: step.entry };
  }
}

const threadLayouts = new WeakMap<Program, { threadHead?: number; signal: number }>();

/** for_each_thread: every thread of the process whose leader (or any thread) is `task`, the leader included. */
export function* for_each_thread(prog: Program, task: bigint): Generator<TaskStep> {
  const ts = struct(prog, 'task_struct');
  let l = threadLayouts.get(prog);
  if (!l) {
    const head = memberIfPresent(prog.types, 'struct signal_struct', 'thread_head')?.offset;
    const node = memberIfPresent(prog.types, 'struct task_struct', 'thread_node')?.offset;
    l = { signal: memberAt(prog.types, ts, 'signal').offset, ...(head !== undefined && node !== undefined ? { threadHead: head } : {}) };
    threadLayouts.set(prog, l);
  }
  if (l.threadHead !== undefined) {
    const signal = prog.mem.readU64(task + BigInt(l.signal));
    const head = signal + BigInt(l.threadHead);
    for (const step of list_for_each_entry(prog, head, 'struct task_struct', 'thread_node', { max: MAX_TASKS })) {
      if ('corrupt' in step) yield { corrupt: step.corrupt, leader: task, walk: 'threads' };
      else yield { task: step.entry };
    }
    return;
  }
  // Older kernels: the threads are on a circular list through thread_group, headed by no one.
  yield { task };
  for (const step of list_for_each_entry(prog, task + BigInt(memberAt(prog.types, ts, 'thread_group').offset), 'struct task_struct', 'thread_group', { max: MAX_TASKS })) {
    if ('corrupt' in step) yield { corrupt: step.corrupt, leader: task };
    else yield { task: step.entry };
  }
}

/**
 * for_each_process_thread (`for_each_task`): every thread of every process,
 * init_task (CPU 0's idle task) first, each once. A process whose thread list
 * cannot be read is still yielded itself, after the corruption step. Then the
 * tasks only the PID table reaches (`via: 'pid'`), each with its thread group.
 */
export function* for_each_task(prog: Program): Generator<TaskStep> {
  const seen = new Set<bigint>();
  let listsDamaged = false;
  for (const p of for_each_process(prog)) {
    if ('corrupt' in p) {
      listsDamaged = true;
      yield p;
      continue;
    }
    for (const t of threads_of(prog, p.task)) {
      if ('task' in t) {
        if (seen.has(t.task)) continue;
        seen.add(t.task);
      } else listsDamaged = true;
      yield t;
    }
  }
  // Damage in the PID table matters only when the table is needed: when the lists broke, or it
  // names tasks they missed. With whole lists it is a cross-check, and a cut dump that kept the
  // tasks but not the IDR's nodes (the lean fixtures) is not damaged for it.
  const held: TaskStep[] = [];
  let found = false;
  const damage = function* (step: TaskStep): Generator<TaskStep> {
    if (listsDamaged || found) yield step;
    else held.push(step);
  };
  for (const step of for_each_pid(prog)) {
    if ('corrupt' in step) {
      yield* damage(step);
      continue;
    }
    let task: bigint;
    try {
      task = pid_task(prog, step.pid);
    } catch (err) {
      if (!(err instanceof MemoryError)) throw err;
      yield* damage({ corrupt: { reason: 'unreadable', node: step.pid, link: 'first', value: step.pid, walked: 0, code: err.code, message: `the struct pid of PID ${step.nr} (0x${step.pid.toString(16)}) cannot be read: ${err.message}` }, walk: 'pid-table' });
      continue;
    }
    if (task === 0n || seen.has(task)) continue;
    if (!found) {
      found = true;
      yield* held.splice(0);
    }
    // A task the lists missed: it and its thread group (whose other threads have PIDs of their own, found here too).
    for (const t of threads_of(prog, task)) {
      if ('task' in t) {
        if (seen.has(t.task)) continue;
        seen.add(t.task);
        yield { task: t.task, via: 'pid', ...(t.task === task ? { pid: step.nr } : {}) };
      } else yield t;
    }
  }
}

/** for_each_thread(task), the task itself yielded even when its thread list cannot be read. */
function* threads_of(prog: Program, task: bigint): Generator<TaskStep> {
  let sawTask = false;
  try {
    for (const t of for_each_thread(prog, task)) {
      if ('task' in t && t.task === task) sawTask = true;
      yield t;
    }
  } catch (err) {
    // The task's signal pointer cannot be read: its threads are lost, itself is not.
    yield { corrupt: { reason: 'unreadable', node: task, link: 'next', value: task, walked: 0, message: `threads of task 0x${task.toString(16)}: ${(err as Error).message}` }, leader: task, walk: 'threads' };
  }
  if (!sawTask) yield { task };
}

export type PidStep = { pid: bigint; nr: number } | { corrupt: ListCorruption; walk: 'pid-table' };

/**
 * for_each_pid (kernel/pid.c's idr_for_each over `init_pid_ns.idr`, 4.15+; drgn's
 * helpers/linux/pid.py): every `struct pid` of the initial PID namespace, with its
 * number there (the IDR index: alloc_pid allocates from idr_base 0). Kernels before
 * 4.15 kept a pid_hash instead: nothing is yielded for them.
 */
export function* for_each_pid(prog: Program): Generator<PidStep> {
  const ns = prog.symbol('init_pid_ns');
  const idrAt = memberIfPresent(prog.types, 'struct pid_namespace', 'idr')?.offset; // absent before 4.15 (pid_hash)
  // without the types to follow a pid to its task (struct pid, task_struct.pid_links) the table is of no use
  if (ns === undefined || idrAt === undefined || !memberIfPresent(prog.types, 'struct pid', 'tasks')) return;
  const idr = ns + BigInt(idrAt);
  const root = idr + BigInt(memberAt(prog.types, struct(prog, 'idr'), 'idr_rt').offset);
  for (const step of xa_for_each(prog, root, { max: MAX_TASKS })) {
    if ('corrupt' in step) yield { corrupt: step.corrupt, walk: 'pid-table' };
    else yield { pid: step.entry!, nr: Number(step.key) }; // xa_for_each always gives both
  }
}

const pidLayouts = new WeakMap<Program, { tasks: number; link: number }>();

/**
 * pid_task(pid, PIDTYPE_PID): the task that owns `pid` (`pid->tasks[PIDTYPE_PID].first`, the
 * task's `pid_links[PIDTYPE_PID]`, 4.19+, or `pids[PIDTYPE_PID].node` before), 0n for none (a
 * pid allocated but not attached yet, or kept by a reference after its task was reaped).
 */
export function pid_task(prog: Program, pid: bigint): bigint {
  let l = pidLayouts.get(prog);
  if (!l) {
    const ts = struct(prog, 'task_struct');
    const link = memberIfPresent(prog.types, 'struct task_struct', 'pid_links')?.offset ?? memberAt(prog.types, ts, 'pids').offset + memberAt(prog.types, struct(prog, 'pid_link'), 'node').offset;
    l = { tasks: memberAt(prog.types, struct(prog, 'pid'), 'tasks').offset, link };
    pidLayouts.set(prog, l);
  }
  const first = prog.mem.readU64(pid + BigInt(l.tasks)); // tasks[PIDTYPE_PID] (0): the first hlist_head
  return first === 0n ? 0n : first - BigInt(l.link);
}

/** The idle task of `cpu` (`rq->idle` of the per-CPU `runqueues`): swapper/N, on no task list for N > 0. */
export function idle_task(prog: Program, cpu: number): bigint {
  const rq = per_cpu_ptr(prog, need(prog, 'runqueues'), cpu);
  return prog.mem.readU64(rq + BigInt(memberAt(prog.types, struct(prog, 'rq'), 'idle').offset));
}
