/**
 * A typed view of one kernel object, read in one piece: the object's bytes are
 * read once, and members are picked out by path with offsets, sizes and
 * signedness from the program's types (resolved once per type and path).
 * Walking thousands of task_structs or kmem_caches member by member would read
 * memory (and resolve paths) hundreds of thousands of times.
 */
import { readUint } from '@vmpipe/bytes';
import { memberAt, resolve, sizeOf, type FoundType, type TypeTable } from '@vmpipe/types';
import { KernelReadError, struct } from './read.js';
import type { Program } from './program.js';

interface Slot {
  offset: number;
  size: number;
  signed: boolean;
  bitOffset?: number;
  bitSize?: number;
}

/** The layout of one struct: member paths to slots, cached; `has()` says whether this kernel's type has a member. */
export class StructLayout {
  readonly type: FoundType;
  readonly size: number;
  /** how many bytes read() reads: the whole object, or up to the last member a caller said it needs */
  private span: number;
  private readonly slots = new Map<string, Slot | null>();

  constructor(readonly types: TypeTable, type: FoundType) {
    this.type = type;
    this.size = sizeOf(types, type.id);
    this.span = this.size;
  }

  /**
   * Reads only up to the end of the last of these members (that this kernel has):
   * a 10 KiB task_struct of which a walk needs the first 3 KiB costs one page, not three.
   * Reading a member past the span throws.
   */
  only(paths: string[]): this {
    let end = 0;
    for (const p of paths) {
      const s = this.slot(p);
      if (s) end = Math.max(end, s.offset + s.size);
    }
    this.span = Math.min(this.size, Math.max(end, 1));
    return this;
  }

  static of(prog: Program, name: string): StructLayout {
    return new StructLayout(prog.types, struct(prog, name));
  }

  slot(path: string): Slot | undefined {
    let s = this.slots.get(path);
    if (s === undefined) {
      try {
        const m = memberAt(this.types, this.type, path);
        const t = resolve(this.types, m.typeId).type;
        s = { offset: m.offset, size: m.size, signed: t.kind === 'int' ? t.signed : false };
        if (m.bitSize !== undefined && m.bitOffset !== undefined) {
          s.bitOffset = m.bitOffset;
          s.bitSize = m.bitSize;
        }
      } catch {
        s = null;
      }
      this.slots.set(path, s);
    }
    return s ?? undefined;
  }

  has(path: string): boolean {
    return this.slot(path) !== undefined;
  }

  offset(path: string): number {
    const s = this.slot(path);
    if (!s) throw new KernelReadError(`${this.type.name}.${path}`, 'no such member in these types');
    return s.offset;
  }

  /** Reads the whole object at `addr` (MemoryError when it cannot be read). */
  read(prog: Program, addr: bigint): StructView {
    return new StructView(this, addr, prog.mem.readBytes(addr, this.span));
  }

  /**
   * Reads what can be read of the object at `addr`: an object that straddles a page
   * the dump lacks (excluded, not mapped) keeps its readable members, and reading a
   * member in the missing part throws a KernelReadError saying why.
   */
  readPartial(prog: Program, addr: bigint): StructView {
    try {
      return this.read(prog, addr);
    } catch {
      const bytes = new Uint8Array(this.span);
      const missing: Missing[] = [];
      for (const chunk of prog.mem.read(addr, this.span)) {
        const at = Number(chunk.vaddr - addr);
        if ('bytes' in chunk) bytes.set(chunk.bytes, at);
        else missing.push({ start: at, end: at + chunk.length, why: chunk.problem.message });
      }
      if (missing.length === 1 && missing[0]!.start === 0 && missing[0]!.end === this.span) throw new KernelReadError(`${this.type.name} at 0x${addr.toString(16)}`, missing[0]!.why);
      return new StructView(this, addr, bytes, missing);
    }
  }
}

interface Missing {
  start: number;
  end: number;
  why: string;
}

/** One object's bytes and its layout. */
export class StructView {
  constructor(readonly layout: StructLayout, readonly addr: bigint, readonly bytes: Uint8Array, readonly missing: Missing[] = []) {}

  /** Throws when the member's bytes are in a part of the object the dump lacks. */
  private check(path: string, offset: number, size: number): void {
    for (const m of this.missing) {
      if (offset < m.end && offset + size > m.start) throw new KernelReadError(`${this.layout.type.name}.${path} at 0x${(this.addr + BigInt(offset)).toString(16)}`, m.why);
    }
  }

  has(path: string): boolean {
    return this.layout.has(path);
  }

  /** An integer member (bitfields too), sign-extended when its type is signed. */
  int(path: string): bigint {
    const s = this.layout.slot(path);
    if (!s) throw new KernelReadError(`${this.layout.type.name}.${path}`, 'no such member in these types');
    if (this.missing.length) this.check(path, s.offset, s.size);
    if (s.offset + Math.min(s.size, 8) > this.bytes.length) throw new KernelReadError(`${this.layout.type.name}.${path}`, 'past the part of the object that was read');
    if (s.bitSize !== undefined && s.bitOffset !== undefined) {
      const first = Math.floor(s.bitOffset / 8);
      const last = Math.floor((s.bitOffset + s.bitSize - 1) / 8);
      const word = readUint(this.bytes, first, last - first + 1, true);
      const v = (word >> BigInt(s.bitOffset - first * 8)) & ((1n << BigInt(s.bitSize)) - 1n);
      return s.signed ? BigInt.asIntN(s.bitSize, v) : v;
    }
    const v = readUint(this.bytes, s.offset, Math.min(s.size, 8), true);
    return s.signed ? BigInt.asIntN(Math.min(s.size, 8) * 8, v) : v;
  }

  /** An integer member as a JS number (counts, pids, flags that fit). */
  num(path: string): number {
    return Number(this.int(path));
  }

  /** An integer member, or undefined when this kernel has no such member. */
  opt(path: string): bigint | undefined {
    return this.layout.has(path) ? this.int(path) : undefined;
  }

  /** A char-array member up to its NUL. */
  str(path: string): string {
    const s = this.layout.slot(path);
    if (!s) throw new KernelReadError(`${this.layout.type.name}.${path}`, 'no such member in these types');
    if (this.missing.length) this.check(path, s.offset, s.size);
    let end = s.offset;
    while (end < s.offset + s.size && this.bytes[end] !== 0) end++;
    return Buffer.from(this.bytes.subarray(s.offset, end)).toString('latin1');
  }

  /** The address of a member inside this object. */
  at(path: string): bigint {
    return this.addr + BigInt(this.layout.offset(path));
  }
}
