/**
 * Chooses where a dump's symbols come from, in this order: kallsyms read from
 * the dump (Linux 6.0+ locates it in VMCOREINFO), then a System.map, then a
 * vmlinux symtab. No source at all is a normal outcome (`none`), not an error.
 * A given file that does not belong to the dump is refused even when kallsyms
 * is what ends up used: the user asked for it, so they should hear it is wrong.
 */
import { kernelMemory } from '@vmpipe/addrxlat';
import type { Dump } from '@vmpipe/dump';
import { bigLengthsByRelease, hasKallsyms, readKallsyms, type KallsymsEncoding, type SymbolMemory } from './kallsyms.js';
import { matchSymbols, relocate, type MatchResult } from './match.js';
import { readSystemMap, SymbolFileError, type SystemMap } from './system-map.js';
import { machineName, readVmlinuxSymbols, EM_AARCH64, EM_X86_64 } from './elf-symtab.js';
import { SymbolTable } from './table.js';

export type SymbolSourceName = 'kallsyms' | 'system-map' | 'vmlinux' | 'none';

export interface SymbolOptions {
  systemMap?: string;
  vmlinux?: string;
  /** use a file that does not match the dump */
  force?: boolean;
  /** take symbols from this source only ('auto': the order above) */
  prefer?: 'auto' | 'kallsyms' | 'system-map' | 'vmlinux';
  /** kernel memory to read kallsyms through; default: @vmpipe/addrxlat's kernelMemory(dump) */
  memory?: SymbolMemory;
}

export interface DumpSymbols {
  table: SymbolTable;
  source: SymbolSourceName;
  /** the file the symbols came from, for system-map and vmlinux */
  file?: string;
  /** facts worth telling the user: junk lines, a forced mismatch, why kallsyms was not used */
  notes: string[];
  kallsymsEncoding?: KallsymsEncoding;
  /** the KASLR offset applied to a file's symbols */
  offset?: bigint;
}

/** Cheap answer for the `source` record: where symbolsFor would take symbols from, without reading them. */
export function symbolSource(dump: Dump, opts: Pick<SymbolOptions, 'systemMap' | 'vmlinux'> = {}): SymbolSourceName {
  if (hasKallsyms(dump.vmcoreinfo)) return 'kallsyms';
  if (opts.systemMap) return 'system-map';
  if (opts.vmlinux) return 'vmlinux';
  return 'none';
}

const ARCH_MACHINE: Record<string, number> = { x86_64: EM_X86_64, arm64: EM_AARCH64 };

function mismatch(what: string, reason: string): SymbolFileError {
  return new SymbolFileError(`${what} and vmcore do not match: ${reason} (--force uses it anyway)`, 'mismatch');
}

function checkVmlinux(dump: Dump, path: string, force: boolean): { buildId?: string } {
  const head = readVmlinuxSymbols(path, false);
  if (head.machine !== ARCH_MACHINE[dump.arch]) {
    throw new SymbolFileError(`vmlinux ${path}: an ELF file for ${machineName(head.machine)}, but the dump is ${dump.arch}`, 'bad-format');
  }
  const want = dump.vmcoreinfo?.get('BUILD-ID')?.toLowerCase();
  if (want && head.buildId && want !== head.buildId && !force) {
    throw mismatch('vmlinux', `build-id ${head.buildId} (vmlinux) vs ${want} (VMCOREINFO BUILD-ID)`);
  }
  return head.buildId ? { buildId: head.buildId } : {};
}

function loadVmlinux(dump: Dump, path: string, force: boolean, notes: string[]): { table: SymbolTable; offset: bigint } {
  const { symbols } = readVmlinuxSymbols(path, true);
  const want = dump.vmcoreinfo?.get('BUILD-ID')?.toLowerCase();
  const match = matchSymbols(symbols, dump.vmcoreinfo);
  if (!want && !match.ok && !force) throw mismatch('vmlinux', match.reason ?? 'symbols differ');
  if (force && want && !match.ok) notes.push(`vmlinux ${path} does not match the dump (${match.reason}); used because of --force`);
  // With a matching build-id the image moved by KERNELOFFSET, whatever the checks say.
  const offset = dump.vmcoreinfo?.kernelOffset ?? match.offset;
  return { table: new SymbolTable(relocate(symbols, offset)), offset };
}

function loadSystemMap(dump: Dump, path: string, force: boolean, notes: string[], map?: SystemMap): { table: SymbolTable; offset: bigint; match: MatchResult } {
  const m = map ?? readSystemMap(path);
  if (m.junkLines > 0) {
    const sample = m.junkSamples.map((j) => `line ${j.line}: ${JSON.stringify(j.text)}`).join('; ');
    notes.push(`System.map ${path}: ${m.junkLines} line(s) are not "address type name" and were skipped (${sample})`);
  }
  const match = matchSymbols(m.symbols, dump.vmcoreinfo);
  if (!match.ok) {
    if (!force) throw mismatch('System.map', match.reason ?? 'symbols differ');
    notes.push(`System.map ${path} does not match the dump (${match.reason}); used because of --force`);
  }
  // relocate keeps the symbols' order, so the map's order by name still holds.
  return { table: new SymbolTable(relocate(m.symbols, match.offset), undefined, m.nameOrder ? { nameOrder: m.nameOrder } : {}), offset: match.offset, match };
}

/** The dump's symbol table and where it came from. Throws SymbolFileError for a bad or mismatched file. */
export function symbolsFor(dump: Dump, opts: SymbolOptions = {}): DumpSymbols {
  const force = opts.force ?? false;
  const prefer = opts.prefer ?? 'auto';
  const notes: string[] = [];
  // Validate what was given before anything else: a wrong file is the user's first problem.
  let map: SystemMap | undefined;
  if (opts.vmlinux) checkVmlinux(dump, opts.vmlinux, force);
  if (opts.systemMap) {
    map = readSystemMap(opts.systemMap);
    const match = matchSymbols(map.symbols, dump.vmcoreinfo);
    if (!match.ok && !force) throw mismatch('System.map', match.reason ?? 'symbols differ');
  }

  if ((prefer === 'auto' || prefer === 'kallsyms') && hasKallsyms(dump.vmcoreinfo)) {
    try {
      const memory = opts.memory ?? kernelMemory(dump);
      const k = readKallsyms(memory, dump.vmcoreinfo!);
      if (k.bigLengths !== bigLengthsByRelease(dump.vmcoreinfo!.osrelease)) {
        notes.push(`kallsyms_names uses ${k.bigLengths ? 'two-byte' : 'one-byte'} long-name lengths, unlike most kernels of release ${dump.vmcoreinfo!.osrelease}`);
      }
      return { table: new SymbolTable(k.packed ?? k.symbols, undefined, k.nameOrder ? { nameOrder: k.nameOrder } : {}), source: 'kallsyms', notes, kallsymsEncoding: k.encoding };
    } catch (err) {
      if (prefer === 'kallsyms') throw new SymbolFileError(`kallsyms: ${(err as Error).message}`, 'bad-format');
      notes.push(`kallsyms from the dump could not be read: ${(err as Error).message}`);
    }
  } else if (prefer === 'kallsyms') {
    throw new SymbolFileError('kallsyms: VMCOREINFO does not locate the kallsyms tables (Linux 6.0+ exports them)', 'bad-format');
  }
  if (opts.systemMap && (prefer === 'auto' || prefer === 'system-map')) {
    const { table, offset } = loadSystemMap(dump, opts.systemMap, force, notes, map);
    return { table, source: 'system-map', file: opts.systemMap, notes, offset };
  }
  if (opts.vmlinux && (prefer === 'auto' || prefer === 'vmlinux')) {
    const { table, offset } = loadVmlinux(dump, opts.vmlinux, force, notes);
    return { table, source: 'vmlinux', file: opts.vmlinux, notes, offset };
  }
  if (prefer !== 'auto') throw new SymbolFileError(`--symbols ${prefer}: no ${prefer === 'system-map' ? '--system-map' : '--vmlinux'} given`, 'bad-format');
  return { table: new SymbolTable([]), source: 'none', notes };
}
