/**
 * DWARF 4 and 5 type information from an ELF file (vmlinux, .ko, .o, any
 * executable), as the project's one type model (../model.ts).
 *
 * Model notes (what DWARF has that the model does not say):
 *  - `_Atomic T` (DW_TAG_atomic_type) has no qualifier kind in the model; it
 *    is given as { kind: 'type_tag', name: '_Atomic' }.
 *  - C++ (classes' inheritance, methods, templates, namespaces) is not mapped;
 *    class_type reads as a struct with its data members.
 *  - `lookup` returns the first definition in unit order (as pahole -C does),
 *    not the largest: a progressive index cannot know the largest without
 *    scanning everything, and both answers must be the same on every run.
 *  - A declaration (`struct foo;`, DW_AT_declaration) reads as FwdType from
 *    `get`; `DwarfTypeTable.definition(id)` finds the full definition by name
 *    across units as pahole does. Resolving inside `get` would make naming
 *    any `struct foo *` scan the index; the model could offer an optional
 *    `definitionOf(id)` on TypeTable so BTF and DWARF callers use one call.
 *  - ArrayType.count is 0 both for `x[]` (no bound) and `x[0]` ); pahole 1.24 prints
 *    `[]` for a subrange without bounds or with DW_AT_count 0, but `[0]` for
 *    the kernel's `__u8 __cloned_offset[0]` in sk_buff. A flag
 *    (`flexible?: boolean`) would let a renderer do the same.
 *  - func/var declarations are not produced (lookup('func'|'var') → undefined).
 *
 * Layers: elf.ts (sections, compression, relocations) → sections.ts →
 * info.ts (unit headers, abbreviations, forms) → indexer.ts (name index) →
 * table.ts (DIEs → CType, lazily); cache.ts keeps the index per build-id.
 */
import { ElfError, ElfFile } from './elf.js';
import { DwarfError, fromElf } from './errors.js';
import { DwarfFile } from './sections.js';
import { NameIndex } from './indexer.js';
import { DwarfTypeTable } from './table.js';
import { cacheDir } from '@vmpipe/cache';
import { loadCache, saveCache, type CacheKey } from './cache.js';

export { DwarfError, type DwarfErrorReason } from './errors.js';
export { DwarfTypeTable } from './table.js';

export interface DwarfOptions {
  /** false: neither read nor write the index cache. Default true (when the file has a build-id). */
  cache?: boolean;
  /** cache directory instead of $VMPIPE_CACHE / $XDG_CACHE_HOME/vmpipe / ~/.cache/vmpipe */
  cacheDir?: string;
}

/** Opens `path` and returns its DWARF types; throws DwarfError (one-line message) when the file cannot be read. */
export function readDwarfTypes(path: string, options: DwarfOptions = {}): DwarfTypeTable {
  const elf = fromElf(() => ElfFile.open(path));
  try {
    const f = new DwarfFile(elf);
    const buildId = options.cache === false ? undefined : elf.buildId();
    const key: CacheKey | undefined = buildId
      ? { buildId, sizes: [f.infoSection.size, f.typesSection?.size ?? 0, f.abbrev.length, f.str?.length ?? 0] }
      : undefined;
    const dir = options.cacheDir ?? cacheDir();
    const state = key ? loadCache(key, dir) : undefined;
    const index = new NameIndex(f, path, state);
    const save = key
      ? () => {
          if (!index.dirty) return;
          saveCache(key, index.state(), dir);
          index.dirty = false;
        }
      : undefined;
    return new DwarfTypeTable(f, index, save);
  } catch (err) {
    elf.close();
    throw err instanceof ElfError ? new DwarfError(err.reason, err.message) : err;
  }
}
