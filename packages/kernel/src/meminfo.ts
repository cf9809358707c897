/**
 * The system's memory counters as crash `kmem -i` adds them up (crash's
 * memory.c dump_kmeminfo(), from the kernel's own counters: mm/vmstat.c,
 * fs/proc/meminfo.c, mm/util.c):
 *  - total: `_totalram_pages`; free: `vm_zone_stat[NR_FREE_PAGES]`;
 *  - shared and slab as crash counts them in its walk of the memory map: pages
 *    with a reference count above 1 that are not PG_reserved, and pages with PG_slab
 *    (the PGTY_slab page type from 6.10)
 *    (a slab's head page only: the kernel's NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B,
 *    /proc/meminfo's Slab, count every page and are `slabVmstat`);
 *  - buffers: nr_blockdev_pages(): the page-cache pages of every block device
 *    inode (`blockdev_superblock->s_inodes`);
 *  - cached: NR_FILE_PAGES - total_swapcache_pages() - buffers (fs/proc/meminfo.c);
 *  - huge pages: each `hstates[]` entry's nr_huge_pages/free_huge_pages in base pages;
 *  - swap: `total_swap_pages` and `nr_swap_pages` (free);
 *  - commit limit: vm_commit_limit() (overcommit_kbytes, else overcommit_ratio% of
 *    RAM less huge pages, plus swap); committed: the percpu_counter `vm_committed_as`,
 *    whose `count` is what crash prints; `committedSum` adds every CPU's delta
 *    (percpu_counter_sum() over all CPUs: after a panic stopped the others, the
 *    kernel's own sum over online CPUs would miss theirs).
 * Enum indexes (NR_FREE_PAGES, ...) come from the types, never from a kernel version.
 */
import { resolve } from '@vmpipe/types';
import { list_for_each_entry } from './list.js';
import { nr_cpu_ids, per_cpu_ptr } from './percpu.js';
import { KernelReadError, need } from './read.js';
import { StructLayout } from './struct-view.js';
import { totalram_pages } from './task-info.js';
import { for_each_page_bytes, mem_map } from './page.js';
import type { Program } from './program.js';

export interface MemInfo {
  pageSize: number;
  total: number;
  free: number;
  used: number;
  shared: number;
  buffers: number;
  cached: number;
  slab: number;
  /** NR_SLAB_RECLAIMABLE_B + NR_SLAB_UNRECLAIMABLE_B (pages), /proc/meminfo's Slab */
  slabVmstat: number;
  /** vm_node_stat[NR_SHMEM] (/proc/meminfo's Shmem) */
  shmem: number;
  /** vm_committed_as with every CPU's delta */
  committedSum: number;
  hugeTotal: number;
  hugeFree: number;
  swapTotal: number;
  swapUsed: number;
  swapFree: number;
  commitLimit: number;
  committed: number;
  /** facts that could not be read (their counters are 0) */
  notes: string[];
}

/** The value of enumerator `name` of `enum type`, from the types. */
export function enumerator(prog: Program, type: string, name: string): number {
  const id = prog.types.lookup('enum', type);
  if (id === undefined) throw new KernelReadError(`enum ${type}`, 'not in the type information');
  const t = resolve(prog.types, id).type;
  const v = t.kind === 'enum' ? t.values.find((x) => x.name === name) : undefined;
  if (!v) throw new KernelReadError(`${type}.${name}`, 'no such enumerator in these types');
  return Number(v.value);
}

/** global_zone_page_state(item): `vm_zone_stat[item]`. */
export function global_zone_page_state(prog: Program, item: string): number {
  return Number(BigInt.asIntN(64, prog.mem.readU64(need(prog, 'vm_zone_stat') + BigInt(8 * enumerator(prog, 'zone_stat_item', item)))));
}

/** global_node_page_state(item): `vm_node_stat[item]` (the _B slab items are in pages too). */
export function global_node_page_state(prog: Program, item: string): number {
  return Number(BigInt.asIntN(64, prog.mem.readU64(need(prog, 'vm_node_stat') + BigInt(8 * enumerator(prog, 'node_stat_item', item)))));
}

/** percpu_counter_sum(): `count` plus every possible CPU's s32 delta. */
export function percpu_counter_sum(prog: Program, counter: bigint): bigint {
  const pc = StructLayout.of(prog, 'percpu_counter').read(prog, counter);
  let v = pc.int('count');
  const counters = pc.int('counters');
  const nr = nr_cpu_ids(prog) ?? 1;
  if (counters !== 0n) for (let cpu = 0; cpu < nr; cpu++) v += BigInt.asIntN(32, BigInt(prog.mem.readU32(per_cpu_ptr(prog, counters, cpu))));
  return v;
}

/** nr_blockdev_pages(): page-cache pages of every block device inode. */
export function nr_blockdev_pages(prog: Program): number {
  const sbp = need(prog, 'blockdev_superblock');
  const sb = prog.mem.readU64(sbp);
  if (sb === 0n) return 0;
  const sbl = StructLayout.of(prog, 'super_block');
  const inode = StructLayout.of(prog, 'inode');
  const as = StructLayout.of(prog, 'address_space');
  let pages = 0;
  for (const step of list_for_each_entry(prog, sb + BigInt(sbl.offset('s_inodes')), 'struct inode', 'i_sb_list', { max: 1 << 20, noPrevCheck: true })) {
    if ('corrupt' in step) throw new KernelReadError('blockdev_superblock->s_inodes', step.corrupt.message);
    const mapping = prog.mem.readU64(step.entry + BigInt(inode.offset('i_mapping')));
    if (mapping !== 0n) pages += Number(prog.mem.readU64(mapping + BigInt(as.offset('nrpages'))));
  }
  return pages;
}

function readLong(prog: Program, name: string): number {
  return Number(BigInt.asIntN(64, prog.mem.readU64(need(prog, name))));
}

/** The numbers of crash `kmem -i`, in pages. */
export function si_meminfo(prog: Program): MemInfo {
  const notes: string[] = [];
  const soft = (what: string, f: () => number): number => {
    try {
      return f();
    } catch (err) {
      notes.push(`${what}: ${(err as Error).message}`);
      return 0;
    }
  };
  const total = totalram_pages(prog);
  const free = global_zone_page_state(prog, 'NR_FREE_PAGES');
  const shmem = soft('shmem', () => global_node_page_state(prog, 'NR_SHMEM'));
  let shared = 0;
  let slab = 0;
  soft('memory map', () => {
    const m = mem_map(prog);
    const flagsOff = m.page.offset('flags');
    const refOff = m.page.offset('_refcount');
    const reserved = BigInt(m.bit('reserved'));
    const typeOff = m.pageTypeOffset;
    const { skipped } = for_each_page_bytes(prog, (_pfn, bytes, o) => {
      const dv = new DataView(bytes.buffer, bytes.byteOffset + o, m.page.size);
      const flags = dv.getBigUint64(flagsOff, true);
      if (m.isSlab(flags, dv.getUint32(typeOff, true))) slab++;
      if (dv.getInt32(refOff, true) > 1 && !((flags >> reserved) & 1n)) shared++;
    });
    if (skipped) notes.push(`${skipped} struct pages are not in the dump: shared and slab count the others`);
    return 0;
  });
  const buffers = soft('buffers', () => nr_blockdev_pages(prog));
  const swapcache = soft('swap cache', () => {
    // total_swapcache_pages(): 0 without swap devices; with them, the swapper spaces' nrpages (not walked yet).
    if (readLong(prog, 'total_swap_pages') === 0) return 0;
    throw new KernelReadError('total_swapcache_pages', 'swap devices present: the swap cache is not subtracted from cached');
  });
  const cached = Math.max(0, soft('cached', () => global_node_page_state(prog, 'NR_FILE_PAGES')) - swapcache - buffers);
  const slabVmstat = soft('slab', () => global_node_page_state(prog, 'NR_SLAB_RECLAIMABLE_B') + global_node_page_state(prog, 'NR_SLAB_UNRECLAIMABLE_B'));
  let hugeTotal = 0;
  let hugeFree = 0;
  soft('huge pages', () => {
    const hstates = prog.symbol('hstates');
    if (hstates === undefined) return 0;
    const hs = StructLayout.of(prog, 'hstate');
    const n = readLong(prog, 'hugetlb_max_hstate');
    for (let i = 0; i < n; i++) {
      const h = hs.read(prog, hstates + BigInt(i * hs.size));
      const per = 1 << h.num('order');
      hugeTotal += h.num('nr_huge_pages') * per;
      hugeFree += h.num('free_huge_pages') * per;
    }
    return 0;
  });
  const swapTotal = soft('swap', () => readLong(prog, 'total_swap_pages'));
  const swapFree = soft('swap', () => readLong(prog, 'nr_swap_pages'));
  const commitLimit = soft('commit limit', () => {
    const kbytes = readLong(prog, 'sysctl_overcommit_kbytes');
    if (kbytes) return Math.floor(kbytes / (prog.theDump.pageSize / 1024)) + swapTotal;
    const ratio = prog.mem.readU32(need(prog, 'sysctl_overcommit_ratio'));
    return Math.floor(((total - hugeTotal) * ratio) / 100) + swapTotal;
  });
  const committed = soft('committed', () => Number(StructLayout.of(prog, 'percpu_counter').read(prog, need(prog, 'vm_committed_as')).int('count')));
  const committedSum = soft('committed', () => Number(percpu_counter_sum(prog, need(prog, 'vm_committed_as'))));
  return {
    pageSize: prog.theDump.pageSize, total, free, used: total - free, shared, buffers, cached, slab,
    hugeTotal, hugeFree, swapTotal, swapUsed: swapTotal - swapFree, swapFree, commitLimit, committed: Math.max(0, committed), notes,
    slabVmstat, shmem, committedSum,
  };
}
