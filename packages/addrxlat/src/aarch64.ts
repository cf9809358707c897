/**
 * arm64 (AArch64) kernel virtual address translation over a dump's physical memory.
 *
 * Follows: the Arm Architecture Reference Manual for A-profile, chapter D8
 * "The AArch64 Virtual Memory System Architecture" (VMSAv8-64): translation
 * granules 4K/16K/64K, (granule bits - 3) index bits per level, descriptor
 * bits[1:0] (0b11 table/page, 0b01 block, bit 0 clear invalid), the output
 * address in bits [47:granule] with OA[51:48] in bits [15:12] for 64K
 * (FEAT_LPA) and OA[51:50] in bits [9:8] for 4K/16K with FEAT_LPA2, the
 * contiguous hint (bit 52, which never changes the address a walk gives), and
 * top-byte-ignore (TBI: bits 63..56 take no part in a walk when enabled);
 * the kernel's Documentation/arch/arm64/memory.rst (the memory map:
 * PAGE_OFFSET = -(1 << VA_BITS) starts the linear map, then modules,
 * vmalloc, vmemmap; kernel image at KIMAGE_VADDR + KASLR);
 * arch/arm64/include/asm/memory.h (__phys_to_virt: (phys - PHYS_OFFSET) |
 * PAGE_OFFSET; __kimg_to_phys: va - kimage_voffset; vmemmap =
 * VMEMMAP_START - (memstart_addr >> PAGE_SHIFT) pages);
 * arch/arm64/include/asm/pgtable-hwdef.h (the levels' shifts and names);
 * and what arm64 exports to VMCOREINFO (arch/arm64/kernel/crash_core.c,
 * vmcore_info.c from 6.10): NUMBER(VA_BITS) (%d), NUMBER(kimage_voffset),
 * NUMBER(PHYS_OFFSET), NUMBER(TCR_EL1_T1SZ) (vabits_actual = 64 - T1SZ; 5.4..5.8
 * exported NUMBER(vabits_actual) itself),
 * NUMBER(KERNELPACMASK) (all "0x%llx"), NUMBER(MODULES_VADDR) ..
 * NUMBER(VMEMMAP_END) ("0x%lx", 6.0+), KERNELOFFSET (%lx), and the generic
 * SYMBOL(swapper_pg_dir) and PAGESIZE from kernel/crash_core.c.
 *
 * As on x86_64 every address goes through the page tables: the only address
 * computed by formula is the root (swapper_pg_dir, in the kernel image:
 * physical = virtual - kimage_voffset).
 */
import { DumpError, type Dump, type Vmcoreinfo } from '@vmpipe/dump';
import { PageTableMemory, type Translation, type TranslationFailure, type TranslationLevel } from './kernel-memory.js';

type Level = TranslationLevel['level'];

/** How many translations the cache keeps before it starts over. */
const CACHE_ENTRIES = 4096;

export interface Aarch64Setup {
  /** The translation granule: PAGESIZE (4096, 16384 or 65536). */
  granule: number;
  /** NUMBER(VA_BITS): the compile-time VA size; sets PAGE_OFFSET and the top table's index width. */
  vaBits: number;
  /** vabits_actual = 64 - TCR_EL1_T1SZ: the VA size the CPU was run with (48 for a 52-bit kernel on a CPU without LVA/LPA2). */
  vaBitsActual: number;
  /** 4K/16K granule with 52-bit VAs: descriptors in the FEAT_LPA2 format (OA[51:50] in bits [9:8]), levels folded to vabits_actual. */
  lpa2: boolean;
  /** Physical address of swapper_pg_dir. */
  rootPaddr: bigint;
  /** SYMBOL(swapper_pg_dir), as crash's `PAGE DIRECTORY` shows it. */
  rootVaddr: bigint;
  /** NUMBER(kimage_voffset): kernel image virtual minus physical. */
  kimageVoffset: bigint;
  /** NUMBER(PHYS_OFFSET) = memstart_addr, signed: negative under linear-map randomisation or 52-bit VA on 48-bit hardware. */
  physOffset: bigint;
  /** KERNELOFFSET (0 when absent). */
  kernelOffset: bigint;
  /** NUMBER(KERNELPACMASK): the pointer-authentication bits of kernel pointers (0 when PAC is off). */
  pacMask: bigint;
  /** NUMBER(MODULES_VADDR) .. NUMBER(VMEMMAP_END) when the kernel exports them (6.0+). */
  exported: Partial<Record<'MODULES_VADDR' | 'MODULES_END' | 'VMALLOC_START' | 'VMALLOC_END' | 'VMEMMAP_START' | 'VMEMMAP_END', bigint>>;
}

/**
 * A VMCOREINFO NUMBER() as arm64 writes it: "0x%llx" (kimage_voffset, PHYS_OFFSET,
 * TCR_EL1_T1SZ, KERNELPACMASK, the ranges) or "%d" (VA_BITS). Hex is read as
 * the unsigned 64-bit pattern it is; callers wanting a signed value use BigInt.asIntN.
 */
export function vmcoreinfoNumber(info: Vmcoreinfo | undefined, name: string): bigint | undefined {
  // Read raw: packages/dump's checks (today) refuse a NUMBER() that is not decimal, and arm64 writes hex.
  const v = info?.entries[`NUMBER(${name})`];
  if (v === undefined) return undefined;
  if (/^0x[0-9a-f]+$/i.test(v)) return BigInt.asUintN(64, BigInt(v));
  if (/^-?[0-9]+$/.test(v)) return BigInt(v);
  return undefined;
}

const GRANULES = new Set([4096, 16384, 65536]);

/** Reads the translation facts from VMCOREINFO; throws DumpError('unsupported') when they are missing. */
export function aarch64Setup(dump: Dump): Aarch64Setup {
  const info = dump.vmcoreinfo;
  if (!info) throw new DumpError('unsupported', 'cannot translate arm64 kernel addresses: the dump has no VMCOREINFO (QEMU needs -device vmcoreinfo / qemu_fw_cfg in the guest); --physical reads physical addresses');
  const granule = info.pageSize ?? dump.pageSize;
  if (!GRANULES.has(granule)) throw new DumpError('unsupported', `arm64 page size ${granule} is not a translation granule (4096, 16384, 65536)`);
  const vaBitsN = vmcoreinfoNumber(info, 'VA_BITS');
  if (vaBitsN === undefined) throw new DumpError('unsupported', 'cannot translate arm64 kernel addresses: VMCOREINFO has no NUMBER(VA_BITS)');
  const vaBits = Number(vaBitsN);
  // 5.9+: TCR_EL1_T1SZ; 5.4..5.8 exported vabits_actual itself.
  const t1sz = vmcoreinfoNumber(info, 'TCR_EL1_T1SZ');
  const actual = vmcoreinfoNumber(info, 'vabits_actual');
  const vaBitsActual = t1sz !== undefined && t1sz > 0n && t1sz < 64n ? 64 - Number(t1sz) : actual !== undefined ? Number(actual) : vaBits;
  if (vaBits < 36 || vaBits > 52 || vaBitsActual < 36 || vaBitsActual > vaBits) throw new DumpError('unsupported', `arm64 VA_BITS ${vaBits} (actual ${vaBitsActual}) is outside 36..52`);
  const kimageVoffset = vmcoreinfoNumber(info, 'kimage_voffset');
  if (kimageVoffset === undefined) throw new DumpError('unsupported', 'cannot translate arm64 kernel addresses: VMCOREINFO has no NUMBER(kimage_voffset)');
  const rootVaddr = info.symbol('swapper_pg_dir');
  if (rootVaddr === undefined) throw new DumpError('unsupported', 'cannot translate arm64 kernel addresses: VMCOREINFO has no SYMBOL(swapper_pg_dir)');
  const physOffset = BigInt.asIntN(64, vmcoreinfoNumber(info, 'PHYS_OFFSET') ?? (dump as { physBase?: bigint }).physBase ?? 0n);
  const exported: Aarch64Setup['exported'] = {};
  for (const k of ['MODULES_VADDR', 'MODULES_END', 'VMALLOC_START', 'VMALLOC_END', 'VMEMMAP_START', 'VMEMMAP_END'] as const) {
    const v = vmcoreinfoNumber(info, k);
    if (v !== undefined) exported[k] = v;
  }
  return {
    granule,
    vaBits,
    vaBitsActual,
    lpa2: granule !== 65536 && vaBitsActual === 52,
    rootPaddr: BigInt.asUintN(64, rootVaddr - kimageVoffset),
    rootVaddr,
    kimageVoffset,
    physOffset,
    kernelOffset: info.kernelOffset ?? 0n,
    pacMask: vmcoreinfoNumber(info, 'KERNELPACMASK') ?? 0n,
    exported,
  };
}

export interface Aarch64Region {
  name: 'linear-map' | 'modules' | 'vmalloc' | 'vmemmap' | 'kernel-image';
  start: bigint;
  /** exclusive */
  end: bigint;
  /** `vmcoreinfo`: exported by the kernel; `layout`: memory.rst's formula from VA_BITS */
  from: 'vmcoreinfo' | 'layout';
}

interface CachedMapping {
  pbase: bigint;
  pageSize: number;
  levels: TranslationLevel[];
}

const hexs = (v: bigint) => '0x' + v.toString(16);
const MASK64 = (1n << 64n) - 1n;

export class Aarch64Memory extends PageTableMemory {
  readonly arch = 'arm64' as const;
  readonly pageSize: number;
  readonly setup: Aarch64Setup;
  private readonly pageShift: bigint;
  protected readonly levelNames: Level[];
  protected readonly shifts: bigint[];
  private readonly indexMasks: bigint[];
  private readonly cache = new Map<string, CachedMapping>();

  constructor(readonly dump: Dump, setup?: Aarch64Setup) {
    super();
    if (dump.arch !== 'arm64') throw new DumpError('unsupported', `Aarch64Memory on an ${dump.arch} dump`);
    this.setup = setup ?? aarch64Setup(dump);
    this.pageSize = this.setup.granule;
    const pageShift = Math.log2(this.setup.granule);
    this.pageShift = BigInt(pageShift);
    const perLevel = pageShift - 3;
    // The kernel indexes swapper_pg_dir with its compile-time VA_BITS (a 52-bit 64K kernel on a
    // 48-bit CPU points TTBR1 into the same table, past the unused entries); LPA2 kernels fold
    // their top level away at run time when the CPU lacks 52-bit VAs.
    const walkBits = this.setup.lpa2 ? this.setup.vaBitsActual : this.setup.vaBits;
    const n = Math.ceil((walkBits - pageShift) / perLevel);
    this.shifts = Array.from({ length: n }, (_, i) => BigInt(pageShift + (n - 1 - i) * perLevel));
    this.indexMasks = this.shifts.map((s, i) => (i === 0 ? (1n << (BigInt(walkBits) - s)) - 1n : (1n << BigInt(perLevel)) - 1n));
    // crash's names: the top is the PGD, the bottom the PTE, the ones between as pgtable.h folds them.
    const below: Level[] = ['p4d', 'pud', 'pmd', 'pte'];
    this.levelNames = ['pgd', ...below.slice(below.length - (n - 1))];
  }

  /** Blocks exist at levels 1-2 of 4K (1G, 2M), level 2 of 16K (32M) and 64K (512M); larger ones only with FEAT_LPA(2), not used by Linux. */
  private get maxBlockShift(): bigint {
    return this.pageSize === 4096 ? 30n : this.pageSize === 16384 ? 25n : 29n;
  }

  get vaBits(): number {
    return this.setup.vaBitsActual;
  }

  /** A kernel (TTBR1) address: bits 63..vabits_actual all ones. */
  isCanonical(vaddr: bigint): boolean {
    return vaddr >> BigInt(this.setup.vaBitsActual) === (1n << BigInt(64 - this.setup.vaBitsActual)) - 1n;
  }

  /**
   * A kernel pointer without its pointer-authentication code and tag: what
   * xpaci does (bit 55 picks the half; the PAC and tag bits are set to it).
   * For return addresses on the stack and addresses users copy from them.
   */
  stripPointerAuth(vaddr: bigint): bigint {
    // No KERNELPACMASK: the kernel signs nothing (and top-byte tags need KASAN_SW_TAGS, which VMCOREINFO does not tell).
    if (((vaddr >> 55n) & 1n) === 0n || this.setup.pacMask === 0n) return vaddr;
    return (vaddr | this.setup.pacMask) & MASK64;
  }

  /** PAGE_OFFSET: the linear map's start, -(1 << VA_BITS) (compile-time VA_BITS). */
  get pageOffset(): bigint {
    return BigInt.asUintN(64, -(1n << BigInt(this.setup.vaBits)));
  }

  /** __phys_to_virt(): the linear-map address of a physical address. */
  physToVirt(paddr: bigint): bigint {
    return BigInt.asUintN(64, paddr - this.setup.physOffset) | this.pageOffset;
  }

  /** __pa() of a kernel image address, by formula (the walk gives the same). */
  kimageToPhys(vaddr: bigint): bigint {
    return BigInt.asUintN(64, vaddr - this.setup.kimageVoffset);
  }

  /**
   * The memory map (memory.rst): VMCOREINFO's ranges when exported (6.0+),
   * else the 6.x layout from VA_BITS. Translation never depends on these.
   */
  regions(): Aarch64Region[] {
    const s = this.setup;
    const pageEnd = (bits: number) => BigInt.asUintN(64, -(1n << BigInt(bits - 1)));
    // _PAGE_END(vabits_actual): the linear map ends half-way up the kernel half.
    const linearEnd = pageEnd(s.vaBitsActual);
    const vaBitsMin = s.vaBits > 48 ? 48 : s.vaBits;
    const modStart = s.exported.MODULES_VADDR ?? pageEnd(vaBitsMin);
    const modEnd = s.exported.MODULES_END ?? modStart + (128n << 20n);
    const from = (k: keyof Aarch64Setup['exported']) => (s.exported[k] !== undefined ? 'vmcoreinfo' : 'layout');
    const out: Aarch64Region[] = [{ name: 'linear-map', start: this.physToVirt(BigInt.asUintN(64, s.physOffset)), end: linearEnd, from: 'layout' }];
    out.push({ name: 'modules', start: modStart, end: modEnd, from: from('MODULES_VADDR') });
    if (s.exported.VMALLOC_START !== undefined && s.exported.VMALLOC_END !== undefined) out.push({ name: 'vmalloc', start: s.exported.VMALLOC_START, end: s.exported.VMALLOC_END, from: 'vmcoreinfo' });
    if (s.exported.VMEMMAP_START !== undefined && s.exported.VMEMMAP_END !== undefined) out.push({ name: 'vmemmap', start: s.exported.VMEMMAP_START, end: s.exported.VMEMMAP_END, from: 'vmcoreinfo' });
    return out;
  }

  translate(vaddr: bigint): Translation | TranslationFailure {
    const hit = this.cache.get(this.key(vaddr));
    if (hit) return { vaddr, paddr: hit.pbase + (vaddr & BigInt(hit.pageSize - 1)), pageSize: hit.pageSize, levels: hit.levels, root: this.setup.rootVaddr };
    return this.walk(vaddr);
  }

  /** The walk itself, no cache: as crash's arm64 `vtop` does it. */
  walk(vaddr: bigint): Translation | TranslationFailure {
    if (vaddr < 0n || vaddr > MASK64) return { vaddr, code: 'non-canonical', message: `${hexs(vaddr)} is not a 64-bit address`, levels: [] };
    if (((vaddr >> 55n) & 1n) === 0n) {
      return { vaddr, code: 'not-mapped', message: `${hexs(vaddr)} is a user (TTBR0) address: the kernel's swapper_pg_dir does not map it`, levels: [] };
    }
    if (!this.isCanonical(vaddr)) {
      return { vaddr, code: 'non-canonical', message: `${hexs(vaddr)} is not a kernel address (bits 63..${this.setup.vaBitsActual} must all be set with ${this.setup.vaBitsActual}-bit VAs${this.setup.pacMask !== 0n ? '; a PAC-signed pointer needs its code stripped first' : ''})`, levels: [] };
    }
    const levels: TranslationLevel[] = [];
    let table = this.setup.rootPaddr;
    const last = this.levelNames.length - 1;
    for (let i = 0; i <= last; i++) {
      const level = this.levelNames[i]!;
      const shift = this.shifts[i]!;
      const addr = table + ((vaddr >> shift) & this.indexMasks[i]!) * 8n;
      const entry = this.entryAt(addr);
      if (typeof entry !== 'bigint') {
        return { vaddr, code: entry.code, level, levels, message: `${hexs(vaddr)}: the ${level.toUpperCase()} table page at ${hexs(table)} cannot be read: ${entry.message}` };
      }
      // crash's arm64 vtop prints the entries' kernel virtual addresses: the PGD's in swapper_pg_dir, the rest in the linear map.
      levels.push({ level, addr, entry, vaddr: i === 0 ? this.setup.rootVaddr + (addr - this.setup.rootPaddr) : this.physToVirt(addr) });
      const type = entry & 3n;
      if ((entry & 1n) === 0n || (i === last && type !== 3n) || (i < last && type === 1n && shift > this.maxBlockShift)) {
        return { vaddr, code: 'not-mapped', level, levels, message: `${hexs(vaddr)} is not mapped: ${level.toUpperCase()} entry ${hexs(entry)} at ${hexs(addr)} is not a valid ${i === last ? 'page' : 'table or block'} descriptor` };
      }
      const oa = this.outputAddress(entry);
      if (i === last || type === 1n) {
        // A page (level 3) or a block (1G/2M on 4K, 32M on 16K, 512M on 64K): the contiguous
        // hint (bit 52) only says neighbours map alike, so each entry still gives its own address.
        const pageSize = 1 << Number(shift);
        const pbase = oa & ~BigInt(pageSize - 1);
        this.remember(vaddr, { pbase, pageSize, levels });
        return { vaddr, paddr: pbase + (vaddr & BigInt(pageSize - 1)), pageSize, levels, root: this.setup.rootVaddr };
      }
      table = oa;
    }
    throw new Error('unreachable: the walk ends at the PTE');
  }

  /** A descriptor's output address (VMSAv8-64 D8.3): the next table, the block or the page. */
  private outputAddress(entry: bigint): bigint {
    const low = entry & ((1n << 48n) - 1n) & ~((1n << this.pageShift) - 1n);
    if (this.pageSize === 65536) return low | (((entry >> 12n) & 0xfn) << 48n);
    if (this.setup.lpa2) return (low & ((1n << 50n) - 1n)) | (((entry >> 8n) & 3n) << 50n);
    return low;
  }


  private key(vaddr: bigint): string {
    return (vaddr >> this.pageShift).toString(36);
  }

  private remember(vaddr: bigint, m: CachedMapping): void {
    if (this.cache.size >= CACHE_ENTRIES) this.cache.clear();
    // Blocks are cached per granule page touched: simple, and a block's pages come one by one anyway.
    this.cache.set(this.key(vaddr), m);
  }

}
