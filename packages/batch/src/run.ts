/**
 * Runs one job as a child process and collects its NDJSON: the records it
 * wrote (each already naming its dump), then one `job` record saying how it
 * ended. A job that fails, is killed by its time limit or exceeds its memory
 * cap becomes an `error` record; the batch goes on.
 */
import { spawn } from 'node:child_process';
import type { Job } from './jobs.js';

/** How to start argv[0]: vmpipe commands run under this Node with a heap cap; anything else as an executable. */
export type Resolver = (command: string) => { file: string; args: string[]; node: boolean };

export interface RunOptions {
  resolve: Resolver;
  /** milliseconds before the job is killed (0: none) */
  timeoutMs?: number;
  /** heap cap for Node jobs, in MB (--max-old-space-size) */
  memoryMb?: number;
  /** where it runs, for the job record (a worker's host name) */
  worker?: string;
}

export type JobStatus = 'done' | 'failed' | 'timeout';

export interface JobResult {
  job: Job;
  status: JobStatus;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** the job's stdout (NDJSON), whole */
  output: string;
  /** the last lines of its stderr */
  stderr: string;
}

const STDERR_KEEP = 4096;

export function runJob(job: Job, opts: RunOptions): Promise<JobResult> {
  const start = Date.now();
  const how = opts.resolve(job.argv[0]!);
  const nodeArgs = how.node && opts.memoryMb ? [`--max-old-space-size=${opts.memoryMb}`] : [];
  const args = [...nodeArgs, ...how.args, ...job.argv.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(how.file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-STDERR_KEEP);
    });
    const timer = opts.timeoutMs ? setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs) : undefined;
    const finish = (exitCode: number | null, signal: string | null) => {
      if (timer) clearTimeout(timer);
      const status: JobStatus = timedOut ? 'timeout' : exitCode === 0 ? 'done' : 'failed';
      resolve({ job, status, exitCode, signal, durationMs: Date.now() - start, output: Buffer.concat(out).toString('utf8'), stderr: err.trim() });
    };
    child.on('error', (e) => {
      err = `${e.message}`;
      finish(null, null);
    });
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** The records a finished job contributes to the merged stream: its own, an error if it failed, and its `job` record. */
export function resultRecords(r: JobResult, worker?: string): string {
  const lines: string[] = [];
  const body = r.output.endsWith('\n') || r.output === '' ? r.output : r.output + '\n';
  if (r.status !== 'done') {
    const why = r.status === 'timeout' ? `timed out after ${r.durationMs} ms` : r.signal ? `killed by ${r.signal}` : `exited with status ${r.exitCode}`;
    const last = r.stderr.split('\n').filter(Boolean).at(-1);
    lines.push(JSON.stringify({ kind: 'error', code: r.status === 'timeout' ? 'job-timeout' : 'job-failed', message: `${r.job.argv.join(' ')}: ${why}${last ? `: ${last}` : ''}`, dump: r.job.input, job: r.job.id, ...(r.exitCode !== null ? { exitCode: r.exitCode } : {}) }));
  }
  lines.push(JSON.stringify({ kind: 'job', dump: r.job.input, job: r.job.id, command: r.job.argv, status: r.status, exitCode: r.exitCode, durationMs: r.durationMs, ...(worker ? { worker } : {}) }));
  return body + lines.join('\n') + '\n';
}
