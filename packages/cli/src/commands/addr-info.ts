import { Args } from '@oclif/core';
import { addr_info, for_each_task_info, panicCpu, slab_cache_info, type AddrInfo, type TaskInfo } from '@vmpipe/kernel';
import { hex, type AddrInfoRecord } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function addrInfoRecord(dump: string, a: AddrInfo, panicCpu: number | null): AddrInfoRecord {
  const r: AddrInfoRecord = { kind: 'addr-info', dump, addr: hex(a.addr), what: a.what };
  if (a.symbol) r.symbol = { name: a.symbol.name, offset: Number(a.symbol.offset), type: a.symbol.type, ...(a.symbol.module ? { module: a.symbol.module } : {}) };
  if (a.slab) {
    const s = a.slab;
    r.slab = { cache: hex(s.cache), name: s.cacheName, slab: hex(s.slab), slabStart: hex(s.slabStart), objects: s.objects, inuse: s.inuse, freeObjects: s.freeObjects, object: hex(s.object), objectSize: s.objectSize, free: s.free, ...(s.cpu !== undefined ? { cpu: s.cpu } : {}) };
  }
  if (a.free) r.free = { page: hex(a.free.page), order: a.free.order, index: a.free.index };
  if (a.vmalloc) {
    const v = a.vmalloc;
    r.vmalloc = { area: hex(v.area), vm: hex(v.vm), start: hex(v.start), end: hex(v.end), size: v.size, ...(v.caller !== undefined ? { caller: hex(v.caller) } : {}) };
  }
  if (a.task) {
    const t = a.task;
    r.task = { task: hex(t.task), pid: t.pid, comm: t.comm, cpu: t.cpu, state: t.state, running: t.running, panic: t.running && t.cpu === panicCpu };
  }
  if (a.page) {
    const p = a.page;
    r.page = { page: hex(p.page), pfn: Number(p.pfn), phys: hex(p.phys), flags: hex(p.flags), flagNames: p.flagNames, refcount: p.refcount, mapcount: p.mapcount, mapping: hex(p.mapping), index: hex(p.index), head: hex(p.head), order: p.order, tail: p.tail };
  }
  if (a.notes.length) r.notes = a.notes;
  return r;
}

export default class AddrInfoCommand extends VmpipeCommand {
  static override summary = 'What a kernel address is, like crash `kmem ADDR`: page, slab object, free page, vmalloc area, task stack, symbol.';
  static override description = [
    'For each ADDR (hex or a symbol) one addr-info record: `what` it is (struct-page, slab-object, free-page, page, vmalloc, stack, kernel-text, kernel-data, module, unknown), the struct page behind it (flags decoded, refcount, mapcount, compound head and order), the slab object holding it (cache, object start, allocated or free), the free buddy block, the vmap_area and vm_struct (caller), the task whose task_struct or stack it is, and its symbol.',
    'See docs/addr-info.md. Exit codes: 0 ok, 2 bad address, 3 missing file, 4 not a dump or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'addr-info'];
  static override examples = [
    '<%= config.bin %> addr-info fixtures/real/vmcore.kdump-zlib ffff8dce811f9900 ffffcf8400013a78 --format crash',
    '<%= config.bin %> addr-info fixtures/real/vmcore.kdump-zlib init_task | jq .task',
  ];
  static override strict = false;
  static override args = { dump: Args.string({ description: 'the dump', required: true }), addr: Args.string({ description: 'addresses (hex) or symbols', required: true }) };
  static override flags = { ...objectFlags };

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(AddrInfoCommand);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    const addrs = (argv as string[]).slice(1).map((text) => this.address(prog, text));
    await out.write(programSource(prog));
    let tasks: TaskInfo[] | undefined;
    let cpu: number | null = null;
    try {
      tasks = [...for_each_task_info(prog)].flatMap((s) => ('info' in s ? [s.info] : []));
      cpu = panicCpu(prog);
    } catch (err) {
      fatalKernel(err);
    }
    for (const a of addrs) {
      if (out.closed) break;
      const info = addr_info(prog, a, tasks);
      const r = addrInfoRecord(args.dump, info, cpu);
      if (r.task && tasks) {
        // Tasks sharing a pid (the idle tasks, pid 0): crash says which of them this is, `(1 of 2)`.
        const same = tasks.filter((t) => t.pid === r.task!.pid);
        if (same.length > 1) r.task.of = [same.findIndex((t) => t.task === info.task!.task) + 1, same.length];
      }
      if (info.slab && r.slab) {
        try {
          const c = slab_cache_info(prog, info.slab.cache);
          Object.assign(r.slab, { allocated: c.allocated, total: c.total, slabs: c.slabs, slabSize: c.slabSize });
        } catch {
          // the cache's counts are extra: the object's facts stand
        }
      }
      await out.write(r);
    }
    await out.end();
  }
}
