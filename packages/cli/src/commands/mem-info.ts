import { Args, Flags } from '@oclif/core';
import { for_each_slab_cache, si_meminfo, slab_cache_info, type MemInfo, type SlabCacheInfo } from '@vmpipe/kernel';
import { errorRecord, hex, type MemorySummaryRecord, type SlabCacheRecord } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

export function memorySummaryRecord(dump: string, m: MemInfo): MemorySummaryRecord & Record<string, unknown> {
  const pb = (pages: number) => ({ pages, bytes: pages * m.pageSize });
  const r: MemorySummaryRecord & Record<string, unknown> = {
    kind: 'memory-summary', dump, pageSize: m.pageSize,
    total: pb(m.total), free: pb(m.free), used: pb(m.used), shared: pb(m.shared), buffers: pb(m.buffers), cached: pb(m.cached), slab: pb(m.slab),
    hugeTotal: pb(m.hugeTotal), hugeFree: pb(m.hugeFree), swapTotal: pb(m.swapTotal), swapUsed: pb(m.swapUsed), swapFree: pb(m.swapFree),
    commitLimit: pb(m.commitLimit), committed: pb(m.committed),
    slabVmstat: pb(m.slabVmstat), shmem: pb(m.shmem), committedSum: pb(m.committedSum),
  };
  if (m.notes.length) r.notes = m.notes;
  return r;
}

export function slabCacheRecord(dump: string, s: SlabCacheInfo): SlabCacheRecord {
  const r: SlabCacheRecord = {
    kind: 'slab-cache', dump, cache: hex(s.cache), name: s.name, objectSize: s.objectSize, allocated: s.allocated, total: s.total,
    slabs: s.slabs, slabSize: s.slabSize, size: s.size,
  };
  if (s.notes.length) r.note = s.notes.join('; ');
  return r;
}

export default class MemInfoCommand extends VmpipeCommand {
  static override summary = 'The system\'s memory, like crash `kmem -i`, and its slab caches, like `kmem -s`.';
  static override description = [
    'A memory-summary record with crash kmem -i\'s numbers (total, free, used, shared, buffers, cached, slab, huge pages, swap, commit limit, committed), each as {pages, bytes}, from the kernel\'s counters and crash\'s walk of the memory map.',
    '--slabs: one slab-cache record per SLUB cache on slab_caches (object size, objects in use and in all, slabs, slab size), as crash kmem -s; --slab NAME for one. See docs/mem-info.md.',
    'Exit codes: 0 ok, 3 missing file, 4 not a dump, or no symbols/types.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'memory-summary', 'slab-cache', 'error'];
  static override examples = [
    '<%= config.bin %> mem-info fixtures/real/vmcore.kdump-zlib --format crash',
    '<%= config.bin %> mem-info fixtures/real/vmcore.kdump-zlib --slabs --format crash',
    '<%= config.bin %> mem-info fixtures/real/vmcore.kdump-zlib --slabs | jq -r \'select(.kind=="slab-cache") | [.allocated * .objectSize, .name] | @tsv\' | sort -n | tail',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }) };
  static override flags = {
    ...objectFlags,
    slabs: Flags.boolean({ description: 'the slab caches instead of the summary (crash kmem -s)' }),
    slab: Flags.string({ description: 'only the slab cache of this name (crash kmem -s NAME)', helpValue: 'NAME' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MemInfoCommand);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format));
    requireTypes(prog);
    await out.write(programSource(prog));
    try {
      if (!flags.slabs && flags.slab === undefined) {
        await out.write(memorySummaryRecord(args.dump, si_meminfo(prog)));
      } else {
        let matched = 0;
        for (const step of for_each_slab_cache(prog)) {
          if (out.closed) break;
          if ('corrupt' in step) {
            await out.write(errorRecord('slab-list-corrupt', `slab_caches is damaged: ${step.corrupt}; the caches read so far are listed`, { dump: args.dump }));
            break;
          }
          try {
            const info = slab_cache_info(prog, step.cache);
            if (flags.slab === undefined || info.name === flags.slab) {
              matched++;
              await out.write(slabCacheRecord(args.dump, info));
            }
          } catch (err) {
            await out.write(errorRecord('slab-cache-unreadable', `kmem_cache at ${hex(step.cache)}: ${(err as Error).message}`, { dump: args.dump, addr: hex(step.cache) }));
          }
        }
        if (flags.slab !== undefined && matched === 0) await out.write(errorRecord('no-such-cache', `no slab cache is named ${flags.slab}`, { dump: args.dump }));
      }
    } catch (err) {
      fatalKernel(err);
    }
    await out.end();
  }
}
