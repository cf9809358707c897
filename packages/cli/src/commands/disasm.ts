import { Args, Flags } from '@oclif/core';
import { aarch64EffectiveAddress, Aarch64Disassembler, type Aarch64Instruction, type Aarch64Operand, CodeFileError, Disassembler, around, vmlinuxArch, diffInstructions, effectiveAddress, isFtraceNop, membersAt, moduleCode, typeMembers, vmlinuxCode, type Instruction, type MemoryOperand, type Aarch64MemoryOperand, type Operand, type RegisterValues, type TypeMembers } from '@vmpipe/disasm';
import { LineTable, type Program } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, parseAddress, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { programFlags, VmpipeCommand } from '../base.js';
import { sourceRecord } from '../dump-records.js';

export default class Disasm extends VmpipeCommand {
  static override consumes = ['cpu', 'frame', 'panic'];
  static override produces = ['source', 'insn', 'error'];
  static override summary = 'Disassemble the code that ran: a function, a range, or the instructions around an address (crash dis), as insn records.';
  static override description = [
    'disasm DUMP SYMBOL: the whole function (its extent from the symbols). disasm DUMP ADDR --count N | --length N. disasm DUMP --around ADDR [N]: N instructions before and after ADDR, boundaries found by decoding from the function\'s start (crash dis -r/-f).',
    'Without a target, a filter: each cpu record (rip), frame record (pc) and panic record (rip) is passed on followed by the instructions around it; the instruction at that address has "current": true and, with the cpu record\'s registers, the effective address of its memory operands.',
    'Bytes come from the dump\'s memory (what ran); --from-vmlinux/--from-module read the file instead and --diff puts both side by side. AT&T syntax as objdump/crash print it; --intel for Intel. See docs/disasm.md.',
    'Exit codes: 0 ok, 2 bad usage or unknown symbol, 3 missing file, 4 not a dump.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> disasm fixtures/real/vmcore.kdump-zlib sysrq_handle_crash | render',
    '<%= config.bin %> disasm fixtures/real/vmcore.kdump-zlib --around 0xffffffff89dcd0a8 3 | render',
    'vmcore-extract fixtures/real/vmcore.kdump-zlib | <%= config.bin %> disasm | render',
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
    'from-module': Flags.string({ description: 'read a module function\'s bytes from this .ko (relocations not applied)', helpValue: 'FILE.ko' }),
    diff: Flags.boolean({ description: 'memory against --from-vmlinux FILE, instruction by instruction' }),
    'member-of': Flags.string({ description: 'name the member of TYPE at each memory operand\'s displacement (page[2].deferred_list); TYPE:REG only for operands based on REG', helpValue: 'TYPE[:REG]' }),
    lines: Flags.boolean({ description: 'source file and line of each instruction from the --vmlinux FILE\'s DWARF .debug_line (crash dis -l)' }),
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

  private parseAll() {
    return this.parse(Disasm);
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parseAll();
    this.flags = flags;
    this.useProgramFlags(flags);
    if (flags.lines && !flags.vmlinux) throw new FatalError('--lines needs --vmlinux FILE (a vmlinux with DWARF, from the -dbg package)', EXIT.usage);
    if (flags.diff && !flags['from-vmlinux']) throw new FatalError('--diff needs --from-vmlinux FILE', EXIT.usage);
    if (flags.lines) {
      process.stderr.write(`disasm: reading the line tables of ${flags.vmlinux}...\n`);
      this.lineTable = new LineTable(flags.vmlinux!);
    }
    const out = new RecordWriter();
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
        await out.write(r);
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
    return this.prog.kernelSymbols.table.resolve(addr) ?? this.prog.symbols.resolve(addr);
  }

  private symbolize(addr: bigint): string | undefined {
    const r = this.resolve(addr);
    if (!r) return undefined;
    const mod = r.symbol.module ? ` [${r.symbol.module}]` : '';
    return `${r.symbol.name}${r.offset === 0n ? '' : `+0x${r.offset.toString(16)}`}${mod}`;
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
    if (f['from-module']) return this.moduleBytes(f['from-module'], addr, length);
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
    const offset = this.prog.theDump.vmcoreinfo?.kernelOffset ?? 0n;
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
  private async generate(target: string): Promise<Iterable<AnyRecord>> {
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
    const offset = this.prog.theDump.vmcoreinfo?.kernelOffset ?? 0n;
    const fileDis = f.diff ? await this.makeDisassembler(this.prog.theDump.arch, (a) => this.symbolize(a + offset)) : undefined;
    const body = function* (this: Disasm): Generator<AnyRecord> {
      if (!f.diff) {
        // Streamed: a whole kernel's text is millions of records, never held at once.
        let n = 0;
        const limited = function* (all: Iterable<AnyInstruction>) {
          for (const i of all) {
            if (f.count !== undefined && n++ >= f.count) return;
            yield i;
          }
        };
        yield* this.records(limited(this.dis.disassemble(bytes, start)), fn?.start ?? start);
        yield* errors;
        return;
      }
      let insns = this.dis.all(bytes, start);
      if (f.count !== undefined) insns = insns.slice(0, f.count);
      // The file's instructions sit at link-time addresses; name their targets as the running kernel's.
      const file = fileDis!.all(this.vmlinuxBytes(f['from-vmlinux']!, start, bytes.length), start - offset);
      fileDis!.free();
      yield* this.records(insns, fn?.start ?? start, file);
      yield* errors;
    };
    return body.call(this);
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

  private *records(insns: Iterable<AnyInstruction>, fnStart: bigint, file?: AnyInstruction[], current = -1, regs?: RegisterValues): Generator<AnyRecord> {
    const offset = this.prog.theDump.vmcoreinfo?.kernelOffset ?? 0n;
    const rows = file ? diffInstructions([...insns] as Instruction[], file as Instruction[], offset, (a) => this.symbolize(a)) : undefined;
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
        if (!row.same) {
          r.reason = row.reason;
          r.file = row.file.map((x) => ({ addr: hex(x.addr), bytes: hexBytes(x.bytes), text: x.text }));
        }
      }
      yield r;
    }
  }

  /** the instruction written before this one (an endbr64 before an ftrace nop) */
  private previous?: AnyInstruction;

  private record(ins: AnyInstruction, fnStart: bigint): AnyRecord {
    const r: AnyRecord = { kind: 'insn', dump: this.prog.path, addr: hex(ins.addr), bytes: hexBytes(ins.bytes), text: ins.text, mnemonic: ins.mnemonic, length: ins.length };
    const sym = this.symbolize(ins.addr);
    if (sym) r.symbol = sym;
    if (ins.prefixes.length) r.prefixes = ins.prefixes;
    r.operandText = ins.operandText;
    r.operands = this.dis instanceof Aarch64Disassembler ? (ins.operands as Aarch64Operand[]).map(aarch64Operand) : (ins.operands as Operand[]).map((o) => this.operand(o));
    r.flow = ins.flow;
    if (ins.target !== undefined) r.target = hex(ins.target);
    if (ins.targetSymbol) r.targetSym = ins.targetSymbol;
    if (ins.comment) r.comment = ins.comment;
    if (ins.bad) r.bad = true;
    if (ins.truncated) r.truncated = true;
    // The nop that replaced `call __fentry__` at a function's start (crash's [FTRACE NOP]), whichever function of the walk it starts.
    const own = this.resolve(ins.addr);
    const start = own && own.offset <= 4n ? own.symbol.addr : fnStart;
    const first = start === ins.addr ? ins : start + 4n === ins.addr ? this.previous : undefined;
    if (isFtraceNop(ins as Instruction, start, first ? [first as Instruction] : [])) r.note = '[FTRACE NOP]';
    else if (ins.mnemonic === 'ud2' || ins.text === 'brk #0x800') r.note = 'BUG/WARN trap (__bug_table)';
    this.previous = ins;
    r.bytesFrom = this.flags['from-vmlinux'] && !this.flags.diff ? 'vmlinux' : this.flags['from-module'] ? 'module' : 'memory';
    if (this.lineTable && !(typeof sym === 'string' && sym.includes(' ['))) {
      const at = this.lineTable.lookup(ins.addr - (this.prog.theDump.vmcoreinfo?.kernelOffset ?? 0n));
      if (at) Object.assign(r, { sourceFile: at.file, sourceLine: at.line });
    }
    return r;
  }

  private operand(o: Operand): Record<string, unknown> {
    switch (o.kind) {
      case 'register':
        return { ...o };
      case 'immediate':
        return { kind: o.kind, value: hex(BigInt.asUintN(64, o.value)) };
      case 'target':
        return { kind: o.kind, target: hex(o.target) };
      case 'string-memory':
        return { ...o };
      case 'memory': {
        const m: Record<string, unknown> = { kind: 'memory' };
        if (o.segment) m.segment = o.segment;
        if (o.base) m.base = o.base;
        if (o.index) m.index = o.index;
        m.scale = o.scale;
        m.displacement = o.displacement < 0n ? `-0x${(-o.displacement).toString(16)}` : hex(o.displacement);
        m.size = o.size;
        if (o.target !== undefined) m.target = hex(BigInt.asUintN(64, o.target));
        const member = this.memberAt(o);
        if (member) m.member = member;
        return m;
      }
    }
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

/** A file that cannot give code: missing (3), unusable (4), or no such address/symbol in it (2). */
function fileError(err: unknown, hint: string): Error {
  if (!(err instanceof CodeFileError)) return err as Error;
  const code = err.reason === 'no-input' ? EXIT.noInput : err.reason === 'bad-format' ? EXIT.badFormat : EXIT.usage;
  return new FatalError(err.reason === 'not-found' ? `${err.message} (${hint})` : err.message, code);
}

type AnyInstruction = Instruction | Aarch64Instruction;

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

function hexBytes(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
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
