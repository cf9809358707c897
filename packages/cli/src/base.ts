import { Command, Flags } from '@oclif/core';
import { QueueConnectionError } from '@vmpipe/batch/errors';
import { DumpError, type DumpErrorReason } from '@vmpipe/kernel';
import { AddressError, MemoryError, PrintkUnavailable, Program, resolveAddress, type ProgramOptions } from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, readRecords, type AnyRecord } from '@vmpipe/records';
import { KallsymsError, SymbolFileError } from '@vmpipe/kernel';
import { programErrors } from './dump-records.js';
import { BtfError, DwarfError, NoTypesError, SourceFileError, TypeLookupError, TypeLoopError } from '@vmpipe/kernel';

const TOLD = Symbol('problems told');
const errorKey = (r: AnyRecord) => `${String(r.dump)}\0${String(r.code)}\0${String(r.message)}`;

/** Where each library failure that ends a run goes: one table, by class (docs/exit-codes.md). */
const DUMP_EXIT: Record<DumpErrorReason, number> = { 'no-input': EXIT.noInput, 'not-a-dump': EXIT.badFormat, unsupported: EXIT.badFormat, damaged: EXIT.badFormat };
const SYMBOL_FILE_EXIT: Record<SymbolFileError['reason'], number> = { 'no-input': EXIT.noInput, 'bad-format': EXIT.badFormat, mismatch: EXIT.badFormat };

/** The exit code for a library error that ends a run, or undefined for an internal error. */
export function exitCodeFor(err: unknown): number | undefined {
  if (err instanceof FatalError) return err.exitCode;
  if (err instanceof DumpError) return DUMP_EXIT[err.reason];
  if (err instanceof SymbolFileError) return SYMBOL_FILE_EXIT[err.reason];
  if (err instanceof SourceFileError) return EXIT.noInput;
  if (err instanceof TypeLookupError || err instanceof AddressError) return EXIT.usage;
  if (err instanceof QueueConnectionError) return EXIT.io;
  if (err instanceof NoTypesError || err instanceof BtfError || err instanceof DwarfError || err instanceof PrintkUnavailable) return EXIT.badFormat;
  // Damage found in the dump's own kernel structures (kallsyms tables that do not decode): the dump, not the run, is at fault.
  if (err instanceof KallsymsError || err instanceof TypeLoopError) return EXIT.badFormat;
  // A kernel structure the run cannot do without lies in memory the dump does not hold (an
  // excluded or cut page, an unmapped address): the dump cannot answer, said in one line.
  if (err instanceof MemoryError) return EXIT.badFormat;
  return undefined;
}

/**
 * The flags that choose how a dump is read, shared by every command that opens
 * one (a Program): debuginfo files, where symbols and types come from.
 */
export const programFlags = {
  vmlinux: Flags.string({ description: 'the dump\'s vmlinux: symbols (ELF symtab) and types (.BTF, or DWARF with --dwarf)', helpValue: 'FILE' }),
  'system-map': Flags.string({ description: 'a System.map (or .gz) for the dump', helpValue: 'FILE' }),
  btf: Flags.string({ description: 'a raw BTF file (a copy of /sys/kernel/btf/vmlinux; .zst ok)', helpValue: 'FILE' }),
  dwarf: Flags.boolean({ description: 'with --vmlinux, read DWARF even when .BTF is present' }),
  force: Flags.boolean({ description: 'use a System.map or vmlinux that does not match the dump' }),
  'zero-excluded': Flags.boolean({ description: 'read pages the dump level excluded as zeros (crash --zero_excluded)' }),
  modules: Flags.string({ description: 'a directory of the modules\' .ko files (crash mod -S DIR): their DWARF types where a module has no BTF', helpValue: 'DIR' }),
};

type ProgramFlagValues = { vmlinux?: string; 'system-map'?: string; btf?: string; dwarf?: boolean; force?: boolean; 'zero-excluded'?: boolean; symbols?: string; modules?: string };

/** A writer of records (RecordWriter, or a text writer for --format). */
export interface RecordSink {
  write(r: AnyRecord): Promise<void>;
  readonly closed: boolean;
}

/**
 * Every vmpipe command. A command declares the record kinds it consumes (in
 * filter mode: the others pass through unchanged, in order) and produces; the
 * base gives one Program per dump per run (`program`), one address parser
 * (`address`: hex, SYMBOL, SYMBOL.member[i]), one filter loop (`filter`), and
 * one table from library errors to exit codes. Failures that end the run become
 * one line on stderr (`<command>: <what went wrong>`), never a stack trace; a
 * closed stdout (`| head`) ends the run quietly.
 */
export abstract class VmpipeCommand extends Command {
  /** record kinds this command acts on in filter mode ('*': every record with a dump) */
  static consumes: readonly string[] = [];
  /** record kinds this command writes */
  static produces: readonly string[] = [];

  private readonly programs = new Map<string, Program | Error>();
  protected programOptions: ProgramOptions = {};
  /** dumps whose problems this run's stream has told (`stream`) */
  private readonly toldProblems = new Set<string>();
  /** error records already in the stream (written, or passed through from upstream), by dump, code and message */
  private readonly errorsInStream = new Set<string>();
  /** problems this command told itself, so that upstream's later copy of one is not passed on too */
  private readonly toldKeys = new Set<string>();
  /** the stream (`stream`), for the problems of a run that fails before it told them */
  private output: (RecordSink & { end?: () => Promise<void> }) | undefined;

  /** Sets how dumps are opened from the parsed flags (call once, before `program`). */
  protected useProgramFlags(flags: ProgramFlagValues): void {
    const o: ProgramOptions = {};
    if (flags.vmlinux) o.vmlinux = flags.vmlinux;
    if (flags['system-map']) o.systemMap = flags['system-map'];
    if (flags.btf) o.btf = flags.btf;
    if (flags.dwarf) o.preferDwarf = true;
    if (flags.force) o.force = true;
    if (flags['zero-excluded']) o.zeroExcluded = true;
    if (flags.modules) o.modules = flags.modules;
    if (flags.symbols && flags.symbols !== 'auto') o.symbols = flags.symbols as ProgramOptions['symbols'];
    this.programOptions = o;
  }

  /** The program for a dump path, opened once per run (throws what opening threw). */
  protected program(path: string): Program {
    const p = this.tryProgram(path);
    if (p instanceof Error) throw p;
    return p;
  }

  /** The program for a dump path, or why it cannot be opened (filters turn that into error records). */
  protected tryProgram(path: string): Program | Error {
    let p = this.programs.get(path);
    if (!p) {
      try {
        p = Program.open(path, this.programOptions);
      } catch (err) {
        if (exitCodeFor(err) === undefined) throw err;
        p = err as Error;
      }
      this.programs.set(path, p);
    }
    return p;
  }

  /**
   * The command's output, with each opened dump's problems (`Program.problems`: what it
   * could not read at open, what it took instead of a damaged VMCOREINFO value) written once
   * as error records at the start of that dump's part of the stream: right after its `source`
   * record, else before its first record. One already in the stream (an upstream command in
   * the pipeline told it) is not told twice. Every command writes through this (`this.stream(writerFor(...))`); `filter` does it itself.
   */
  protected stream<T extends RecordSink>(out: T): T {
    if ((out as { [TOLD]?: true })[TOLD]) return out;
    const write = out.write.bind(out);
    const put = async (r: AnyRecord) => {
      if (r.kind === 'error') {
        const key = errorKey(r);
        // Upstream's copy of a problem this command already told (it told it after a source
        // record it handled, before upstream's copy arrived): once is enough.
        if (this.toldKeys.delete(key)) return;
        this.errorsInStream.add(key);
      }
      await write(r);
    };
    const tell = async (r: AnyRecord) => {
      const dump = typeof r.dump === 'string' ? r.dump : undefined;
      if (dump !== undefined && r.kind === 'source') {
        await put(r);
        return this.tellProblems(put, dump);
      }
      if (dump !== undefined) await this.tellProblems(put, dump);
      if (!out.closed) await put(r);
    };
    // The writer itself for everything else (end, closed, line), its methods on itself.
    this.output = { write: tell, get closed() { return out.closed; }, end: async () => (out as { end?: () => Promise<void> }).end?.() };
    return new Proxy(out, {
      get(target, prop) {
        if (prop === 'write') return tell;
        if (prop === TOLD) return true;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  /** Writes an opened dump's problems through `put` unless told already or already in the stream. */
  private async tellProblems(put: (r: AnyRecord) => Promise<void>, dump: string): Promise<void> {
    const prog = this.toldProblems.has(dump) ? undefined : this.programs.get(dump);
    if (prog === undefined || prog instanceof Error) return;
    this.toldProblems.add(dump);
    for (const e of programErrors(prog) as AnyRecord[]) {
      const key = errorKey(e);
      if (this.errorsInStream.has(key)) continue;
      await put(e);
      this.toldKeys.add(key);
    }
  }

  /** A program for debuginfo alone (--btf/--vmlinux without a dump). */
  protected debuginfoProgram(): Program {
    return Program.debuginfo(this.programOptions);
  }

  /** An address as users type it: hex, SYMBOL, SYMBOL.member, SYMBOL[i] (usage error otherwise). */
  protected address(prog: Program, text: string, flag?: string): bigint {
    try {
      return resolveAddress(prog, text);
    } catch (err) {
      if (err instanceof AddressError) throw new FatalError(flag ? `${flag}: ${err.message}` : err.message, EXIT.usage);
      throw err;
    }
  }

  /**
   * The filter loop: records on stdin, those of kinds this command consumes
   * (and that name a dump) handed to `handle` with their dump's program, the
   * rest passed through unchanged, in order. A dump that cannot be opened is
   * one error record after its first record; its records pass through.
   */
  protected async filter(sink: RecordSink, handle: (record: AnyRecord, prog: Program) => AsyncIterable<AnyRecord> | Iterable<AnyRecord>, opts: { dump?: string } = {}): Promise<void> {
    this.requirePipedInput('or give a DUMP ');
    const out = this.stream(sink);
    const consumes = (this.constructor as typeof VmpipeCommand).consumes;
    const all = consumes.includes('*');
    const told = new Set<string>();
    for await (const record of readRecords(process.stdin)) {
      if (out.closed) break;
      const path = opts.dump ?? (typeof record.dump === 'string' ? record.dump : undefined);
      if (path === undefined || record.kind === 'error' || !(all || consumes.includes(record.kind))) {
        await out.write(record);
        continue;
      }
      const prog = this.tryProgram(path);
      // The dump's problems before anything this command says about it (after its source
      // record when that is what is handled: the stream does that), whatever dump the records name.
      if (!(prog instanceof Error) && !(record.kind === 'source' && record.dump === path)) await this.tellProblems((r) => out.write(r), path);
      if (prog instanceof Error) {
        await out.write(record);
        if (!told.has(path)) await out.write(errorRecord('dump-unusable', `${path}: ${prog.message}`, { dump: path }));
        told.add(path);
        continue;
      }
      for await (const r of handle(record, prog)) {
        if (out.closed) break;
        await out.write(r);
      }
    }
  }

  /** A filter whose stdin is a terminal says what it expects instead of waiting silently. */
  protected requirePipedInput(alternative = ''): void {
    if (process.stdin.isTTY) {
      throw new FatalError(`reads NDJSON records on stdin (e.g. vmcore-extract DUMP | ${this.id}); pipe records in ${alternative}(see --help)`, EXIT.usage);
    }
  }

  /**
   * A run that fails before its stream said anything about an opened dump still writes that
   * dump's problems (they are often why it fails), then ends the stream; the one line on
   * stderr and the exit code follow as ever. Nothing for a sound dump.
   */
  private async tellUntold(): Promise<void> {
    const out = this.output;
    if (!out || out.closed) return;
    const before = this.toldKeys.size;
    try {
      for (const path of this.programs.keys()) await this.tellProblems((r) => out.write(r), path);
      if (this.toldKeys.size > before) await out.end?.();
    } catch {
      // the failure itself is what must reach the user
    }
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    for (const p of this.programs.values()) if (!(p instanceof Error)) p.close();
    return super.finally(err);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number }; code?: string }): Promise<void> {
    const name = (this.id ?? 'vmpipe').replaceAll(':', ' ');
    if (err.code === 'EPIPE') this.exit(EXIT.ok);
    let message = err.message;
    let exitCode = exitCodeFor(err);
    if (exitCode === undefined && err.oclif?.exit !== undefined) {
      // oclif's own parse errors: keep the first line, which names the problem.
      if (err.oclif.exit === 0) return;
      exitCode = EXIT.usage;
      message = `${oneLine(message)} (see ${name} --help)`;
    }
    if (exitCode === undefined) {
      exitCode = EXIT.io;
      message = `internal error: ${message}`;
      if (process.env['VMPIPE_DEBUG']) process.stderr.write(`${err.stack}\n`);
    }
    await this.tellUntold();
    process.stderr.write(`${name}: ${message}\n`);
    process.exitCode = exitCode;
    this.exit(exitCode);
  }
}

/**
 * oclif's parse errors as one line: "The following errors occurred:" and its
 * list become the list itself; "Missing 1 required arg:" gets the argument's name.
 */
function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^See more help with/.test(l));
  const [first, ...rest] = lines;
  if (!first) return message;
  if (/^The following errors occurred:?$/.test(first)) return rest.join('; ') || first;
  if (/^Missing \d+ required args?:?$/.test(first)) return `${first.replace(/:?$/, ':')} ${rest.filter((l) => /^\S+\s{2,}/.test(l)).map((l) => l.split(/\s+/)[0]).join(', ')}`;
  return first;
}

/** Quiet end when the reader of stdout goes away. */
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
});
