/**
 * Where the module loader put each of a module's sections, as
 * /sys/module/NAME/sections/ lists them (kernel/module/sysfs.c,
 * add_sect_attrs; crash and gdb's `add-symbol-file` place a .ko's sections
 * from the same list): `struct module.sect_attrs` points at a
 * `struct module_sect_attrs { grp; nsections; attrs[] }`, and each
 * `struct module_sect_attr` holds the section's name (`battr.attr.name`
 * since 5.8, `name` before) and its `address`. Only SHF_ALLOC sections are
 * listed. Empty when the kernel keeps no such list (no CONFIG_SYSFS, or a
 * layout this does not know).
 */
import { lookupType, memberIfPresent, sizeOf } from '@vmpipe/types';
import type { KernelModule } from './modules.js';
import type { Program } from './program.js';

/** A .ko has a few dozen sections; a count past this is not a real list. */
const MAX_SECTIONS = 4096;

/** Section name -> address in memory. Memory that cannot be read throws (MemoryError). */
export function moduleSections(prog: Program, module: KernelModule): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const types = prog.types;
  const list = memberIfPresent(types, 'struct module', 'sect_attrs');
  const attr = lookupType(types, 'struct module_sect_attr');
  const count = memberIfPresent(types, 'struct module_sect_attrs', 'nsections');
  const attrs = memberIfPresent(types, 'struct module_sect_attrs', 'attrs');
  const name = memberIfPresent(types, 'struct module_sect_attr', 'battr.attr.name') ?? memberIfPresent(types, 'struct module_sect_attr', 'name');
  const address = memberIfPresent(types, 'struct module_sect_attr', 'address');
  if (!list || !attr || !count || !attrs || !name || !address) return out;
  const at = prog.mem.readU64(module.addr + BigInt(list.offset));
  if (at === 0n) return out;
  const n = prog.mem.readU32(at + BigInt(count.offset));
  if (n > MAX_SECTIONS) return out;
  const size = sizeOf(types, attr.id);
  for (let i = 0; i < n; i++) {
    const one = at + BigInt(attrs.offset + i * size);
    out.set(prog.mem.readCString(prog.mem.readU64(one + BigInt(name.offset)), 256), prog.mem.readU64(one + BigInt(address.offset)));
  }
  return out;
}

/**
 * A module's tables of patch sites, as the bounds the kernel's own tables have by symbol name
 * (`__start___jump_table`.., `__start_static_call_sites`..): `struct module`'s `jump_entries`
 * and `static_call_sites` pointers and their counts (include/linux/module.h). Missing members
 * (a kernel without jump labels or static calls) leave their table out.
 */
export function moduleTableBounds(prog: Program, module: KernelModule): Map<string, bigint> {
  const types = prog.types;
  const out = new Map<string, bigint>();
  const table = (ptr: string, count: string, type: string, start: string, stop: string) => {
    const p = memberIfPresent(types, 'struct module', ptr);
    const n = memberIfPresent(types, 'struct module', count);
    const t = lookupType(types, type);
    if (!p || !n || !t) return;
    const at = prog.mem.readU64(module.addr + BigInt(p.offset));
    const entries = prog.mem.readU32(module.addr + BigInt(n.offset));
    if (at === 0n || entries === 0 || entries > 1 << 20) return;
    out.set(start, at);
    out.set(stop, at + BigInt(entries * sizeOf(types, t.id)));
  };
  table('jump_entries', 'num_jump_entries', 'struct jump_entry', '__start___jump_table', '__stop___jump_table');
  table('static_call_sites', 'num_static_call_sites', 'struct static_call_site', '__start_static_call_sites', '__stop_static_call_sites');
  return out;
}
