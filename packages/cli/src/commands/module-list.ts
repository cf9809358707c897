import { Args, Flags } from '@oclif/core';
import { ko_index, module_btf, module_object_file, moduleSections, taint_letters, type KernelModule, type Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type AnyRecord, type ModuleRecord } from '@vmpipe/records';
import { layoutOf } from '@vmpipe/kernel';
import { VmpipeCommand } from '../base.js';
import { fatalKernel, objectFlags, programSource, requireTypes } from '../objects-program.js';
import { writerFor } from '../writer.js';

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

/** The structs and unions a module's split BTF defines (ids past the kernel's), as type records. */
export function moduleTypeRecords(dump: string, module: string, table: ReturnType<typeof module_btf>, style?: string): AnyRecord[] {
  const out: AnyRecord[] = [];
  for (const kind of ['struct', 'union'] as const) {
    for (const name of [...table.names(kind)].sort()) {
      const id = table.lookup(kind, name);
      if (id === undefined || id < table.startId) continue;
      const lay = layoutOf(table, { id, name: `${kind} ${name}` });
      out.push({ kind: 'type', dump, module, name: lay.name, typeKind: lay.kind, size: lay.size, align: lay.align, members: lay.members, scopes: lay.scopes, types: 'btf-dump', ...(lay.aligned ? { aligned: lay.aligned } : {}), ...(style ? { style } : {}) });
    }
  }
  return out;
}

/** The .ko fields of each module's record, from one index of DIR's .ko files. */
function koFinder(prog: Program, dir: string): (m: KernelModule) => Pick<ModuleRecord, 'ko' | 'koMatch' | 'koProblem'> {
  let index;
  try {
    index = ko_index(dir);
  } catch (err) {
    throw new FatalError(`--modules ${dir}: ${(err as Error).message}`, EXIT.noInput);
  }
  const release = prog.theDump.vmcoreinfo?.get('OSRELEASE');
  return (m) => {
    const f = module_object_file(prog, m, index, release);
    return 'path' in f ? { ko: f.path, koMatch: f.match } : { ko: null, koProblem: f.why };
  };
}

export default class ModuleList extends VmpipeCommand {
  static override summary = 'Loaded kernel modules, like crash `mod`: one module record each.';
  static override description = [
    'Walks the kernel\'s `modules` list with the dump\'s own types (BTF) and kallsyms: name, the struct module address, base and size of the core (crash mod\'s BASE/SIZE), every region (core_layout/init_layout up to 6.3, mem[] from 6.4), state, taint letters and refcount.',
    'Consumes nothing; produces source, module and error records. --format crash prints crash\'s `mod` table. --types MODULE: the structs and unions of the module\'s own split BTF (kept by the kernel on btf_modules), as type records (crash struct -o, or pahole -C with --format pahole). --modules DIR (crash mod -S): each module\'s .ko under DIR in `ko`, checked by the build-id in memory or by vermagic (`koMatch`, `koProblem`). --sections: each module\'s `sections`, name to address, as /sys/module/NAME/sections lists them (gdb\'s add-symbol-file). See docs/module-list.md.',
    'Exit codes: 0 ok, 3 missing file, 4 not a dump, or no symbols/types to find the modules with.',
  ].join('\n\n');
  static override consumes: readonly string[] = [];
  static override produces = ['source', 'module', 'type', 'error'];
  static override examples = [
    '<%= config.bin %> module-list fixtures/real/vmcore.kdump-zlib --format crash',
    '<%= config.bin %> module-list fixtures/real/vmcore.kdump-zlib | jq -r \'select(.kind=="module") | [.name, .state, .refcount] | @tsv\'',
  ];
  static override args = { dump: Args.string({ description: 'the dump', required: true }) };
  static override flags = {
    ...objectFlags,
    format: Flags.string({ description: 'json records, or text like crash (mod, struct -o) or pahole (with --types)', options: ['json', 'crash', 'pahole'], default: 'json' }),
    types: Flags.string({ description: 'the types of this module, from its split BTF in memory', helpValue: 'MODULE' }),
    sections: Flags.boolean({ description: 'where the loader put each section of each module (/sys/module/NAME/sections: what gdb add-symbol-file takes)' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ModuleList);
    this.useProgramFlags(flags);
    const prog = this.program(args.dump);
    const out = this.stream(writerFor(flags.format === 'pahole' ? 'crash' : flags.format));
    requireTypes(prog);
    let mods;
    try {
      mods = prog.modules;
    } catch (err) {
      fatalKernel(err);
    }
    await out.write(programSource(prog));
    if (flags.types !== undefined) {
      const m = mods.modules.find((x) => x.name === flags.types);
      if (!m) throw new FatalError(`no module ${flags.types} is loaded (loaded: ${mods.modules.map((x) => x.name).join(', ')})`, EXIT.usage);
      let table;
      try {
        table = module_btf(prog, m.addr);
      } catch (err) {
        fatalKernel(err);
      }
      for (const r of moduleTypeRecords(args.dump, m.name, table, flags.format === 'pahole' ? 'pahole' : flags.format === 'crash' ? 'crash' : undefined)) await out.write(r);
      await out.end();
      return;
    }
    const withKo = flags.modules === undefined ? undefined : koFinder(prog, flags.modules);
    for (const m of mods.modules) {
      if (out.closed) break;
      const r: ModuleRecord = withKo ? { ...moduleRecord(args.dump, m), ...withKo(m) } : moduleRecord(args.dump, m);
      let problem: AnyRecord | undefined;
      if (flags.sections) {
        try {
          r.sections = Object.fromEntries([...moduleSections(prog, m)].map(([name, addr]) => [name, hex(addr)]));
        } catch (err) {
          r.sections = null;
          problem = errorRecord('module-sections-unreadable', `${m.name}: its list of sections: ${(err as Error).message}`, { dump: args.dump, module: m.name, addr: hex(m.addr) });
        }
      }
      await out.write(r);
      if (problem) await out.write(problem);
    }
    for (const e of mods.errors) {
      await out.write(errorRecord('module-unreadable', e.message, { dump: args.dump, ...(e.addr !== undefined ? { addr: hex(e.addr) } : {}), ...(e.module ? { module: e.module } : {}) }));
    }
    await out.end();
  }
}
