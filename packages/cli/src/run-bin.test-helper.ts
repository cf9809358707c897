/** A command's bin run as a user runs it (a child `node bin/NAME.js ARGS`), its output read whole. */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export type Rec = Record<string, unknown> & { kind: string };

export interface BinRun {
  code: number | null;
  out: string;
  err: string;
  /** stdout's NDJSON lines as records (read when asked: some runs print text) */
  recs: () => Rec[];
}

export function runBin(name: string, args: string[]): Promise<BinRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(here, '..', 'bin', `${name}.js`), ...args]);
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('close', (code) => resolve({ code, out, err, recs: () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec) }));
  });
}
