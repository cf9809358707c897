export * from './model.js';
export { BtfTable, BtfError, BTF_MAGIC, type BtfHeader } from './btf/reader.js';
export { readBtfFile, readVmlinuxBtf, readDumpBtf, SourceFileError } from './btf/sources.js';
export { readDumpBtfCached, btfCachePath, type DumpBtfCacheOptions } from './btf/cache.js';
export { declare, declString, typeName, type Decl } from './names.js';
export * from './layout.js';
export { Decoder, readObject, type DecodeOptions, type Json, type ObjectBytes } from './decode.js';

import type { KernelMemory } from '@vmpipe/addrxlat';
import type { TypeTable } from './model.js';
import { BtfError } from './btf/reader.js';
import { readBtfFile, readDumpBtf, readVmlinuxBtf } from './btf/sources.js';
import { readDwarfTypes } from './dwarf/index.js';

export interface TypesOptions {
  /** a raw BTF file (or .zst of one) */
  btf?: string;
  /** a vmlinux: its .BTF section, or its DWARF with preferDwarf or when it has no BTF */
  vmlinux?: string;
  preferDwarf?: boolean;
  /** kernel memory of the dump, for BTF between __start_BTF and __stop_BTF */
  memory?: KernelMemory;
  /** address of a kernel symbol in the dump (kallsyms), for __start_BTF/__stop_BTF */
  symbol?: (name: string) => bigint | undefined;
}

/** No type source could be found or read: the message says what was tried. */
export class NoTypesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoTypesError';
  }
}

/**
 * The type source for a run, in this order: --btf FILE; --vmlinux FILE (its
 * .BTF, or DWARF with preferDwarf or when it has no .BTF); the dump's own BTF
 * (memory between __start_BTF and __stop_BTF). The table's `source` says which.
 */
export function typesFor(opts: TypesOptions): TypeTable {
  if (opts.btf) return readBtfFile(opts.btf);
  if (opts.vmlinux) {
    if (!opts.preferDwarf) {
      const t = readVmlinuxBtf(opts.vmlinux);
      if (t) return t;
    }
    return readDwarfTypes(opts.vmlinux);
  }
  if (opts.memory && opts.symbol) {
    const start = opts.symbol('__start_BTF');
    const stop = opts.symbol('__stop_BTF');
    if (start === undefined || stop === undefined) throw new NoTypesError('the dump has no __start_BTF/__stop_BTF symbols (kernel built without CONFIG_DEBUG_INFO_BTF?); give --btf or --vmlinux');
    return readDumpBtf(opts.memory, start, stop);
  }
  throw new NoTypesError('no type source: give --btf FILE or --vmlinux FILE, or a dump whose kallsyms has __start_BTF');
}

export { BtfError as CorruptTypesError };
export { DwarfError } from './dwarf/index.js';
