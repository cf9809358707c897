/**
 * Builds real x86_64 page tables (Intel SDM Vol. 3A 4.5 entry format) in the
 * physical pages of a mkdump spec, so tests walk the same bytes a kernel
 * would have left in memory.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pagePattern, writeDump, type DumpSpec } from '@vmpipe/mkdump';

export const P = 1n << 0n; // _PAGE_PRESENT
export const RW = 1n << 1n;
export const PSE = 1n << 7n;
export const GLOBAL = 1n << 8n;
export const NX = 1n << 63n;
const ACCESSED_DIRTY = (1n << 5n) | (1n << 6n);

export class PageTables {
  /** pfn → page bytes written so far (tables and chosen data pages). */
  readonly pages = new Map<number, Buffer>();
  private nextTable: number;
  readonly root: number;

  /** `firstTablePfn`: where page-table pages are allocated from, one after the other. */
  constructor(readonly fiveLevel: boolean, firstTablePfn: number, readonly smeMask = 0n) {
    this.nextTable = firstTablePfn;
    this.root = this.allocTable();
  }

  allocTable(): number {
    const pfn = this.nextTable++;
    this.pages.set(pfn, Buffer.alloc(4096));
    return pfn;
  }

  private shifts(): bigint[] {
    return this.fiveLevel ? [48n, 39n, 30n, 21n, 12n] : [39n, 30n, 21n, 12n];
  }

  /** Physical address of the entry for `vaddr` at `depth` (0 = top), creating the tables above it. */
  entryAddr(vaddr: bigint, depth: number): bigint {
    let table = this.root;
    const shifts = this.shifts();
    for (let i = 0; i < depth; i++) {
      const at = Number((vaddr >> shifts[i]!) & 0x1ffn) * 8;
      const page = this.pages.get(table)!;
      let e = page.readBigUInt64LE(at);
      if ((e & P) === 0n) {
        const next = this.allocTable();
        e = (BigInt(next) << 12n) | this.smeMask | P | RW | ACCESSED_DIRTY;
        page.writeBigUInt64LE(e, at);
      }
      table = Number((e & ~this.smeMask & ((1n << 52n) - 1n)) >> 12n);
    }
    return BigInt(table) * 4096n + BigInt(Number((vaddr >> shifts[depth]!) & 0x1ffn) * 8);
  }

  private set(vaddr: bigint, depth: number, entry: bigint): bigint {
    const addr = this.entryAddr(vaddr, depth);
    this.pages.get(Number(addr >> 12n))!.writeBigUInt64LE(entry, Number(addr & 0xfffn));
    return entry;
  }

  private get levels(): number {
    return this.fiveLevel ? 5 : 4;
  }

  map4k(vaddr: bigint, paddr: bigint, flags = RW | GLOBAL | NX): bigint {
    return this.set(vaddr, this.levels - 1, paddr | this.smeMask | P | ACCESSED_DIRTY | flags);
  }

  map2m(vaddr: bigint, paddr: bigint, flags = RW | GLOBAL | NX): bigint {
    return this.set(vaddr, this.levels - 2, paddr | this.smeMask | P | PSE | ACCESSED_DIRTY | flags);
  }

  map1g(vaddr: bigint, paddr: bigint, flags = RW | GLOBAL | NX): bigint {
    return this.set(vaddr, this.levels - 3, paddr | this.smeMask | P | PSE | ACCESSED_DIRTY | flags);
  }

  /** A present table page for `vaddr`'s PTEs, with `vaddr`'s own PTE left zero. */
  mapNothing(vaddr: bigint): void {
    this.entryAddr(vaddr, this.levels - 1);
  }

  /** The table page holding the entry of `vaddr` at `depth`. */
  tablePfn(vaddr: bigint, depth: number): number {
    return Number(this.entryAddr(vaddr, depth) >> 12n);
  }

  /** mkdump content: the tables where they are, the default pattern elsewhere. */
  content(): (pfn: number, pageSize: number) => Uint8Array {
    return (pfn, pageSize) => this.pages.get(pfn) ?? pagePattern(pfn, pageSize);
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-addrxlat-test-'));
let n = 0;

export async function writeTestDump(spec: DumpSpec): Promise<string> {
  const path = join(tmp, `dump-${n++}`);
  writeFileSync(path, (await writeDump(spec)).bytes);
  return path;
}
