/**
 * Hand-built kernel memory and type tables for the walkers' tests: 64-bit
 * words at chosen addresses, pages that read as excluded, and a type table
 * from a list of types (id = index + 1).
 */
import { BufferMemory, type VirtChunk } from '@vmpipe/addrxlat';
import type { CType, NamedKind, TypeTable } from '@vmpipe/types';

export function le(size: number, v: bigint): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = Number((BigInt.asUintN(size * 8, v) >> BigInt(8 * i)) & 0xffn);
  return b;
}

/** BufferMemory with words, and pages the dump "excluded" (reads fail with code page-excluded). */
export class TestMemory extends BufferMemory {
  private readonly excluded = new Set<bigint>();
  u64(addr: bigint, ...values: bigint[]): this {
    values.forEach((v, i) => this.add(addr + BigInt(8 * i), le(8, v)));
    return this;
  }
  /** Zero-filled bytes, so a struct reads whole. */
  zero(addr: bigint, length: number): this {
    return this.add(addr, new Uint8Array(length));
  }
  exclude(page: bigint): this {
    this.excluded.add(page & ~0xfffn);
    return this;
  }
  override read(vaddr: bigint, length: number): VirtChunk[] {
    if (this.excluded.has(vaddr & ~0xfffn)) return [{ vaddr, length, problem: { code: 'page-excluded', message: 'excluded by the dump level' } }];
    return super.read(vaddr, length);
  }
}

/** A type table from a list of types (id = index + 1). */
export function table(types: CType[]): TypeTable {
  return {
    source: 'btf-file',
    pointerSize: 8,
    littleEndian: true,
    get(id) {
      if (id === 0) return { kind: 'void' };
      const t = types[id - 1];
      if (!t) throw new Error(`no type ${id}`);
      return t;
    },
    lookup(kind: NamedKind, name: string) {
      const i = types.findIndex((t) => t.kind === kind && 'name' in t && t.name === name);
      return i < 0 ? undefined : i + 1;
    },
    names: (kind: NamedKind) => types.filter((t) => t.kind === kind && 'name' in t).map((t) => (t as { name: string }).name),
  };
}

export const int = (name: string, size: number, signed: boolean): CType => ({ kind: 'int', name, size, signed, char: false, bool: false, bits: size * 8 });
export const member = (name: string, type: number, byte: number) => ({ name, type, bitOffset: byte * 8, bitSize: 0 });
