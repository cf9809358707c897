/**
 * Every task, as the kernel iterates them (include/linux/sched/signal.h):
 * `for_each_process` walks `init_task.tasks` (thread-group leaders),
 * `for_each_thread(p)` walks `p->signal->thread_head` through `thread_node`
 * (kernels before 3.14 and up to 6.6 also have `thread_group`, used when
 * `thread_head` is absent), and `for_each_process_thread` / `for_each_task`
 * is both: every thread of every process.
 *
 * The lists are walked, not the PID hash: a task whose `struct pid` is gone or
 * damaged is still found (crash 8.0.2 reads the hash and misses most tasks on
 * Debian's 6.1). The per-CPU idle tasks of CPUs other than 0 are on no list
 * (fork_idle does not link them); `idle_task(prog, cpu)` reads them from the
 * runqueue, as crash's `ps` shows them.
 *
 * Damage is a value: a `{ corrupt }` step ends the walk it comes from (a
 * damaged thread list ends that process's threads; the process walk goes on).
 */
import { memberAt } from '@vmpipe/types';
import { list_for_each_entry, type ListCorruption } from './list.js';
import { per_cpu_ptr } from './percpu.js';
import { need, struct } from './read.js';
import type { Program } from './program.js';

export type TaskStep = { task: bigint } | { corrupt: ListCorruption; leader?: bigint };

const MAX_TASKS = 4_194_304; // PID_MAX_LIMIT: no list of tasks is longer

/** for_each_process: init_task, then every thread-group leader on `init_task.tasks`. */
export function* for_each_process(prog: Program): Generator<TaskStep> {
  const init = need(prog, 'init_task');
  yield { task: init };
  for (const step of list_for_each_entry(prog, init + BigInt(memberAt(prog.types, struct(prog, 'task_struct'), 'tasks').offset), 'struct task_struct', 'tasks', { max: MAX_TASKS })) {
    if ('corrupt' in step) yield { corrupt: step.corrupt };
    else yield { task: step.entry };
  }
}

/** for_each_thread: every thread of the process whose leader (or any thread) is `task`, the leader included. */
export function* for_each_thread(prog: Program, task: bigint): Generator<TaskStep> {
  const ts = struct(prog, 'task_struct');
  const hasThreadNode = prog.types.lookup('struct', 'signal_struct') !== undefined && tryMember(prog, 'struct signal_struct', 'thread_head') !== undefined && tryMember(prog, 'struct task_struct', 'thread_node') !== undefined;
  if (hasThreadNode) {
    const signal = prog.mem.readU64(task + BigInt(memberAt(prog.types, ts, 'signal').offset));
    const head = signal + BigInt(tryMember(prog, 'struct signal_struct', 'thread_head')!);
    for (const step of list_for_each_entry(prog, head, 'struct task_struct', 'thread_node', { max: MAX_TASKS })) {
      if ('corrupt' in step) yield { corrupt: step.corrupt, leader: task };
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
 * init_task (CPU 0's idle task) first. A process whose thread list cannot be
 * read is still yielded itself, after the corruption step.
 */
export function* for_each_task(prog: Program): Generator<TaskStep> {
  for (const p of for_each_process(prog)) {
    if ('corrupt' in p) {
      yield p;
      continue;
    }
    let sawLeader = false;
    try {
      for (const t of for_each_thread(prog, p.task)) {
        if ('task' in t && t.task === p.task) sawLeader = true;
        yield t;
      }
    } catch (err) {
      // The leader's signal pointer cannot be read: its threads are lost, itself is not.
      yield { corrupt: { reason: 'unreadable', node: p.task, link: 'next', value: p.task, walked: 0, message: `threads of task 0x${p.task.toString(16)}: ${(err as Error).message}` }, leader: p.task };
    }
    if (!sawLeader) yield p;
  }
}

/** The idle task of `cpu` (`rq->idle` of the per-CPU `runqueues`): swapper/N, on no task list for N > 0. */
export function idle_task(prog: Program, cpu: number): bigint {
  const rq = per_cpu_ptr(prog, need(prog, 'runqueues'), cpu);
  return prog.mem.readU64(rq + BigInt(memberAt(prog.types, struct(prog, 'rq'), 'idle').offset));
}

function tryMember(prog: Program, type: string, member: string): number | undefined {
  const [kind, name] = type.split(' ') as ['struct', string];
  const id = prog.types.lookup(kind, name);
  if (id === undefined) return undefined;
  try {
    return memberAt(prog.types, { id, name: type }, member).offset;
  } catch {
    return undefined;
  }
}
