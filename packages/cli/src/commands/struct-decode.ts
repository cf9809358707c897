import { Args, Flags } from '@oclif/core';
import { kernelMemory, type KernelMemory } from '@vmpipe/addrxlat';
import { openDump, type Dump } from '@vmpipe/dump';
import { LineWriter, errorRecord, EXIT, FatalError, hex, parseAddress, readRecords, RecordWriter, type AnyRecord, type ObjectRecord, type OffsetRecord, type TypeRecord } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import { symbolsFor, type DumpSymbols } from '@vmpipe/symbols';
import {
  BtfError, Decoder, findType, layoutOf, memberAt, NoTypesError, readObject, sizeOf, SourceFileError, splitOffsetQuery, TypeLookupError, typesFor,
  type FoundType, type Json, type TypeTable,
} from '@vmpipe/types';
import { VmpipeCommand } from '../base.js';
import { sourceRecord } from '../dump-records.js';

interface Loaded {
  dump?: Dump;
  memory?: KernelMemory;
  symbols?: DumpSymbols;
  table: TypeTable;
}

export default class StructDecode extends VmpipeCommand {
  static override summary = 'Kernel types: layouts like `struct page -o` / `pahole -C`, offsets, and memory decoded by type.';
  static override description = [
    'struct-decode DUMP --layout TYPE: a type record (members with path, offset, size, type; bitfields with bitOffset/bitSize). --offset TYPE.MEMBER[.MEMBER...] answers one offset (page[2].deferred_list counts whole objects). Layouts need no dump: --btf FILE or --vmlinux FILE.',
    'struct-decode DUMP TYPE ADDR [--count N]: object records, one value per member (crash `struct page ADDR N`). Without TYPE ADDR and with records on stdin: a filter that decodes every record carrying addr (or a list-entry\'s entry) and type in place (--type overrides).',
    'Types come from --btf FILE, else --vmlinux FILE (its .BTF; DWARF with --dwarf), else the dump\'s own BTF (__start_BTF..__stop_BTF via kallsyms). See docs/struct-decode.md.',
    'Exit codes: 0 ok, 2 bad usage or unknown type/member, 3 missing file, 4 not a dump or corrupt type information.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib --layout page --format crash',
    '<%= config.bin %> struct-decode --btf fixtures/real/vmlinux.btf.zst --layout list_head --format pahole',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib --offset page[2].deferred_list',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib task_struct init_task --fields pid,comm | render',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib page 0xfffffc93c0040000 --count 5 --fields flags,_refcount',
  ];

  static override args = {
    dump: Args.string({ description: 'the dump (optional with --btf/--vmlinux layouts; filter mode takes each record\'s dump)', ignoreStdin: true }),
    type: Args.string({ description: 'type to decode: struct page, page, task_struct', ignoreStdin: true }),
    addr: Args.string({ description: 'address (hex) or symbol of the object', ignoreStdin: true }),
  };

  static override flags = {
    layout: Flags.string({ description: 'print the layout of this type', helpValue: 'TYPE' }),
    offset: Flags.string({ description: 'offset of one member: TYPE.MEMBER (page.lru, page[2].deferred_list, task_struct.se.vruntime)', helpValue: 'TYPE.MEMBER' }),
    expand: Flags.boolean({ description: 'expand named struct/union members in layouts' }),
    btf: Flags.string({ description: 'a raw BTF file (a copy of /sys/kernel/btf/vmlinux; .zst ok)', helpValue: 'FILE' }),
    vmlinux: Flags.string({ description: 'a vmlinux: its .BTF section (or DWARF with --dwarf)', helpValue: 'FILE' }),
    dwarf: Flags.boolean({ description: 'with --vmlinux, read DWARF even when .BTF is present' }),
    fields: Flags.string({ description: 'decode only these members (dotted paths ok)', helpValue: 'F,G' }),
    count: Flags.integer({ description: 'decode N consecutive objects', default: 1, min: 1 }),
    type: Flags.string({ description: 'filter mode: decode every record with addr as this type', helpValue: 'TYPE' }),
    deref: Flags.integer({ description: 'follow pointers to structs this many levels', default: 0, min: 0, max: 8 }),
    format: Flags.string({ description: 'json records, or text like crash / pahole', options: ['json', 'crash', 'pahole'], default: 'json' }),
  };

  private readonly cache = new Map<string, Promise<Loaded>>();
  private readonly opened: Dump[] = [];
  private dumpGiven = false;
  private flags!: Awaited<ReturnType<typeof this.parseAll>>['flags'];

  private parseAll() {
    return this.parse(StructDecode);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parseAll();
    this.flags = flags;
    this.dumpGiven = args.dump !== undefined;
    const out = this.writer();
    try {
      if (flags.layout !== undefined || flags.offset !== undefined) await this.layout(out, args.dump);
      else if (args.dump !== undefined && args.type !== undefined && args.addr !== undefined) await this.decode(out, args.dump, args.type, args.addr);
      else if (args.dump === undefined || args.type === undefined) await this.filter(out, args.dump);
      else throw new FatalError('give --layout TYPE, --offset TYPE.MEMBER, or TYPE ADDR', EXIT.usage);
      await out.end();
    } finally {
      for (const d of this.opened) d.close();
    }
  }

  /** NDJSON, or text through the renderers for --format crash/pahole. */
  private writer(): { write(r: AnyRecord): Promise<void>; end(): Promise<void>; closed: boolean } {
    if (this.flags.format === 'json') return new RecordWriter();
    const renderer = new Renderer({ color: false });
    const style = this.flags.format;
    const out = new LineWriter();
    const print = async (lines: string[]) => {
      if (lines.length) await out.line(lines.join('\n'));
    };
    return {
      get closed() {
        return out.closed;
      },
      async write(r) {
        if (r.kind === 'source') return;
        await print(renderer.render(r.kind === 'type' ? { ...r, style } : r));
      },
      async end() {
        await print(renderer.flush());
        await out.end();
      },
    };
  }

  /** Types (and the dump, memory and symbols when there is a dump) for one path, opened once. */
  private tableFor(path: string | undefined): Promise<Loaded> {
    const key = path ?? '';
    let c = this.cache.get(key);
    if (!c) {
      c = this.open(path);
      this.cache.set(key, c);
    }
    return c;
  }

  private async open(path: string | undefined): Promise<Loaded> {
    const f = this.flags;
    const loaded: Partial<Loaded> = {};
    if (path !== undefined) {
      const dump = openDump(path);
      this.opened.push(dump);
      const memory = kernelMemory(dump);
      let symbols: DumpSymbols | undefined;
      // Symbols are read only when needed (__start_BTF, or a symbol as ADDR).
      Object.defineProperty(loaded, 'symbols', { get: () => (symbols ??= symbolsFor(dump, { memory, ...(f.vmlinux ? { vmlinux: f.vmlinux } : {}) })) });
      Object.assign(loaded, { dump, memory });
    }
    if (loaded.memory && !f.btf && !f.vmlinux && loaded.symbols?.source === 'none') {
      // The dump's BTF is found through kallsyms: say why there are none rather than blame the kernel's config.
      const why = loaded.symbols.notes.join('; ') || 'no kallsyms in VMCOREINFO';
      throw new FatalError(`cannot find the dump's BTF without symbols (${why}); give --btf or --vmlinux`, EXIT.badFormat);
    }
    loaded.table = await typesFor({
      ...(f.btf ? { btf: f.btf } : {}),
      ...(f.vmlinux ? { vmlinux: f.vmlinux } : {}),
      preferDwarf: f.dwarf,
      ...(loaded.memory ? { memory: loaded.memory, symbol: (n: string) => loaded.symbols?.table.lookup(n)[0]?.addr } : {}),
    });
    return loaded as Loaded;
  }

  private fail(err: unknown): never {
    if (err instanceof TypeLookupError) throw new FatalError(err.message, EXIT.usage);
    if (err instanceof SourceFileError || (err instanceof Error && (err as { reason?: string }).reason === 'no-input')) throw new FatalError(err.message, EXIT.noInput);
    if (err instanceof NoTypesError && !this.flags.btf && !this.flags.vmlinux && !this.dumpGiven) throw new FatalError(err.message, EXIT.usage);
    if (err instanceof BtfError || err instanceof NoTypesError || (err instanceof Error && err.name === 'DwarfError')) throw new FatalError(err.message, EXIT.badFormat);
    throw err;
  }

  private where(path: string | undefined): { dump: string } | { debuginfo: string } {
    return path !== undefined ? { dump: path } : { debuginfo: this.flags.btf ?? this.flags.vmlinux ?? '' };
  }

  private async source(out: { write(r: AnyRecord): Promise<void> }, l: Loaded): Promise<void> {
    if (!l.dump) return;
    const s = sourceRecord(l.dump);
    s.types = l.table.source;
    // Symbols are read only when something needed them (dump BTF, a symbol as ADDR).
    if (l.table.source === 'btf-dump' && l.symbols) s.symbols = l.symbols.source;
    await out.write(s as unknown as AnyRecord);
  }

  private async layout(out: ReturnType<StructDecode['writer']>, path: string | undefined): Promise<void> {
    const f = this.flags;
    let l: Loaded;
    try {
      l = await this.tableFor(path);
    } catch (e) {
      this.fail(e);
    }
    await this.source(out, l);
    try {
      if (f.offset !== undefined) {
        const q = splitOffsetQuery(f.offset);
        const found = findType(l.table, q.type);
        const m = memberAt(l.table, found, q.path, q.index);
        const r: OffsetRecord = {
          kind: 'offset', ...this.where(path), type: found.name, member: m.path, offset: m.offset, size: m.size, memberType: m.type,
          typeSize: sizeOf(l.table, found.id), depth: m.depth, types: l.table.source,
        };
        if (q.index) r.index = q.index;
        if (m.bitSize) Object.assign(r, { bitOffset: m.bitOffset, bitSize: m.bitSize });
        await out.write(r as unknown as AnyRecord);
        return;
      }
      const found = findType(l.table, f.layout!);
      const lay = layoutOf(l.table, found, { expand: f.expand });
      const r: TypeRecord = { kind: 'type', ...this.where(path), name: lay.name, typeKind: lay.kind, size: lay.size, align: lay.align, members: lay.members, scopes: lay.scopes, types: l.table.source };
      if (lay.target) r.target = lay.target;
      if (lay.values) r.values = lay.values;
      if (lay.aligned) r.aligned = lay.aligned;
      await out.write(r as unknown as AnyRecord);
    } catch (e) {
      this.fail(e);
    }
  }

  private fieldList(): string[] | undefined {
    const list = this.flags.fields?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list && list.length === 0) throw new FatalError('--fields: no member names', EXIT.usage);
    return list;
  }

  /** Decodes `count` objects at addr; per-object problems become error records. */
  private *objects(l: Loaded, path: string, found: FoundType, addr: bigint, count: number, fields: string[] | undefined): Generator<AnyRecord> {
    const size = sizeOf(l.table, found.id);
    if (size === 0) throw new FatalError(`${found.name} has no size (a declaration only?)`, EXIT.usage);
    const picks = fields?.map((p) => ({ p, at: memberAt(l.table, found, p) }));
    const decoder = new Decoder(l.table, { deref: this.flags.deref, ...(l.memory ? { mem: l.memory } : {}) });
    for (let i = 0; i < count; i++) {
      const at = addr + BigInt(i * size);
      const obj = readObject(l.memory!, at, size);
      const whole = obj.holes.find((h) => h.start === 0 && h.end >= size);
      if (whole) {
        yield errorRecord(whole.code, `${found.name} at ${hex(at)}: ${whole.message}`, { dump: path, addr: hex(at), type: found.name });
        continue;
      }
      let value: { [k: string]: Json };
      if (picks) {
        value = {};
        // The object itself is on the path: a pointer back to it is a loop.
        for (const { p, at: m } of picks) value[p] = decoder.value(obj, m.typeId, 0, m.bitSize ? m.bitOffset! : m.offset * 8, m.bitSize ?? 0, 0, new Set([at]));
      } else value = decoder.value(obj, found.id, 0, 0, 0, 0, new Set([at])) as { [k: string]: Json };
      const r: ObjectRecord = { kind: 'object', dump: path, type: found.name, addr: hex(at), value };
      if (fields) r.fields = fields;
      if (count > 1) r.index = i;
      yield r as unknown as AnyRecord;
    }
  }

  private async address(l: Loaded, text: string): Promise<bigint> {
    const a = /^(0x)?[0-9a-f]+$/i.test(text) ? parseAddress(text.startsWith('0x') ? text : `0x${text}`) : null;
    if (a !== null) return a;
    const sym = l.symbols?.table.lookup(text)[0];
    if (!sym) throw new FatalError(`"${text}" is neither a hex address nor a symbol of the dump`, EXIT.usage);
    return sym.addr;
  }

  private async decode(out: ReturnType<StructDecode['writer']>, path: string, type: string, addrText: string): Promise<void> {
    let l: Loaded;
    try {
      l = await this.tableFor(path);
    } catch (e) {
      this.fail(e);
    }
    const fields = this.fieldList();
    const addr = await this.address(l, addrText);
    let found: FoundType;
    try {
      // Type and fields are checked before anything is printed.
      found = findType(l.table, type);
      for (const f of fields ?? []) memberAt(l.table, found, f);
    } catch (e) {
      this.fail(e);
    }
    await this.source(out, l);
    try {
      for (const r of this.objects(l, path, found, addr, this.flags.count, fields)) {
        if (out.closed) break;
        await out.write(r);
      }
    } catch (e) {
      this.fail(e);
    }
  }

  private async filter(out: ReturnType<StructDecode['writer']>, dumpArg: string | undefined): Promise<void> {
    const fields = this.fieldList();
    for await (const record of readRecords(process.stdin)) {
      if (out.closed) break;
      const path = dumpArg ?? (typeof record.dump === 'string' ? record.dump : undefined);
      const addrText = record.kind === 'list-entry' ? record.entry : record.addr;
      // A symbol record's `type` is its nm letter, not a C type: only --type decodes those.
      const typeText = this.flags.type ?? (record.kind === 'symbol' ? undefined : record.type);
      if (path === undefined || typeof addrText !== 'string' || typeof typeText !== 'string' || record.kind === 'error' || record.kind === 'type' || record.kind === 'offset') {
        await out.write(record);
        continue;
      }
      const addr = parseAddress(addrText);
      let l: Loaded;
      let found: FoundType;
      try {
        l = await this.tableFor(path);
        found = findType(l.table, typeText);
      } catch (e) {
        await out.write(record);
        await out.write(errorRecord(e instanceof TypeLookupError ? 'unknown-type' : 'no-types', (e as Error).message, { dump: path }));
        continue;
      }
      if (addr === null) {
        await out.write(record);
        continue;
      }
      for (const r of this.objects(l, path, found, addr, 1, fields)) {
        if (r.kind === 'object') {
          const annotated: AnyRecord = { ...record, value: r.value };
          if (fields) annotated.fields = fields;
          if (this.flags.type) annotated.decodedType = found.name;
          await out.write(annotated);
        } else {
          await out.write(record);
          await out.write(r);
        }
      }
    }
  }
}

