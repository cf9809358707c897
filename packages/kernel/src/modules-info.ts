/**
 * What `struct module` says about a module beyond its symbols: its taint
 * letters, as kernel/panic.c's `taint_flags[]` prints them (print_tainted(),
 * module_flags()), indexed by the TAINT_* bit numbers of include/linux/panic.h
 * (6.1: 0..17; TAINT_TEST 18 from 6.0 on some trees, 'N'); and its own types (module_btf).
 */

import { ElfFile } from '@vmpipe/elf';
import { BtfTable, typesFor, type TypeTable } from '@vmpipe/types';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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
  private readonly tables = new Map<string, TypeTable | Error>();
  private readonly btfOf: Map<bigint, bigint>;
  private koIndex: Map<string, string[]> | undefined;
  /** the modules in `modules` list order (crash `mod`), with the struct module address */
  readonly modules: { name: string; addr: bigint }[];

  constructor(private readonly prog: Program) {
    this.modules = prog.modules.modules.map((m) => ({ name: m.name, addr: m.addr }));
    this.btfOf = btf_modules(prog);
  }

  /**
   * This module's types: its split BTF, else (with the program's `modules`
   * directory) its matching .ko's DWARF; KernelReadError when it is not loaded
   * or neither can be read.
   */
  table(module: string): TypeTable {
    const got = this.tables.get(module) ?? this.load(module);
    if (got instanceof Error) throw got;
    return got;
  }

  /** Names of the loaded modules whose types can be looked for: those with BTF, and all with a .ko directory. */
  searchable(): string[] {
    const dir = this.prog.options.modules !== undefined;
    return this.modules.filter((m) => dir || this.btfOf.has(m.addr)).map((m) => m.name);
  }

  /** Loaded modules with no BTF, when no .ko directory was given: their types are nowhere. */
  withoutTypes(): string[] {
    if (this.prog.options.modules !== undefined) return [];
    return this.modules.filter((m) => !this.btfOf.has(m.addr)).map((m) => m.name);
  }

  private load(module: string): TypeTable | Error {
    let got: TypeTable | Error;
    const m = this.modules.find((x) => x.name === module);
    const btf = m && this.btfOf.get(m.addr);
    if (!m) got = new KernelReadError('module BTF', `no module ${module} is loaded`);
    else if (btf !== undefined) {
      try {
        got = split_btf(this.prog, btf);
      } catch (err) {
        got = err as Error;
      }
    } else got = this.fromKo(m);
    this.tables.set(module, got);
    return got;
  }

  /** A module without BTF: the DWARF of its .ko under the `modules` directory (crash `mod -s`). */
  private fromKo(m: { name: string; addr: bigint }): TypeTable | Error {
    const dir = this.prog.options.modules;
    const noBtf = `module ${m.name} has no BTF on btf_modules (built without CONFIG_DEBUG_INFO_BTF_MODULES?)`;
    if (dir === undefined) return new KernelReadError('module BTF', `${noBtf}; give --modules DIR with its .ko`);
    try {
      this.koIndex ??= ko_index(dir);
      const f = module_object_file(this.prog, m, this.koIndex, this.prog.dump?.vmcoreinfo?.get('OSRELEASE'));
      if (!('path' in f)) return new KernelReadError('module types', `${noBtf}, and no .ko in ${dir} fits: ${f.why}`);
      return typesFor({ vmlinux: f.path, preferDwarf: true });
    } catch (err) {
      return new KernelReadError('module types', `${m.name}: ${(err as Error).message}`);
    }
  }
}

/**
 * A loaded module's GNU build-id, from the note sections the kernel keeps for
 * /sys/module/NAME/notes (kernel/module/sysfs.c: `module.notes_attrs`, one
 * bin_attribute per SHT_NOTE section, `private` its address, `size` its
 * length); undefined when the module kept no `.note.gnu.build-id`.
 */
export function module_build_id(prog: Program, moduleAddr: bigint): string | undefined {
  const notesAttrs = StructLayout.of(prog, 'module').read(prog, moduleAddr).int('notes_attrs');
  if (notesAttrs === 0n) return undefined;
  const na = StructLayout.of(prog, 'module_notes_attrs');
  const ba = StructLayout.of(prog, 'bin_attribute');
  const n = na.read(prog, notesAttrs).num('notes');
  for (let i = 0; i < Math.min(n, 64); i++) {
    const a = ba.read(prog, notesAttrs + BigInt(na.offset('attrs') + i * ba.size));
    if (prog.mem.readCString(a.int('attr.name'), 64) !== '.note.gnu.build-id') continue;
    const size = Math.min(a.num('size'), 4096);
    return gnuBuildId(prog.mem.readBytes(a.int('private'), size));
  }
  return undefined;
}

/** The desc of the NT_GNU_BUILD_ID (3) note owned by "GNU" in a note section's bytes, as lowercase hex. */
function gnuBuildId(b: Uint8Array): string | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at + 12 <= b.length; ) {
    const namesz = dv.getUint32(at, true);
    const descsz = dv.getUint32(at + 4, true);
    const type = dv.getUint32(at + 8, true);
    const name = at + 12;
    const desc = name + ((namesz + 3) & ~3);
    if (desc + descsz > b.length) return undefined;
    if (type === 3 && namesz === 4 && Buffer.from(b.subarray(name, name + 3)).toString('latin1') === 'GNU') return Buffer.from(b.subarray(desc, desc + descsz)).toString('hex');
    at = desc + ((descsz + 3) & ~3);
  }
  return undefined;
}

/** How a .ko was matched to a loaded module: the same build-id, else the same kernel release in its vermagic, else by name alone. */
export type KoMatch = 'build-id' | 'vermagic' | 'name';

export interface ModuleObjectFile {
  path: string;
  match: KoMatch;
}

/**
 * The `.ko` files under a directory (recursively, as `lib/modules/RELEASE` lays
 * them out), by module name: kbuild names a module after its file with `-` as `_`.
 */
export function ko_index(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (d: string, depth: number) => {
    if (depth > 16) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name.endsWith('.ko') && (e.isFile() || e.isSymbolicLink())) {
        const name = e.name.slice(0, -3).replace(/-/g, '_');
        out.set(name, [...(out.get(name) ?? []), p]);
      }
    }
  };
  walk(dir, 0);
  for (const list of out.values()) list.sort();
  return out;
}

/**
 * The .ko of a loaded module among a directory's (crash `mod -S DIR`): of the
 * files named for it, the one whose build-id is the module's in memory; when
 * the module kept no build-id note, the first whose `.modinfo` vermagic names
 * the dump's kernel release. A file whose build-id differs is never taken;
 * undefined when none fits, with the reason.
 */
export function module_object_file(prog: Program, module: { name: string; addr: bigint }, index: Map<string, string[]>, release: string | undefined): ModuleObjectFile | { why: string } {
  const candidates = index.get(module.name.replace(/-/g, '_')) ?? [];
  if (!candidates.length) return { why: `no ${module.name}.ko` };
  let want: string | undefined;
  try {
    want = module_build_id(prog, module.addr);
  } catch {
    want = undefined; // notes unreadable (excluded page): fall back to vermagic
  }
  const why: string[] = [];
  for (const path of candidates) {
    let id: string | undefined;
    let vermagic: string | undefined;
    try {
      const elf = ElfFile.open(path);
      try {
        id = elf.buildId();
        const mi = elf.section('.modinfo');
        if (mi) vermagic = /(?:^|\0)vermagic=([^\0]*)/.exec(Buffer.from(elf.contents(mi)).toString('latin1'))?.[1];
      } finally {
        elf.close();
      }
    } catch (err) {
      why.push(`${path}: ${(err as Error).message}`);
      continue;
    }
    if (want !== undefined && id !== undefined) {
      if (id === want) return { path, match: 'build-id' };
      why.push(`${path}: build-id ${id}, the module's is ${want}`);
      continue;
    }
    const rel = vermagic?.split(' ')[0];
    if (release !== undefined && rel !== undefined) {
      if (rel === release) return { path, match: 'vermagic' };
      why.push(`${path}: vermagic ${rel}, the dump's release is ${release}`);
      continue;
    }
    return { path, match: 'name' };
  }
  return { why: why.join('; ') };
}
