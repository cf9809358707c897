/**
 * What the object commands (module-list, task-list, mem-info, addr-info,
 * mem-search, run-queue, var-read) share on top of the command base: their
 * flags, the `source` record they start with, text output through the
 * renderers for --format crash, and the kernel readers' failures that end a
 * run (a walk that cannot start: exit 4).
 */
import { Flags } from '@oclif/core';
import { for_each_task_info, KernelReadError, ModuleWalkError, type Program, type TaskInfo } from '@vmpipe/kernel';
import { EXIT, FatalError, type AnyRecord } from '@vmpipe/records';
import { NoTypesError } from '@vmpipe/kernel';
import { programFlags } from './base.js';
import { sourceRecord } from './dump-records.js';

/** The shared program flags (base.ts) and --format. */
export const objectFlags = {
  ...programFlags,
  format: Flags.string({ description: 'json records, or text like crash', options: ['json', 'crash'], default: 'json' }),
};

/** Types and symbols are required by every object command: without them the run is meaningless (exit 4). */
export function requireTypes(prog: Program): void {
  const t = prog.tryTypes();
  if (t instanceof Error) throw new FatalError(t.message, EXIT.badFormat);
}

/** A failure that makes the whole listing meaningless, as one line and exit 4. */
export function fatalKernel(err: unknown): never {
  if (err instanceof KernelReadError || err instanceof ModuleWalkError || err instanceof NoTypesError) throw new FatalError(err.message, EXIT.badFormat);
  throw err;
}

/** The stream's first record: what the dump is and where symbols and types came from. */
export function programSource(prog: Program): AnyRecord {
  return { ...sourceRecord(prog), dump: prog.path };
}

/**
 * The tasks a per-task command (file-list, vma-list) was asked about: those with the PIDs in its
 * non-strict argv (the DUMP taken out; every thread with that PID), else every task (`named` false).
 * A PID that is no number, or no task's, is a usage error.
 */
export function tasksNamed(prog: Program, dump: string, argv: readonly unknown[]): { tasks: TaskInfo[]; named: boolean } {
  let tasks: TaskInfo[] = [];
  try {
    tasks = [...for_each_task_info(prog)].flatMap((s) => ('info' in s ? [s.info] : []));
  } catch (err) {
    fatalKernel(err);
  }
  // oclif's non-strict argv holds the DUMP and every PID, not necessarily in order
  const rest = [...argv];
  rest.splice(rest.indexOf(dump), 1);
  if (rest.length === 0) return { tasks, named: false };
  const chosen = rest.flatMap((p) => {
    const pid = Number(p);
    if (!Number.isInteger(pid) || pid < 0) throw new FatalError(`${String(p)} is not a PID`, EXIT.usage);
    const t = tasks.filter((x) => x.pid === pid);
    if (!t.length) throw new FatalError(`no task with PID ${pid}`, EXIT.usage);
    return t;
  });
  return { tasks: chosen, named: true };
}
