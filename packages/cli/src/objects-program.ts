/**
 * How the object commands (module-list, task-list, mem-info, addr-info) open
 * a dump's Program and write their records, until the shared command base
 * (issue 8: `this.program(path)`, `...programFlags`) lands; then they switch
 * to it and this file goes.
 */
import { Flags } from '@oclif/core';
import { KernelReadError, ModuleWalkError, Program } from '@vmpipe/kernel';
import { EXIT, FatalError, LineWriter, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import { NoTypesError } from '@vmpipe/types';
import { sourceRecord } from './dump-records.js';

export const objectFlags = {
  vmlinux: Flags.string({ description: 'the dump\'s vmlinux (symbols and types)', helpValue: 'FILE' }),
  'system-map': Flags.string({ description: 'a System.map for the symbols', helpValue: 'FILE' }),
  btf: Flags.string({ description: 'a raw BTF file for the types', helpValue: 'FILE' }),
  dwarf: Flags.boolean({ description: 'with --vmlinux, read DWARF even when .BTF is present' }),
  force: Flags.boolean({ description: 'use a System.map or vmlinux that does not match the dump' }),
  'zero-excluded': Flags.boolean({ description: 'read pages the dump level excluded as zeros (crash --zero_excluded)' }),
  format: Flags.string({ description: 'json records, or text like crash', options: ['json', 'crash'], default: 'json' }),
};

export interface ObjectFlags {
  vmlinux?: string | undefined;
  'system-map'?: string | undefined;
  btf?: string | undefined;
  dwarf?: boolean;
  force?: boolean;
  'zero-excluded'?: boolean;
  format?: string;
}

export function openProgram(path: string, f: ObjectFlags): Program {
  return Program.open(path, {
    ...(f.vmlinux ? { vmlinux: f.vmlinux } : {}),
    ...(f['system-map'] ? { systemMap: f['system-map'] } : {}),
    ...(f.btf ? { btf: f.btf } : {}),
    ...(f.dwarf ? { preferDwarf: true } : {}),
    ...(f.force ? { force: true } : {}),
    ...(f['zero-excluded'] ? { zeroExcluded: true } : {}),
  });
}

/** Types and symbols are required by every object command: without them the run is meaningless (exit 4). */
export function requireTypes(prog: Program): void {
  const t = prog.tryTypes();
  if (t instanceof Error) throw new FatalError(t.message, EXIT.badFormat);
}

/** A failure that makes the whole listing meaningless, as one line and exit 4. */
export function fatalKernel(err: unknown): never {
  if (err instanceof KernelReadError || err instanceof ModuleWalkError || err instanceof NoTypesError) throw new FatalError(err.message, EXIT.badFormat);
  throw err;
}

export interface Out {
  write(r: AnyRecord | object): Promise<void>;
  end(): Promise<void>;
  readonly closed: boolean;
}

/** NDJSON, or crash-like text through the renderers (--format crash). */
export function writerFor(format: string | undefined): Out {
  if (format !== 'crash') return new RecordWriter();
  const renderer = new Renderer({ color: false });
  const out = new LineWriter();
  const print = async (lines: string[]) => {
    if (lines.length) await out.line(lines.join('\n'));
  };
  return {
    get closed() {
      return out.closed;
    },
    async write(o) {
      const r = o as AnyRecord;
      if (r.kind === 'source') return;
      await print(renderer.render(r));
    },
    async end() {
      await print(renderer.flush());
      await out.end();
    },
  };
}

/** The stream's first record: what the dump is and where symbols and types came from. */
export function programSource(prog: Program): AnyRecord {
  const src = prog.source();
  return { ...sourceRecord(prog.theDump), symbols: src.symbols, types: src.types, dump: prog.path };
}
