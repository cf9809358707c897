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

/**
 * Builds real AArch64 translation tables (Arm ARM D8.3, VMSAv8-64 descriptors)
 * in a mkdump spec's pages, one granule per table, indexed as the kernel indexes
 * swapper_pg_dir (compile-time VA_BITS). Pfns are in granule units.
 */
export const A64_TABLE = 3n; // bits[1:0] = 0b11: table (levels 0-2) or page (level 3)
export const A64_BLOCK = 1n; // bits[1:0] = 0b01: block
export const A64_AF = 1n << 10n;
export const A64_SH_INNER = 3n << 8n;
export const A64_ATTR_NORMAL = 4n << 2n; // AttrIndx = MT_NORMAL (4) as the kernel's MAIR has it
export const A64_CONT = 1n << 52n;
export const A64_PXN = 1n << 53n;
export const A64_UXN = 1n << 54n;
const A64_KERNEL = A64_AF | A64_SH_INNER | A64_ATTR_NORMAL | A64_PXN | A64_UXN;

export class Aarch64PageTables {
  readonly pages = new Map<number, Buffer>();
  private nextTable: number;
  readonly root: number;
  readonly shifts: bigint[];
  private readonly masks: bigint[];
  readonly pageShift: number;

  constructor(readonly granule: number, readonly vaBits: number, firstTablePfn: number) {
    this.pageShift = Math.log2(granule);
    const per = this.pageShift - 3;
    const n = Math.ceil((vaBits - this.pageShift) / per);
    this.shifts = Array.from({ length: n }, (_, i) => BigInt(this.pageShift + (n - 1 - i) * per));
    this.masks = this.shifts.map((s, i) => (i === 0 ? (1n << (BigInt(vaBits) - s)) - 1n : (1n << BigInt(per)) - 1n));
    this.nextTable = firstTablePfn;
    this.root = this.allocTable();
  }

  get levels(): number {
    return this.shifts.length;
  }

  allocTable(): number {
    const pfn = this.nextTable++;
    this.pages.set(pfn, Buffer.alloc(this.granule));
    return pfn;
  }

  /** The descriptor's address field for a physical address: 64K keeps PA[51:48] in bits [15:12]. */
  oa(paddr: bigint): bigint {
    if (this.granule === 65536) return (paddr & ((1n << 48n) - 1n)) | (((paddr >> 48n) & 0xfn) << 12n);
    return paddr;
  }

  private fromOa(e: bigint): bigint {
    const low = e & ((1n << 48n) - 1n) & ~BigInt(this.granule - 1);
    return this.granule === 65536 ? low | (((e >> 12n) & 0xfn) << 48n) : low;
  }

  /** Physical address of the entry for `vaddr` at `depth` (0 = top), creating the tables above it. */
  entryAddr(vaddr: bigint, depth: number): bigint {
    let table = BigInt(this.root) * BigInt(this.granule);
    for (let i = 0; i < depth; i++) {
      const at = Number((vaddr >> this.shifts[i]!) & this.masks[i]!) * 8;
      const page = this.pages.get(Number(table / BigInt(this.granule)))!;
      let e = page.readBigUInt64LE(at);
      if ((e & 1n) === 0n) {
        const next = BigInt(this.allocTable()) * BigInt(this.granule);
        e = this.oa(next) | A64_TABLE;
        page.writeBigUInt64LE(e, at);
      }
      table = this.fromOa(e);
    }
    return table + ((vaddr >> this.shifts[depth]!) & this.masks[depth]!) * 8n;
  }

  set(vaddr: bigint, depth: number, entry: bigint): bigint {
    const addr = this.entryAddr(vaddr, depth);
    this.pages.get(Number(addr / BigInt(this.granule)))!.writeBigUInt64LE(entry, Number(addr % BigInt(this.granule)));
    return entry;
  }

  mapPage(vaddr: bigint, paddr: bigint, flags = A64_KERNEL): bigint {
    return this.set(vaddr, this.levels - 1, this.oa(paddr) | A64_TABLE | flags);
  }

  /** A block `up` levels above the pages (1: 2M/32M/512M, 2: 1G on 4K). */
  mapBlock(vaddr: bigint, paddr: bigint, up = 1, flags = A64_KERNEL): bigint {
    return this.set(vaddr, this.levels - 1 - up, this.oa(paddr) | A64_BLOCK | flags);
  }

  mapNothing(vaddr: bigint): void {
    this.entryAddr(vaddr, this.levels - 1);
  }

  tablePfn(vaddr: bigint, depth: number): number {
    return Number(this.entryAddr(vaddr, depth) / BigInt(this.granule));
  }

  content(): (pfn: number, pageSize: number) => Uint8Array {
    return (pfn, pageSize) => this.pages.get(pfn) ?? pagePattern(pfn, pageSize);
  }
}
