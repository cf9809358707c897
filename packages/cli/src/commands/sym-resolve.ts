import { Args, Flags } from '@oclif/core';
import { Program, type ModuleProblem, type ProgramOptions } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, parseAddress, readRecords, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { annotate, HexResolver, SymbolFileError, type DumpSymbols, type KernelSymbol } from '@vmpipe/symbols';
import { VmpipeCommand } from '../base.js';

const EXIT_FOR_FILE = { 'no-input': EXIT.noInput, 'bad-format': EXIT.badFormat, mismatch: EXIT.badFormat } as const;

export default class SymResolve extends VmpipeCommand {
  static override summary = 'Kernel symbols: annotate addresses in a record stream, or look symbols up in a dump.';
  static override description = `As a filter (no DUMP argument): reads records on stdin and adds, for every address field
(addr, vaddr, pc, sp, entry, node, next, prev; regs of cpu records; words of mem records; or --field),
the companion field FSym ("name+0xoff"), with --detail FSymDetail. Records without address fields
pass through unchanged. The dump is each record's "dump" field unless --dump is given.
As a generator (DUMP given): symbol records for NAMEs, --addr ADDRs (crash sym), --search REGEX
(crash sym -q) or --list. Symbols come from kallsyms in the dump (Linux 6.0+), else --system-map,
else --vmlinux; a file that does not match the dump is refused unless --force. Loaded modules'
symbols are added (name+0xoff [module]) when the dump has BTF and a "modules" symbol. See docs/sym-resolve.md.`;
  static override examples = [
    'vmcore-extract fixtures/real/vmcore.kdump-zlib --read 0xffffcf8400013a38 --length 0x100 | <%= config.bin %> sym-resolve | render',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib panic init_uts_ns | render',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --addr 0xffffffff89dcd0a8',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --addr ffffffffc0597230 | render',
    "<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --search '^sysrq_handle' | render",
  ];
  static override strict = false;

  static override args = {
    // ignoreStdin: oclif would otherwise read a piped stdin into a missing argument and eat the records.
    dump: Args.string({ description: 'the dump (generator mode); without it, records are read from stdin', ignoreStdin: true }),
  };

  static override flags = {
    field: Flags.string({ description: 'comma-separated fields to resolve (filter mode)', helpValue: 'F,G' }),
    detail: Flags.boolean({ description: 'also add FSymDetail: name, offset, size, type, module' }),
    dump: Flags.string({ description: 'use this dump for every record instead of its "dump" field', helpValue: 'DUMP' }),
    'system-map': Flags.string({ description: 'a System.map (or .gz) for the dump', helpValue: 'FILE' }),
    vmlinux: Flags.string({ description: 'the dump\'s vmlinux (its ELF symtab)', helpValue: 'FILE' }),
    symbols: Flags.string({ description: 'where symbols come from', options: ['auto', 'kallsyms', 'system-map', 'vmlinux'], default: 'auto' }),
    force: Flags.boolean({ description: 'use a System.map or vmlinux that does not match the dump' }),
    addr: Flags.boolean({ description: 'the arguments are addresses: the symbol containing each (crash sym ADDR)' }),
    search: Flags.string({ description: 'symbols whose name matches this regular expression (crash sym -q)', helpValue: 'REGEX' }),
    list: Flags.boolean({ description: 'every symbol, in address order' }),
  };

  private options: ProgramOptions = {};
  private readonly cache = new Map<string, Loaded | Error>();

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(SymResolve);
    if (flags.symbols === 'system-map' && !flags['system-map']) throw new FatalError('--symbols system-map needs --system-map FILE', EXIT.usage);
    if (flags.symbols === 'vmlinux' && !flags.vmlinux) throw new FatalError('--symbols vmlinux needs --vmlinux FILE', EXIT.usage);
    this.options = { systemMap: flags['system-map'], vmlinux: flags.vmlinux, force: flags.force, symbols: flags.symbols as ProgramOptions['symbols'] };
    const out = new RecordWriter();
    try {
      if (args.dump !== undefined) await this.generate(out, args.dump, (argv as string[]).slice(1), flags);
      else await this.filter(out, flags);
      await out.end();
    } finally {
      for (const c of this.cache.values()) if (!(c instanceof Error)) c.prog.close();
    }
  }

  /** Opens a dump and reads its symbols once; failures are fatal in generator mode, error records in filter mode. */
  private async load(path: string): Promise<Loaded | Error> {
    let c = this.cache.get(path);
    if (!c) {
      try {
        const prog = Program.open(path, this.options);
        try {
          const table = prog.symbols;
          const symbols = prog.kernelSymbols;
          // The modules were read when the table needed them; their problems are per-module errors.
          let moduleErrors: ModuleProblem[] = [];
          try {
            if (symbols.source !== 'none' && prog.symbol('modules') !== undefined) moduleErrors = prog.modules.errors;
          } catch {
            moduleErrors = [];
          }
          c = { prog, symbols: { ...symbols, table, notes: prog.notes }, resolver: new HexResolver(table), moduleErrors };
        } catch (err) {
          prog.close();
          throw err;
        }
      } catch (err) {
        c = err as Error;
      }
      this.cache.set(path, c);
    }
    return c;
  }

  private async loadOrDie(path: string) {
    const c = await this.load(path);
    if (c instanceof SymbolFileError) throw new FatalError(c.message, EXIT_FOR_FILE[c.reason]);
    if (c instanceof Error) throw c;
    return c;
  }

  private async notes(out: RecordWriter, path: string, c: Loaded): Promise<void> {
    const s = c.symbols;
    for (const n of s.notes) process.stderr.write(`sym-resolve: ${n}\n`);
    if (s.source === 'none') await out.write(errorRecord('no-symbols', 'no symbols for this dump: no kallsyms in VMCOREINFO and no --system-map/--vmlinux', { dump: path }));
    for (const e of c.moduleErrors) {
      await out.write(errorRecord('module-symbols', e.message, { dump: path, ...(e.module ? { module: e.module } : {}), ...(e.addr !== undefined ? { addr: hex(e.addr) } : {}) }));
    }
  }

  private async generate(out: RecordWriter, path: string, names: string[], flags: { addr: boolean; search?: string; list: boolean }): Promise<void> {
    if (flags.addr && names.length === 0) throw new FatalError('--addr needs addresses', EXIT.usage);
    if (!flags.addr && !flags.search && !flags.list && names.length === 0) throw new FatalError('give symbol names, --addr ADDR..., --search REGEX or --list', EXIT.usage);
    let pattern: RegExp | undefined;
    if (flags.search !== undefined) {
      try {
        pattern = new RegExp(flags.search);
      } catch (err) {
        throw new FatalError(`--search: ${(err as Error).message}`, EXIT.usage);
      }
    }
    const addrs = flags.addr ? names.map((n) => ({ text: n, addr: parseAddress(n) })) : [];
    const bad = addrs.find((a) => a.addr === null);
    if (bad) throw new FatalError(`--addr: "${bad.text}" is not a hex address`, EXIT.usage);
    const loaded = await this.loadOrDie(path);
    const { symbols, resolver } = loaded;
    await this.notes(out, path, loaded);
    const table = symbols.table;
    const record = (s: KernelSymbol, extra: Record<string, unknown> = {}) => {
      const r: AnyRecord = { kind: 'symbol', dump: path, name: s.name, addr: hex(s.addr), type: s.type };
      if (s.size !== undefined) r.size = s.size;
      if (s.module) r.module = s.module;
      return Object.assign(r, extra);
    };
    const emit = async (list: Iterable<KernelSymbol>) => {
      for (const s of list) {
        if (out.closed) return;
        await out.write(record(s));
      }
    };
    if (flags.list) await emit(table.symbols);
    else if (pattern) await emit(table.search(pattern));
    else if (flags.addr) {
      for (const a of addrs) {
        const r = table.resolve(a.addr!);
        if (!r) await out.write(errorRecord('no-symbol', `no symbol contains ${hex(a.addr!)}`, { dump: path, addr: hex(a.addr!) }));
        else await out.write(record(r.symbol, { lookup: hex(a.addr!), offset: Number(r.offset), ...(r.symbol.size === undefined ? { extent: resolver.detail(r).size } : {}) }));
      }
    } else {
      for (const n of names) {
        const found = table.lookup(n);
        if (found.length === 0) await out.write(errorRecord('no-such-symbol', `no symbol named ${n}`, { dump: path, name: n }));
        else await emit(found);
      }
    }
  }

  private async filter(out: RecordWriter, flags: { field?: string; detail: boolean; dump?: string }): Promise<void> {
    const fields = flags.field?.split(',').map((f) => f.trim()).filter((f) => f !== '');
    if (fields && fields.length === 0) throw new FatalError('--field: no field names', EXIT.usage);
    const told = new Set<string>();
    for await (const record of readRecords(process.stdin)) {
      if (out.closed) break;
      const path = flags.dump ?? (typeof record.dump === 'string' ? record.dump : undefined);
      if (path === undefined || record.kind === 'error') {
        await out.write(record);
        continue;
      }
      const c = await this.load(path);
      // Notes about a dump follow its first record (its source record, in a vmcore-extract stream).
      const first = !told.has(path);
      told.add(path);
      if (c instanceof Error) {
        await out.write(record);
        if (first) await out.write(errorRecord('no-symbols', `${path}: ${c.message}`, { dump: path }));
        continue;
      }
      const { record: annotated, problems } = annotate(record, c.resolver, { fields, detail: flags.detail, inPlace: true });
      await out.write(annotated);
      if (first) await this.notes(out, path, c);
      for (const p of problems) {
        await out.write(errorRecord('bad-address', `${record.kind} record: ${p.field} is not a hex address: ${JSON.stringify(p.value)}`, { dump: path, field: p.field }));
      }
    }
  }
}

interface Loaded {
  prog: Program;
  symbols: DumpSymbols;
  resolver: HexResolver;
  moduleErrors: ModuleProblem[];
}
