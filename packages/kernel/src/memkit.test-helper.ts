/**
 * Hand-built kernel memory and type tables for the walkers' tests: 64-bit
 * words at chosen addresses, pages that read as excluded, and a type table
 * from a list of types (id = index + 1).
 */
import { KernelMemoryBase, type Translation, type TranslationFailure, type VirtChunk } from '@vmpipe/addrxlat';
import type { CType, NamedKind, TypeTable } from '@vmpipe/types';

export function le(size: number, v: bigint): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = Number((BigInt.asUintN(size * 8, v) >> BigInt(8 * i)) & 0xffn);
  return b;
}

/**
 * Memory as pages written in place (later writes overwrite earlier ones byte
 * by byte, unlike BufferMemory's segments), identity-"translated", with pages
 * the dump "excluded" (reads fail with code page-excluded).
 */
export class TestMemory extends KernelMemoryBase {
  readonly arch = 'x86_64' as const;
  readonly pageSize = 4096;
  private readonly pages = new Map<bigint, Uint8Array>();
  private readonly excluded = new Set<bigint>();
  add(vaddr: bigint, bytes: Uint8Array): this {
    for (let i = 0; i < bytes.length; i++) {
      const a = vaddr + BigInt(i);
      const key = a & ~0xfffn;
      let page = this.pages.get(key);
      if (!page) this.pages.set(key, (page = new Uint8Array(4096)));
      page[Number(a & 0xfffn)] = bytes[i]!;
    }
    return this;
  }
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
  translate(vaddr: bigint): Translation | TranslationFailure {
    return this.pages.has(vaddr & ~0xfffn)
      ? { vaddr, paddr: vaddr, pageSize: 4096, levels: [] }
      : { vaddr, code: 'not-mapped', message: `0x${vaddr.toString(16)} is not mapped`, levels: [] };
  }
  read(vaddr: bigint, length: number): VirtChunk[] {
    const out: VirtChunk[] = [];
    let addr = vaddr;
    let left = length;
    while (left > 0) {
      const key = addr & ~0xfffn;
      const off = Number(addr & 0xfffn);
      const take = Math.min(left, 4096 - off);
      const page = this.pages.get(key);
      if (this.excluded.has(key)) out.push({ vaddr: addr, length: take, problem: { code: 'page-excluded', message: 'excluded by the dump level' } });
      else if (!page) out.push({ vaddr: addr, length: take, problem: { code: 'not-mapped', message: `0x${addr.toString(16)} is not mapped` } });
      else out.push({ vaddr: addr, bytes: page.subarray(off, off + take) });
      addr += BigInt(take);
      left -= take;
    }
    return out;
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
