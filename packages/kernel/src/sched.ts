/**
 * Tasks and CPUs (include/linux/sched.h): each CPU's current task is the
 * per-CPU `pcpu_hot.current_task` (6.2+, arch/x86/include/asm/current.h) or
 * `current_task` (before); on arm64 `current` lives in sp_el0, which the dump's
 * notes do not carry, so the per-CPU `__entry_task` (arch/arm64/kernel/process.c,
 * set on every context switch) is read instead; a task's `pid` and `comm` from
 * struct task_struct.
 */
import { memberAt } from '@vmpipe/types';
import { per_cpu_ptr } from './percpu.js';
import { intMember, KernelReadError, need, stringMember, struct } from './read.js';
import type { Program } from './program.js';

export interface CurrentTask {
  cpu: number;
  /** address of the task_struct */
  task: bigint;
  pid: number;
  comm: string;
  /** the per-CPU variable it came from */
  via: 'pcpu_hot.current_task' | 'current_task' | '__entry_task';
}

/** The address of the task running on `cpu` when the dump was taken (the kernel's `cpu_curr`/`current`). */
export function currentTaskAddress(prog: Program, cpu: number): { task: bigint; via: CurrentTask['via'] } {
  const hot = prog.symbol('pcpu_hot');
  let slot: bigint;
  let via: CurrentTask['via'];
  if (hot !== undefined && prog.types.lookup('struct', 'pcpu_hot') !== undefined) {
    slot = per_cpu_ptr(prog, hot, cpu) + BigInt(memberAt(prog.types, struct(prog, 'pcpu_hot'), 'current_task').offset);
    via = 'pcpu_hot.current_task';
  } else if (prog.mem.arch === 'arm64' && prog.symbol('current_task') === undefined) {
    slot = per_cpu_ptr(prog, need(prog, '__entry_task'), cpu);
    via = '__entry_task';
  } else {
    slot = per_cpu_ptr(prog, need(prog, 'current_task'), cpu);
    via = 'current_task';
  }
  const task = prog.mem.readU64(slot);
  if (task === 0n) throw new KernelReadError('current task', `CPU ${cpu} has no current task (NULL)`);
  return { task, via };
}

/** The task running on `cpu` when the dump was taken, with its pid and comm. */
export function currentTask(prog: Program, cpu: number): CurrentTask {
  let at;
  try {
    at = currentTaskAddress(prog, cpu);
  } catch (err) {
    if (err instanceof KernelReadError && err.what === 'per-CPU offset') throw new KernelReadError('current task', err.message.replace(/^per-CPU offset: /, ''));
    throw err;
  }
  const ts = struct(prog, 'task_struct');
  return { cpu, task: at.task, pid: Number(intMember(prog, at.task, ts, 'pid')), comm: stringMember(prog, at.task, ts, 'comm'), via: at.via };
}
