/**
 * Where a command's records go: NDJSON, or with --format crash (pahole) the text crash users
 * read, through the same renderers as `vmpipe-render`. The one writer every command uses.
 */
import { LineWriter, RecordWriter, type AnyRecord } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import type { RecordSink } from './base.js';

export interface Out extends RecordSink {
  /** any record object (the commands' typed records too) */
  write(r: AnyRecord | object): Promise<void>;
  end(): Promise<void>;
}

/** NDJSON for `json` (or no format); otherwise text. `type` records are drawn in the style asked (crash's struct -o or pahole's). */
export function writerFor(format: string | undefined): Out {
  if (format === undefined || format === 'json') return new RecordWriter();
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
      if (r.kind === 'source') return; // text output is what crash prints: no header block
      await print(renderer.render(r.kind === 'type' ? { ...r, style: format } : r));
    },
    async end() {
      await print(renderer.flush());
      await out.end();
    },
  };
}
