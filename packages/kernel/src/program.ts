/**
 * The program: one object per dump, as drgn's `Program`. It is opened once
 * from a dump path and the user's debuginfo choices, owns the dump and its
 * kernel memory view, and loads lazily (each at most once) what a command or
 * a helper asks for: the kernel's symbols, the types, the module list and the
 * modules' symbols. Every command and every kernel helper takes a Program;
 * tests build one from parts (`Program.fromParts`) over a BufferMemory.
 *
 * What was actually used is kept, so the one `source` record a stream starts
 * with (`source()`) says where symbols and types came from.
 */
import { kernelMemory, type KernelMemory } from '@vmpipe/addrxlat';
import { DumpError, openDump, type Dump } from '@vmpipe/dump';
import { symbolsFor, symbolSource, SymbolTable, withModules, type DumpSymbols, type SymbolSourceName } from '@vmpipe/symbols';
import { btfCachePath, findType, NoTypesError, readDumpBtfCached, TypeLookupError, typesFor, type FoundType, type TypeSource, type TypeTable } from '@vmpipe/types';
import { existsSync } from 'node:fs';
import { readModules, type ModuleList } from './modules.js';
import { find_btf_in_image } from './btf-locate.js';
import { ModuleTypes } from './modules-info.js';
import { kaslr_offset_fallback, kernelMemoryFromKallsyms, vmcoreinfo_fallbacks, vmcoreinfoUnusable, type ProgramProblem } from './vmcoreinfo-fallbacks.js';

export type { ProgramProblem } from './vmcoreinfo-fallbacks.js';

export interface ProgramOptions {
  /** the dump's vmlinux: symbols (ELF symtab) and types (.BTF, or DWARF) */
  vmlinux?: string;
  systemMap?: string;
  /** a raw BTF file (a copy of /sys/kernel/btf/vmlinux; .zst ok) */
  btf?: string;
  /** with vmlinux: read DWARF even when .BTF is present */
  preferDwarf?: boolean;
  /** use a System.map or vmlinux that does not match the dump */
  force?: boolean;
  /** where symbols come from ('auto': kallsyms, System.map, vmlinux) */
  symbols?: 'auto' | 'kallsyms' | 'system-map' | 'vmlinux';
  /** read pages the dump level excluded as zeros (crash --zero_excluded) */
  zeroExcluded?: boolean;
  /** a directory of the modules' .ko files (crash mod -S DIR): DWARF types for modules without BTF */
  modules?: string;
}

/** What a source record says about the program: where symbols and types come from, and why not. */
export interface ProgramSource {
  symbols: SymbolSourceName;
  types: TypeSource | 'none';
  /** why there are no types or symbols, when there are none */
  notes: string[];
}

/** Parts for a program without a dump file: unit tests over BufferMemory, or debuginfo alone. */
export interface ProgramParts {
  path?: string;
  mem?: KernelMemory;
  types?: TypeTable;
  symbols?: SymbolTable | DumpSymbols;
  dump?: Dump;
}

/** A type found by `Program.findType`: the table to decode it with, and the module whose types hold it. */
export interface TypeIn {
  table: TypeTable;
  found: FoundType;
  module?: string;
}

/** `struct foo [mod]` -> the type's spelling and the module (a space before `[`, so `page[2]` is no module). */
export function splitModuleSpelling(spelled: string): { name: string; module?: string } {
  const m = /^(.*\S)\s+\[([\w-]+)\]\s*$/.exec(spelled);
  return m ? { name: m[1]!, module: m[2]! } : { name: spelled };
}

/** findType's question without its "did you mean" search (which, over a split table, reads the kernel's 100k names). */
function hasType(table: TypeTable, spelled: string): boolean {
  const s = spelled.trim().replace(/\s+/g, ' ');
  const m = /^(struct|union|enum)\s+(\S+)$/.exec(s);
  if (m) return table.lookup(m[1] as 'struct' | 'union' | 'enum', m[2]!) !== undefined;
  return (['struct', 'union', 'typedef', 'enum', 'int', 'float'] as const).some((k) => table.lookup(k, s) !== undefined);
}

type Lazy<T> = { value: T } | { error: Error };

function once<T>(slot: { v?: Lazy<T> }, make: () => T): T {
  if (!slot.v) {
    try {
      slot.v = { value: make() };
    } catch (err) {
      slot.v = { error: err as Error };
    }
  }
  if ('error' in slot.v) throw slot.v.error;
  return slot.v.value;
}

export class Program {
  /** the dump as the user named it (records' `dump` field), or the debuginfo file for a program without a dump */
  readonly path: string;
  readonly options: Readonly<ProgramOptions>;
  /** facts worth telling the user once (junk System.map lines, module walk problems, ...) */
  readonly notes: string[] = [];
  private readonly memSlot: { v?: Lazy<KernelMemory> } = {};
  private readonly kernelSymbolsSlot: { v?: Lazy<DumpSymbols> } = {};
  private readonly typesSlot: { v?: Lazy<TypeTable> } = {};
  private readonly modulesSlot: { v?: Lazy<ModuleList> } = {};
  private readonly symbolsSlot: { v?: Lazy<SymbolTable> } = {};
  private readonly moduleTypesSlot: { v?: Lazy<ModuleTypes> } = {};
  private problemList: ProgramProblem[] | undefined;

  private constructor(path: string, readonly dump: Dump | undefined, options: ProgramOptions) {
    this.path = path;
    this.options = options;
  }

  /** Opens a dump (DumpError when it is no dump or cannot be read); nothing else is read yet. */
  static open(path: string, options: ProgramOptions = {}): Program {
    return new Program(path, openDump(path), options);
  }

  /** A program for debuginfo alone (--btf/--vmlinux without a dump): types only. */
  static debuginfo(options: ProgramOptions): Program {
    return new Program(options.btf ?? options.vmlinux ?? '', undefined, options);
  }

  /** A program from given parts (tests, BufferMemory); parts not given are absent, not loaded. */
  static fromParts(parts: ProgramParts): Program {
    const p = new Program(parts.path ?? 'memory', parts.dump, {});
    if (parts.mem) p.memSlot.v = { value: parts.mem };
    if (parts.types) p.typesSlot.v = { value: parts.types };
    if (parts.symbols) {
      const s = parts.symbols instanceof SymbolTable ? { table: parts.symbols, source: 'kallsyms' as const, notes: [] } : parts.symbols;
      p.kernelSymbolsSlot.v = { value: s };
    }
    return p;
  }

  /** The dump, for commands that read its file-level facts; throws for a debuginfo-only program. */
  get theDump(): Dump {
    if (!this.dump) throw new NoTypesError('this needs a dump, and only debuginfo was given');
    return this.dump;
  }

  /**
   * Kernel virtual memory (DumpError 'unsupported' when the dump gives no way to translate).
   * A VMCOREINFO that lost its page-table root still translates when it locates kallsyms:
   * the root is kallsyms' init_top_pgt (`problems` says so).
   */
  get mem(): KernelMemory {
    return once(this.memSlot, () => {
      try {
        return kernelMemory(this.theDump);
      } catch (err) {
        const viaKallsyms = err instanceof DumpError ? kernelMemoryFromKallsyms(this.theDump) : undefined;
        if (viaKallsyms) return viaKallsyms;
        throw err;
      }
    });
  }

  /**
   * KASLR's offset of the kernel image: VMCOREINFO's KERNELOFFSET, or (when that is damaged
   * or lost) what `problems` says was taken instead; 0 without VMCOREINFO.
   */
  get kernelOffset(): bigint {
    const dump = this.dump;
    if (!dump?.vmcoreinfo) return 0n;
    const given = dump.vmcoreinfo.kernelOffset;
    if (given !== undefined || !vmcoreinfoUnusable(dump, 'KERNELOFFSET')) return given ?? 0n;
    return kaslr_offset_fallback(dump).offset;
  }

  /**
   * Every problem met opening the dump and deriving its facts, in the order met: the dump
   * layer's (a file cut short, a header that contradicts itself, a damaged note, a VMCOREINFO
   * value that cannot be true or that a cut-short note lost), VMCOREINFO lines that are not
   * KEY=VALUE, and for each unusable value with a second source, what was taken instead.
   * Derived once, on first use; empty for a sound dump. The command base writes each as an
   * `error` record at the start of the dump's part of every command's stream.
   */
  get problems(): readonly ProgramProblem[] {
    if (this.problemList) return this.problemList;
    const list: ProgramProblem[] = [];
    this.problemList = list; // set first: deriving a fallback may read memory, which must not ask again
    const dump = this.dump;
    if (!dump) return list;
    list.push(...dump.warnings);
    for (const p of dump.vmcoreinfo?.problems ?? []) {
      list.push({ code: 'vmcoreinfo-line', message: `VMCOREINFO line ${p.line} is not KEY=VALUE: ${JSON.stringify(p.text)}`, line: p.line });
    }
    list.push(...vmcoreinfo_fallbacks(dump, this.kernelOffset, () => this.mem));
    return list;
  }

  /** The kernel's own symbols (no modules): kallsyms, System.map or vmlinux. SymbolFileError for a bad given file. */
  get kernelSymbols(): DumpSymbols {
    return once(this.kernelSymbolsSlot, () => {
      let memory: KernelMemory | undefined;
      try {
        memory = this.mem;
      } catch {
        memory = undefined; // a dump that cannot be translated still gets a file's symbols
      }
      const o = this.options;
      const opts = {
        ...(o.systemMap ? { systemMap: o.systemMap } : {}),
        ...(o.vmlinux ? { vmlinux: o.vmlinux } : {}),
        ...(o.force ? { force: true } : {}),
        ...(memory ? { memory } : {}),
      };
      let s = symbolsFor(this.theDump, { ...opts, ...(o.symbols ? { prefer: o.symbols } : {}) });
      // kallsyms of a kernel without CONFIG_KALLSYMS_ALL (Debian's arm64) has text symbols only:
      // no init_task, no per-CPU or data variables. A given System.map or vmlinux has them all.
      if (s.source === 'kallsyms' && !o.symbols && (o.systemMap || o.vmlinux) && s.table.lookup('init_task').length === 0) {
        const file = symbolsFor(this.theDump, { ...opts, prefer: o.systemMap ? 'system-map' : 'vmlinux' });
        file.notes.unshift(`kallsyms in the dump has no data symbols (a kernel without CONFIG_KALLSYMS_ALL): symbols from ${file.file}`);
        s = file;
      }
      this.notes.push(...s.notes);
      return s;
    });
  }

  /** The address of a kernel symbol (the first of its aliases that is not absolute), or undefined. */
  symbol(name: string): bigint | undefined {
    let table: SymbolTable;
    try {
      table = this.kernelSymbols.table;
    } catch {
      return undefined;
    }
    const found = table.lookup(name);
    return (found.find((s) => s.type !== 'A' && s.type !== 'a') ?? found[0])?.addr;
  }

  /** The types: --btf, else --vmlinux (.BTF or DWARF), else the dump's own BTF (found through kallsyms). */
  get types(): TypeTable {
    return once(this.typesSlot, () => {
      const o = this.options;
      if (!o.btf && !o.vmlinux) {
        if (!this.dump) throw new NoTypesError('no type source: give --btf FILE or --vmlinux FILE, or a dump whose kallsyms has __start_BTF');
        const dump = this.dump;
        // The dump's BTF, cached by build-id: a warm run needs no kallsyms.
        return readDumpBtfCached(this.mem, {
          buildId: dump.vmcoreinfo?.get('BUILD-ID'),
          kernelOffset: this.kernelOffset,
          locate: () => {
            const s = this.kernelSymbols;
            if (s.source === 'none') {
              const why = s.notes.join('; ') || 'no kallsyms in VMCOREINFO';
              throw new NoTypesError(`cannot find the dump's BTF without symbols (${why}); give --btf or --vmlinux`);
            }
            const start = this.symbol('__start_BTF');
            const stop = this.symbol('__stop_BTF');
            if (start === undefined || stop === undefined) {
              // kallsyms without data symbols (no CONFIG_KALLSYMS_ALL, as on Debian's arm64): find the header.
              const found = find_btf_in_image(this);
              if (found) return found;
            }
            if (start === undefined || stop === undefined) throw new NoTypesError('the dump has no __start_BTF/__stop_BTF symbols (kernel built without CONFIG_DEBUG_INFO_BTF?); give --btf or --vmlinux');
            return { start, stop };
          },
        });
      }
      return typesFor({
        ...(o.btf ? { btf: o.btf } : {}),
        ...(o.vmlinux ? { vmlinux: o.vmlinux } : {}),
        ...(o.preferDwarf ? { preferDwarf: true } : {}),
        ...(this.dump && !o.btf && !o.vmlinux ? { memory: this.mem, symbol: (n: string) => this.symbol(n) } : {}),
      });
    });
  }

  /**
   * Each loaded module's own types (its split BTF on `btf_modules`), kept apart
   * from `types`, the kernel's, which they are parsed over.
   */
  get moduleTypes(): ModuleTypes {
    return once(this.moduleTypesSlot, () => new ModuleTypes(this));
  }

  /**
   * A type by what a user types, and the table that decodes it, as drgn's
   * `prog.type()`: the kernel's types first, then each module's in `modules`
   * order (its split BTF; with `modules` given, else its .ko's DWARF);
   * `TYPE [module]` (crash's spelling of a module symbol) asks one module.
   * TypeLookupError when none has it.
   */
  findType(spelled: string): TypeIn {
    const { name, module } = splitModuleSpelling(spelled);
    if (module !== undefined) {
      const table = this.moduleTypes.table(module);
      return { table, found: findType(table, name), module };
    }
    const kernel = this.types;
    try {
      return { table: kernel, found: findType(kernel, name) };
    } catch (err) {
      if (!(err instanceof TypeLookupError) || !this.dump) throw err;
      let mods: ModuleTypes;
      try {
        mods = this.moduleTypes;
      } catch (why) {
        throw new TypeLookupError(`${err.message}; the modules' types were not searched: ${(why as Error).message}`);
      }
      const unread: string[] = [];
      for (const m of mods.searchable()) {
        let table: TypeTable;
        try {
          table = mods.table(m);
        } catch (why) {
          unread.push((why as Error).message); // one module's unreadable types do not hide the others'
          continue;
        }
        if (hasType(table, name)) return { table, found: findType(table, name), module: m };
      }
      const bare = mods.withoutTypes();
      if (bare.length) unread.push(`${bare.join(', ')} (no BTF; give --modules DIR with the .ko)`);
      if (unread.length) throw new TypeLookupError(`${err.message}; not searched: ${unread.join('; ')}`);
      throw err;
    }
  }

  /** The types, or the error saying why there are none (for facts that are simply absent without them). */
  tryTypes(): TypeTable | Error {
    try {
      return this.types;
    } catch (err) {
      return err as Error;
    }
  }

  /** Loaded modules (the `modules` list), read once; needs the kernel symbols and the types. */
  get modules(): ModuleList {
    return once(this.modulesSlot, () => readModules(this));
  }

  /**
   * Every symbol: the kernel's and, where the dump has types and a `modules` list,
   * the loaded modules' (`name [module]`). Without them, the kernel's alone and a note.
   */
  get symbols(): SymbolTable {
    return once(this.symbolsSlot, () => {
      const kernel = this.kernelSymbols;
      if (kernel.source === 'none' || this.symbol('modules') === undefined || !this.dump) return kernel.table;
      try {
        const mods = this.modules;
        this.notes.push(...mods.notes);
        return withModules(kernel.table, mods);
      } catch (err) {
        this.notes.push(`module symbols not read: ${(err as Error).message}`);
        return kernel.table;
      }
    });
  }

  /**
   * Where symbols and types come from: what was loaded, else what would be used
   * (for symbols, the cheap answer from VMCOREINFO and the given files; for types,
   * the given file or the dump's BTF when its symbols locate it).
   */
  source(): ProgramSource {
    const notes: string[] = [];
    let symbols: SymbolSourceName;
    const ks = this.kernelSymbolsSlot.v;
    if (ks && 'value' in ks) symbols = ks.value.source;
    else if (this.dump?.arch === 'arm64' && (this.options.systemMap || this.options.vmlinux) && symbolSource(this.dump, this.options) === 'kallsyms') {
      // Whether kallsyms gives way to the file depends on what kallsyms holds (KALLSYMS_ALL): look.
      try {
        symbols = this.kernelSymbols.source;
      } catch {
        symbols = symbolSource(this.dump, this.options);
      }
    } else if (this.dump) symbols = symbolSource(this.dump, this.options);
    else symbols = 'none';
    let types: ProgramSource['types'] = 'none';
    const ts = this.typesSlot.v;
    if (ts && 'value' in ts) types = ts.value.source;
    else if (ts && 'error' in ts) notes.push(ts.error.message);
    else if (this.options.btf) types = 'btf-file';
    else if (this.options.vmlinux) types = this.options.preferDwarf ? 'dwarf' : 'btf-vmlinux';
    else if (this.dump && symbols === 'kallsyms' && (this.btfCached() || this.symbol('__start_BTF') !== undefined || (this.dump.arch === 'arm64' && this.symbol('_etext') !== undefined))) types = 'btf-dump';
    else if (this.dump?.arch === 'arm64' && symbols !== 'none' && (this.btfCached() || this.symbol('__start_BTF') !== undefined)) types = 'btf-dump';
    return { symbols, types, notes };
  }

  /** This kernel build's BTF was read from a dump before (the cache by build-id): the answer without decoding kallsyms. */
  private btfCached(): boolean {
    const id = this.dump?.vmcoreinfo?.get('BUILD-ID');
    return id !== undefined && /^[0-9a-f]+$/i.test(id) && existsSync(btfCachePath(id.toLowerCase()));
  }

  close(): void {
    this.dump?.close();
  }
}
