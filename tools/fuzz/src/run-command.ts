/**
 * Runs a vmpipe command in this process, as its bin would, with stdin, stdout
 * and stderr captured: spawning node per case costs ~0.5 s, a run in process
 * a few milliseconds. The command sees the same argv parsing, base class,
 * error table and exit path as from a shell.
 */
import { Config } from '@oclif/core';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';

export interface CommandRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let config: Config | undefined;

async function cliConfig(): Promise<Config> {
  if (!config) {
    // VMPIPE_FUZZ_CLI=/path/to/other/checkout/packages/cli runs another build's commands (a before/after comparison).
    const root = process.env['VMPIPE_FUZZ_CLI'] ?? dirname(createRequire(import.meta.url).resolve('@vmpipe/cli/package.json'));
    config = await Config.load({ root });
  }
  return config;
}

type Write = typeof process.stdout.write;

/** One command run: `stdin` (when given) is what a pipe would carry. Runs are sequential. */
export async function runCommand(id: string, argv: string[], stdin?: string | Buffer, env: Record<string, string> = {}): Promise<CommandRun> {
  const cfg = await cliConfig();
  const out: string[] = [];
  const err: string[] = [];
  const capture = (into: string[]): Write =>
    ((chunk: string | Uint8Array, encoding?: unknown, cb?: unknown) => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
      return true;
    }) as Write;
  const saved = { out: process.stdout.write, err: process.stderr.write, stdin: Object.getOwnPropertyDescriptor(process, 'stdin')!, exitCode: process.exitCode };
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  const input = Readable.from(stdin === undefined ? [] : [typeof stdin === 'string' ? Buffer.from(stdin) : stdin]);
  Object.defineProperty(process, 'stdin', { value: input, configurable: true, writable: true });
  process.exitCode = undefined;
  const start = performance.now();
  let code: number;
  try {
    await cfg.runCommand(id, argv);
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const exit = (e as { oclif?: { exit?: number } }).oclif?.exit;
    if (typeof exit === 'number') code = exit;
    else {
      // Escaped the command's own catch: what a user would see as a crash of node.
      err.push(`UNCAUGHT: ${(e as Error)?.stack ?? String(e)}\n`);
      code = -1;
    }
  } finally {
    // LineWriter flushes on setImmediate: let pending output land before restoring.
    await new Promise((r) => setImmediate(r));
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    Object.defineProperty(process, 'stdin', saved.stdin);
    process.exitCode = saved.exitCode;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  return { code, stdout: out.join(''), stderr: err.join(''), ms: performance.now() - start };
}
