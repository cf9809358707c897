import { Args, Flags } from '@oclif/core';
import type { Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, parseAddress, type AnyRecord, type ObjectRecord, type OffsetRecord, type TypeRecord } from '@vmpipe/records';
import { BtfError, Decoder, KernelReadError, layoutOf, memberAt, NoTypesError, readObject, sizeOf, splitModuleSpelling, splitOffsetQuery, TypeLookupError, type Json, type TypeIn } from '@vmpipe/kernel';
import { programFlags, VmpipeCommand } from '../base.js';
import { sourceRecord } from '../dump-records.js';
import { writerFor, type Out } from '../writer.js';

export default class StructDecode extends VmpipeCommand {
  static override summary = 'Kernel types: layouts like `struct page -o` / `pahole -C`, offsets, and memory decoded by type.';
  static override description = [
    'struct-decode DUMP --layout TYPE: a type record (members with path, offset, size, type; bitfields with bitOffset/bitSize). --offset TYPE.MEMBER[.MEMBER...] answers one offset (page[2].deferred_list counts whole objects). Layouts need no dump: --btf FILE or --vmlinux FILE.',
    'struct-decode DUMP TYPE ADDR [--count N]: object records, one value per member (crash `struct page ADDR N`); ADDR is hex, a symbol or SYMBOL.member. Without TYPE ADDR and with records on stdin: a filter that decodes every record carrying addr (or a list-entry\'s entry) and type in place (--type overrides).',
    'Types come from --btf FILE, else --vmlinux FILE (its .BTF; DWARF with --dwarf), else the dump\'s own BTF (__start_BTF..__stop_BTF via kallsyms). A type the kernel lacks is looked for in each loaded module\'s split BTF in memory; TYPE [module] names the module; --modules DIR gives a module without BTF its .ko\'s DWARF. See docs/struct-decode.md.',
    'Exit codes: 0 ok, 2 bad usage or unknown type/member, 3 missing file, 4 not a dump or corrupt type information.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib --layout page --format crash',
    '<%= config.bin %> struct-decode --btf fixtures/real/vmlinux.btf.zst --layout list_head --format pahole',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib --offset page[2].deferred_list',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib task_struct init_task --fields pid,comm | vmpipe-render',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib page 0xfffffc93c0040000 --count 5 --fields flags,_refcount',
    '<%= config.bin %> struct-decode fixtures/real/vmcore.kdump-zlib --layout \'fw_cfg_sysfs_entry [qemu_fw_cfg]\' --format crash',
  ];
  static override consumes = ['*'];
  static override produces = ['source', 'type', 'offset', 'object', 'error'];

  static override args = {
    dump: Args.string({ description: 'the dump (optional with --btf/--vmlinux layouts; filter mode takes each record\'s dump)', ignoreStdin: true }),
    type: Args.string({ description: 'type to decode: struct page, page, task_struct', ignoreStdin: true }),
    addr: Args.string({ description: 'address of the object: hex, a symbol, or SYMBOL.member', ignoreStdin: true }),
  };

  static override flags = {
    layout: Flags.string({ description: 'print the layout of this type', helpValue: 'TYPE', exclusive: ['offset'] }),
    offset: Flags.string({ description: 'offset of one member: TYPE.MEMBER (page.lru, page[2].deferred_list, task_struct.se.vruntime)', helpValue: 'TYPE.MEMBER', exclusive: ['layout'] }),
    expand: Flags.boolean({ description: 'expand named struct/union members in layouts' }),
    fields: Flags.string({ description: 'decode only these members (dotted paths ok)', helpValue: 'F,G' }),
    count: Flags.integer({ description: 'decode N consecutive objects', default: 1, min: 1 }),
    type: Flags.string({ description: 'filter mode: decode every record with addr as this type', helpValue: 'TYPE' }),
    deref: Flags.integer({ description: 'follow pointers to structs this many levels', default: 0, min: 0, max: 8 }),
    format: Flags.string({ description: 'json records, or text like crash / pahole', options: ['json', 'crash', 'pahole'], default: 'json' }),
    ...programFlags,
  };

  private flags!: Awaited<ReturnType<typeof this.parseAll>>['flags'];

  private parseAll() {
    return this.parse(StructDecode);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parseAll();
    this.flags = flags;
    this.useProgramFlags(flags);
    const fields = this.fieldList();
    const out = this.stream(writerFor(flags.format));
    if (flags.layout !== undefined || flags.offset !== undefined) await this.layout(out, args.dump);
    else if (args.dump !== undefined && args.type !== undefined && args.addr !== undefined) await this.decode(out, this.program(args.dump), args.type, args.addr, fields);
    else if (args.dump === undefined || args.type === undefined) await this.filter(out, (record, prog) => this.decodeInPlace(record, prog, fields), args.dump === undefined ? {} : { dump: args.dump });
    else throw new FatalError('give --layout TYPE, --offset TYPE.MEMBER, or TYPE ADDR', EXIT.usage);
    await out.end();
  }

  private fieldList(): string[] | undefined {
    const list = this.flags.fields?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (list && list.length === 0) throw new FatalError('--fields: no member names', EXIT.usage);
    return list;
  }

  private async layout(out: Out, path: string | undefined): Promise<void> {
    const f = this.flags;
    if (path === undefined && !f.btf && !f.vmlinux) throw new FatalError('layouts need a dump, --btf FILE or --vmlinux FILE', EXIT.usage);
    const prog = path === undefined ? this.debuginfoProgram() : this.program(path);
    const where = path !== undefined ? { dump: path } : { debuginfo: f.btf ?? f.vmlinux ?? '' };
    let record: OffsetRecord | TypeRecord;
    if (f.offset !== undefined) {
      const { name, module } = splitModuleSpelling(f.offset);
      const q = splitOffsetQuery(name);
      const { table, found, module: from } = findIn(prog, module === undefined ? q.type : `${q.type} [${module}]`);
      const m = memberAt(table, found, q.path, q.index);
      record = { kind: 'offset', ...where, type: found.name, member: m.path, offset: m.offset, size: m.size, memberType: m.type, typeSize: sizeOf(table, found.id), depth: m.depth, types: table.source };
      if (q.index) record.index = q.index;
      if (m.bitSize) Object.assign(record, { bitOffset: m.bitOffset, bitSize: m.bitSize });
      if (from !== undefined) record.module = from;
    } else {
      const { table, found, module: from } = findIn(prog, f.layout!);
      const lay = layoutOf(table, found, { expand: f.expand });
      record = { kind: 'type', ...where, name: lay.name, typeKind: lay.kind, size: lay.size, align: lay.align, members: lay.members, scopes: lay.scopes, types: table.source };
      if (lay.target) record.target = lay.target;
      if (lay.values) record.values = lay.values;
      if (lay.aligned) record.aligned = lay.aligned;
      if (from !== undefined) record.module = from;
    }
    if (path !== undefined) await out.write(sourceRecord(prog) as unknown as AnyRecord);
    await out.write(record as unknown as AnyRecord);
  }

  private async decode(out: Out, prog: Program, type: string, addrText: string, fields: string[] | undefined): Promise<void> {
    const addr = this.address(prog, addrText);
    // Type and fields are checked before anything is printed.
    const found = findIn(prog, type);
    for (const f of fields ?? []) memberAt(found.table, found.found, f);
    await out.write(sourceRecord(prog) as unknown as AnyRecord);
    // An address given as a bare symbol names the object (crash's `p jiffies`).
    const symbol = /^[A-Za-z_][\w$]*$/.test(addrText) && prog.symbol(addrText) !== undefined ? addrText : undefined;
    for (const r of this.objects(prog, found, addr, this.flags.count, fields)) {
      if (out.closed) break;
      await out.write(symbol && r.kind === 'object' ? { ...r, symbol } : r);
    }
  }

  /** Decodes `count` objects at addr; per-object problems become error records. */
  private *objects(prog: Program, t: TypeIn, addr: bigint, count: number, fields: string[] | undefined): Generator<AnyRecord> {
    const { table, found } = t;
    const size = sizeOf(table, found.id);
    if (size === 0) throw new FatalError(`${found.name} has no size (a declaration only?)`, EXIT.usage);
    const picks = fields?.map((p) => ({ p, at: memberAt(table, found, p) }));
    const decoder = new Decoder(table, { deref: this.flags.deref, mem: prog.mem });
    for (let i = 0; i < count; i++) {
      const at = addr + BigInt(i * size);
      const obj = readObject(prog.mem, at, size);
      const whole = obj.holes.find((h) => h.start === 0 && h.end >= size);
      if (whole) {
        yield errorRecord(whole.code, `${found.name} at ${hex(at)}: ${whole.message}`, { dump: prog.path, addr: hex(at), type: found.name });
        continue;
      }
      let value: { [k: string]: Json };
      if (picks) {
        value = {};
        // The object itself is on the path: a pointer back to it is a loop.
        for (const { p, at: m } of picks) value[p] = decoder.value(obj, m.typeId, 0, m.bitSize ? m.bitOffset! : m.offset * 8, m.bitSize ?? 0, 0, new Set([at]));
      } else value = decoder.value(obj, found.id, 0, 0, 0, 0, new Set([at])) as { [k: string]: Json };
      const r: ObjectRecord = { kind: 'object', dump: prog.path, type: found.name, addr: hex(at), value };
      if (t.module !== undefined) r.module = t.module;
      if (fields) r.fields = fields;
      if (count > 1) r.index = i;
      yield r as unknown as AnyRecord;
    }
  }

  /** Filter mode: a record with an address and a type gets its decoded value in place. */
  private *decodeInPlace(record: AnyRecord, prog: Program, fields: string[] | undefined): Generator<AnyRecord> {
    const addrText = record.kind === 'list-entry' ? record.entry : record.addr;
    // A symbol record's `type` is its nm letter, not a C type: only --type decodes those.
    const typeText = this.flags.type ?? (record.kind === 'symbol' ? undefined : record.type);
    const addr = typeof addrText === 'string' ? parseAddress(addrText) : null;
    if (addr === null || typeof typeText !== 'string' || record.kind === 'type' || record.kind === 'offset') {
      yield record;
      return;
    }
    let found: TypeIn;
    try {
      found = prog.findType(typeText);
    } catch (e) {
      if (!(e instanceof TypeLookupError || e instanceof NoTypesError || e instanceof BtfError || e instanceof KernelReadError)) throw e;
      yield record;
      yield errorRecord(e instanceof TypeLookupError ? 'unknown-type' : 'no-types', e.message, { dump: prog.path });
      return;
    }
    for (const r of this.objects(prog, found, addr, 1, fields)) {
      if (r.kind !== 'object') {
        yield record;
        yield r;
        continue;
      }
      const annotated: AnyRecord = { ...record, value: r.value };
      if (fields) annotated.fields = fields;
      if (this.flags.type) annotated.decodedType = found.found.name;
      yield annotated;
    }
  }
}

/** Program.findType, with a named module that is not loaded or has no BTF a usage error. */
function findIn(prog: Program, spelled: string): TypeIn {
  try {
    return prog.findType(spelled);
  } catch (err) {
    if (err instanceof KernelReadError && splitModuleSpelling(spelled).module !== undefined) throw new FatalError(err.message, EXIT.usage);
    throw err;
  }
}
