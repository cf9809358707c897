/**
 * What `struct module` says about a module beyond its symbols: its taint
 * letters, as kernel/panic.c's `taint_flags[]` prints them (print_tainted(),
 * module_flags()), indexed by the TAINT_* bit numbers of include/linux/panic.h
 * (6.1: 0..17; TAINT_TEST 18 from 6.0 on some trees, 'N'); and its own types (module_btf).
 */

import { BtfTable } from '@vmpipe/types';
import { list_for_each_entry } from './list.js';
import { KernelReadError, need } from './read.js';
import { StructLayout } from './struct-view.js';
import type { Program } from './program.js';

/** TAINT_* bit -> the letter printed when it is set. */
export const TAINT_LETTERS: readonly string[] = [
  'P', // TAINT_PROPRIETARY_MODULE
  'F', // TAINT_FORCED_MODULE
  'S', // TAINT_CPU_OUT_OF_SPEC
  'R', // TAINT_FORCED_RMMOD
  'M', // TAINT_MACHINE_CHECK
  'B', // TAINT_BAD_PAGE
  'U', // TAINT_USER
  'D', // TAINT_DIE
  'A', // TAINT_OVERRIDDEN_ACPI_TABLE
  'W', // TAINT_WARN
  'C', // TAINT_CRAP
  'I', // TAINT_FIRMWARE_WORKAROUND
  'O', // TAINT_OOT_MODULE
  'E', // TAINT_UNSIGNED_MODULE
  'L', // TAINT_SOFTLOCKUP
  'K', // TAINT_LIVEPATCH
  'X', // TAINT_AUX
  'T', // TAINT_RANDSTRUCT
  'N', // TAINT_TEST
];

/** The letters of the set bits of a taint mask, in bit order ('' when untainted); unknown bits as `?`. */
export function taint_letters(mask: bigint): string {
  let out = '';
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out += TAINT_LETTERS[bit] ?? '?';
  }
  return out;
}

/**
 * A module's own types: its split BTF (CONFIG_DEBUG_INFO_BTF_MODULES), whose
 * ids continue the kernel's BTF. After init the kernel drops `module.btf_data`
 * (the .BTF section is not kept) but keeps its parsed copy: the `struct btf` of
 * the module's `struct btf_module` on `btf_modules` (kernel/bpf/btf.c), whose
 * `data`/`data_size` are the raw split BTF.
 */
export function module_btf(prog: Program, moduleAddr: bigint): BtfTable {
  const at = btf_modules(prog).get(moduleAddr);
  if (at === undefined) throw new KernelReadError('module BTF', `no btf_modules entry for the module at 0x${moduleAddr.toString(16)} (built without BTF?)`);
  return split_btf(prog, at);
}

/** struct module address -> its `struct btf` address, from one walk of `btf_modules`. */
export function btf_modules(prog: Program): Map<bigint, bigint> {
  const bm = StructLayout.of(prog, 'btf_module');
  const out = new Map<bigint, bigint>();
  for (const step of list_for_each_entry(prog, need(prog, 'btf_modules'), 'struct btf_module', 'list', { max: 1 << 16, noPrevCheck: true })) {
    if ('corrupt' in step) throw new KernelReadError('btf_modules', step.corrupt.message);
    const v = bm.read(prog, step.entry);
    out.set(v.int('module'), v.int('btf'));
  }
  return out;
}

/** The split BTF a `struct btf` holds, over the kernel's BTF. */
function split_btf(prog: Program, btfAddr: bigint): BtfTable {
  const base = prog.types;
  if (!(base instanceof BtfTable)) throw new KernelReadError('module BTF', 'a module\'s split BTF continues the kernel\'s BTF, and these types are not BTF');
  const b = StructLayout.of(prog, 'btf').read(prog, btfAddr);
  const size = b.num('data_size');
  if (size <= 24 || size > 1 << 28) throw new KernelReadError('module BTF', `data_size ${size} is not believable`);
  return new BtfTable(prog.mem.readBytes(b.int('data'), size), { source: 'btf-dump', base });
}

/**
 * The loaded modules' own types, each module's split BTF parsed the first time
 * a lookup reaches it. A module table answers the kernel's types too (its ids
 * below `startId` are the kernel's), so a type found in it decodes with it alone.
 */
export class ModuleTypes {
  private readonly tables = new Map<string, BtfTable | Error>();
  private readonly btfOf: Map<bigint, bigint>;
  /** the modules in `modules` list order (crash `mod`), with the struct module address */
  readonly modules: { name: string; addr: bigint }[];

  constructor(private readonly prog: Program) {
    this.modules = prog.modules.modules.map((m) => ({ name: m.name, addr: m.addr }));
    this.btfOf = btf_modules(prog);
  }

  /** This module's types (KernelReadError when it is not loaded or has no BTF, or its BTF cannot be read). */
  table(module: string): BtfTable {
    const got = this.tables.get(module) ?? this.load(module);
    if (got instanceof Error) throw got;
    return got;
  }

  /** Names of the loaded modules that carry BTF. */
  withBtf(): string[] {
    return this.modules.filter((m) => this.btfOf.has(m.addr)).map((m) => m.name);
  }

  private load(module: string): BtfTable | Error {
    let got: BtfTable | Error;
    const m = this.modules.find((x) => x.name === module);
    const btf = m && this.btfOf.get(m.addr);
    if (!m) got = new KernelReadError('module BTF', `no module ${module} is loaded`);
    else if (btf === undefined) got = new KernelReadError('module BTF', `module ${module} has no BTF on btf_modules (built without CONFIG_DEBUG_INFO_BTF_MODULES?)`);
    else {
      try {
        got = split_btf(this.prog, btf);
      } catch (err) {
        got = err as Error;
      }
    }
    this.tables.set(module, got);
    return got;
  }
}
