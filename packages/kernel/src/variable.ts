/**
 * A kernel variable's value, as crash `p VAR`, `p VAR:cpu`, `p VAR:a` prints it:
 * its address from the symbols, its type from the types (BTF carries VAR
 * entries for per-CPU variables only; DWARF describes none here), else the
 * caller's type. A per-CPU variable's symbol is an offset into each CPU's
 * area (`__per_cpu_start` ... `__per_cpu_end`), so its value is per CPU.
 */
import { Decoder, findType, readObject, sizeOf, typeName, type Json, type TypeId } from '@vmpipe/types';
import { nr_cpu_ids, per_cpu_ptr } from './percpu.js';
import { KernelReadError } from './read.js';
import type { Program } from './program.js';

export interface VariableValue {
  name: string;
  addr: bigint;
  type: string;
  cpu?: number;
  value: Json;
}

/** gcc's spellings of the base types (BTF and DWARF name them so), for a type the user writes the short way. */
const INT_ALIASES: Record<string, string> = {
  'unsigned long': 'long unsigned int', long: 'long int', 'unsigned int': 'unsigned int', int: 'int', 'unsigned short': 'short unsigned int',
  short: 'short int', 'unsigned char': 'unsigned char', char: 'char', 'unsigned long long': 'long long unsigned int', 'long long': 'long long int',
  u64: 'u64', u32: 'u32', s64: 's64', s32: 's32', bool: '_Bool',
};

/** The type id of a type the user names: `struct rq`, `rq`, `unsigned long`, `u64`. */
export function typeByName(prog: Program, name: string): TypeId {
  const t = name.trim();
  const alias = INT_ALIASES[t];
  if (alias) {
    const id = prog.types.lookup('int', alias) ?? prog.types.lookup('typedef', alias);
    if (id !== undefined) return id;
  }
  return findType(prog.types, t).id;
}

/** The type of variable `name` in the types (a BTF VAR), or undefined. */
export function variable_type(prog: Program, name: string): TypeId | undefined {
  const id = prog.types.lookup('var', name);
  if (id === undefined) return undefined;
  const v = prog.types.get(id);
  return v.kind === 'var' ? v.type : undefined;
}

/** Whether `addr` is a per-CPU symbol's (inside __per_cpu_start .. __per_cpu_end). */
export function is_percpu_symbol(prog: Program, addr: bigint): boolean {
  const start = prog.symbol('__per_cpu_start');
  const end = prog.symbol('__per_cpu_end');
  return start !== undefined && end !== undefined && addr >= start && addr < end;
}

/**
 * The value of variable `name` (a symbol), decoded as its type (or `type`);
 * for a per-CPU variable, one value per CPU asked for (`cpus`; default all below nr_cpu_ids).
 */
export function read_variable(prog: Program, name: string, opts: { type?: string; cpus?: number[] } = {}): VariableValue[] {
  const addr = prog.symbol(name);
  if (addr === undefined) throw new KernelReadError(name, 'no such kernel symbol');
  const id = opts.type !== undefined ? typeByName(prog, opts.type) : variable_type(prog, name);
  if (id === undefined) throw new KernelReadError(name, "its type is not in the type information (the kernel's BTF describes only per-CPU variables): give --type");
  const size = sizeOf(prog.types, id);
  const decoder = new Decoder(prog.types);
  const spelled = typeName(prog.types, id);
  const one = (at: bigint, cpu?: number): VariableValue => {
    const obj = readObject(prog.mem, at, Math.max(size, 1));
    const r: VariableValue = { name, addr: at, type: spelled, value: decoder.value(obj, id, 0, 0, 0, 0, new Set([at])) };
    if (cpu !== undefined) r.cpu = cpu;
    return r;
  };
  if (!is_percpu_symbol(prog, addr)) {
    if (opts.cpus) throw new KernelReadError(name, 'not a per-CPU variable');
    return [one(addr)];
  }
  const cpus = opts.cpus ?? Array.from({ length: nr_cpu_ids(prog) ?? 1 }, (_, i) => i);
  return cpus.map((cpu) => one(per_cpu_ptr(prog, addr, cpu), cpu));
}
