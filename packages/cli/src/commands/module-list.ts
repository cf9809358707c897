import { Args } from '@oclif/core';
import { taint_letters, type KernelModule } from '@vmpipe/kernel';
import { errorRecord, hex, type ModuleRecord } from '@vmpipe/records';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, openProgram, programSource, requireTypes, writerFor } from '../objects-program.js';

export function moduleRecord(dump: string, m: KernelModule): ModuleRecord {
  const r: ModuleRecord = {
    kind: 'module', dump, name: m.name, base: hex(m.base), size: m.size,
    regions: m.regions.map((g) => ({ name: g.name, base: hex(g.base), size: g.size })),
    state: m.state ?? null, taints: m.taints === undefined ? null : taint_letters(m.taints),
    addr: hex(m.addr), type: 'struct module', refcount: m.refcount ?? null, symbols: m.symbols,
  };
  if (m.taints !== undefined) r.taintMask = hex(m.taints);
  return r;
}

export default class ModuleList extends VmpipeCommand {
  static override summary = 'Loaded kernel modules, like crash `mod`: one module record each.';
  static override description = [
    'Walks the kernel\'s `modules` list with the dump\'s own types (BTF) and kallsyms: name, the struct module address, base and size of the core (crash mod\'s BASE/SIZE), every region (core_layout/init_layout up to 6.3, mem[] from 6.4), state, taint letters and refcount.',
    'Consumes nothing; produces source, module and error records. --format crash prints crash\'s `mod` table. See docs/module-list.md.',
    'Exit codes: 0 ok, 3 missing file, 4 not a dump, or no symbols/types to find the modules with.',
  ].join('\n\n');
  static consumes: string[] = [];
  static produces = ['source', 'module', 'error'];
  static override examples = [
    '<%= config.bin %> module-list fixtures/real/vmcore.kdump-zlib --format crash',
    '<%= config.bin %> module-list fixtures/real/vmcore.kdump-zlib | jq -r \'select(.kind=="module") | [.name, .state, .refcount] | @tsv\'',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }) };
  static override flags = { ...objectFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModuleList);
    const prog = openProgram(args.dump, flags);
    const out = writerFor(flags.format);
    try {
      requireTypes(prog);
      let mods;
      try {
        mods = prog.modules;
      } catch (err) {
        fatalKernel(err);
      }
      await out.write(programSource(prog));
      for (const m of mods.modules) {
        if (out.closed) break;
        await out.write(moduleRecord(args.dump, m));
      }
      for (const e of mods.errors) {
        await out.write(errorRecord('module-unreadable', e.message, { dump: args.dump, ...(e.addr !== undefined ? { addr: hex(e.addr) } : {}), ...(e.module ? { module: e.module } : {}) }));
      }
      await out.end();
    } finally {
      prog.close();
    }
  }
}
