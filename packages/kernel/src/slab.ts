/**
 * SLUB slab caches (mm/slub.c, mm/slab.h, include/linux/slub_def.h; 6.1 to 6.12):
 *  - every cache is on `slab_caches` through `kmem_cache.list`;
 *  - per node, `kmem_cache.node[n]` holds `nr_slabs`, `total_objects`
 *    (CONFIG_SLUB_DEBUG) and the `partial` list of slabs (`struct slab.slab_list`);
 *  - per CPU, `kmem_cache.cpu_slab` (a per-CPU `struct kmem_cache_cpu`) holds the
 *    CPU's slab (`slab`, frozen: its free objects are on the CPU's `freelist` and,
 *    for objects freed from other CPUs, on the slab's own `freelist`) and a chain
 *    of partial slabs (`partial`, linked by `struct slab.next`);
 *  - a free object holds the next free object's address at `kmem_cache.offset`,
 *    with CONFIG_SLAB_FREELIST_HARDENED stored as
 *    `ptr ^ kmem_cache.random ^ swab64(address of the pointer)` (freelist_ptr()).
 * Counts follow crash `kmem -s` for SLUB: objects in use are the nodes'
 * total_objects less the free objects of the partial slabs, the CPU slabs and
 * the CPU partial slabs.
 */
import { list_for_each_entry, PageReader } from './list.js';
import { nr_cpu_ids, per_cpu_ptr } from './percpu.js';
import { KernelReadError, need } from './read.js';
import { StructLayout, type StructView } from './struct-view.js';
import { mem_map, page_to_pfn, pfn_to_page } from './page.js';
import type { Program } from './program.js';

export interface SlabCacheInfo {
  cache: bigint;
  name: string;
  objectSize: number;
  /** the stride between objects (object, metadata, padding) */
  size: number;
  allocated: number;
  total: number;
  slabs: number;
  slabSize: number;
  /** objects per slab (oo) */
  perSlab: number;
  /** problems that left counts incomplete */
  notes: string[];
}

const MAX_CACHES = 1 << 16;
const MAX_OBJECTS_PER_SLAB = 1 << 15; // slab.objects is a 15-bit field

interface SlabLayouts {
  cache: StructLayout;
  node: StructLayout;
  cpu: StructLayout;
  slab: StructLayout;
  hardened: boolean;
  nodes: number;
  cpus: number;
  /** the pages free pointers are read from (freelist_objects) */
  pages: PageReader;
}

const layouts = new WeakMap<Program, SlabLayouts>();

function slabLayouts(prog: Program): SlabLayouts {
  let l = layouts.get(prog);
  if (l) return l;
  const cache = StructLayout.of(prog, 'kmem_cache');
  if (!cache.has('cpu_slab') || !cache.has('node')) throw new KernelReadError('struct kmem_cache', 'not SLUB (no cpu_slab/node members): only SLUB is read');
  const slab = prog.types.lookup('struct', 'slab') !== undefined ? StructLayout.of(prog, 'slab') : StructLayout.of(prog, 'page');
  const nodesSym = prog.symbol('nr_node_ids');
  l = {
    cache, node: StructLayout.of(prog, 'kmem_cache_node'), cpu: StructLayout.of(prog, 'kmem_cache_cpu'), slab,
    hardened: cache.has('random'),
    nodes: nodesSym === undefined ? 1 : prog.mem.readU32(nodesSym),
    cpus: nr_cpu_ids(prog) ?? 1,
    pages: new PageReader(prog),
  };
  layouts.set(prog, l);
  return l;
}

const swabView = new DataView(new ArrayBuffer(8));

function swab64(v: bigint): bigint {
  swabView.setBigUint64(0, v, true);
  return swabView.getBigUint64(0, false);
}

export function freelist_next(prog: Program, cache: StructView, obj: bigint): bigint {
  const at = obj + BigInt(cache.num('offset'));
  const raw = prog.mem.readU64(at);
  return cache.has('random') ? raw ^ cache.int('random') ^ swab64(at) : raw;
}

/**
 * The objects of a freelist starting at `first`, bounded by `max` (a loop or garbage ends it).
 * The free pointers are read through the program's slab page reader: a slab's objects share a
 * page or a few, so one page read serves the whole list (MemoryError when one cannot be read).
 */
export function freelist_objects(prog: Program, cache: StructView, first: bigint, max: number): bigint[] {
  const pages = slabLayouts(prog).pages;
  const offset = BigInt(cache.num('offset'));
  const random = cache.has('random') ? cache.int('random') : undefined;
  const out: bigint[] = [];
  for (let p = first; p !== 0n && out.length < max; ) {
    out.push(p);
    const at = p + offset;
    const raw = pages.read(at);
    if (typeof raw !== 'bigint') throw raw;
    p = random === undefined ? raw : raw ^ random ^ swab64(at);
  }
  return out;
}

/** for_each_slab_cache: the kmem_cache addresses on `slab_caches`. */
export function* for_each_slab_cache(prog: Program): Generator<{ cache: bigint } | { corrupt: string }> {
  const l = slabLayouts(prog);
  for (const step of list_for_each_entry(prog, need(prog, 'slab_caches'), 'struct kmem_cache', 'list', { max: MAX_CACHES })) {
    if ('corrupt' in step) {
      yield { corrupt: step.corrupt.message };
      return;
    }
    yield { cache: step.entry };
  }
  void l;
}

function slabCounters(v: StructView): { inuse: number; objects: number; frozen: number } {
  return { inuse: v.num('inuse'), objects: v.num('objects'), frozen: v.num('frozen') };
}

/** One cache's counts as crash `kmem -s` prints them. */
export function slab_cache_info(prog: Program, cache: bigint): SlabCacheInfo {
  const l = slabLayouts(prog);
  const c = l.cache.read(prog, cache);
  const notes: string[] = [];
  const oo = c.num('oo.x');
  const order = oo >>> 16;
  const perSlab = oo & 0xffff;
  const info: SlabCacheInfo = {
    cache, name: prog.mem.readCString(c.int('name'), 64), objectSize: c.num('object_size'), size: c.num('size'),
    allocated: 0, total: 0, slabs: 0, slabSize: mem_map(prog).pageSize << order, perSlab, notes,
  };
  let free = 0;
  for (let n = 0; n < l.nodes; n++) {
    const nodeAddr = prog.mem.readU64(c.at(`node[${n}]`));
    if (nodeAddr === 0n) continue;
    const node = l.node.read(prog, nodeAddr);
    info.slabs += node.num('nr_slabs.counter');
    info.total += node.num('total_objects.counter');
    for (const step of list_for_each_entry(prog, node.at('partial'), l.slab.type.name, 'slab_list', { max: 1 << 22, noPrevCheck: true })) {
      if ('corrupt' in step) {
        notes.push(`node ${n} partial list: ${step.corrupt.message}`);
        break;
      }
      try {
        const s = slabCounters(l.slab.read(prog, step.entry));
        free += s.objects - s.inuse;
      } catch (err) {
        notes.push(`slab 0x${step.entry.toString(16)}: ${(err as Error).message}`);
      }
    }
  }
  const cpuSlab = c.int('cpu_slab');
  for (let cpu = 0; cpu < l.cpus; cpu++) {
    try {
      const kc = l.cpu.read(prog, per_cpu_ptr(prog, cpuSlab, cpu));
      const slabAddr = kc.int('slab');
      if (slabAddr !== 0n) {
        const s = slabCounters(l.slab.read(prog, slabAddr));
        free += s.objects - s.inuse + freelist_objects(prog, c, kc.int('freelist'), MAX_OBJECTS_PER_SLAB).length;
      }
      let partial = kc.opt('partial') ?? 0n;
      for (let guard = 0; partial !== 0n && guard < 4096; guard++) {
        const pv = l.slab.read(prog, partial);
        const s = slabCounters(pv);
        free += s.objects - s.inuse;
        partial = pv.int('next');
      }
    } catch (err) {
      notes.push(`CPU ${cpu}: ${(err as Error).message}`);
    }
  }
  info.allocated = Math.max(0, info.total - free);
  return info;
}

export interface SlabObjectInfo {
  cache: bigint;
  cacheName: string;
  /** the struct slab (struct page) of the slab holding the address */
  slab: bigint;
  /** the slab's first object (its page's direct-map address) */
  slabStart: bigint;
  objects: number;
  inuse: number;
  /** objects on the slab's freelist and, for a CPU slab, that CPU's freelist */
  freeObjects: number;
  /** the start of the object holding the address */
  object: bigint;
  objectSize: number;
  /** on a freelist (the slab's, or a CPU's freelist for a CPU slab) */
  free: boolean;
  /** the CPU whose slab it is, when it is one */
  cpu?: number;
}

/**
 * slab_object_info(addr): the slab object holding a direct-map address, or
 * undefined when its page is no slab page. Walks the freelists of its slab
 * (and of the CPU that holds the slab) to say whether it is free.
 */
export function slab_object_info(prog: Program, addr: bigint): SlabObjectInfo | undefined {
  const m = mem_map(prog);
  if (addr < m.directStart) return undefined;
  const pfn = BigInt.asUintN(64, addr - m.pageOffset) / BigInt(m.pageSize);
  if (pfn >= BigInt(m.maxPfn)) return undefined;
  let page = pfn_to_page(prog, pfn);
  const ch = prog.mem.readU64(page + BigInt(m.page.offset('compound_head')));
  if (ch & 1n) page = ch - 1n;
  const flags = prog.mem.readU64(page);
  if (!m.isSlab(flags, prog.mem.readU32(page + BigInt(m.pageTypeOffset)))) return undefined;
  const l = slabLayouts(prog);
  const sv = l.slab.read(prog, page);
  const cacheAddr = sv.int('slab_cache');
  const c = l.cache.read(prog, cacheAddr);
  const headPfn = page_to_pfn(prog, page)!;
  const slabStart = BigInt.asUintN(64, m.pageOffset + headPfn * BigInt(m.pageSize));
  const size = BigInt(c.num('size'));
  const redLeft = BigInt(c.opt('red_left_pad') ?? 0n);
  const { objects, inuse } = slabCounters(sv);
  const idx = (addr - slabStart - redLeft) / size;
  const object = slabStart + redLeft + (idx < 0n ? 0n : idx) * size;
  const freeSet = new Set(freelist_objects(prog, c, sv.int('freelist'), MAX_OBJECTS_PER_SLAB));
  let cpu: number | undefined;
  const cpuSlab = c.int('cpu_slab');
  for (let i = 0; i < l.cpus; i++) {
    const kc = l.cpu.read(prog, per_cpu_ptr(prog, cpuSlab, i));
    if (kc.int('slab') === page) {
      cpu = i;
      for (const o of freelist_objects(prog, c, kc.int('freelist'), MAX_OBJECTS_PER_SLAB)) freeSet.add(o);
    }
  }
  const info: SlabObjectInfo = {
    cache: cacheAddr, cacheName: prog.mem.readCString(c.int('name'), 64), slab: page, slabStart, objects, inuse,
    freeObjects: freeSet.size, object, objectSize: c.num('object_size'), free: freeSet.has(object),
  };
  if (cpu !== undefined) info.cpu = cpu;
  return info;
}
