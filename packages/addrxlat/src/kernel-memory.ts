/**
 * The contract between address translation and everything that reads kernel
 * memory by virtual address (symbols, types, printk, lists, unwinding).
 * Implementations: X86_64Memory (page tables of a dump) and BufferMemory
 * (bytes at given addresses, for unit tests of readers above this layer).
 */
import type { Dump, PageProblem, ReadOptions } from '@vmpipe/dump';

/** One page-table step, as crash's `vtop` prints it: PGD/P4D/PUD/PMD/PTE with the entry's address and value. */
export interface TranslationLevel {
  level: 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';
  /** physical address of the entry */
  addr: bigint;
  entry: bigint;
  /** the entry's kernel virtual address, where the architecture's crash prints that (arm64: swapper_pg_dir, then the linear map) */
  vaddr?: bigint;
}

export interface Translation {
  vaddr: bigint;
  paddr: bigint;
  /** size of the mapping that holds vaddr: 4096, 2 MiB or 1 GiB */
  pageSize: number;
  levels: TranslationLevel[];
  /** Virtual address of the top page table walked (init_top_pgt), as crash's `PGD DIRECTORY` shows it, when known. */
  root?: bigint | undefined;
}

export type TranslationProblemCode = 'not-mapped' | 'non-canonical' | 'page-excluded' | 'not-in-dump' | 'page-corrupt' | 'page-incomplete';

export interface TranslationFailure {
  vaddr: bigint;
  code: TranslationProblemCode;
  message: string;
  /** the levels walked before the walk stopped (the last one is where it stopped) */
  levels: TranslationLevel[];
  /** the level where the walk stopped: its entry was not present, or its table page could not be read */
  level?: TranslationLevel['level'];
}

export function isTranslation(t: Translation | TranslationFailure): t is Translation {
  return 'paddr' in t;
}

/** A span of a virtual read: bytes, or why there are none (`level`: where a failed page-table walk stopped). */
export type VirtChunk =
  | { vaddr: bigint; bytes: Uint8Array }
  | { vaddr: bigint; length: number; problem: (PageProblem | { code: TranslationProblemCode; message: string }) & { level?: TranslationLevel['level'] } };

/** A read that had to be whole and was not: `code` is an error-record code, `addr` the first unreadable byte. */
export class MemoryError extends Error {
  constructor(readonly code: string, readonly addr: bigint, message: string) {
    super(message);
    this.name = 'MemoryError';
  }
}

export interface KernelMemory {
  readonly arch: 'x86_64' | 'arm64';
  readonly pageSize: number;
  translate(vaddr: bigint): Translation | TranslationFailure;
  /** Reads what it can; unreadable spans are problems in place, in address order. */
  read(vaddr: bigint, length: number, options?: ReadOptions): VirtChunk[];
  /** All `length` bytes or a MemoryError. */
  readBytes(vaddr: bigint, length: number): Uint8Array;
  readU8(vaddr: bigint): number;
  readU16(vaddr: bigint): number;
  readU32(vaddr: bigint): number;
  readU64(vaddr: bigint): bigint;
  /** A NUL-terminated string of at most `max` bytes (latin1). */
  readCString(vaddr: bigint, max?: number): string;
  /** The dump underneath, when there is one (BufferMemory has none). */
  readonly dump?: Dump;
}

/** Shared scalar helpers for implementations: built on readBytes. */
export abstract class KernelMemoryBase implements KernelMemory {
  abstract readonly arch: 'x86_64' | 'arm64';
  abstract readonly pageSize: number;
  abstract translate(vaddr: bigint): Translation | TranslationFailure;
  abstract read(vaddr: bigint, length: number, options?: ReadOptions): VirtChunk[];

  readBytes(vaddr: bigint, length: number): Uint8Array {
    const chunks = this.read(vaddr, length);
    const bad = chunks.find((c) => 'problem' in c);
    if (bad && 'problem' in bad) throw new MemoryError(bad.problem.code, bad.vaddr, bad.problem.message);
    if (chunks.length === 1) return (chunks[0] as { bytes: Uint8Array }).bytes;
    return Buffer.concat(chunks.map((c) => (c as { bytes: Uint8Array }).bytes));
  }

  readU8(vaddr: bigint): number {
    return this.readBytes(vaddr, 1)[0]!;
  }

  readU16(vaddr: bigint): number {
    const b = this.readBytes(vaddr, 2);
    return new DataView(b.buffer, b.byteOffset, 2).getUint16(0, true);
  }

  readU32(vaddr: bigint): number {
    const b = this.readBytes(vaddr, 4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }

  readU64(vaddr: bigint): bigint {
    const b = this.readBytes(vaddr, 8);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  }

  readCString(vaddr: bigint, max = 4096): string {
    const out: number[] = [];
    // Read page by page so a string near an unmapped page still reads up to its NUL.
    let addr = vaddr;
    while (out.length < max) {
      const inPage = this.pageSize - Number(addr % BigInt(this.pageSize));
      const bytes = this.readBytes(addr, Math.min(inPage, max - out.length));
      const nul = bytes.indexOf(0);
      if (nul >= 0) {
        for (let i = 0; i < nul; i++) out.push(bytes[i]!);
        return Buffer.from(out).toString('latin1');
      }
      for (const b of bytes) out.push(b);
      addr += BigInt(bytes.length);
    }
    return Buffer.from(out).toString('latin1');
  }
}

/**
 * Kernel memory read through the kernel's page tables: each architecture says how one
 * address translates (`translate`) and what its levels are; the read loop, which runs
 * a translation per mapping and turns every unreadable span into a problem in place, is
 * this one for all of them.
 */
export abstract class PageTableMemory extends KernelMemoryBase {
  abstract readonly dump: Dump;
  /** the walk's levels, top first, and the address bit each one indexes from */
  protected abstract readonly levelNames: readonly TranslationLevel['level'][];
  protected abstract readonly shifts: readonly bigint[];
  /** table pages (a table is one page: 4K on x86_64, the granule on arm64) kept decoded, oldest dropped first */
  private readonly tables = new Map<bigint, DataView>();

  /** One 8-byte table entry, through a small cache of table pages. */
  protected entryAt(addr: bigint): bigint | PageProblem {
    const page = addr & ~BigInt(this.pageSize - 1);
    let view = this.tables.get(page);
    if (!view) {
      const chunks = this.dump.readPhysical(page, this.pageSize);
      const bad = chunks.find((c) => 'problem' in c);
      if (bad && 'problem' in bad) {
        // A table smaller than a page (arm64's top level) may sit in a page that is only partly in the dump.
        const one = this.dump.readPhysical(addr, 8);
        const b = one.find((c) => 'bytes' in c) as { bytes: Uint8Array } | undefined;
        if (one.length === 1 && b) return new DataView(b.bytes.buffer, b.bytes.byteOffset, 8).getBigUint64(0, true);
        return bad.problem;
      }
      const parts = chunks.map((c) => (c as { bytes: Uint8Array }).bytes);
      const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (this.tables.size >= TABLE_PAGES) this.tables.delete(this.tables.keys().next().value as bigint);
      this.tables.set(page, view);
    }
    return view.getBigUint64(Number(addr & BigInt(this.pageSize - 1)), true);
  }

  read(vaddr: bigint, length: number, options?: ReadOptions): VirtChunk[] {
    const out: VirtChunk[] = [];
    let run: { vaddr: bigint; parts: Uint8Array[] } | null = null;
    const endRun = () => {
      if (run) out.push({ vaddr: run.vaddr, bytes: run.parts.length === 1 ? run.parts[0]! : Buffer.concat(run.parts) });
      run = null;
    };
    const problem = (at: bigint, len: number, p: (PageProblem | { code: TranslationProblemCode; message: string }) & { level?: TranslationLevel['level'] }) => {
      endRun();
      const last = out[out.length - 1];
      if (last && 'problem' in last && last.problem.code === p.code && last.vaddr + BigInt(last.length) === at) last.length += len;
      else out.push({ vaddr: at, length: len, problem: p });
    };
    let addr = vaddr;
    let left = length;
    while (left > 0) {
      const t = this.translate(addr);
      if (!('paddr' in t)) {
        // A walk that stopped at a level fails alike for everything that level's entry covers
        // (a missing PGD entry: 512 GiB), so a long read over a hole does not walk it 4K by 4K.
        const i = t.level ? this.levelNames.indexOf(t.level) : -1;
        const span = i >= 0 ? 1n << this.shifts[i]! : BigInt(this.pageSize);
        const take = Math.min(left, Number(span - (addr & (span - 1n))));
        problem(addr, take, t.level ? { code: t.code, message: t.message, level: t.level } : { code: t.code, message: t.message });
        addr += BigInt(take);
        left -= take;
        continue;
      }
      const inMapping = t.pageSize - Number(addr & BigInt(t.pageSize - 1));
      const take = Math.min(left, inMapping);
      for (const c of this.dump.readPhysical(t.paddr, take, options)) {
        const at = addr + (c.paddr - t.paddr);
        if ('problem' in c) {
          problem(at, c.length, { code: c.problem.code, message: `${hexs(at)} (physical ${hexs(c.paddr)}): ${c.problem.message}` });
        } else {
          run ??= { vaddr: at, parts: [] };
          run.parts.push(c.bytes);
        }
      }
      addr += BigInt(take);
      left -= take;
    }
    endRun();
    return out;
  }}

const hexs = (v: bigint) => '0x' + v.toString(16);
/** Page-table pages kept decoded per memory. */
const TABLE_PAGES = 64;

/**
 * Kernel memory made of byte segments at virtual addresses, identity-"translated".
 * For unit tests of readers above this layer (printk, types, lists) without a dump.
 */
export class BufferMemory extends KernelMemoryBase {
  readonly arch = 'x86_64' as const;
  readonly pageSize = 4096;
  private readonly segments: { vaddr: bigint; bytes: Uint8Array }[] = [];

  /** Adds bytes at `vaddr` (later segments win where they overlap). */
  add(vaddr: bigint, bytes: Uint8Array): this {
    this.segments.push({ vaddr, bytes });
    return this;
  }

  translate(vaddr: bigint): Translation | TranslationFailure {
    const seg = this.find(vaddr);
    return seg
      ? { vaddr, paddr: vaddr, pageSize: this.pageSize, levels: [] }
      : { vaddr, code: 'not-mapped', message: `0x${vaddr.toString(16)} is not mapped`, levels: [] };
  }

  read(vaddr: bigint, length: number): VirtChunk[] {
    const out: VirtChunk[] = [];
    let addr = vaddr;
    let left = length;
    while (left > 0) {
      const seg = this.find(addr);
      if (!seg) {
        // Skip to the next segment start, or the end.
        const next = this.segments.map((s) => s.vaddr).filter((a) => a > addr && a < addr + BigInt(left)).sort((a, b) => (a < b ? -1 : 1))[0];
        const gap = next === undefined ? left : Number(next - addr);
        out.push({ vaddr: addr, length: gap, problem: { code: 'not-mapped', message: `0x${addr.toString(16)} is not mapped` } });
        addr += BigInt(gap);
        left -= gap;
        continue;
      }
      const off = Number(addr - seg.vaddr);
      const take = Math.min(left, seg.bytes.length - off);
      out.push({ vaddr: addr, bytes: seg.bytes.subarray(off, off + take) });
      addr += BigInt(take);
      left -= take;
    }
    return out;
  }

  private find(vaddr: bigint): { vaddr: bigint; bytes: Uint8Array } | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (vaddr >= s.vaddr && vaddr < s.vaddr + BigInt(s.bytes.length)) return s;
    }
    return undefined;
  }
}
