/**
 * The arm64 kernel stacks a frame record may live on, as the 6.1 unwinder's
 * on_accessible_stack() knows them (arch/arm64/include/asm/stacktrace.h,
 * arch/arm64/kernel/irq.c, sdei.c, traps.c):
 *
 * - the task stack: [task->stack, + THREAD_SIZE) (THREAD_SIZE = sizeof(union
 *   thread_union): 16 KiB with 4K pages, 32 KiB with KASAN);
 * - the CPU's IRQ stack: per-CPU `irq_stack_ptr` holds its base, IRQ_STACK_SIZE
 *   (= THREAD_SIZE) long;
 * - the CPU's overflow stack: the per-CPU array `overflow_stack`,
 *   OVERFLOW_STACK_SIZE (4 KiB) long (CONFIG_VMAP_STACK);
 * - the SDEI stacks: per-CPU `sdei_stack_normal_ptr` and
 *   `sdei_stack_critical_ptr` hold their bases (CONFIG_ARM_SDE_INTERFACE and
 *   VMAP_STACK), SDEI_STACK_SIZE (= IRQ_STACK_SIZE) long.
 *
 * Per-CPU data symbols are not in an arm64 kallsyms without KALLSYMS_ALL:
 * with the dump alone only the task stack is known (a note says so); a
 * System.map or vmlinux gives the rest.
 */
import { sizeOf } from '@vmpipe/types';
import { per_cpu_ptr } from '../percpu.js';
import type { Program } from '../program.js';
import type { StackKind, StackRange } from './stacks.js';

export type Arm64StackKind = Extract<StackKind, 'irq' | 'overflow' | 'sdei-normal' | 'sdei-critical'>;
export type Arm64StackRange = StackRange;

const OVERFLOW_STACK_SIZE = 4096n;
const DEFAULT_THREAD_SIZE = 16384;

/** THREAD_SIZE: sizeof(union thread_union) when the types have it, else 16 KiB. */
export function arm64ThreadSize(prog: Program): number {
  const id = prog.types.lookup('union', 'thread_union');
  return (id !== undefined ? sizeOf(prog.types, id) : 0) || DEFAULT_THREAD_SIZE;
}

/** The CPU's IRQ, overflow and SDEI stacks that can be found, and what could not. */
export function arm64CpuStacks(prog: Program, cpu: number): { stacks: Arm64StackRange[]; problems: string[] } {
  const stacks: Arm64StackRange[] = [];
  const problems: string[] = [];
  const size = BigInt(arm64ThreadSize(prog));
  const pointed = (kind: Arm64StackKind, sym: string, optional: boolean) => {
    const p = prog.symbol(sym);
    if (p === undefined) {
      if (!optional) problems.push(`no ${sym} symbol (kallsyms without data symbols: give --system-map): ${kind} stacks unknown`);
      return;
    }
    try {
      const base = prog.mem.readU64(per_cpu_ptr(prog, p, cpu));
      if (base !== 0n) stacks.push({ kind, start: base, end: base + size, cpu });
    } catch (err) {
      problems.push(`CPU ${cpu} ${kind} stack: ${(err as Error).message}`);
    }
  };
  pointed('irq', 'irq_stack_ptr', false);
  const ov = prog.symbol('overflow_stack');
  if (ov !== undefined) {
    try {
      const base = per_cpu_ptr(prog, ov, cpu);
      stacks.push({ kind: 'overflow', start: base, end: base + OVERFLOW_STACK_SIZE, cpu });
    } catch (err) {
      problems.push(`CPU ${cpu} overflow stack: ${(err as Error).message}`);
    }
  }
  pointed('sdei-normal', 'sdei_stack_normal_ptr', true);
  pointed('sdei-critical', 'sdei_stack_critical_ptr', true);
  return { stacks, problems };
}
