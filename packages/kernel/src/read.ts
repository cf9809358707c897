/**
 * What every typed kernel reader shares: a struct's type, a symbol that must
 * exist, an integer member read with its signedness, and the one error that
 * says which fact could not be read and why.
 */
import { findType, memberAt, resolve, type FoundType } from '@vmpipe/types';
import { readUint } from '@vmpipe/bytes';
import { kallsymsAbsentReason } from '@vmpipe/symbols';
import type { Program } from './program.js';

/** A kernel fact that could not be read: which, and why. */
export class KernelReadError extends Error {
  constructor(readonly what: string, message: string) {
    super(`${what}: ${message}`);
    this.name = 'KernelReadError';
  }
}

/** `struct NAME` in the program's types, or a KernelReadError naming it. */
export function struct(prog: Program, name: string): FoundType {
  const id = prog.types.lookup('struct', name);
  if (id === undefined) throw new KernelReadError(`struct ${name}`, 'not in the type information');
  return { id, name: `struct ${name}` };
}

/** The address of a kernel symbol that must exist. */
export function need(prog: Program, name: string): bigint {
  const a = prog.symbol(name);
  if (a === undefined) throw new KernelReadError(name, 'no such kernel symbol');
  return a;
}

/** An N-byte integer in kernel memory (little-endian, as the dump's architectures are). */
export function readInt(prog: Program, addr: bigint, size: number, signed: boolean): bigint {
  const v = readUint(prog.mem.readBytes(addr, size), 0, size, true);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

/** An integer member (its size and signedness from the types) of the object of `type` at `base`. */
export function intMember(prog: Program, base: bigint, type: FoundType, path: string): bigint {
  const m = memberAt(prog.types, type, path);
  const t = resolve(prog.types, m.typeId).type;
  return readInt(prog, base + BigInt(m.offset), m.size, t.kind === 'int' ? t.signed : false);
}

/** A char-array member as the kernel prints it (up to its NUL). */
export function stringMember(prog: Program, base: bigint, type: FoundType | string, path: string): string {
  const t = typeof type === 'string' ? findType(prog.types, type) : type;
  const m = memberAt(prog.types, t, path);
  return prog.mem.readCString(base + BigInt(m.offset), m.size);
}

/**
 * Why the typed facts (crash time, current task, online CPUs, modules) are not
 * there, as one line; undefined when types and symbols can be had.
 */
export function typedFactsUnavailable(prog: Program): string | undefined {
  const tail = 'crash time, current task and online CPUs need them';
  let source;
  try {
    source = prog.kernelSymbols;
  } catch (err) {
    return `kernel symbols unavailable (${(err as Error).message}): ${tail}`;
  }
  if (source.source === 'none') {
    const why = source.notes.length ? source.notes.join('; ') : kallsymsAbsentReason(prog.dump?.vmcoreinfo);
    return `no kernel symbols in the dump (${why}): ${tail}`;
  }
  const types = prog.tryTypes();
  return types instanceof Error ? `no types (${types.message}): ${tail}` : undefined;
}
