/**
 * The x86_64 kernel stacks a frame may live on, as get_stack_info() knows
 * them (arch/x86/kernel/dumpstack_64.c, arch/x86/include/asm/cpu_entry_area.h,
 * arch/x86/kernel/irq_64.c):
 *
 * - the task stack: [task->stack, task->stack + THREAD_SIZE);
 * - the CPU's IRQ stack: `hardirq_stack_ptr` (6.2+: `pcpu_hot.hardirq_stack_ptr`)
 *   holds its top word's address (top - 8; before 5.12 the top), IRQ_STACK_SIZE below the top;
 *   softirqs run on it too;
 * - the IST exception stacks in the cpu_entry_area: the per-CPU pointer
 *   `cea_exception_stacks` to `struct cea_exception_stacks` (DF, NMI, DB, MCE,
 *   VC, VC2 stacks, each after a guard page);
 * - the entry trampoline stack (SYSENTER/entry stack): its top is the TSS's
 *   `sp0` (`cpu_tss_rw.x86_tss.sp0`), `struct entry_stack` long.
 *
 * THREAD_SIZE and IRQ_STACK_SIZE are both PAGE_SIZE << (2 + KASAN_STACK_ORDER)
 * on x86_64, so `sizeof(struct irq_stack)` gives both.
 */
import { lookupType, memberAt, memberIfPresent, sizeOf } from '@vmpipe/types';
import { per_cpu_ptr } from '../percpu.js';
import { struct } from '../read.js';
import type { Program } from '../program.js';

/** x86_64's stacks, then arm64's own (arm64-stacks.ts) */
export type StackKind = 'task' | 'irq' | 'nmi' | 'df' | 'db' | 'mce' | 'vc' | 'vc2' | 'entry' | 'overflow' | 'sdei-normal' | 'sdei-critical';

export interface StackRange {
  kind: StackKind;
  start: bigint;
  end: bigint;
  cpu?: number;
}

const DEFAULT_THREAD_SIZE = 16384;

const layouts = new WeakMap<Program, { threadSize: number; stack: bigint }>();

/** THREAD_SIZE and offsetof(task_struct, stack), read from the types once per program. */
function layout(prog: Program): { threadSize: number; stack: bigint } {
  let l = layouts.get(prog);
  if (!l) {
    let size = DEFAULT_THREAD_SIZE;
    const id = prog.types.lookup('struct', 'irq_stack');
    if (id !== undefined) size = sizeOf(prog.types, id) || DEFAULT_THREAD_SIZE;
    l = { threadSize: size, stack: BigInt(memberAt(prog.types, struct(prog, 'task_struct'), 'stack').offset) };
    layouts.set(prog, l);
  }
  return l;
}

/** THREAD_SIZE: sizeof(struct irq_stack) when the types have it (the same order on x86_64), else 16 KiB. */
export function threadSize(prog: Program): number {
  return layout(prog).threadSize;
}

/** task_stack_page(task): [task->stack, + THREAD_SIZE). */
export function taskStack(prog: Program, task: bigint): StackRange {
  const l = layout(prog);
  const stack = prog.mem.readU64(task + l.stack);
  return { kind: 'task', start: stack, end: stack + BigInt(l.threadSize) };
}

/** A member's place, or undefined when this kernel (or a dump without types) has no such member. */
function tryMember(prog: Program, type: string, path: string): { offset: number; size: number } | undefined {
  const types = prog.tryTypes();
  return types instanceof Error ? undefined : memberIfPresent(types, type, path);
}

/** The CPU's own stacks: IRQ, the IST exception stacks and the entry stack (those that can be found). */
export function cpuStacks(prog: Program, cpu: number): { stacks: StackRange[]; problems: string[] } {
  const stacks: StackRange[] = [];
  const problems: string[] = [];
  const size = BigInt(threadSize(prog));
  // IRQ stack
  try {
    let slot: bigint | undefined;
    const hot = prog.symbol('pcpu_hot');
    const m = hot !== undefined ? tryMember(prog, 'struct pcpu_hot', 'hardirq_stack_ptr') : undefined;
    if (hot !== undefined && m) slot = per_cpu_ptr(prog, hot, cpu) + BigInt(m.offset);
    else {
      const p = prog.symbol('hardirq_stack_ptr');
      if (p !== undefined) slot = per_cpu_ptr(prog, p, cpu);
    }
    if (slot === undefined) problems.push('no hardirq_stack_ptr: IRQ stacks unknown');
    else {
      // 5.12+ store the top word's address (top - 8, "to avoid a -8 adjustment in the hot path");
      // before, the top itself. The stack is page aligned, so the low bits tell which.
      const ptr = prog.mem.readU64(slot);
      const top = (ptr & 0xfffn) === 0n ? ptr : ptr + 8n;
      if (ptr !== 0n) stacks.push({ kind: 'irq', start: top - size, end: top, cpu });
    }
  } catch (err) {
    problems.push(`CPU ${cpu} IRQ stack: ${(err as Error).message}`);
  }
  // IST exception stacks
  try {
    const p = prog.symbol('cea_exception_stacks');
    if (p !== undefined) {
      const base = prog.mem.readU64(per_cpu_ptr(prog, p, cpu));
      const kinds: [StackKind, string][] = [['df', 'DF_stack'], ['nmi', 'NMI_stack'], ['db', 'DB_stack'], ['mce', 'MCE_stack'], ['vc', 'VC_stack'], ['vc2', 'VC2_stack']];
      for (const [kind, name] of kinds) {
        const m = tryMember(prog, 'struct cea_exception_stacks', name);
        if (m && m.size > 0 && base !== 0n) stacks.push({ kind, start: base + BigInt(m.offset), end: base + BigInt(m.offset + m.size), cpu });
      }
    } else problems.push('no cea_exception_stacks: exception stacks unknown');
  } catch (err) {
    problems.push(`CPU ${cpu} exception stacks: ${(err as Error).message}`);
  }
  // Entry (trampoline) stack: TSS sp0 is its top.
  try {
    const tss = prog.symbol('cpu_tss_rw');
    const m = tryMember(prog, 'struct tss_struct', 'x86_tss.sp0');
    if (tss !== undefined && m) {
      const top = prog.mem.readU64(per_cpu_ptr(prog, tss, cpu) + BigInt(m.offset));
      const entryStack = lookupType(prog.types, 'struct entry_stack');
      const len = entryStack ? sizeOf(prog.types, entryStack.id) : 4096; // else keep a page
      if (top !== 0n) stacks.push({ kind: 'entry', start: top - BigInt(len), end: top, cpu });
    }
  } catch (err) {
    problems.push(`CPU ${cpu} entry stack: ${(err as Error).message}`);
  }
  return { stacks, problems };
}

/** The stack holding addr, among the given ones. */
export function stackOf(stacks: readonly StackRange[], addr: bigint): StackRange | undefined {
  return stacks.find((s) => addr >= s.start && addr < s.end);
}
