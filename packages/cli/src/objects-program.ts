/**
 * What the object commands (module-list, task-list, mem-info, addr-info,
 * mem-search, run-queue, var-read) share on top of the command base: their
 * flags, the `source` record they start with, text output through the
 * renderers for --format crash, and the kernel readers' failures that end a
 * run (a walk that cannot start: exit 4).
 */
import { Flags } from '@oclif/core';
import { KernelReadError, ModuleWalkError, type Program } from '@vmpipe/kernel';
import { EXIT, FatalError, LineWriter, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import { NoTypesError } from '@vmpipe/kernel';
import { programFlags } from './base.js';
import { sourceRecord } from './dump-records.js';

/** The shared program flags (base.ts) and --format. */
export const objectFlags = {
  ...programFlags,
  format: Flags.string({ description: 'json records, or text like crash', options: ['json', 'crash'], default: 'json' }),
};

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
  return { ...sourceRecord(prog), dump: prog.path };
}
