/**
 * The one parser for an address a user types: a hex address (`ffffffff8ae1aa40`,
 * `0x...`), a symbol (`jiffies`, module symbols too), or a symbol's member
 * (`init_task.tasks`, `init_task.thread.sp`, `runqueues[1]` for arrays of
 * objects), as crash accepts `list -H init_task.tasks` and `rd jiffies`.
 *
 * A member needs the symbol's type. BTF carries types only for per-CPU
 * variables (VARs), so other globals come from the table of the variables
 * crash users name every day below, unless the user spells the type:
 * `task_struct:init_task.tasks`.
 */
import { findType, memberAt, resolve, sizeOf, TypeLookupError } from '@vmpipe/types';
import type { Program } from './program.js';

/** Well-known kernel globals and their types (include/linux/*.h), for member paths without DWARF. */
export const KNOWN_VARIABLE_TYPES: Readonly<Record<string, string>> = {
  init_task: 'struct task_struct',
  init_mm: 'struct mm_struct',
  init_uts_ns: 'struct uts_namespace',
  init_pid_ns: 'struct pid_namespace',
  init_nsproxy: 'struct nsproxy',
  init_files: 'struct files_struct',
  init_net: 'struct net',
  modules: 'struct list_head',
  slab_caches: 'struct list_head',
  super_blocks: 'struct list_head',
  vmap_area_list: 'struct list_head',
  contig_page_data: 'struct pglist_data',
  prb: 'struct printk_ringbuffer',
  printk_rb_static: 'struct printk_ringbuffer',
  jiffies: 'long unsigned int',
  jiffies_64: 'u64',
};

/** Why a text is not an address of this program: usage errors carry it to the user. */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

/** A plain address: hex with or without 0x (as crash takes it), or decimal after `0d`; else null. */
export function parseHexAddress(text: string): bigint | null {
  const t = text.trim();
  if (/^0d[0-9]{1,20}$/.test(t)) return BigInt(t.slice(2));
  if (!/^(0x)?[0-9a-f]{1,16}$/i.test(t)) return null;
  return BigInt(t.startsWith('0x') || t.startsWith('0X') ? t : `0x${t}`);
}

/** The type of a kernel variable: a BTF VAR (per-CPU variables), else the well-known table. */
export function variableType(prog: Program, name: string): string | undefined {
  const types = prog.tryTypes();
  if (!(types instanceof Error)) {
    const id = types.lookup('var', name);
    if (id !== undefined) {
      const v = types.get(id);
      if (v.kind === 'var') {
        const t = resolve(types, v.type);
        const named = types.get(t.id);
        if ((named.kind === 'struct' || named.kind === 'union') && named.name) return `${named.kind} ${named.name}`;
      }
    }
  }
  return KNOWN_VARIABLE_TYPES[name];
}

/**
 * Resolves `text` to an address: hex, SYMBOL, SYMBOL[i], SYMBOL.member.path,
 * TYPE:SYMBOL.member, each with `+N` or `-N` after it (N hex with 0x, else
 * decimal, as crash reads `rd panic+16`). Throws AddressError saying what is wrong.
 */
export function resolveAddress(prog: Program, text: string): bigint {
  const hexAddr = parseHexAddress(text);
  if (hexAddr !== null) return hexAddr;
  const plus = /^(.+?)\s*([+-])\s*(0x[0-9a-f]+|\d+)\s*$/i.exec(text);
  if (plus) {
    const n = BigInt(plus[3]!);
    return BigInt.asUintN(64, resolveAddress(prog, plus[1]!) + (plus[2] === '+' ? n : -n));
  }
  // A symbol's own name may have dots (`__handle_sysrq.cold`, `foo.isra.0`): the whole text first.
  const whole = /^[A-Za-z_.$][\w.$]*$/.test(text.trim()) ? symbolAddress(prog, text.trim()) : undefined;
  if (whole !== undefined) return whole;
  const m = /^\s*(?:((?:struct |union )?[A-Za-z_]\w*):)?([A-Za-z_.$][\w.$]*?)(?:\[(\d+)\])?(?:\.([A-Za-z_][\w.[\]]*))?\s*$/.exec(text);
  if (!m) throw new AddressError(`"${text}" is not a hex address, a symbol or SYMBOL.member (each may take +N)`);
  const [, typeText, name, indexText, path] = m;
  const addr = symbolAddress(prog, name!);
  if (addr === undefined) {
    throw new AddressError(`"${text}" is not a hex address, nor a symbol of the dump${prog.kernelSymbols.source === 'none' ? ' (the dump has no symbols: give --system-map or --vmlinux)' : ''}`);
  }
  if (indexText === undefined && path === undefined) return addr;
  const typeName = typeText ?? variableType(prog, name!);
  if (typeName === undefined) {
    throw new AddressError(`the type of ${name} is not known without DWARF: spell it, e.g. task_struct:${name}${indexText !== undefined ? `[${indexText}]` : ''}${path ? `.${path}` : ''}`);
  }
  try {
    const found = findType(prog.types, typeName);
    const index = Number(indexText ?? 0);
    if (path === undefined) return addr + BigInt(index * sizeOf(prog.types, found.id));
    return addr + BigInt(memberAt(prog.types, found, path, index).offset);
  } catch (err) {
    if (err instanceof TypeLookupError) throw new AddressError(`${text}: ${err.message}`);
    throw err;
  }
}

function symbolAddress(prog: Program, name: string): bigint | undefined {
  const kernel = prog.symbol(name);
  if (kernel !== undefined) return kernel;
  let table;
  try {
    table = prog.symbols;
  } catch {
    return undefined;
  }
  return table.lookup(name)[0]?.addr;
}
