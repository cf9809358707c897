/**
 * CPU masks (include/linux/cpumask.h): `struct cpumask { unsigned long bits[] }`;
 * which CPUs below nr_cpu_ids were online (`__cpu_online_mask`), as crash's
 * `sys` prints `CPUS: 2 [OFFLINE: 1]`.
 */
import { memberAt } from '@vmpipe/types';
import { nr_cpu_ids } from './percpu.js';
import { KernelReadError, need, struct } from './read.js';
import type { Program } from './program.js';

export interface CpuOnline {
  nrCpuIds: number;
  online: number[];
  offline: number[];
}

/** The CPUs of the cpumask at `mask`, below nr_cpu_ids. */
export function cpumask_bits(prog: Program, mask: bigint, nr: number): boolean[] {
  const bits = mask + BigInt(memberAt(prog.types, struct(prog, 'cpumask'), 'bits').offset);
  const bytes = prog.mem.readBytes(bits, Math.ceil(nr / 64) * 8);
  return Array.from({ length: nr }, (_, cpu) => ((bytes[cpu >> 3]! >> (cpu & 7)) & 1) === 1);
}

/** CPUs below nr_cpu_ids, split by their bit in `__cpu_online_mask`. */
export function cpuOnline(prog: Program): CpuOnline {
  const nr = nr_cpu_ids(prog);
  if (nr === null) throw new KernelReadError('nr_cpu_ids', 'no such kernel symbol');
  const bits = cpumask_bits(prog, need(prog, '__cpu_online_mask'), nr);
  const online: number[] = [];
  const offline: number[] = [];
  bits.forEach((on, cpu) => (on ? online : offline).push(cpu));
  return { nrCpuIds: nr, online, offline };
}
