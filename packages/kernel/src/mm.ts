/**
 * What a kernel address is, as crash `kmem ADDR` answers it, on x86_64 and arm64 (page.ts's
 * mem_map() gives each its memory map):
 *  - a `struct page` in the memory map (vmemmap_base ...): that page;
 *  - a direct-map address (page_offset_base ...): the page it lies in and, for a
 *    slab page, the slab object holding it (slab_object_info), or, for a page in
 *    the buddy allocator's free lists, the free block (PageBuddy, order in `private`);
 *  - a vmalloc address: the `struct vmap_area` holding it on `vmap_area_list`
 *    (mm/vmalloc.c; 6.1) and its `vm_struct` (size, caller), and the task whose
 *    stack it is (CONFIG_VMAP_STACK: `task_struct.stack`);
 *  - a kernel or module symbol;
 *  - and for every address that maps, the page behind it.
 * A task_struct (init_task, or a task_struct slab object) is named with its pid and comm.
 */
import { isTranslation } from '@vmpipe/addrxlat';
import { list_for_each_entry } from './list.js';
import { mem_map, page_info, page_to_pfn, pfn_to_page, type PageInfo } from './page.js';
import { slab_object_info, type SlabObjectInfo } from './slab.js';
import { StructLayout } from './struct-view.js';
import { KernelReadError } from './read.js';
import { for_each_task_info, type TaskInfo } from './task-info.js';
import type { Program } from './program.js';

export interface VmallocInfo {
  area: bigint;
  vm: bigint;
  start: bigint;
  end: bigint;
  /** vm_struct.size (includes the guard page) or va_end - va_start when there is no vm_struct */
  size: number;
  caller?: bigint;
}

export interface FreeBlockInfo {
  /** the first struct page of the free buddy block */
  page: bigint;
  order: number;
  /** which page of the block holds the address (0-based) */
  index: number;
}

export interface AddrInfo {
  addr: bigint;
  /** struct-page, slab-object, free-page, page (direct map), vmalloc, stack, kernel-text, kernel-data, module, unknown */
  what: string;
  symbol?: { name: string; offset: bigint; type: string; module?: string };
  page?: PageInfo;
  slab?: SlabObjectInfo;
  free?: FreeBlockInfo;
  vmalloc?: VmallocInfo;
  /** the task whose task_struct or stack this is */
  task?: TaskInfo;
  notes: string[];
}

/** for_each_vmap_area: every vmap_area on vmap_area_list (6.1; 6.9+ keeps per-node trees and no list), address order. */
export function* for_each_vmap_area(prog: Program): Generator<VmallocInfo> {
  const head = prog.symbol('vmap_area_list');
  if (head === undefined) throw new KernelReadError('vmap_area_list', 'no such kernel symbol (Linux 6.9+ keeps vmap areas per node: not read yet)');
  const va = StructLayout.of(prog, 'vmap_area');
  const vm = StructLayout.of(prog, 'vm_struct');
  for (const step of list_for_each_entry(prog, head, 'struct vmap_area', 'list', { max: 1 << 22, noPrevCheck: true })) {
    if ('corrupt' in step) throw new KernelReadError('vmap_area_list', step.corrupt.message);
    const v = va.read(prog, step.entry);
    const start = v.int('va_start');
    const end = v.int('va_end');
    const vmAddr = v.int('vm');
    const info: VmallocInfo = { area: step.entry, vm: vmAddr, start, end, size: Number(end - start) };
    if (vmAddr !== 0n) {
      try {
        const s = vm.read(prog, vmAddr);
        info.size = s.num('size');
        info.caller = s.int('caller');
      } catch {
        // the vm_struct is unreadable: the area's own bounds stand
      }
    }
    yield info;
  }
}

/** find_vmap_area(): the vmap_area holding `addr`, or undefined. */
export function find_vmap_area(prog: Program, addr: bigint): VmallocInfo | undefined {
  if (prog.symbol('vmap_area_list') === undefined) return undefined;
  for (const v of for_each_vmap_area(prog)) if (addr >= v.start && addr < v.end) return v;
  return undefined;
}

/** The free buddy block holding `pfn` (PageBuddy head at or below it, order from page.private), if any. */
export function free_block_of(prog: Program, pfn: bigint): FreeBlockInfo | undefined {
  const m = mem_map(prog);
  const typeOff = BigInt(m.pageTypeOffset);
  const privOff = BigInt(m.page.offset('private'));
  const isBuddy = (page: bigint) => m.isBuddy(prog.mem.readU32(page + typeOff));
  for (let order = 0; order <= 10; order++) {
    const start = pfn & ~((1n << BigInt(order)) - 1n);
    const page = pfn_to_page(prog, start);
    try {
      if (!isBuddy(page)) continue;
      const o = Number(prog.mem.readU64(page + privOff));
      if (o >= order && o <= 10 && pfn < start + (1n << BigInt(o))) return { page, order: o, index: Number(pfn - start) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What `addr` is: see the top of this file. `tasks` (for_each_task_info's) names stacks and task_structs. */
export function addr_info(prog: Program, addr: bigint, tasks?: TaskInfo[]): AddrInfo {
  const out: AddrInfo = { addr, what: 'unknown', notes: [] };
  const m = mem_map(prog);
  const allTasks = () => (tasks ??= [...for_each_task_info(prog)].flatMap((s) => ('info' in s ? [s.info] : [])));
  const soft = (what: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      out.notes.push(`${what}: ${(err as Error).message}`);
    }
  };
  const pagesEnd = m.vmemmap + BigInt(m.maxPfn * m.page.size);
  const directEnd = BigInt.asUintN(64, m.pageOffset + BigInt(m.maxPfn) * BigInt(m.pageSize));
  if (addr >= m.vmemmap && addr < pagesEnd) {
    out.what = 'struct-page';
    const pfn = page_to_pfn(prog, addr)!;
    soft('struct page', () => (out.page = page_info(prog, pfn_to_page(prog, pfn))));
    return out;
  }
  if (addr >= m.directStart && addr < directEnd) {
    out.what = 'page';
    soft('slab', () => {
      const s = slab_object_info(prog, addr);
      if (s) {
        out.slab = s;
        out.what = 'slab-object';
      }
    });
    if (!out.slab) {
      soft('free pages', () => {
        const f = free_block_of(prog, BigInt.asUintN(64, addr - m.pageOffset) / BigInt(m.pageSize));
        if (f) {
          out.free = f;
          out.what = 'free-page';
        }
      });
    }
  } else {
    const sym = prog.symbols.resolve(addr);
    if (sym) {
      out.symbol = { name: sym.symbol.name, offset: sym.offset, type: sym.symbol.type, ...(sym.symbol.module ? { module: sym.symbol.module } : {}) };
      out.what = sym.symbol.module ? 'module' : /^[tTwW]$/.test(sym.symbol.type) ? 'kernel-text' : 'kernel-data';
    }
    if (!sym || sym.symbol.module) {
      soft('vmalloc', () => {
        const v = find_vmap_area(prog, addr);
        if (v) {
          out.vmalloc = v;
          if (!sym) out.what = 'vmalloc';
        }
      });
    }
  }
  // Whose task_struct or stack is it?
  const taskStack = StructLayout.of(prog, 'task_struct');
  soft('tasks', () => {
    const objStart = out.slab?.object ?? addr;
    const t = allTasks().find((x) => x.task === objStart || (out.symbol && x.task === addr - out.symbol.offset));
    if (t) out.task = t;
    else if (out.vmalloc) {
      const stackOff = BigInt(taskStack.offset('stack'));
      const owner = allTasks().find((x) => prog.mem.readU64(x.task + stackOff) === out.vmalloc!.start);
      if (owner) {
        out.task = owner;
        out.what = 'stack';
      }
    }
  });
  if (!out.page) {
    const t = prog.mem.translate(addr);
    if (isTranslation(t)) {
      const pfn = t.paddr / BigInt(m.pageSize);
      if (pfn < BigInt(m.maxPfn)) soft('struct page', () => (out.page = page_info(prog, pfn_to_page(prog, pfn))));
    } else if (out.what === 'unknown') out.notes.push(t.message);
  }
  return out;
}

