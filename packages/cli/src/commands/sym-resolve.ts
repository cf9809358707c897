import { Args, Flags } from '@oclif/core';
import type { Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, parseAddress, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { annotate, HexResolver, type KernelSymbol } from '@vmpipe/kernel';
import { exitCodeFor, programFlags, VmpipeCommand } from '../base.js';

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
    'vmcore-extract fixtures/real/vmcore.kdump-zlib --read 0xffffcf8400013a38 --length 0x100 | <%= config.bin %> sym-resolve | vmpipe-render',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib panic init_uts_ns | vmpipe-render',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --addr 0xffffffff89dcd0a8',
    '<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --addr ffffffffc0597230 | vmpipe-render',
    "<%= config.bin %> sym-resolve fixtures/real/vmcore.kdump-zlib --search '^sysrq_handle' | vmpipe-render",
  ];
  static override strict = false;
  static override consumes = ['*'];
  static override produces = ['symbol', 'error'];

  static override args = {
    // ignoreStdin: oclif would otherwise read a piped stdin into a missing argument and eat the records.
    dump: Args.string({ description: 'the dump (generator mode); without it, records are read from stdin', ignoreStdin: true }),
  };

  static override flags = {
    field: Flags.string({ description: 'comma-separated fields to resolve (filter mode)', helpValue: 'F,G' }),
    detail: Flags.boolean({ description: 'also add FSymDetail: name, offset, size, type, module' }),
    dump: Flags.string({ description: 'use this dump for every record instead of its "dump" field', helpValue: 'DUMP' }),
    symbols: Flags.string({ description: 'where symbols come from', options: ['auto', 'kallsyms', 'system-map', 'vmlinux'], default: 'auto' }),
    addr: Flags.boolean({ description: 'the arguments are addresses: the symbol containing each (crash sym ADDR)', exclusive: ['search', 'list'] }),
    search: Flags.string({ description: 'symbols whose name matches this regular expression (crash sym -q)', helpValue: 'REGEX', exclusive: ['list'] }),
    list: Flags.boolean({ description: 'every symbol, in address order' }),
    ...programFlags,
  };

  private readonly resolvers = new Map<Program, HexResolver>();
  private readonly unusable = new Set<Program>();

  async run(): Promise<void> {
    const { args, argv, flags } = await this.parse(SymResolve);
    if (flags.symbols === 'system-map' && !flags['system-map']) throw new FatalError('--symbols system-map needs --system-map FILE', EXIT.usage);
    if (flags.symbols === 'vmlinux' && !flags.vmlinux) throw new FatalError('--symbols vmlinux needs --vmlinux FILE', EXIT.usage);
    this.useProgramFlags(flags);
    const out = this.stream(new RecordWriter());
    if (args.dump !== undefined) await this.generate(out, args.dump, (argv as string[]).slice(1), flags);
    else {
      const fields = flags.field?.split(',').map((f) => f.trim()).filter((f) => f !== '');
      if (fields && fields.length === 0) throw new FatalError('--field: no field names', EXIT.usage);
      await this.filter(out, (record, prog) => this.annotateRecord(record, prog, fields, flags.detail), flags.dump === undefined ? {} : { dump: flags.dump });
    }
    await out.end();
  }

  /** The dump's symbols (kernel and modules) and a resolver over them; the first use tells the notes once. */
  private resolver(prog: Program): { resolver: HexResolver; notes: AnyRecord[] } {
    let resolver = this.resolvers.get(prog);
    if (resolver) return { resolver, notes: [] };
    resolver = new HexResolver(prog.symbols);
    this.resolvers.set(prog, resolver);
    for (const n of prog.notes) process.stderr.write(`sym-resolve: ${n}\n`);
    const notes: AnyRecord[] = [];
    if (prog.kernelSymbols.source === 'none') notes.push(errorRecord('no-symbols', 'no symbols for this dump: no kallsyms in VMCOREINFO and no --system-map/--vmlinux', { dump: prog.path }));
    else if (prog.symbol('modules') !== undefined) {
      try {
        for (const e of prog.modules.errors) {
          notes.push(errorRecord('module-symbols', e.message, { dump: prog.path, ...(e.module ? { module: e.module } : {}), ...(e.addr !== undefined ? { addr: hex(e.addr) } : {}) }));
        }
      } catch {
        // Modules could not be walked at all: prog.notes said why.
      }
    }
    return { resolver, notes };
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
    const prog = this.program(path);
    const { resolver, notes } = this.resolver(prog);
    for (const n of notes) await out.write(n);
    const table = prog.symbols;
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

  /** Filter mode: FSym companions for the record's address fields; notes about a dump follow its first record. */
  private *annotateRecord(record: AnyRecord, prog: Program, fields: string[] | undefined, detail: boolean): Generator<AnyRecord> {
    if (this.unusable.has(prog)) {
      yield record;
      return;
    }
    let r;
    try {
      r = this.resolver(prog);
    } catch (err) {
      // A bad --system-map/--vmlinux for this dump: its records pass through, said once.
      if (exitCodeFor(err) === undefined) throw err;
      this.unusable.add(prog);
      yield record;
      yield errorRecord('no-symbols', `${prog.path}: ${(err as Error).message}`, { dump: prog.path });
      return;
    }
    const { record: annotated, problems } = annotate(record, r.resolver, { fields, detail, inPlace: true });
    yield annotated as AnyRecord;
    yield* r.notes;
    for (const p of problems) {
      yield errorRecord('bad-address', `${record.kind} record: ${p.field} is not a hex address: ${JSON.stringify(p.value)}`, { dump: prog.path, field: p.field });
    }
  }
}
