/**
 * Per-CPU variables (include/linux/percpu-defs.h): a per-CPU symbol's address
 * is an offset into each CPU's area, which starts at `__per_cpu_offset[cpu]`
 * (per_cpu_ptr(ptr, cpu) = ptr + __per_cpu_offset[cpu] on x86_64 and arm64 SMP).
 */
import { KernelReadError, need } from './read.js';
import type { Program } from './program.js';

/** `nr_cpu_ids`, or null when the kernel has no such symbol. */
export function nr_cpu_ids(prog: Program): number | null {
  const a = prog.symbol('nr_cpu_ids');
  return a === undefined ? null : prog.mem.readU32(a);
}

/** `__per_cpu_offset[cpu]`. */
export function per_cpu_offset(prog: Program, cpu: number): bigint {
  const nr = nr_cpu_ids(prog);
  if (nr !== null && (cpu < 0 || cpu >= nr)) throw new KernelReadError('per-CPU offset', `CPU ${cpu} is not below nr_cpu_ids ${nr}`);
  return prog.mem.readU64(need(prog, '__per_cpu_offset') + BigInt(cpu * 8));
}

/** per_cpu_ptr: where CPU `cpu`'s copy of the per-CPU variable at `addr` lives. */
export function per_cpu_ptr(prog: Program, addr: bigint, cpu: number): bigint {
  return BigInt.asUintN(64, addr + per_cpu_offset(prog, cpu));
}
