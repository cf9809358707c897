/**
 * A copy of a real dump with some kernel memory changed, written with the
 * project's dump writer (@vmpipe/mkdump): the same pages, page tables,
 * VMCOREINFO, kallsyms and BTF, so list-walk and crash both read it as the
 * original kernel, except where a test broke a list on purpose.
 */
import { writeDumpFile } from '@vmpipe/mkdump';
import { offsetOf, Program } from '@vmpipe/kernel';

export interface Patch {
  vaddr: bigint;
  value: bigint; // one 64-bit word
}

/**
 * Writes `dst`: `src` with 64-bit words changed. A word in a page the dump
 * left out (a free page, excluded by the dump level) makes that page present,
 * zero but for what was written: room for lists the kernel never had.
 */
export async function patchedDump(src: string, dst: string, makePatches: (prog: Program) => Patch[]): Promise<void> {
  const prog = Program.open(src);
  try {
    const d = prog.theDump;
    const ps = BigInt(d.pageSize);
    const byPfn = new Map<number, { off: number; value: bigint }[]>();
    for (const p of makePatches(prog)) {
      const t = prog.mem.translate(p.vaddr);
      if (!('paddr' in t)) throw new Error(`patch at 0x${p.vaddr.toString(16)}: ${t.message}`);
      const pfn = Number(t.paddr / ps);
      const list = byPfn.get(pfn) ?? [];
      list.push({ off: Number(t.paddr % ps), value: p.value });
      byPfn.set(pfn, list);
    }
    const ranges = d.memoryRanges().map((r) => ({ paddr: r.start, pages: Number((r.end - r.start + ps - 1n) / ps) }));
    const excluded: number[] = [];
    const pages = new Map<number, Uint8Array>();
    for (const r of ranges) {
      for (let i = 0; i < r.pages; i++) {
        const paddr = r.paddr + BigInt(i) * ps;
        const pfn = Number(paddr / ps);
        const chunks = d.readPhysical(paddr, d.pageSize);
        const patches = byPfn.get(pfn);
        let bytes: Uint8Array;
        if (chunks.length === 1 && 'bytes' in chunks[0]!) bytes = chunks[0].bytes;
        else if (patches) bytes = new Uint8Array(d.pageSize); // a page the dump left out, written into: present from now on
        else {
          excluded.push(pfn);
          continue;
        }
        if (patches) {
          bytes = Uint8Array.from(bytes);
          const dv = new DataView(bytes.buffer);
          for (const p of patches) dv.setBigUint64(p.off, p.value, true);
        }
        pages.set(pfn, bytes);
      }
    }
    const kd = d as unknown as { physBase?: bigint };
    await writeDumpFile(dst, {
      format: 'kdump',
      arch: d.arch,
      pageSize: d.pageSize,
      vmcoreinfo: d.vmcoreinfo!.raw,
      ...(d.utsname ? { utsname: d.utsname } : {}),
      ...(d.crashTime ? { crashTime: Math.floor(d.crashTime.getTime() / 1000) } : {}),
      cpus: d.cpus.map((c) => ({ prstatusPid: c.prPid, regs: c.regs })),
      ranges,
      excluded,
      content: (pfn) => pages.get(pfn) ?? new Uint8Array(d.pageSize),
      ...(kd.physBase !== undefined ? { physBase: kd.physBase } : {}),
      dumpLevel: d.dumpLevel ?? 31,
    });
  } finally {
    prog.close();
  }
}

const LIST_POISON1 = 0xdead000000000100n;
const LIST_POISON2 = 0xdead000000000122n;

/** The nodes of a list as the kernel linked them (next from head), before any breakage. */
function nodesOf(prog: Program, head: bigint, count: number): bigint[] {
  const out: bigint[] = [];
  for (let n = prog.mem.readU64(head); n !== head && out.length < count; n = prog.mem.readU64(n)) out.push(n);
  return out;
}

const offset = (prog: Program, type: string, member: string) => BigInt(offsetOf(prog, type, member));

/** What `breakages` did, for the tests' expectations. */
export interface Broken {
  /** init_task.tasks (crash list -h): entries[5] deleted with list_del (both links poisoned) while entries[4] still points at it */
  tasks: { entries: bigint[]; freed: bigint };
  /** slab_caches: the prev of entries[10]'s node points at entries[12]'s node */
  slab: { entries: bigint[]; stray: bigint };
  /** super_blocks: next of entries[12]'s node is entries[3]'s node (a loop of 10 not back to the head) */
  supers: { entries: bigint[] };
  /** modules: next of entries[1]'s node points into a page the dump level excluded */
  modules: { entries: bigint[]; excluded: bigint };
  /** vmap_area_list: next of entries[20]'s node is non-canonical */
  vmap: { entries: bigint[]; value: bigint };
}

/**
 * One dump, five lists broken five ways (each walk meets one damage). The
 * entries are read from the original before the change; `out` gets them.
 */
export function breakages(out: Partial<Broken>): (prog: Program) => Patch[] {
  return (prog) => {
    const patches: Patch[] = [];
    const entries = (head: bigint, type: string, member: string, n: number, withHead = false) => {
      const off = offset(prog, type, member);
      return [...(withHead ? [head] : []), ...nodesOf(prog, head, n)].map((node) => node - off);
    };
    const tasksOff = offset(prog, 'task_struct', 'tasks');
    const tasks = entries(prog.symbol('init_task')! + tasksOff, 'task_struct', 'tasks', 20, true);
    patches.push({ vaddr: tasks[5]! + tasksOff, value: LIST_POISON1 }, { vaddr: tasks[5]! + tasksOff + 8n, value: LIST_POISON2 });
    out.tasks = { entries: tasks, freed: tasks[5]! };

    const slabOff = offset(prog, 'kmem_cache', 'list');
    const slab = entries(prog.symbol('slab_caches')!, 'kmem_cache', 'list', 200);
    patches.push({ vaddr: slab[10]! + slabOff + 8n, value: slab[12]! + slabOff });
    out.slab = { entries: slab, stray: slab[12]! + slabOff };

    const sbOff = offset(prog, 'super_block', 's_list');
    const supers = entries(prog.symbol('super_blocks')!, 'super_block', 's_list', 200);
    patches.push({ vaddr: supers[12]! + sbOff, value: supers[3]! + sbOff });
    out.supers = { entries: supers };

    // A page the dump level excluded, in the direct map (page_offset_base + its physical address).
    const pageOffset = prog.mem.readU64(prog.symbol('page_offset_base')!);
    const d = prog.theDump;
    let excluded: bigint | undefined;
    for (const r of d.memoryRanges()) {
      for (let p = r.start + 0x100000n; p < r.end && excluded === undefined; p += 4096n) {
        const c = d.readPhysical(p, 8);
        if (c.length === 1 && 'problem' in c[0]! && c[0].problem.code === 'page-excluded') excluded = pageOffset + p + 0x40n;
      }
    }
    const modOff = offset(prog, 'module', 'list');
    const mods = entries(prog.symbol('modules')!, 'module', 'list', 10);
    patches.push({ vaddr: mods[1]! + modOff, value: excluded! });
    out.modules = { entries: mods, excluded: excluded! };

    const vaOff = offset(prog, 'vmap_area', 'list');
    const vmap = entries(prog.symbol('vmap_area_list')!, 'vmap_area', 'list', 200);
    patches.push({ vaddr: vmap[20]! + vaOff, value: 0x4141414141414140n });
    out.vmap = { entries: vmap, value: 0x4141414141414140n };
    return patches;
  };
}

/**
 * A circular list of `count` list_heads, 64 bytes apart, laid in pages the
 * dump left out (free pages, reached through the direct map at
 * page_offset_base), with its head first: for benchmarks on lists longer than
 * any the fixture kernel had. Returns the head's address through `out`.
 */
export function longList(count: number, out: { head?: bigint }): (prog: Program) => Patch[] {
  return (prog) => {
    const d = prog.theDump;
    const pageOffset = prog.mem.readU64(prog.symbol('page_offset_base')!);
    const perPage = d.pageSize / 64;
    const need = Math.ceil((count + 1) / perPage);
    const slots: bigint[] = [];
    for (const r of d.memoryRanges()) {
      for (let p = r.start + 0x1000000n; p < r.end && slots.length < need * perPage; p += BigInt(d.pageSize)) {
        const c = d.readPhysical(p, 8);
        if (c.length === 1 && 'problem' in c[0]! && c[0].problem.code === 'page-excluded') {
          for (let i = 0; i < perPage; i++) slots.push(pageOffset + p + BigInt(i * 64));
        }
      }
    }
    if (slots.length < count + 1) throw new Error(`room for ${slots.length - 1} entries, not ${count}`);
    const ring = slots.slice(0, count + 1);
    out.head = ring[0]!;
    const patches: Patch[] = [];
    ring.forEach((node, i) => {
      patches.push({ vaddr: node, value: ring[(i + 1) % ring.length]! }, { vaddr: node + 8n, value: ring[(i + ring.length - 1) % ring.length]! });
    });
    return patches;
  };
}
