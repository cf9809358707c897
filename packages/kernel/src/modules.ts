/**
 * Loaded kernel modules and their symbols, read from the dump's memory the way
 * the kernel itself looks them up (kernel/module/main.c, kernel/module/kallsyms.c,
 * include/linux/module.h in 6.1; include/linux/module.h `struct module_memory mem[]`
 * from 6.4):
 *  - the global `modules` is a list_head; each `struct module` hangs on it by `list`;
 *  - `module.kallsyms` points at a `struct mod_kallsyms { symtab, num_symtab, strtab, typetab }`
 *    (after init: `&module.core_kallsyms`): `symtab` is an array of Elf64_Sym
 *    (System V ABI / ELF-64 Object File Format: st_name u32, st_info u8, st_other u8,
 *    st_shndx u16, st_value u64, st_size u64) whose st_value is already the address in
 *    memory, `strtab` their names, `typetab[i]` symbol i's nm letter;
 *  - where a module lives: `core_layout`/`init_layout` { base, size } up to 6.3,
 *    `mem[MOD_TEXT ... MOD_INIT_RODATA]` { base, size } from 6.4.
 * Every offset comes from the dump's types (BTF); nothing about `struct module` is hard-coded.
 * Which symbols count follows find_kallsyms_symbol(): entry 0 (the ELF null symbol),
 * undefined (SHN_UNDEF), unnamed and mapping symbols ($x, $d, ...) are skipped, and
 * MODULE_STATE_UNFORMED modules (still being loaded) are not looked at.
 */
import type { KernelMemory } from '@vmpipe/addrxlat';
import { cString, readUint } from '@vmpipe/bytes';
import type { KernelSymbol, SymbolRange } from '@vmpipe/symbols';
import { findType, memberIfPresent, resolve, sizeOf, type MemberAt, type TypeTable } from '@vmpipe/types';
import { list_for_each } from './list.js';
import type { Program } from './program.js';

/** One loaded module, as crash `mod` lists it. */
export interface KernelModule {
  name: string;
  /** address of its struct module (crash's MODULE column) */
  addr: bigint;
  /** where its core (6.1: core_layout.base; 6.4+: mem[MOD_TEXT].base) starts (crash's BASE) */
  base: bigint;
  /** bytes of its core (6.1: core_layout.size; 6.4+: the sum of the core mem[] sizes) */
  size: number;
  /** where its addresses resolve: core and, while it is initialising, init */
  ranges: SymbolRange[];
  /** how many symbols were read from its kallsyms */
  symbols: number;
  /** each { base, size } of its memory by the kernel's name for it (core_layout, init_layout; mem[MOD_TEXT] ...) */
  regions: { name: string; base: bigint; size: number }[];
  /** enum module_state's name without MODULE_STATE_ (live, coming, going), or the number when the enum lacks it */
  state?: string;
  /** module.taints: the TAINT_* bits the module set (kernel/panic.c) */
  taints?: bigint;
  /** module_refcount(): module.refcnt - MODULE_REF_BASE (1); absent without CONFIG_MODULE_UNLOAD */
  refcount?: number;
}

export interface ModuleProblem {
  /** the module's name when it is known */
  module?: string;
  /** the struct module address */
  addr?: bigint;
  message: string;
}

export interface ModuleList {
  modules: KernelModule[];
  /** every module symbol, `module` set, addresses as in memory */
  symbols: KernelSymbol[];
  /** where module addresses resolve (all modules' ranges) */
  ranges: SymbolRange[];
  /** per-module problems (unreadable memory, bad counts): the other modules are still read */
  errors: ModuleProblem[];
  /** facts about how they were read (which layout members this kernel has) */
  notes: string[];
}

/** The walk cannot start: no `modules` symbol or no `struct module` in the types. */
export class ModuleWalkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModuleWalkError';
  }
}

const SHN_UNDEF = 0;
const ELF64_SYM_SIZE = 24; // Elf64_Sym: 4 + 1 + 1 + 2 + 8 + 8
const MAX_MODULES = 65536; // far more than any kernel loads: a bound, not a loop check (list_for_each finds loops)
const MAX_SYMBOLS = 1 << 22;

function enumValue(types: TypeTable, enumName: string, value: string): number | undefined {
  const id = types.lookup('enum', enumName);
  if (id === undefined) return undefined;
  const t = resolve(types, id).type;
  if (t.kind !== 'enum') return undefined;
  const v = t.values.find((x) => x.name === value);
  return v === undefined ? undefined : Number(v.value);
}

/** enum value -> name without its common MODULE_STATE_ prefix, lower case (live, coming, going, unformed). */
function enumNames(types: TypeTable, enumName: string): Map<number, string> {
  const out = new Map<number, string>();
  const id = types.lookup('enum', enumName);
  if (id === undefined) return out;
  const t = resolve(types, id).type;
  if (t.kind === 'enum') for (const v of t.values) out.set(Number(v.value), v.name.replace(/^MODULE_STATE_/, '').toLowerCase());
  return out;
}

/** The { base, size } pairs of a module's memory, by whichever layout this kernel has. */
interface Region {
  what: string;
  base: MemberAt;
  size: MemberAt;
  init: boolean;
  /** the region crash calls BASE */
  primary: boolean;
}

function regions(types: TypeTable, notes: string[]): Region[] {
  const core = memberIfPresent(types, 'struct module', 'core_layout.base');
  if (core) {
    const out: Region[] = [];
    for (const [name, init] of [['core_layout', false], ['init_layout', true]] as const) {
      const base = memberIfPresent(types, 'struct module', `${name}.base`);
      const size = memberIfPresent(types, 'struct module', `${name}.size`);
      if (base && size) out.push({ what: name, base, size, init, primary: name === 'core_layout' });
    }
    return out;
  }
  // 6.4+: struct module_memory mem[MOD_MEM_NUM_TYPES], indexed by enum mod_mem_type.
  const mem = memberIfPresent(types, 'struct module', 'mem');
  if (!mem) throw new ModuleWalkError('struct module has neither core_layout (up to 6.3) nor mem[] (6.4+) in these types');
  notes.push('struct module has no core_layout in these types: module memory comes from mem[] (Linux 6.4+)');
  const out: Region[] = [];
  for (const name of ['MOD_TEXT', 'MOD_DATA', 'MOD_RODATA', 'MOD_RO_AFTER_INIT', 'MOD_INIT_TEXT', 'MOD_INIT_DATA', 'MOD_INIT_RODATA']) {
    const i = enumValue(types, 'mod_mem_type', name);
    if (i === undefined) continue;
    const base = memberIfPresent(types, 'struct module', `mem[${i}].base`);
    const size = memberIfPresent(types, 'struct module', `mem[${i}].size`);
    if (base && size) out.push({ what: `mem[${name}]`, base, size, init: name.startsWith('MOD_INIT_'), primary: name === 'MOD_TEXT' });
  }
  if (out.length === 0) throw new ModuleWalkError('enum mod_mem_type is missing from these types: cannot index struct module.mem[]');
  return out;
}

/** ARM/AArch64 mapping symbols ($a, $d, $t, $x and $x.foo): the kernel's is_mapping_symbol(). */
function isMappingSymbol(name: string): boolean {
  return name.length >= 2 && name[0] === '$' && 'adtx'.includes(name[1]!) && (name.length === 2 || name[2] === '.');
}

/** nm's letter from st_info when the kernel keeps no typetab (before 5.2): global upper case. */
function letterFromInfo(info: number, shndx: number): string {
  const bind = info >> 4;
  const type = info & 0xf;
  const letter = type === 2 ? 't' : shndx === 0xfff1 ? 'a' : 'd'; // STT_FUNC, SHN_ABS
  return bind === STB_GLOBAL || bind === 2 ? letter.toUpperCase() : letter; // STB_WEAK: 2
}

const STB_GLOBAL = 1;

function globalCase(letter: string, info: number): string {
  return info >> 4 === STB_GLOBAL ? letter.toUpperCase() : letter;
}

/**
 * for_each_module with each module's kallsyms: walks the `modules` list
 * (list_for_each over `struct module.list`) with the program's kernel symbols
 * (the `modules` head) and types (struct module and friends).
 * Throws ModuleWalkError when the walk cannot start; later problems are `errors`.
 */
export function readModules(prog: Program): ModuleList {
  const head = prog.symbol('modules');
  if (head === undefined) throw new ModuleWalkError('no "modules" symbol in the kernel symbols');
  const types = prog.types;
  const mem = prog.mem;
  const notes: string[] = [];
  const le = types.littleEndian;
  const moduleId = types.lookup('struct', 'module');
  if (moduleId === undefined) throw new ModuleWalkError('no struct module in these types');
  const moduleSize = sizeOf(types, moduleId);
  const need = (type: string, path: string) => {
    const m = memberIfPresent(types, type, path);
    if (!m) throw new ModuleWalkError(`${type} has no member ${path} in these types`);
    return m;
  };
  const list = need('struct module', 'list');
  const name = need('struct module', 'name');
  const kallsyms = need('struct module', 'kallsyms');
  const symtab = need('struct mod_kallsyms', 'symtab');
  const numSymtab = need('struct mod_kallsyms', 'num_symtab');
  const strtab = need('struct mod_kallsyms', 'strtab');
  const typetab = memberIfPresent(types, 'struct mod_kallsyms', 'typetab');
  if (!typetab) notes.push('struct mod_kallsyms has no typetab (kernel before 5.2): symbol types come from st_info');
  const mksSize = sizeOf(types, findType(types, 'struct mod_kallsyms').id);
  const state = memberIfPresent(types, 'struct module', 'state');
  const unformed = enumValue(types, 'module_state', 'MODULE_STATE_UNFORMED');
  const stateNames = enumNames(types, 'module_state');
  const taints = memberIfPresent(types, 'struct module', 'taints');
  const refcnt = memberIfPresent(types, 'struct module', 'refcnt.counter');
  const where = regions(types, notes);

  const out: ModuleList = { modules: [], symbols: [], ranges: [], errors: [], notes };
  // As the kernel's own walk and crash `mod`, prev links are not checked: symbols are wanted, not a diagnosis.
  for (const step of list_for_each(prog, head, { max: MAX_MODULES, noPrevCheck: true })) {
    if ('corrupt' in step) {
      const c = step.corrupt;
      out.errors.push(c.reason === 'unreadable' && c.node === head && c.value === head
        ? { message: `the modules list head at 0x${head.toString(16)} cannot be read: ${c.message}` }
        : { addr: c.node, message: `the modules list is broken after ${c.walked} modules (${c.message}); the rest of the list is lost` });
      if (c.reason === 'unreadable' && c.node === head && c.value === head) throw new ModuleWalkError(out.errors[0]!.message);
      break;
    }
    const addr = step.node - BigInt(list.offset);
    let bytes: Uint8Array;
    try {
      bytes = mem.readBytes(addr, moduleSize);
    } catch (err) {
      out.errors.push({ addr, message: `struct module at 0x${addr.toString(16)} cannot be read: ${(err as Error).message}; the rest of the list is lost` });
      break;
    }
    const modName = cString(bytes, name.offset, name.size);
    if (state && unformed !== undefined && Number(readUint(bytes, state.offset, state.size, le)) === unformed) continue;

    const ranges: SymbolRange[] = [];
    const regionList: KernelModule['regions'] = [];
    let base = 0n;
    let size = 0;
    for (const r of where) {
      const b = readUint(bytes, r.base.offset, r.base.size, le);
      const s = Number(readUint(bytes, r.size.offset, r.size.size, le));
      regionList.push({ name: r.what, base: b, size: s });
      if (r.primary) base = b;
      if (!r.init) size += s;
      if (b !== 0n && s > 0) ranges.push({ start: b, end: b + BigInt(s) });
    }
    const mod: KernelModule = { name: modName, addr, base, size, ranges, symbols: 0, regions: regionList };
    if (state) {
      const v = Number(readUint(bytes, state.offset, state.size, le));
      mod.state = stateNames.get(v) ?? String(v);
    }
    if (taints) mod.taints = readUint(bytes, taints.offset, taints.size, le);
    if (refcnt) mod.refcount = Number(BigInt.asIntN(32, readUint(bytes, refcnt.offset, refcnt.size, le))) - 1;
    out.modules.push(mod);
    out.ranges.push(...ranges);
    try {
      mod.symbols = readModuleKallsyms(mem, modName, readUint(bytes, kallsyms.offset, kallsyms.size, le), { mksSize, symtab, numSymtab, strtab, typetab, le }, out.symbols);
    } catch (err) {
      out.errors.push({ module: modName, addr, message: `${modName}: kallsyms cannot be read: ${(err as Error).message}` });
    }
  }
  return out;
}

interface KallsymsLayout {
  mksSize: number;
  symtab: MemberAt;
  numSymtab: MemberAt;
  strtab: MemberAt;
  typetab: MemberAt | undefined;
  le: boolean;
}

function readModuleKallsyms(mem: KernelMemory, module: string, at: bigint, k: KallsymsLayout, into: KernelSymbol[]): number {
  if (at === 0n) throw new Error('struct module.kallsyms is NULL');
  const mks = mem.readBytes(at, k.mksSize);
  const symtab = readUint(mks, k.symtab.offset, k.symtab.size, k.le);
  const num = Number(readUint(mks, k.numSymtab.offset, k.numSymtab.size, k.le));
  const strtab = readUint(mks, k.strtab.offset, k.strtab.size, k.le);
  const typetab = k.typetab ? readUint(mks, k.typetab.offset, k.typetab.size, k.le) : 0n;
  if (num > MAX_SYMBOLS) throw new Error(`num_symtab ${num} is not believable`);
  const syms = mem.readBytes(symtab, num * ELF64_SYM_SIZE);
  const types = typetab !== 0n ? mem.readBytes(typetab, num) : undefined;
  const view = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
  // Names are read through one cache of strtab pages: thousands of small reads otherwise.
  const strings = new Map<number, string>();
  let count = 0;
  for (let i = 1; i < num; i++) {
    const o = i * ELF64_SYM_SIZE;
    const stName = view.getUint32(o, k.le);
    const stInfo = view.getUint8(o + 4);
    const stShndx = view.getUint16(o + 6, k.le);
    const stValue = view.getBigUint64(o + 8, k.le);
    const stSize = view.getBigUint64(o + 16, k.le);
    if (stShndx === SHN_UNDEF) continue;
    let name = strings.get(stName);
    if (name === undefined) {
      name = mem.readCString(strtab + BigInt(stName), 512);
      strings.set(stName, name);
    }
    if (name === '' || isMappingSymbol(name)) continue;
    // typetab holds the kernel's elf_type() letter, lower case but for weak symbols (/proc/kallsyms
    // upper-cases it only for exported ones); nm, vmlinux kallsyms and crash upper-case every global.
    const type = types ? globalCase(String.fromCharCode(types[i]!), stInfo) : letterFromInfo(stInfo, stShndx);
    const s: KernelSymbol = { name, addr: stValue, type, module };
    if (stSize <= BigInt(Number.MAX_SAFE_INTEGER)) s.size = Number(stSize);
    into.push(s);
    count++;
  }
  return count;
}
