/**
 * Which task crashed: the CPU that called panic() (`panic_cpu`, kernel/panic.c)
 * and its current task, checked against the `CPU: N PID: P Comm: C` line the
 * kernel printed (the text itself is read by panic.ts, which knows no memory).
 */
import { readInt, type KernelReadError } from './read.js';
import { currentTask } from './sched.js';
import type { Program } from './program.js';

/** `panic_cpu` (kernel/panic.c): the CPU that called panic(), or null when none did (PANIC_CPU_INVALID, -1). */
export function panicCpu(prog: Program): number | null {
  const a = prog.symbol('panic_cpu');
  if (a === undefined) return null;
  const v = Number(readInt(prog, a, 4, true));
  return v < 0 ? null : v;
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
  problem?: KernelReadError | Error;
}

/**
 * The crashing task: the log's `CPU: N PID: P Comm: C` line when there is one,
 * checked against the current task of that CPU; without the line, the current
 * task of `panic_cpu`. Without a program, or one without types, the log's values only.
 */
export function panicTask(prog: Program | null, log: { cpu: number | null; pid: number | null; comm: string | null }): PanicTask {
  const fromLog = log.cpu !== null || log.pid !== null || log.comm !== null;
  const out: PanicTask = { cpu: log.cpu, pid: log.pid, comm: log.comm };
  if (fromLog) out.taskSource = 'log';
  if (!prog || prog.tryTypes() instanceof Error) return out;
  try {
    const cpu = log.cpu ?? panicCpu(prog);
    if (cpu === null) return out;
    const cur = currentTask(prog, cpu);
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
