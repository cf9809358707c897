/**
 * stack_trace (as drgn names it): a task's trace from the dump. A task that
 * was running on a CPU whose registers the dump saved starts from them (and
 * may use that CPU's IRQ and exception stacks); any other task starts from
 * its inactive_task_frame.
 */
import { memberAt } from '@vmpipe/types';
import { currentTaskAddress } from '../sched.js';
import { struct } from '../read.js';
import type { Program } from '../program.js';
import { Unwinder, type StartRegs, type Trace } from './unwind.js';
import type { Regs } from './ptregs.js';
import { arm64CpuStart, arm64SleepingStart, arm64StacksFor, arm64Unwind } from './arm64.js';

export * from './orc.js';
export * from './ptregs.js';
export * from './stacks.js';
export * from './fp.js';
export * from './scan.js';
export * from './unwind.js';
export * from './lines.js';
export * from './arm64.js';
export * from './arm64-stacks.js';

const cpuOffsets = new WeakMap<Program, number>();

/** task_cpu(task): the CPU the task last ran on (task->cpu, or thread_info.cpu on kernels that keep it there). */
export function task_cpu(prog: Program, task: bigint): number {
  let off = cpuOffsets.get(prog);
  if (off === undefined) {
    const ts = struct(prog, 'task_struct');
    for (const path of ['cpu', 'thread_info.cpu']) {
      try {
        off = memberAt(prog.types, ts, path).offset;
        break;
      } catch {
        /* the other place */
      }
    }
    if (off === undefined) throw new Error('task_struct has neither cpu nor thread_info.cpu');
    cpuOffsets.set(prog, off);
  }
  return prog.mem.readU32(task + BigInt(off));
}

/** The registers the dump saved for a CPU (NT_PRSTATUS; matched by CPU number, never by pr_pid). */
export function cpuRegs(prog: Program, cpu: number): Regs | undefined {
  const state = prog.dump?.cpus.find((c) => c.cpu === cpu);
  if (!state) return undefined;
  const r = state.regs;
  const out: Regs = {};
  for (const [k, v] of Object.entries(r)) (out as Record<string, bigint>)[k] = v;
  return out;
}

export interface TaskTrace extends Trace {
  task: bigint;
  /** the CPU it was running on, when it was */
  cpu?: number;
  /** where the first frame came from */
  start: 'cpu-registers' | 'inactive-task-frame';
}

/** Whether the task was the current task of its CPU at the crash. */
export function taskRunningOn(prog: Program, task: bigint): number | undefined {
  let cpu: number;
  try {
    cpu = task_cpu(prog, task);
    return currentTaskAddress(prog, cpu).task === task ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/** The trace of the task running on `cpu`, from the CPU's saved registers. */
export function cpu_stack_trace(unwinder: Unwinder, cpu: number, task?: bigint): TaskTrace {
  const prog = unwinder.prog;
  const t = task ?? currentTaskAddress(prog, cpu).task;
  if (prog.dump?.arch === 'arm64') {
    const s = arm64CpuStart(prog, cpu);
    if (!s) throw new Error(`the dump saved no registers for CPU ${cpu}`);
    return { ...arm64Unwind(prog, s, arm64StacksFor(prog, t, cpu, unwinder.notes)), task: t, cpu, start: 'cpu-registers' };
  }
  const regs = cpuRegs(prog, cpu);
  if (!regs || regs.rip === undefined || regs.rsp === undefined) throw new Error(`the dump saved no registers for CPU ${cpu}`);
  const start: StartRegs = { pc: regs.rip, sp: regs.rsp, bp: regs.rbp ?? 0n, regs, signal: true };
  return { ...unwinder.unwind(start, unwinder.stacksFor(t, cpu)), task: t, cpu, start: 'cpu-registers' };
}

/** stack_trace(task): from its CPU's registers when it was running there and the dump has them, else from thread.sp. */
export function stack_trace(unwinder: Unwinder, task: bigint): TaskTrace {
  const prog = unwinder.prog;
  const cpu = taskRunningOn(prog, task);
  if (cpu !== undefined && cpuRegs(prog, cpu)) return cpu_stack_trace(unwinder, cpu, task);
  const arm64 = prog.dump?.arch === 'arm64';
  const stacks = arm64 ? arm64StacksFor(prog, task) : unwinder.stacksFor(task);
  if (stacks[0]!.start === 0n) {
    // An exited task (a zombie, or one being reaped) has given its stack back: task->stack is NULL.
    return { frames: [], end: { reason: 'error', code: 'no-stack', message: 'the task has exited: its stack is freed (task->stack is NULL)' }, task, start: 'inactive-task-frame' };
  }
  const trace = arm64 ? arm64Unwind(prog, arm64SleepingStart(prog, task), stacks) : unwinder.unwind(unwinder.sleepingStart(task), stacks);
  // Running, but the dump saved no registers for its CPU: thread.sp is where it last switched
  // out, long ago; what is found from there is a guess.
  if (cpu !== undefined) for (const f of trace.frames) f.reliable = false;
  return { ...trace, task, ...(cpu !== undefined ? { cpu } : {}), start: 'inactive-task-frame' };
}
