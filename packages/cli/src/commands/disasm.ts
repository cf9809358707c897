import { Args, Flags } from '@oclif/core';
import { aarch64EffectiveAddress, aarch64PltTarget, Aarch64Disassembler, vmlinuxPatchSites, modulePatchSites, readPatchSites, type PatchSites, type Aarch64Instruction, type Aarch64Operand, type Aarch64MemoryOperand, vmlinuxArch, BUG_ENTRY_RELATIVE, CodeFileError, applyCodeRelocations, moduleCodeRelocations, type CodeRelocation, Disassembler, bugReport, parseBugTable, type BugEntryLayout, type BugSite, around, diffInstructions, effectiveAddress, isFtraceNop, membersAt, moduleCode, typeMembers, vmlinuxCode, type Instruction, type MemoryOperand, type Operand, type RegisterValues, type TypeMembers, type WalkStep } from '@vmpipe/disasm';
import { hexBytes, InsnJson } from '../insn-json.js';
import { cpu_feature_names, LineTable, moduleSections, moduleTableBounds, StructLayout, type Program } from '@vmpipe/kernel';
import { ByteLines, errorRecord, EXIT, FatalError, hex, parseAddress, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { programFlags, VmpipeCommand } from '../base.js';
import { sourceRecord } from '../dump-records.js';
import { InsnPieces, InsnWriter, type InsnWriterSource } from '../insn-writer.js';

export default class Disasm extends VmpipeCommand {
  static override consumes = ['cpu', 'frame', 'panic'];
  static override produces = ['source', 'insn', 'error'];
  static override summary = 'Disassemble the code that ran: a function, a range, or the instructions around an address (crash dis), as insn records.';
  static override description = [
    'disasm DUMP SYMBOL: the whole function (its extent from the symbols). disasm DUMP ADDR --count N | --length N. disasm DUMP --around ADDR [N]: N instructions before and after ADDR, boundaries found by decoding from the function\'s start (crash dis -r/-f).',
    'Without a target, a filter: each cpu record (rip), frame record (pc) and panic record (rip) is passed on followed by the instructions around it; the instruction at that address has "current": true and, with the cpu record\'s registers, the effective address of its memory operands.',
    'Bytes come from the dump\'s memory (what ran); --from-vmlinux/--from-module read the file instead and --diff puts both side by side. AT&T syntax as objdump/crash print it; --intel for Intel. arm64 dumps (or an arm64 --from-vmlinux): AArch64 as aarch64-linux-gnu-objdump prints it (capstone). See docs/disasm.md.',
    'Exit codes: 0 ok, 2 bad usage or unknown symbol, 3 missing file, 4 not a dump.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> disasm fixtures/real/vmcore.kdump-zlib sysrq_handle_crash | vmpipe-render',
    '<%= config.bin %> disasm fixtures/real/vmcore.kdump-zlib --around 0xffffffff89dcd0a8 3 | vmpipe-render',
    'vmcore-extract fixtures/real/vmcore.kdump-zlib | <%= config.bin %> disasm | vmpipe-render',
    '<%= config.bin %> disasm fixtures/real/vmcore.kdump-zlib kmem_cache_free --sites | vmpipe-render',
  ];

  static override args = {
    dump: Args.string({ description: 'the dump (filter mode: each record\'s dump)', ignoreStdin: true }),
    target: Args.string({ description: 'a symbol, symbol+0xoff, or hex address', ignoreStdin: true }),
    n: Args.integer({ description: 'with --around: instructions before and after (default 5)', ignoreStdin: true }),
  };

  static override flags = {
    count: Flags.integer({ description: 'disassemble N instructions from ADDR', min: 1 }),
    length: Flags.integer({ description: 'disassemble the instructions in N bytes from ADDR', min: 1 }),
    around: Flags.string({ description: 'the instructions around this address (crash dis -r/-f)', helpValue: 'ADDR' }),
    context: Flags.integer({ description: 'filter mode: instructions before and after the current one', default: 5, min: 0 }),
    intel: Flags.boolean({ description: 'Intel syntax (objdump -M intel)' }),
    'from-vmlinux': Flags.string({ description: 'read the bytes from this vmlinux (as linked, before boot-time patching)', helpValue: 'FILE' }),
    'from-module': Flags.string({ description: 'read a module function\'s bytes from this .ko (relocations not applied; with --diff they are)', helpValue: 'FILE.ko' }),
    diff: Flags.boolean({ description: 'memory against --from-vmlinux FILE or --from-module FILE.ko, instruction by instruction' }),
    'member-of': Flags.string({ description: 'name the member of TYPE at each memory operand\'s displacement (page[2].deferred_list); TYPE:REG only for operands based on REG', helpValue: 'TYPE[:REG]' }),
    lines: Flags.boolean({ description: 'source file and line of each instruction from the --vmlinux FILE\'s DWARF .debug_line (crash dis -l)' }),
    sites: Flags.boolean({ description: 'mark the instructions the kernel patches at boot, from its own tables in the dump: static keys (with the key and whether it is on) and static calls (alternatives: --diff --from-vmlinux; their table is freed after boot)' }),
    ...programFlags,
  };

  private prog!: Program;
  private flags!: Awaited<ReturnType<typeof this.parseAll>>['flags'];
  private dis!: Disassembler | Aarch64Disassembler;
  /** the disassembler of each architecture met (filter mode reads records of any dump) */
  private readonly disByArch = new Map<string, Disassembler | Aarch64Disassembler>();
  private memberType?: TypeMembers;
  /** --lines: the vmlinux's line table, looked up at link-time addresses (the dump's KASLR offset taken off) */
  private lineTable?: LineTable;
  /** insn records' JSON text; --member-of's names join memory operands (set in run, from the flags) */
  private json = new InsnJson();

  private parseAll() {
    return this.parse(Disasm);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parseAll();
    this.flags = flags;
    this.useProgramFlags(flags);
    if (flags['member-of']) {
      this.json = new InsnJson((o) => {
        const member = this.memberAt(o);
        return member ? { member } : undefined;
      });
    }
    if (flags.lines && !flags.vmlinux) throw new FatalError('--lines needs --vmlinux FILE (a vmlinux with DWARF, from the -dbg package)', EXIT.usage);
    if (flags.diff && !flags['from-vmlinux'] && !flags['from-module']) throw new FatalError('--diff needs --from-vmlinux FILE or --from-module FILE.ko', EXIT.usage);
    if (flags.lines) {
      process.stderr.write(`disasm: reading the line tables of ${flags.vmlinux}...\n`);
      this.lineTable = new LineTable(flags.vmlinux!);
    }
    const out = this.stream(new RecordWriter());
    if (args.dump !== undefined && (args.target !== undefined || flags.around !== undefined)) {
      this.prog = this.program(args.dump);
      // The architecture: the vmlinux's ELF e_machine when the bytes come from it, else the dump's.
      const fromFile = flags['from-vmlinux'] && !flags.diff ? flags['from-vmlinux'] : undefined;
      await this.useArch(fromFile ? elfArch(fromFile) : this.prog.theDump.arch);
      // `disasm DUMP --around ADDR N`: N lands in the first free argument.
      const n = args.n ?? (args.target !== undefined && /^\d+$/.test(args.target) ? Number(args.target) : 5);
      const records = flags.around !== undefined ? this.around(this.address(this.prog, flags.around), n, n, undefined) : await this.generate(args.target!);
      await out.write(this.source());
      for (const r of records) {
        if (out.closed) break;
        if (r instanceof Uint8Array) {
          await out.bytes(r);
          this.lines.recycle(r);
        } else await out.write(r);
      }
    } else {
      await this.filter(out, (record, prog) => this.annotateAsync(record, prog), args.dump === undefined ? {} : { dump: args.dump });
    }
    await out.end();
  }

  /** x86_64 (iced-x86) or arm64 (capstone, loaded on first use). */
  private async makeDisassembler(arch: string, symbolize: (a: bigint) => string | undefined): Promise<Disassembler | Aarch64Disassembler> {
    if (arch === 'arm64') {
      if (this.flags.intel) throw new FatalError('--intel is x86 syntax; arm64 code has one syntax', EXIT.usage);
      return Aarch64Disassembler.create({ symbolize });
    }
    return new Disassembler({ syntax: this.flags.intel ? 'intel' : 'att', symbolize });
  }

  private async useArch(arch: string): Promise<void> {
    let d = this.disByArch.get(arch);
    if (!d) {
      d = await this.makeDisassembler(arch, (a) => this.symbolize(a));
      this.disByArch.set(arch, d);
    }
    this.dis = d;
  }

  private async *annotateAsync(record: AnyRecord, prog: Program): AsyncGenerator<AnyRecord> {
    await this.useArch(prog.theDump.arch);
    yield* this.annotate(record, prog);
  }

  /**
   * hex, SYMBOL, SYMBOL.member[i] (the common parser), and SYMBOL+OFFSET as traces print it.
   * Function names with dots (`__handle_sysrq.cold`, `panic_print_sys_info.part.0`) are symbols
   * first, not member paths.
   */
  protected override address(prog: Program, text: string, flag?: string): bigint {
    const m = /^(.+?)\+(0x[0-9a-f]+|\d+)$/i.exec(text.trim());
    const base = m ? m[1]! : text.trim();
    const off = m ? BigInt(m[2]!) : 0n;
    const exact = base.includes('.') ? (prog.kernelSymbols.table.lookup(base)[0] ?? prog.symbols.lookup(base)[0]) : undefined;
    return (exact ? exact.addr : super.address(prog, base, flag)) + off;
  }

  private source(): AnyRecord {
    return sourceRecord(this.prog) as unknown as AnyRecord;
  }

  /** The kernel's own symbols resolve most addresses; module symbols (which need the types) are read only for the rest. */
  private resolve(addr: bigint) {
    // Modules live in the kernel half; per-CPU offsets (`%gs:0x1fb40`) never load the module list.
    return this.prog.kernelSymbols.table.resolve(addr) ?? (addr >= 0xffff800000000000n ? this.prog.symbols.resolve(addr) : undefined);
  }

  /** Branch targets repeat (`__fentry__`, `__x86_return_thunk`, a function's own labels): names by address, per program. */
  private named = new Map<bigint, string | undefined>();
  private namedFor?: Program;
  private symbolize(addr: bigint): string | undefined {
    if (this.namedFor !== this.prog || this.named.size >= 1 << 16) {
      this.named = new Map();
      this.namedFor = this.prog;
    }
    if (this.named.has(addr)) return this.named.get(addr);
    const r = this.resolve(addr);
    const mod = r?.symbol.module ? ` [${r.symbol.module}]` : '';
    const name = r ? `${r.symbol.name}${r.offset === 0n ? '' : `+0x${r.offset.toString(16)}`}${mod}` : undefined;
    this.named.set(addr, name);
    return name;
  }

  /**
   * The symbol an instruction of a walk sits in (its name and start), as `resolve` finds it, by
   * a cursor: a walk goes through a function's instructions in order, and a kernel symbol
   * without a size (kallsyms) owns every address up to the next one, so one search per function.
   */
  private cursor?: { table: unknown; start: bigint; end: bigint; name: string };
  private symbolOf(addr: bigint): { text: string; start: bigint } | undefined {
    const table = this.prog.kernelSymbols.table;
    const c = this.cursor;
    if (c !== undefined && c.table === table && addr >= c.start && addr < c.end) {
      return { text: addr === c.start ? c.name : `${c.name}+0x${(addr - c.start).toString(16)}`, start: c.start };
    }
    const r = this.resolve(addr);
    if (!r) return undefined;
    if (!r.symbol.module && r.symbol.size === undefined && table.resolve(addr) !== undefined) {
      const extent = table.extent(r.symbol);
      if (extent !== undefined) this.cursor = { table, start: r.symbol.addr, end: r.symbol.addr + BigInt(extent), name: r.symbol.name };
    }
    const mod = r.symbol.module ? ` [${r.symbol.module}]` : '';
    return { text: `${r.symbol.name}${r.offset === 0n ? '' : `+0x${r.offset.toString(16)}`}${mod}`, start: r.symbol.addr };
  }

  /** The function containing addr: its start and extent (from the symbols). */
  private functionAt(addr: bigint): { sym: { name: string; type: string; module?: string }; start: bigint; size: number } | undefined {
    const r = this.resolve(addr);
    if (!r) return undefined;
    const table = r.symbol.module ? this.prog.symbols : this.prog.kernelSymbols.table;
    const size = table.extent(r.symbol) ?? Number(r.offset) + 16;
    return { sym: r.symbol, start: r.symbol.addr, size };
  }

  /** Bytes at [addr, addr+length) from memory, or the file with --from-*; unreadable spans become error records and end the run of bytes. */
  private bytes(addr: bigint, length: number, errors: AnyRecord[]): Uint8Array {
    const f = this.flags;
    if (f['from-vmlinux'] && !f.diff) return this.vmlinuxBytes(f['from-vmlinux'], addr, length);
    if (f['from-module'] && !f.diff) return this.moduleBytes(f['from-module'], addr, length);
    const chunks = this.prog.mem.read(addr, length);
    const parts: Uint8Array[] = [];
    for (const c of chunks) {
      if ('problem' in c) {
        errors.push(errorRecord(c.problem.code, `code at ${hex(c.vaddr)} (${c.length} bytes): ${c.problem.message}`, { dump: this.prog.path, addr: hex(c.vaddr) }));
        break;
      }
      parts.push(c.bytes);
    }
    return Buffer.concat(parts);
  }

  private vmlinuxBytes(path: string, addr: bigint, length: number): Uint8Array {
    const offset = this.prog.kernelOffset;
    try {
      return vmlinuxCode(path, addr - offset, length);
    } catch (err) {
      throw fileError(err, `${hex(addr)} minus the KASLR offset ${hex(offset)}`);
    }
  }

  /** A module function's bytes from the .ko: the function's symbol gives its section and offset. */
  private moduleBytes(path: string, addr: bigint, length: number): Uint8Array {
    const fn = this.functionAt(addr);
    if (!fn?.sym.module) throw new FatalError(`${hex(addr)} is not in a module function`, EXIT.usage);
    try {
      return moduleCode(path, fn.sym.name, Number(addr - fn.start), length);
    } catch (err) {
      throw fileError(err, `is it ${fn.sym.module}.ko?`);
    }
  }

  /** Checks and reads eagerly (a bad target fails before any record is written); decodes lazily. */
  private async generate(target: string): Promise<Iterable<AnyRecord | Uint8Array>> {
    const f = this.flags;
    const addr = this.address(this.prog, target);
    const fn = this.functionAt(addr);
    const start = addr;
    let length: number;
    const whole = f.count === undefined && f.length === undefined;
    if (whole) {
      if (!fn || fn.start !== addr) throw new FatalError(`${target} is not the start of a function (give --count N or --length N)`, EXIT.usage);
      if (!/^[tTwW]$/.test(fn.sym.type)) throw new FatalError(`${fn.sym.name} is not code (symbol type ${fn.sym.type}); give --count N or --length N to decode it anyway`, EXIT.usage);
      length = fn.size;
    } else length = f.length ?? f.count! * 15;
    const errors: AnyRecord[] = [];
    const bytes = this.bytes(start, length, errors);
    // --diff decodes the file's copy with a second disassembler of the same architecture.
    const offset = this.prog.kernelOffset;
    // The vmlinux's instructions sit at link-time addresses (targets named as the running kernel's); a relocated .ko's at their memory addresses.
    const fileDis = f.diff && (f['from-vmlinux'] || f['from-module']) ? await this.makeDisassembler(this.prog.theDump.arch, f['from-vmlinux'] ? (a) => this.symbolize(a + offset) : (a) => this.symbolize(a)) : undefined;
    const body = function* (this: Disasm): Generator<AnyRecord | Uint8Array> {
      if (!f.diff) {
        // Streamed: a whole kernel's text is millions of records, never held at once.
        yield* this.chunks(bytes, start, fn?.start ?? start, f.count);
        yield* errors;
        return;
      }
      let insns = this.dis.all(bytes, start);
      if (f.count !== undefined) insns = insns.slice(0, f.count);
      if (f['from-module']) {
        yield* this.records(insns, fn?.start ?? start, this.moduleFile(f['from-module'], start, bytes.length, fileDis!));
        yield* errors;
        return;
      }
      const file = fileDis!.all(this.vmlinuxBytes(f['from-vmlinux']!, start, bytes.length), start - offset) as Instruction[];
      fileDis!.free();
      yield* this.records(insns, fn?.start ?? start, { insns: file, offset, relocated: [], unresolved: [], sites: this.patchSites(f['from-vmlinux']!) });
      yield* errors;
    };
    return body.call(this);
  }

  /**
   * A module function's code as its .ko holds it, relocated as the module loader did: a section
   * is placed where the kernel's list of the module's sections says (moduleSections, as
   * /sys/module/NAME/sections), else by where one of its symbols is in memory (a kernel without
   * that list, or a dump without its page); undefined symbols are the kernel's (or another
   * module's) of that name.
   */
  private moduleFile(path: string, addr: bigint, length: number, fileDis: Disassembler | Aarch64Disassembler): FileCode {
    const fn = this.functionAt(addr);
    if (!fn?.sym.module) throw new FatalError(`${hex(addr)} is not in a module function`, EXIT.usage);
    const mod = fn.sym.module;
    let code: ReturnType<typeof moduleCodeRelocations>;
    try {
      code = moduleCodeRelocations(path, fn.sym.name, Number(addr - fn.start), length);
    } catch (err) {
      throw fileError(err, `is it ${mod}.ko?`);
    }
    const own = (name: string) => this.prog.symbols.lookup(name).find((s) => s.module === mod)?.addr;
    const placed = this.placedSections(mod);
    const bases = new Map<number, bigint | undefined>([[code.shndx, fn.start - code.value]]);
    const base = (shndx: number) => {
      if (!bases.has(shndx)) {
        const named = code.symbols.find((s) => s.shndx === shndx && s.name !== '' && own(s.name) !== undefined);
        bases.set(shndx, placed.get(code.sectionNames[shndx] ?? '') ?? (named ? own(named.name)! - named.value : undefined));
      }
      return bases.get(shndx);
    };
    const symbolAddress = (r: CodeRelocation): bigint | undefined => {
      if (r.shndx === 0) return this.prog.kernelSymbols.table.lookup(r.symbol)[0]?.addr ?? this.prog.symbols.lookup(r.symbol).find((s) => s.module !== mod)?.addr;
      if (r.shndx === 0xfff1) return r.value; // SHN_ABS
      const b = base(r.shndx);
      return b === undefined ? undefined : b + r.value;
    };
    const { bytes, unresolved } = applyCodeRelocations(code.bytes, code.relocations, addr, symbolAddress, code.machine, (sa, p) => this.pltEntry(sa, p));
    const span = (r: CodeRelocation): [bigint, bigint] => [addr + BigInt(r.at), addr + BigInt(r.at + r.size)];
    const relocated = code.relocations.filter((r) => !unresolved.includes(r) && code.bytes.subarray(r.at, r.at + r.size).some((b, k) => b !== bytes[r.at + k])).map(span);
    const insns = fileDis.all(bytes, addr) as Instruction[];
    fileDis.free();
    return { insns, offset: 0n, relocated, unresolved: unresolved.map(span), sites: this.modulePatchSites(path, symbolAddress) };
  }

  /**
   * The arm64 PLT entry the branch that ran at `p` goes through, when that entry leads to `target`
   * (the module loader's veneer for a call out of reach): what the relocation at `p` was given.
   */
  private pltEntry(target: bigint, p: bigint): bigint | undefined {
    try {
      const word = this.prog.mem.readU32(p);
      if ((word & 0x7c000000) >>> 0 !== 0x14000000) return undefined; // not B/BL (Arm ARM C6)
      const entry = p + BigInt.asIntN(28, BigInt(word & 0x3ffffff) << 2n);
      return aarch64PltTarget(this.prog.mem.readBytes(entry, 12), entry) === target ? entry : undefined;
    } catch {
      return undefined; // memory not in the dump: the relocation stays unapplied
    }
  }

  /** The vmlinux's patch sites (static keys, static calls, alternatives), by the running kernel's layouts; none when they cannot be read (the differences are then `patched`). */
  private patchSites(vmlinux: string): PatchSites | undefined {
    return this.withTypes((types) => vmlinuxPatchSites(vmlinux, types));
  }

  /** The same from a module's .ko, its tables' relocations placed as its code's are. */
  private modulePatchSites(ko: string, symbolAddress: (r: CodeRelocation) => bigint | undefined): PatchSites | undefined {
    return this.withTypes((types) => modulePatchSites(ko, types, symbolAddress));
  }

  /** What `read` makes of the program's types; undefined without types, or when the read fails (the dump lacks a table's page). */
  private withTypes<T>(read: (types: Program['types']) => T): T | undefined {
    const types = this.prog.tryTypes();
    if (types instanceof Error) return undefined;
    try {
      return read(types);
    } catch {
      return undefined;
    }
  }

  /** The module's sections as the kernel placed them; empty when that list cannot be read (the relocations then fall back to symbols). */
  private placedSections(name: string): Map<string, bigint> {
    const mod = this.prog.modules.modules.find((m) => m.name === name);
    try {
      return mod ? moduleSections(this.prog, mod) : new Map();
    } catch {
      return new Map();
    }
  }

  /** Instructions around addr, decoded from its function's start; `regs` give effective addresses at the current one. */
  private around(addr: bigint, before: number, after: number, regs: RegisterValues | undefined, returnAddress = false): AnyRecord[] {
    const fn = this.functionAt(addr);
    const errors: AnyRecord[] = [];
    // Without a function, decode from addr itself (boundaries before it are unknown).
    const start = fn ? fn.start : addr;
    const end = fn ? fn.start + BigInt(fn.size) : addr + BigInt(15 * (after + 1));
    const bytes = this.bytes(start, Number(end - start), errors);
    const all = this.dis.all(bytes, start) as Instruction[]; // around() reads addresses and lengths only
    // A return address: the call before it is what ran.
    const at = returnAddress ? addr - 1n : addr;
    const { insns, index } = around(all, at, before, after);
    if (index < 0) errors.push(errorRecord('no-code', `no instruction decoded at ${hex(addr)}`, { dump: this.prog.path, addr: hex(addr) }));
    return [...this.records(insns, start, undefined, index, regs), ...errors];
  }

  private *records(insns: Iterable<AnyInstruction>, fnStart: bigint, file?: FileCode, current = -1, regs?: RegisterValues): Generator<AnyRecord> {
    const rows = file ? diffInstructions([...insns] as Instruction[], file.insns, file.offset, (a) => this.symbolize(a), file.sites) : undefined;
    const overlaps = (spans: [bigint, bigint][], m: AnyInstruction) => spans.some(([a, b]) => a < m.addr + BigInt(m.length) && b > m.addr);
    const gsBase = regs?.['gs_base'];
    let i = -1;
    for (const ins of rows ? rows.map((r) => r.memory!) : insns) {
      i++;
      const r = this.record(ins, fnStart);
      if (i === current) {
        r.current = true;
        if (regs) this.effective(r, ins, regs, gsBase);
      }
      const row = rows?.[i];
      if (row) {
        r.same = row.same;
        // a .ko's bytes that only its relocations made equal to memory; and differences inside a relocation whose symbol is unknown
        if (row.same && overlaps(file!.relocated, ins)) r.relocated = true;
        if (!row.same) {
          r.reason = row.reason === 'patched' && overlaps(file!.unresolved, ins) ? 'module-relocation' : row.reason;
          // the site's key by name (its link-time address moved by KASLR), or the alternative's CPU feature
          if (row.site?.key !== undefined) r[row.site.kind === 'static-key' ? 'staticKey' : 'staticCall'] = this.keyName(row.site.key + file!.offset);
          if (row.site?.feature !== undefined) Object.assign(r, this.featureFields(row.site.feature));
          r.file = row.file.map((x) => ({ addr: hex(x.addr), bytes: hexBytes(x.bytes), text: x.text }));
        }
      }
      yield r;
    }
  }

  /** the instruction `line` wrote before this one (an endbr64 before an ftrace nop) */
  private previous?: AnyInstruction;

  /**
   * Instruction records as NDJSON bytes, in chunks of about 64 KiB (one write each). On x86 a
   * remembered instruction (most of them: see Disassembler.walk) is written from its record's
   * pre-encoded parts, its address and its symbol, with no object, string or BigInt made; the
   * rest, and every instruction that needs more (an ftrace nop, a ud2, --lines), take `line`.
   */
  private readonly lines = new ByteLines();
  private *chunks(bytes: Uint8Array, start: bigint, fnStart: bigint, count: number | undefined): Generator<Uint8Array> {
    const out = this.lines;
    let n = 0;
    const dis = this.dis;
    if (dis instanceof Aarch64Disassembler) {
      for (const ins of dis.disassemble(bytes, start)) {
        if (count !== undefined && n++ >= count) break;
        out.text(this.line(ins, fnStart));
        out.byte(NEWLINE);
        if (out.length >= CHUNK) yield out.take();
      }
    } else {
      const w = this.insnWriter(dis, start, fnStart);
      const visit = (step: WalkStep) => {
        w.write(step);
        return (count === undefined || ++n < count) && out.length < CHUNK;
      };
      for (let from = 0; from < bytes.length && (count === undefined || n < count); ) {
        from = dis.walk(bytes, start, visit, from);
        if (out.length >= CHUNK) yield out.take();
      }
    }
    if (out.length > 0) yield out.take();
  }

  /** The pieces InsnWriter made for the x86 Disassembler's remembered instructions, kept across walks. */
  private pieces?: InsnPieces;

  /** An x86 walk's record writer (insn-writer.ts), with the command's `line` for what it does not write itself. */
  private insnWriter(dis: Disassembler, base: bigint, fnStart: bigint): InsnWriter {
    if (this.pieces?.dis !== dis) this.pieces = new InsnPieces(dis, `,"bytesFrom":"${this.bytesFrom()}"}\n`);
    const source: InsnWriterSource = {
      json: this.json,
      line: (ins, start, previous) => this.line(ins, start, previous),
      symbolize: (addr) => this.symbolize(addr),
      kernelSymbolAt: (addr) => {
        this.symbolOf(addr);
        const c = this.cursor;
        return c !== undefined && c.table === this.prog.kernelSymbols.table && c.start <= addr && addr < c.end ? c : undefined;
      },
    };
    return new InsnWriter(this.lines, source, this.pieces, base, fnStart, this.dumpJsonText(), this.lineTable !== undefined || this.flags.sites);
  }

  private record(ins: AnyInstruction, fnStart: bigint): AnyRecord {
    return JSON.parse(this.line(ins, fnStart)) as AnyRecord;
  }

  /** An arm64 insn record as an object (the x86 path writes its JSON text directly, for speed). */
  private arm64Record(ins: Aarch64Instruction): AnyRecord {
    const r: AnyRecord = { kind: 'insn', dump: this.prog.path, addr: hex(ins.addr), bytes: hexBytes(ins.bytes), text: ins.text, mnemonic: ins.mnemonic, length: ins.length };
    const own = this.symbolOf(ins.addr);
    if (own) r.symbol = own.text;
    if (ins.prefixes.length) r.prefixes = ins.prefixes;
    r.operandText = ins.operandText;
    r.operands = (ins.operands as Aarch64Operand[]).map(aarch64Operand);
    r.flow = ins.flow;
    if (ins.target !== undefined) r.target = hex(ins.target);
    if (ins.targetSymbol) r.targetSym = ins.targetSymbol;
    if (ins.comment) r.comment = ins.comment;
    if (ins.bad) r.bad = true;
    if (ins.truncated) r.truncated = true;
    if (ins.text === 'brk #0x800') r.note = 'BUG/WARN trap (__bug_table)'; // arm64's BUG_BRK_IMM
    if (this.flags.sites) {
      const site = this.siteRecord(ins.addr, ins.length);
      if (site) r.site = site;
    }
    r.bytesFrom = this.bytesFrom();
    return r;
  }

  private dumpJson?: { path: string; json: string };

  /** The record's `dump` as JSON text, made once per dump. */
  private dumpJsonText(): string {
    if (this.dumpJson?.path !== this.prog.path) this.dumpJson = { path: this.prog.path, json: JSON.stringify(this.prog.path) };
    return this.dumpJson.json;
  }

  /** Where an x86 insn record's bytes came from (its `bytesFrom`). */
  private bytesFrom(): 'vmlinux' | 'module' | 'memory' {
    const f = this.flags;
    return f['from-vmlinux'] && !f.diff ? 'vmlinux' : f['from-module'] && !f.diff ? 'module' : 'memory';
  }

  /** One insn record's JSON text (fields in the order of docs/records.md's insn). */
  private line(anyIns: AnyInstruction, fnStart: bigint, previous = this.previous): string {
    if (this.dis instanceof Aarch64Disassembler) return JSON.stringify(this.arm64Record(anyIns as Aarch64Instruction));
    const ins = anyIns as Instruction;
    const own = this.symbolOf(ins.addr);
    const p = this.json.parts(ins);
    let s = `{"kind":"insn","dump":${this.dumpJsonText()},"addr":"${hex(ins.addr)}"${p.head}`;
    if (own) s += `,"symbol":${JSON.stringify(own.text)}`;
    s += p.tail;
    // The nop that replaced `call __fentry__` at a function's start (crash's [FTRACE NOP]), whichever function of the walk it starts.
    const start = own && ins.addr - own.start <= 4n ? own.start : fnStart;
    const first = start === ins.addr ? ins : start + 4n === ins.addr ? previous : undefined;
    if (isFtraceNop(ins, start, first ? [first as Instruction] : [])) s += ',"note":"[FTRACE NOP]"';
    else if (ins.mnemonic === 'ud2') {
      s += ',"note":"BUG/WARN trap (__bug_table)"';
      const bug = this.bugAt(ins.addr);
      if (bug) s += `,"bug":${JSON.stringify(bug)}`;
    }
    this.previous = ins;
    if (this.flags.sites) {
      const site = this.siteRecord(ins.addr, ins.length);
      if (site) s += `,"site":${JSON.stringify(site)}`;
    }
    s += `,"bytesFrom":"${this.bytesFrom()}"`;
    if (this.lineTable && !(own && own.text.includes(' ['))) {
      const at = this.lineTable.lookup(ins.addr - this.prog.kernelOffset);
      if (at) s += `,"sourceFile":${JSON.stringify(at.file)},"sourceLine":${JSON.stringify(at.line)}`;
    }
    return `${s}}`;
  }

  /** The running kernel's patch sites, from its tables in the dump (read at the first use, per program). */
  private liveSites?: { prog: Program; sites: PatchSites | undefined };

  /**
   * The patch site an instruction of memory is, as its `site`: a static key's (its name, and
   * whether it is on: `static_key.enabled` above 0), a static call's (its key), an
   * alternative's (the CPU feature, by number and by the kernel's name).
   */
  private siteRecord(addr: bigint, length: number): Record<string, unknown> | undefined {
    if (this.liveSites?.prog !== this.prog) {
      const prog = this.prog;
      // A table in the init sections (the alternatives, on x86_64 and arm64) was freed after boot
      // (free_initmem): its pages are gone from the dump or hold other data now, so it is not read.
      const [initBegin, initEnd] = [prog.symbol('__init_begin'), prog.symbol('__init_end')];
      const read = (at: bigint, n: number) => (initBegin !== undefined && initEnd !== undefined && at < initEnd && at + BigInt(n) > initBegin ? undefined : readable(prog)(at, n));
      this.liveSites = { prog, sites: this.withTypes((types) => readPatchSites(types, (name) => prog.symbol(name), read)) };
    }
    const site = this.liveSites.sites?.at(addr, length) ?? this.moduleLiveSites(addr)?.at(addr, length);
    if (!site) return undefined;
    const r: Record<string, unknown> = { kind: site.kind };
    if (site.key !== undefined) {
      r.key = this.keyName(site.key);
      if (site.kind === 'static-key') {
        try {
          r.enabled = this.prog.mem.readU32(site.key) > 0; // static_key.enabled (atomic_t) comes first
        } catch {
          /* the key's page is not in the dump: say nothing of it */
        }
      }
    }
    if (site.feature !== undefined) Object.assign(r, this.featureFields(site.feature));
    return r;
  }

  /** A static key's or static call key's name (its symbol), or its address where none covers it. */
  private keyName(key: bigint): string {
    return this.symbolize(key) ?? hex(key);
  }

  /** An alternative's feature field as records carry it: as stored, and by the kernel's name. */
  private featureFields(feature: number): { cpuFeature: number; cpuFeatureName?: string } {
    // bit 15 is a flag (x86 6.1: inverted; arm64: a callback alternative), the rest the feature the kernel names
    const name = cpu_feature_names(this.prog).get(feature & 0x7fff);
    return name === undefined ? { cpuFeature: feature } : { cpuFeature: feature, cpuFeatureName: name };
  }

  /** Each loaded module's patch sites, by module name, read at its first instruction asked about. */
  private moduleSites = new Map<string, PatchSites | undefined>();

  /**
   * The patch sites of the module whose core holds `addr`: its `struct module`'s `jump_entries`
   * and `static_call_sites` (with their counts) are its tables, relocated by the loader.
   */
  private moduleLiveSites(addr: bigint): PatchSites | undefined {
    let mods;
    try {
      mods = this.prog.modules.modules;
    } catch {
      return undefined;
    }
    const mod = mods.find((m) => addr >= m.base && addr < m.base + BigInt(m.size));
    if (!mod) return undefined;
    const key = `${this.prog.path}\0${mod.name}`;
    if (!this.moduleSites.has(key)) {
      const prog = this.prog;
      this.moduleSites.set(key, this.withTypes((types) => {
        const bounds = moduleTableBounds(prog, mod);
        return readPatchSites(types, (name) => bounds.get(name), readable(prog));
      }));
    }
    return this.moduleSites.get(key);
  }

  /** ud2 sites of the kernel's and the loaded modules' __bug_table, by address: read at the first ud2, per program. */
  private bugs?: { prog: Program; sites: Map<bigint, BugSite> };

  /** The BUG()/WARN() a ud2 is: file and line as report_bug() prints them, WARN/ONCE flags. */
  private bugAt(addr: bigint): Record<string, unknown> | undefined {
    if (this.bugs?.prog !== this.prog) this.bugs = { prog: this.prog, sites: this.readBugTables() };
    const site = this.bugs.sites.get(addr);
    if (!site) return undefined;
    let file: string | undefined;
    if (site.fileAddr !== undefined) {
      const chunk = this.prog.mem.read(site.fileAddr, 256).find((c) => 'bytes' in c);
      if (chunk && 'bytes' in chunk) file = Buffer.from(chunk.bytes).toString('latin1').split('\0')[0];
    }
    const flags = [site.warning ? 'WARN' : 'BUG', ...(site.once ? ['ONCE'] : []), ...(site.done ? ['DONE'] : [])];
    const bug: Record<string, unknown> = { report: bugReport(site, file), flags };
    if (file !== undefined) bug.file = file;
    if (site.line !== undefined) bug.line = site.line;
    return bug;
  }

  private readBugTables(): Map<bigint, BugSite> {
    const prog = this.prog;
    const sites = new Map<bigint, BugSite>();
    let layout: BugEntryLayout = BUG_ENTRY_RELATIVE;
    // The dump's types say where the fields are (BTF has struct bug_entry); without them, the 6.1/6.12 layout.
    try {
      const l = StructLayout.of(prog, 'bug_entry');
      if (l.has('bug_addr_disp') && l.has('flags')) {
        layout = { size: l.size, addr: l.offset('bug_addr_disp'), flags: l.offset('flags') };
        if (l.has('file_disp')) layout.file = l.offset('file_disp');
        if (l.has('line')) layout.line = l.offset('line');
      }
    } catch {
      // no types: the default layout
    }
    const add = (start: bigint, length: number) => {
      const bytes = this.bytesOrEmpty(start, length);
      for (const site of parseBugTable(bytes, start, layout)) sites.set(site.addr, site);
    };
    const start = prog.kernelSymbols.table.lookup('__start___bug_table')[0]?.addr;
    const stop = prog.kernelSymbols.table.lookup('__stop___bug_table')[0]?.addr;
    if (start !== undefined && stop !== undefined && stop > start) add(start, Number(stop - start));
    // Each module's own table: struct module { struct bug_entry *bug_table; unsigned int num_bugs; } (CONFIG_GENERIC_BUG).
    try {
      const mod = StructLayout.of(prog, 'module').only(['bug_table', 'num_bugs']);
      if (mod.has('bug_table') && mod.has('num_bugs')) {
        for (const m of prog.modules.modules) {
          const v = mod.read(prog, m.addr);
          const table = v.int('bug_table');
          const n = v.num('num_bugs');
          if (table !== 0n && n > 0 && n < 1 << 20) add(table, n * layout.size);
        }
      }
    } catch {
      // no types or no module list: the kernel's table only
    }
    return sites;
  }

  /** Bytes at addr, up to the first unreadable one. */
  private bytesOrEmpty(addr: bigint, length: number): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const c of this.prog.mem.read(addr, length)) {
      if (!('bytes' in c)) break;
      parts.push(c.bytes);
    }
    return Buffer.concat(parts);
  }

  /** Members of --member-of TYPE at a memory operand's displacement; past the type's size, the array element (page[2].deferred_list). */
  private memberAt(o: MemoryOperand): string[] | undefined {
    // TYPE, or TYPE:REG for operands based on that register only; stack and RIP-relative operands are never members.
    const [type, reg] = (this.flags['member-of'] ?? '').split(':');
    if (!type || !o.base || o.base === 'rip' || o.base === 'rsp' || o.displacement < 0n || (reg && o.base !== reg)) return undefined;
    if (!this.memberType) {
      const { table, found } = this.prog.findType(type); // the kernel's types, then the modules' (crashmod's vmpipe_item)
      this.memberType = typeMembers(table, found);
    }
    return membersAt(this.memberType, Number(o.displacement));
  }

  private effective(r: AnyRecord, ins: AnyInstruction, regs: RegisterValues, gsBase: bigint | undefined): void {
    const ops = r.operands as Record<string, unknown>[];
    const a64 = this.dis instanceof Aarch64Disassembler;
    (ins.operands as (Operand | Aarch64Operand)[]).forEach((o, k) => {
      if (o.kind !== 'memory') return;
      const ea = a64 ? aarch64EffectiveAddress(o as Aarch64MemoryOperand, regs) : effectiveAddress(o as MemoryOperand, regs, (seg) => (seg === 'gs' ? gsBase : undefined));
      if (ea !== undefined) ops[k]!.addr = hex(ea);
      else ops[k]!.addrUnknown = 'a register it needs is not in the record';
    });
  }

  /** Filter mode: a record with a code address, then the instructions around it. */
  private annotate(record: AnyRecord, prog: Program): AnyRecord[] {
    this.prog = prog;
    const at = codeAddress(record);
    if (!at) return [record];
    if (!this.functionAt(at.addr) && at.addr < 0xffff800000000000n) {
      return [record, errorRecord('not-kernel-text', `${hex(at.addr)} is a user-space address; its code is not in a kernel dump`, { dump: prog.path, addr: hex(at.addr) })];
    }
    const n = this.flags.context;
    return [record, ...this.around(at.addr, n, n, at.regs, at.returnAddress)];
  }
}

/** The file's side of --diff: its instructions, the memory-minus-file address offset (KASLR), the relocated and unrelocatable byte spans. */
interface FileCode {
  insns: Instruction[];
  offset: bigint;
  relocated: [bigint, bigint][];
  unresolved: [bigint, bigint][];
  /** the vmlinux's static keys, static calls and alternatives, to say which one a difference is */
  sites?: PatchSites;
}

/** The program's memory as a reader that gives undefined where the dump has no bytes. */
function readable(prog: Program): (at: bigint, n: number) => Uint8Array | undefined {
  return (at, n) => {
    try {
      return prog.mem.readBytes(at, n);
    } catch {
      return undefined;
    }
  };
}

/** A file that cannot give code: missing (3), unusable (4), or no such address/symbol in it (2). */
function fileError(err: unknown, hint: string): Error {
  if (!(err instanceof CodeFileError)) return err as Error;
  const code = err.reason === 'no-input' ? EXIT.noInput : err.reason === 'bad-format' ? EXIT.badFormat : EXIT.usage;
  return new FatalError(err.reason === 'not-found' ? `${err.message} (${hint})` : err.message, code);
}

function registers(obj: Record<string, unknown>): RegisterValues {
  const regs: RegisterValues = {};
  for (const [k, v] of Object.entries(obj)) {
    const a = typeof v === 'string' ? parseAddress(v) : null;
    if (a !== null) regs[k] = a;
  }
  return regs;
}

/** The code address a record carries: a cpu record's rip (with its registers), a frame's pc, a panic's RIP line. */
function codeAddress(r: AnyRecord): { addr: bigint; regs?: RegisterValues; returnAddress?: boolean } | undefined {
  if (r.kind === 'cpu' && r.regs && typeof r.regs === 'object') {
    const regs = registers(r.regs as Record<string, unknown>);
    const pc = regs['rip'] ?? regs['pc']; // x86_64 / arm64
    return pc !== undefined ? { addr: pc, regs } : undefined;
  }
  if (r.kind === 'frame' && typeof r.pc === 'string') {
    const a = parseAddress(r.pc);
    if (a === null) return undefined;
    // An exception frame's pc is the interrupted instruction and its saved registers are known; a caller's pc is a return address.
    if (r.method === 'exception' && r.regs && typeof r.regs === 'object') return { addr: a, regs: registers(r.regs as Record<string, unknown>) };
    return { addr: a, returnAddress: typeof r.level === 'number' && r.level > 0 };
  }
  if (r.kind === 'panic' && typeof r.rip === 'string') {
    const m = /(?:0x)?([0-9a-f]{6,16})\b/i.exec(r.rip.replace(/^RIP: [0-9a-f]{4}:/i, ''));
    return m ? { addr: BigInt(`0x${m[1]}`) } : undefined;
  }
  return undefined;
}

type AnyInstruction = Instruction | Aarch64Instruction;

/** records are handed to the writer in chunks of about this many bytes */
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;

/** An arm64 operand as a record: bigints as hex (displacements signed), the rest as decoded. */
function aarch64Operand(o: Aarch64Operand): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = typeof v !== 'bigint' ? v : k === 'displacement' && v < 0n ? `-0x${(-v).toString(16)}` : hex(BigInt.asUintN(64, v));
  return out;
}

/** The architecture of a vmlinux by its ELF e_machine; an unreadable file is exit 3 or 4. */
function elfArch(path: string): string {
  try {
    return vmlinuxArch(path);
  } catch (err) {
    throw fileError(err, path);
  }
}
