/**
 * A span of kernel memory read in one go, with the holes (excluded or
 * unmapped pages) it had. The printk readers read whole rings at once, then
 * check each record's bytes against the holes, so one excluded page costs the
 * records in it and not the whole log.
 */
import type { KernelMemory } from '@vmpipe/addrxlat';

export interface Hole {
  /** offset in the region */
  offset: number;
  length: number;
  code: string;
  message: string;
}

export class Region {
  private constructor(
    readonly vaddr: bigint,
    readonly bytes: Buffer,
    readonly holes: Hole[],
  ) {}

  static read(mem: KernelMemory, vaddr: bigint, length: number): Region {
    const bytes = Buffer.alloc(length);
    const holes: Hole[] = [];
    // Page by page: each piece is then one page of the dump's page cache, copied once into
    // `bytes`, instead of the reader joining pages into a run that would be copied again.
    const page = mem.pageSize;
    for (let at = 0; at < length; ) {
      const piece = Math.min(length - at, page - Number((vaddr + BigInt(at)) % BigInt(page)));
      for (const chunk of mem.read(vaddr + BigInt(at), piece)) {
        const offset = Number(chunk.vaddr - vaddr);
        if ('problem' in chunk) {
          const last = holes[holes.length - 1];
          if (last && last.offset + last.length === offset && last.code === chunk.problem.code) last.length += chunk.length;
          else holes.push({ offset, length: chunk.length, code: chunk.problem.code, message: chunk.problem.message });
        } else bytes.set(chunk.bytes, offset);
      }
      at += piece;
    }
    return new Region(vaddr, bytes, holes);
  }

  /** The first hole overlapping [offset, offset+length), if any. */
  hole(offset: number, length: number): Hole | undefined {
    for (const h of this.holes) {
      if (h.offset < offset + length && offset < h.offset + h.length) return h;
    }
    return undefined;
  }

  u16(offset: number): number {
    return this.bytes.readUInt16LE(offset);
  }

  u32(offset: number): number {
    return this.bytes.readUInt32LE(offset);
  }

  u64(offset: number): bigint {
    return this.bytes.readBigUInt64LE(offset);
  }

  /** A u64 as a Number when it is below 2^53 (exact), else -1: the fast path of hot loops. */
  u64n(offset: number): number {
    const hi = this.bytes.readUInt32LE(offset + 4);
    return hi < 0x200000 ? hi * 0x100000000 + this.bytes.readUInt32LE(offset) : -1;
  }
}
