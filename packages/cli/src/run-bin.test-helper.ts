/**
 * A command's bin run as a user runs it (a child `node bin/NAME.js ARGS`), its output read whole:
 * the one way the tests run a bin. runBin runs it asynchronously (the tests of a file run side by
 * side, and a long spawnSync holds ava's worker past its timeout on a busy machine); runBinSync
 * where a test wants it in line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A record of a command's NDJSON output: its fields as any JSON.parse gives (tests read them freely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Rec = Record<string, any> & { kind: string };

export interface RunOptions {
  /** written to the command's stdin, which is then closed; without it stdin is closed at once (empty, not a terminal) */
  input?: string;
  /** merged over process.env (a key set to undefined is left out) */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** ms; the child is killed after it (code null) */
  timeout?: number;
}

export interface BinRun {
  /** the exit code; null when a signal ended the child */
  code: number | null;
  out: string;
  err: string;
  /** stdout's NDJSON lines as records (read when asked: some runs print text) */
  records: () => Rec[];
}

/** The path of a command's bin: bin/NAME.js of this package. */
export function binPath(name: string): string {
  return join(here, '..', 'bin', `${name}.js`);
}

const parse = (out: string) => (): Rec[] => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
const envOf = (opts: RunOptions) => (opts.env ? { ...process.env, ...opts.env } : process.env);

/** `node bin/NAME.js ARGS`, run asynchronously. */
export function runBin(name: string, args: string[], opts: RunOptions = {}): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [binPath(name), ...args], { env: envOf(opts), cwd: opts.cwd, timeout: opts.timeout });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, out, err, records: parse(out) }));
    // a command that exits without reading its input closes the pipe: EPIPE is no test's concern
    p.stdin.on('error', () => {});
    p.stdin.end(opts.input ?? '');
  });
}

/** `node bin/NAME.js ARGS`, run in line. */
export function runBinSync(name: string, args: string[], opts: RunOptions = {}): BinRun {
  const r = spawnSync(process.execPath, [binPath(name), ...args], { input: opts.input, env: envOf(opts), cwd: opts.cwd, timeout: opts.timeout, encoding: 'utf8', maxBuffer: 1 << 30 });
  const out = r.stdout ?? '';
  return { code: r.status, out, err: r.stderr ?? '', records: parse(out) };
}
