/**
 * Pages and their `struct page` (include/linux/mm_types.h, page-flags.h,
 * arch/x86/include/asm/page_64.h) on x86_64 with SPARSEMEM_VMEMMAP:
 *  - pfn_to_page(pfn) = vmemmap_base + pfn * sizeof(struct page); page_to_pfn inverts it;
 *  - the direct map: __va(phys) = phys + page_offset_base;
 * on arm64 (arch/arm64/include/asm/memory.h, pgtable.h; variables from VMCOREINFO via addrxlat):
 *  - vmemmap = (struct page *)VMEMMAP_START - (memstart_addr >> PAGE_SHIFT), VMEMMAP_START
 *    exported (6.0+) or -(1 << (VA_BITS - (PAGE_SHIFT - order_base_2(sizeof(struct page)))));
 *  - the linear map: __va(phys) = (phys - PHYS_OFFSET) | PAGE_OFFSET, PHYS_OFFSET signed;
 *  - flags: the low NR_PAGEFLAGS bits are `enum pageflags` (names from the types),
 *    the high bits hold section/node/zone;
 *  - a tail page's `compound_head` has bit 0 set and points (minus 1) at its head;
 *    a head's order is `compound_order` of the first tail page (6.1) or
 *    `_folio_order` / the low byte of `_flags_1` (6.6+).
 */
import { Aarch64Memory } from '@vmpipe/addrxlat';
import { resolve } from '@vmpipe/types';
import { KernelReadError, need } from './read.js';
import { StructLayout } from './struct-view.js';
import type { Program } from './program.js';

const cache = new WeakMap<Program, MemMap>();

/** What a page walk needs, read once per program. */
export interface MemMap {
  /** the address pfn 0's struct page would have (x86_64: vmemmap_base; arm64: the kernel's `vmemmap`) */
  vmemmap: bigint;
  /** __va(phys) = pageOffset + phys (x86_64: page_offset_base; arm64: PAGE_OFFSET - PHYS_OFFSET) */
  pageOffset: bigint;
  /** where the direct (linear) map starts: page_offset_base, or arm64's PAGE_OFFSET */
  directStart: bigint;
  page: StructLayout;
  pageSize: number;
  maxPfn: number;
  /** the first pfn with memory: 0 on x86_64; arm64's RAM starts higher (min_low_pfn, QEMU virt 0x40000) */
  minPfn: number;
  /** enum pageflags: bit -> name without PG_ (only the real flags, below NR_PAGEFLAGS) */
  flagNames: Map<number, string>;
  nrPageflags: number;
  bit(name: string): number;
  /** PageSlab(): PG_slab in flags (up to 6.9), else the page type PGTY_slab (6.10+) */
  isSlab(flags: bigint, pageType: number): boolean;
  /** PageBuddy(): the page type, 6.1 style (PAGE_TYPE_BASE with PG_buddy cleared) or 6.10+ (PGTY_buddy in the top byte) */
  isBuddy(pageType: number): boolean;
  /** where page_type (or _mapcount, which it overlays) is in struct page */
  pageTypeOffset: number;
}

/** enum NAME's enumerators, name -> value, or an empty map when the types lack the enum. */
function enumValues(prog: Program, name: string): Map<string, number> {
  const out = new Map<string, number>();
  const id = prog.types.lookup('enum', name);
  if (id === undefined) return out;
  const t = resolve(prog.types, id).type;
  if (t.kind === 'enum') for (const v of t.values) out.set(v.name, Number(v.value));
  return out;
}

export function mem_map(prog: Program): MemMap {
  let m = cache.get(prog);
  if (m) return m;
  const pageLayout = StructLayout.of(prog, 'page');
  const base = directMapBase(prog, pageLayout.size);
  const flagNames = new Map<number, string>();
  let nrPageflags = 64;
  const id = prog.types.lookup('enum', 'pageflags');
  if (id !== undefined) {
    const t = resolve(prog.types, id).type;
    if (t.kind === 'enum') {
      for (const v of t.values) {
        if (v.name === '__NR_PAGEFLAGS') nrPageflags = Number(v.value);
      }
      for (const v of t.values) {
        const n = Number(v.value);
        if (n < nrPageflags && !flagNames.has(n)) flagNames.set(n, v.name.replace(/^PG_/, ''));
      }
    }
  }
  const byName = new Map([...flagNames].map(([b, n]) => [n, b]));
  const pgty = enumValues(prog, 'pagetype');
  const slabBit = byName.get('slab');
  const pgtySlab = pgty.get('PGTY_slab');
  const pgtyBuddy = pgty.get('PGTY_buddy');
  m = {
    pageTypeOffset: pageLayout.has('page_type') ? pageLayout.offset('page_type') : pageLayout.offset('_mapcount'),
    isSlab: (flags, pageType) =>
      slabBit !== undefined ? ((flags >> BigInt(slabBit)) & 1n) === 1n : pgtySlab !== undefined && pageType >>> 24 === pgtySlab,
    // 6.1: PAGE_TYPE_BASE 0xf0000000 with the type's bit (PG_buddy 0x80) cleared.
    isBuddy: (pageType) => (pgtyBuddy !== undefined ? pageType >>> 24 === pgtyBuddy : ((pageType & 0xf0000080) >>> 0) === 0xf0000000),
    ...base,
    page: pageLayout,
    pageSize: prog.mem.pageSize,
    maxPfn: Number(prog.mem.readU64(need(prog, 'max_pfn'))),
    minPfn: prog.mem instanceof Aarch64Memory && prog.symbol('min_low_pfn') !== undefined ? Number(prog.mem.readU64(prog.symbol('min_low_pfn')!)) : 0,
    flagNames,
    nrPageflags,
    bit(name: string) {
      const b = byName.get(name);
      if (b === undefined) throw new KernelReadError(`PG_${name}`, 'not in enum pageflags');
      return b;
    },
  };
  cache.set(prog, m);
  return m;
}

/** vmemmap, and the direct map's __va offset and start, as the architecture defines them. */
function directMapBase(prog: Program, pageStructSize: number): { vmemmap: bigint; pageOffset: bigint; directStart: bigint } {
  const mem = prog.mem;
  if (mem instanceof Aarch64Memory) {
    const s = mem.setup;
    const pageShift = BigInt(Math.log2(s.granule));
    // STRUCT_PAGE_MAX_SHIFT = order_base_2(sizeof(struct page))
    const structShift = BigInt(Math.ceil(Math.log2(pageStructSize)));
    const vmemmapStart = s.exported.VMEMMAP_START ?? BigInt.asUintN(64, -(1n << (BigInt(s.vaBits) - (pageShift - structShift))));
    return {
      vmemmap: BigInt.asUintN(64, vmemmapStart - (s.physOffset >> pageShift) * BigInt(pageStructSize)),
      pageOffset: BigInt.asUintN(64, mem.pageOffset - s.physOffset),
      directStart: mem.pageOffset,
    };
  }
  const vmemmapSym = prog.symbol('vmemmap_base');
  if (vmemmapSym === undefined) throw new KernelReadError('vmemmap_base', 'no such kernel symbol (only x86_64 and arm64 SPARSEMEM_VMEMMAP kernels are read)');
  const pageOffset = prog.mem.readU64(need(prog, 'page_offset_base'));
  return { vmemmap: prog.mem.readU64(vmemmapSym), pageOffset, directStart: pageOffset };
}

export function pfn_to_page(prog: Program, pfn: bigint): bigint {
  const m = mem_map(prog);
  return m.vmemmap + pfn * BigInt(m.page.size);
}

/** The pfn of a struct page address, or undefined when it is not inside the memory map. */
export function page_to_pfn(prog: Program, page: bigint): bigint | undefined {
  const m = mem_map(prog);
  if (page < m.vmemmap) return undefined;
  const off = page - m.vmemmap;
  const pfn = off / BigInt(m.page.size);
  return pfn < BigInt(m.maxPfn) ? pfn : undefined;
}

/** __va(): the direct-map address of a physical address. */
export function phys_to_virt(prog: Program, phys: bigint): bigint {
  return BigInt.asUintN(64, mem_map(prog).pageOffset + phys);
}

/** The page flag names set in `flags` (its low NR_PAGEFLAGS bits), lowest bit first. */
export function page_flag_names(prog: Program, flags: bigint): string[] {
  const m = mem_map(prog);
  const out: string[] = [];
  for (let b = 0; b < m.nrPageflags; b++) if ((flags >> BigInt(b)) & 1n) out.push(m.flagNames.get(b) ?? `bit${b}`);
  return out;
}

export interface PageInfo {
  page: bigint;
  pfn: bigint;
  phys: bigint;
  flags: bigint;
  flagNames: string[];
  refcount: number;
  /** page_mapcount(): _mapcount + 1 */
  mapcount: number;
  mapping: bigint;
  index: bigint;
  /** the head page when this is a tail of a compound page, else the page itself */
  head: bigint;
  /** the compound order of its head (0 for a single page) */
  order: number;
  tail: boolean;
}

/** Reads one struct page with what crash `kmem` shows of it. */
export function page_info(prog: Program, page: bigint): PageInfo {
  const m = mem_map(prog);
  const pfn = page_to_pfn(prog, page);
  if (pfn === undefined) throw new KernelReadError('struct page', `0x${page.toString(16)} is not in the memory map`);
  const v = m.page.read(prog, page);
  const flags = v.int('flags');
  const ch = v.int('compound_head');
  const tail = (ch & 1n) === 1n;
  const head = tail ? ch - 1n : page;
  let order = 0;
  const headFlags = tail ? prog.mem.readU64(head) : flags;
  let headBit: number | undefined;
  try {
    headBit = m.bit('head');
  } catch {
    headBit = undefined;
  }
  if (headBit !== undefined && (headFlags >> BigInt(headBit)) & 1n) order = compound_order(prog, head);
  return {
    page, pfn, phys: pfn * BigInt(m.pageSize), flags, flagNames: page_flag_names(prog, flags),
    refcount: v.num('_refcount.counter'), mapcount: v.num('_mapcount.counter') + 1,
    mapping: v.int('mapping'), index: v.int('index'), head, order, tail,
  };
}

/** compound_order(head): from the first tail page (6.1 `compound_order`; 6.6+ folio `_flags_1` low byte). */
export function compound_order(prog: Program, head: bigint): number {
  const m = mem_map(prog);
  const first = head + BigInt(m.page.size);
  if (m.page.has('compound_order')) return prog.mem.readU8(first + BigInt(m.page.offset('compound_order')));
  const folio = StructLayout.of(prog, 'folio');
  if (folio.has('_folio_order')) return prog.mem.readU8(head + BigInt(folio.offset('_folio_order')));
  if (folio.has('_flags_1')) return Number(prog.mem.readU64(head + BigInt(folio.offset('_flags_1'))) & 0xffn);
  throw new KernelReadError('compound_order', 'neither page.compound_order nor folio._flags_1 in these types');
}

/**
 * Every struct page from the first pfn (0; min_low_pfn on arm64) to max_pfn, read 64 at a time: `visit(pfn, bytes, offset)`
 * gets the raw bytes of each. Spans of the memory map the dump lacks are skipped and counted.
 */
export function for_each_page_bytes(prog: Program, visit: (pfn: number, bytes: Uint8Array, offset: number) => void): { skipped: number } {
  const m = mem_map(prog);
  const size = m.page.size;
  const batch = 64;
  let skipped = 0;
  for (let pfn = m.minPfn; pfn < m.maxPfn; pfn += batch) {
    const n = Math.min(batch, m.maxPfn - pfn);
    let bytes: Uint8Array;
    try {
      bytes = prog.mem.readBytes(m.vmemmap + BigInt(pfn * size), n * size);
    } catch {
      skipped += n;
      continue;
    }
    for (let i = 0; i < n; i++) visit(pfn + i, bytes, i * size);
  }
  return { skipped };
}
