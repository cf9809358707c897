/**
 * x86_64 kernel virtual address translation over a dump's physical memory.
 *
 * Follows: Intel SDM Vol. 3A ch. 4.5 (4-level and 5-level paging: 9-bit
 * indexes at bits 39/30/21/12, plus 48 for the PML5; PS bit 7 in a PDPTE maps
 * 1 GiB, in a PDE 2 MiB; XD bit 63), and the kernel's own words for them:
 * arch/x86/include/asm/pgtable_types.h (_PAGE_PRESENT ... _PAGE_NX,
 * __PHYSICAL_MASK with the SME encryption bit taken out), page_64_types.h
 * (__START_KERNEL_map, __PAGE_OFFSET_BASE_L4/L5, __VMALLOC_BASE_*,
 * __VMEMMAP_BASE_*), Documentation/x86/x86_64/mm.rst (the memory map), and
 * kernel/crash_core.c + arch/x86/kernel/machine_kexec_64.c (what VMCOREINFO
 * exports: SYMBOL(init_top_pgt), NUMBER(phys_base) as a signed %ld,
 * NUMBER(pgtable_l5_enabled), NUMBER(sme_mask), KERNELOFFSET).
 *
 * Every address goes through the page tables, as the CPU would: the only
 * address computed by formula is the page-table root itself, which sits in
 * the kernel image (text mapping: paddr = vaddr - __START_KERNEL_map +
 * phys_base). So the direct map at its randomized page_offset_base, vmalloc,
 * vmemmap, modules and the fixmap translate without knowing where KASLR put
 * them; `regions()` reports those bases when a symbol lookup is given.
 */
import { DumpError, type Dump } from '@vmpipe/dump';
import { MemoryError, PageTableMemory, type Translation, type TranslationFailure, type TranslationLevel } from './kernel-memory.js';

/** The kernel image is mapped here (before KASLR's KERNELOFFSET). */
export const START_KERNEL_MAP = 0xffffffff80000000n;

// pgtable_types.h: the bits of a page-table entry that matter here.
export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_PWT = 1n << 3n;
export const _PAGE_PCD = 1n << 4n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
export const _PAGE_PSE = 1n << 7n;
export const _PAGE_GLOBAL = 1n << 8n;
/** Same bit as GLOBAL: only meaningful when PRESENT is clear. */
export const _PAGE_PROTNONE = _PAGE_GLOBAL;
export const _PAGE_NX = 1n << 63n;

/** __PHYSICAL_MASK_SHIFT is 52: frame bits are 12..51 (before the SME bit is taken out). */
const PTE_PFN_MASK_BASE = ((1n << 52n) - 1n) & ~0xfffn;

const SIZE_4K = 4096;
const SIZE_2M = 2 * 1024 * 1024;
const SIZE_1G = 1024 * 1024 * 1024;

/** How many translations each size's cache keeps before it starts over. */
const CACHE_ENTRIES = 4096;

type Level = TranslationLevel['level'];

/** A walk that stopped, with the level whose entry (or table) stopped it. */
export interface X86_64TranslationFailure extends TranslationFailure {
  level?: Level;
}

export interface X86_64Setup {
  /** 5-level paging (LA57): NUMBER(pgtable_l5_enabled)=1. */
  fiveLevel: boolean;
  /** Physical address of the top page table. */
  rootPaddr: bigint;
  /** Virtual address of the top page table (init_top_pgt), as crash's `PGD DIRECTORY` shows it; undefined when the root came from CR3. */
  rootVaddr: bigint | undefined;
  /** NUMBER(phys_base): where the kernel image sits physically relative to its link address (signed). */
  physBase: bigint;
  /** KERNELOFFSET: KASLR's shift of the kernel image (0 when absent). */
  kernelOffset: bigint;
  /** NUMBER(sme_mask): the memory-encryption bit, taken out of every entry's frame address. */
  smeMask: bigint;
  /** Where each fact came from, for messages and the docs. */
  rootFrom: 'SYMBOL(init_top_pgt)' | 'SYMBOL(swapper_pg_dir)' | 'cr3' | 'kallsyms';
}

export interface Region {
  name: 'direct-map' | 'vmalloc' | 'vmemmap' | 'cpu-entry-area' | 'kernel-text' | 'modules' | 'fixmap';
  start: bigint;
  /** exclusive */
  end: bigint;
  /** `dump`: the base was read from the dump's variable; `layout`: the fixed layout of mm.rst (or the non-KASLR default). */
  from: 'dump' | 'layout';
}

/** Finds the address of a kernel symbol (the symbols package supplies it). */
export type SymbolLookup = (name: string) => bigint | undefined;

/** Reads the translation facts from VMCOREINFO (or QEMU's CR3); throws DumpError('unsupported') when there is no root. */
export function x86_64Setup(dump: Dump): X86_64Setup {
  const info = dump.vmcoreinfo;
  const physBase = x86_64PhysBase(dump);
  const kernelOffset = info?.kernelOffset ?? 0n;
  const smeMask = BigInt.asUintN(64, info?.numberOf('sme_mask') ?? 0n);
  // VMCOREINFO's SYMBOL() values are run-time addresses: KASLR is already in them.
  const top = info?.symbol('init_top_pgt');
  const swapper = info?.symbol('swapper_pg_dir');
  const rootVaddr = top ?? swapper;
  if (rootVaddr !== undefined) return x86_64SetupAt(dump, rootVaddr, top !== undefined ? 'SYMBOL(init_top_pgt)' : 'SYMBOL(swapper_pg_dir)');
  // No VMCOREINFO (a QEMU dump of a guest without fw_cfg): the CPU's own CR3 is a kernel root
  // for kernel addresses, since every process maps the kernel half alike.
  const cr3 = dump.cpus.find((c) => c.qemu?.['cr3'] !== undefined)?.qemu?.['cr3'];
  if (cr3 !== undefined) {
    const cr4 = dump.cpus.find((c) => c.qemu?.['cr4'] !== undefined)?.qemu?.['cr4'] ?? 0n;
    return { fiveLevel: (cr4 & (1n << 12n)) !== 0n, rootPaddr: cr3 & PTE_PFN_MASK_BASE & ~smeMask, rootVaddr: undefined, physBase, kernelOffset, smeMask, rootFrom: 'cr3' };
  }
  throw new DumpError('unsupported', 'cannot translate kernel addresses: VMCOREINFO has neither SYMBOL(init_top_pgt) nor SYMBOL(swapper_pg_dir), and no CPU note holds CR3 (--physical reads physical addresses)');
}

/**
 * The translation facts with the page-table root given by the caller (`init_top_pgt` found some
 * other way than VMCOREINFO: kallsyms read through `kernelImageMemory`).
 */
export function x86_64SetupAt(dump: Dump, rootVaddr: bigint, rootFrom: X86_64Setup['rootFrom']): X86_64Setup {
  const info = dump.vmcoreinfo;
  const physBase = x86_64PhysBase(dump);
  if (rootVaddr < START_KERNEL_MAP) throw new DumpError('unsupported', `page-table root 0x${rootVaddr.toString(16)} is not in the kernel image`);
  return {
    fiveLevel: info?.numberOf('pgtable_l5_enabled') === 1n,
    rootPaddr: BigInt.asUintN(64, rootVaddr - START_KERNEL_MAP + physBase),
    rootVaddr,
    physBase,
    kernelOffset: info?.kernelOffset ?? 0n,
    smeMask: BigInt.asUintN(64, info?.numberOf('sme_mask') ?? 0n),
    rootFrom,
  };
}

/** NUMBER(phys_base), else the kdump sub-header's phys_base, else 0. */
export function x86_64PhysBase(dump: Dump): bigint {
  return dump.vmcoreinfo?.numberOf('phys_base') ?? (dump as { physBase?: bigint }).physBase ?? 0n;
}

/**
 * The kernel image read through its own fixed mapping, without page tables: virtual
 * `__START_KERNEL_map + x` is physical `x + phys_base` (arch/x86/include/asm/page_64.h,
 * `__phys_addr_symbol`). Enough to read kallsyms (which sit in the image) when VMCOREINFO
 * has lost the page-table root. Throws MemoryError outside the image or for unreadable pages.
 */
export function kernelImageMemory(dump: Dump, physBase: bigint = x86_64PhysBase(dump)): { readBytes(vaddr: bigint, length: number): Uint8Array } {
  return {
    readBytes(vaddr: bigint, length: number): Uint8Array {
      if (vaddr < START_KERNEL_MAP || vaddr + BigInt(length) > START_KERNEL_MAP + KERNEL_IMAGE_MAX) {
        throw new MemoryError('not-mapped', vaddr, `0x${vaddr.toString(16)} is not in the kernel image mapping`);
      }
      const chunks = dump.readPhysical(BigInt.asUintN(64, vaddr - START_KERNEL_MAP + physBase), length);
      const bad = chunks.find((c) => 'problem' in c);
      if (bad && 'problem' in bad) throw new MemoryError(bad.problem.code, vaddr, bad.problem.message);
      return chunks.length === 1 ? (chunks[0] as { bytes: Uint8Array }).bytes : Buffer.concat(chunks.map((c) => (c as { bytes: Uint8Array }).bytes));
    },
  };
}

/** The image mapping's size: KERNEL_IMAGE_SIZE is at most 1 GiB (arch/x86/include/asm/page_64_types.h). */
const KERNEL_IMAGE_MAX = 1n << 30n;

interface CachedMapping {
  /** physical address of the start of the mapping */
  pbase: bigint;
  pageSize: number;
  levels: TranslationLevel[];
}

const hexs = (v: bigint) => '0x' + v.toString(16);

export class X86_64Memory extends PageTableMemory {
  readonly arch = 'x86_64' as const;
  readonly pageSize: number;
  readonly setup: X86_64Setup;
  private readonly physMask: bigint;
  protected readonly levelNames: Level[];
  protected readonly shifts: bigint[];
  // Keyed by page number as a JS number (vaddr >> 12 fits in 52 bits): number keys hash far faster than bigints.
  private readonly cache4k = new Map<number, CachedMapping>();
  private readonly cache2m = new Map<number, CachedMapping>();
  private readonly cache1g = new Map<number, CachedMapping>();

  constructor(readonly dump: Dump, setup?: X86_64Setup) {
    super();
    if (dump.arch !== 'x86_64') throw new DumpError('unsupported', `X86_64Memory on an ${dump.arch} dump`);
    this.pageSize = dump.pageSize;
    this.setup = setup ?? x86_64Setup(dump);
    this.physMask = PTE_PFN_MASK_BASE & ~this.setup.smeMask;
    this.levelNames = this.setup.fiveLevel ? ['pgd', 'p4d', 'pud', 'pmd', 'pte'] : ['pgd', 'pud', 'pmd', 'pte'];
    this.shifts = this.setup.fiveLevel ? [48n, 39n, 30n, 21n, 12n] : [39n, 30n, 21n, 12n];
  }

  /** The highest bit of a virtual address (47 with 4 levels, 56 with 5): bits above must copy it. */
  get vaBits(): number {
    return this.setup.fiveLevel ? 57 : 48;
  }

  isCanonical(vaddr: bigint): boolean {
    const top = vaddr >> BigInt(this.vaBits - 1);
    return top === 0n || top === (1n << BigInt(64 - this.vaBits + 1)) - 1n;
  }

  translate(vaddr: bigint): Translation | X86_64TranslationFailure {
    const hit = this.cached(vaddr);
    if (hit) return { vaddr, paddr: hit.pbase + (vaddr & BigInt(hit.pageSize - 1)), pageSize: hit.pageSize, levels: hit.levels, root: this.setup.rootVaddr };
    return this.walk(vaddr);
  }

  /** The walk itself, no cache: as crash's `vtop` does it. */
  walk(vaddr: bigint): Translation | X86_64TranslationFailure {
    if (vaddr < 0n || vaddr >= 1n << 64n) return { vaddr, code: 'non-canonical', message: `${hexs(vaddr)} is not a 64-bit address`, levels: [] };
    if (!this.isCanonical(vaddr)) {
      return { vaddr, code: 'non-canonical', message: `${hexs(vaddr)} is not canonical (bits 63..${this.vaBits - 1} must all be equal with ${this.setup.fiveLevel ? 5 : 4}-level paging)`, levels: [] };
    }
    const levels: TranslationLevel[] = [];
    let table = this.setup.rootPaddr;
    for (let i = 0; i < this.levelNames.length; i++) {
      const level = this.levelNames[i]!;
      const shift = this.shifts[i]!;
      const addr = table + ((vaddr >> shift) & 0x1ffn) * 8n;
      const entry = this.entryAt(addr);
      if (typeof entry !== 'bigint') {
        return { vaddr, code: entry.code, level, levels, message: `${hexs(vaddr)}: the ${level.toUpperCase()} table page at ${hexs(table)} cannot be read: ${entry.message}` };
      }
      levels.push({ level, addr, entry });
      if ((entry & _PAGE_PRESENT) === 0n) {
        return { vaddr, code: 'not-mapped', level, levels, message: `${hexs(vaddr)} is not mapped: ${level.toUpperCase()} entry ${hexs(entry)} at ${hexs(addr)} is not present` };
      }
      const frame = entry & this.physMask;
      // PS in a PUD entry maps 1 GiB, in a PMD entry 2 MiB; a PTE's bit 7 is PAT, never PS.
      if ((level === 'pud' || level === 'pmd') && (entry & _PAGE_PSE) !== 0n) {
        const pageSize = level === 'pud' ? SIZE_1G : SIZE_2M;
        const pbase = frame & ~BigInt(pageSize - 1);
        this.remember(vaddr, { pbase, pageSize, levels });
        return { vaddr, paddr: pbase + (vaddr & BigInt(pageSize - 1)), pageSize, levels, root: this.setup.rootVaddr };
      }
      if (level === 'pte') {
        this.remember(vaddr, { pbase: frame, pageSize: SIZE_4K, levels });
        return { vaddr, paddr: frame + (vaddr & 0xfffn), pageSize: SIZE_4K, levels, root: this.setup.rootVaddr };
      }
      table = frame;
    }
    throw new Error('unreachable: the walk ends at the PTE');
  }


  /**
   * The kernel's memory map (Documentation/x86/x86_64/mm.rst). The direct map,
   * vmalloc and vmemmap bases are randomized (CONFIG_RANDOMIZE_MEMORY): they are
   * read from page_offset_base, vmalloc_base and vmemmap_base when `lookup`
   * gives those variables' addresses, else the non-KASLR defaults are reported
   * with `from: 'layout'`. Translation never depends on these.
   */
  regions(lookup?: SymbolLookup): Region[] {
    const l5 = this.setup.fiveLevel;
    const base = (name: string, fallback: bigint): { at: bigint; from: 'dump' | 'layout' } => {
      const sym = lookup?.(name);
      if (sym !== undefined) {
        try {
          return { at: this.readU64(sym), from: 'dump' };
        } catch {
          // An unreadable variable is reported as the layout default.
        }
      }
      return { at: fallback, from: 'layout' };
    };
    // page_64_types.h / pgtable_64_types.h: __PAGE_OFFSET_BASE_L4/L5, __VMALLOC_BASE_L4/L5, __VMEMMAP_BASE_L4/L5.
    const pob = base('page_offset_base', l5 ? 0xff11000000000000n : 0xffff888000000000n);
    const vmb = base('vmalloc_base', l5 ? 0xffa0000000000000n : 0xffffc90000000000n);
    const vmm = base('vmemmap_base', l5 ? 0xffd4000000000000n : 0xffffea0000000000n);
    // Sizes from mm.rst: direct map 64 TB (L4) / 32 PB (L5); vmalloc 32 TB / 12.5 PB; vmemmap 1 TB / 0.5 PB.
    const directSize = l5 ? 1n << 55n : 1n << 46n;
    const vmallocSize = l5 ? (25n << 52n) / 2n : 1n << 45n;
    const vmemmapSize = l5 ? 1n << 49n : 1n << 40n;
    const textStart = START_KERNEL_MAP;
    return [
      { name: 'direct-map', start: pob.at, end: pob.at + directSize, from: pob.from },
      { name: 'vmalloc', start: vmb.at, end: vmb.at + vmallocSize, from: vmb.from },
      { name: 'vmemmap', start: vmm.at, end: vmm.at + vmemmapSize, from: vmm.from },
      { name: 'cpu-entry-area', start: 0xfffffe0000000000n, end: 0xffffff0000000000n, from: 'layout' },
      // KERNEL_IMAGE_SIZE is 1 GiB with KASLR (NUMBER(KERNEL_IMAGE_SIZE) says so on 6.x); modules follow it.
      { name: 'kernel-text', start: textStart, end: textStart + this.kernelImageSize(), from: 'layout' },
      { name: 'modules', start: textStart + this.kernelImageSize(), end: 0xffffffffff000000n, from: 'layout' },
      { name: 'fixmap', start: 0xffffffffff000000n, end: 0xffffffffff800000n, from: 'layout' },
    ];
  }

  /** Which region holds `vaddr`, if any (see regions()). */
  regionOf(vaddr: bigint, lookup?: SymbolLookup): Region | undefined {
    return this.regions(lookup).find((r) => vaddr >= r.start && vaddr < r.end);
  }

  private kernelImageSize(): bigint {
    const n = this.dump.vmcoreinfo?.numberOf('KERNEL_IMAGE_SIZE');
    return n !== undefined && n > 0n ? n : 1n << 30n;
  }

  private cached(vaddr: bigint): CachedMapping | undefined {
    const k4 = Number(vaddr >> 12n);
    return this.cache1g.get(Math.floor(k4 / 262144)) ?? this.cache2m.get(Math.floor(k4 / 512)) ?? this.cache4k.get(k4);
  }

  private remember(vaddr: bigint, m: CachedMapping): void {
    const k4 = Number(vaddr >> 12n);
    const [map, key] = m.pageSize === SIZE_1G ? [this.cache1g, Math.floor(k4 / 262144)] : m.pageSize === SIZE_2M ? [this.cache2m, Math.floor(k4 / 512)] : [this.cache4k, k4];
    // Bounded: a full cache starts over (random access gains nothing from LRU bookkeeping here).
    if (map.size >= CACHE_ENTRIES) map.clear();
    map.set(key, m);
  }

}
