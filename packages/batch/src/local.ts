/**
 * One machine: N jobs at a time, their NDJSON merged into one stream in the
 * order they finish (a job's records stay together, each naming its dump),
 * a progress bar on stderr, and a resumable run: `job` records in an earlier
 * output say which inputs are done.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Job } from './jobs.js';
import { resultRecords, runJob, type JobResult, type RunOptions } from './run.js';

export interface BatchOptions extends RunOptions {
  concurrency: number;
  /** called with each finished job's records (NDJSON text), in completion order */
  write: (ndjson: string) => Promise<void> | void;
  /** called after each job: done so far, total */
  progress?: (done: number, total: number, r: JobResult) => void;
  /** stop starting new jobs (the reader went away) */
  stopped?: () => boolean;
}

export interface BatchSummary {
  total: number;
  done: number;
  failed: number;
  timedOut: number;
}

export async function runBatch(jobs: readonly Job[], opts: BatchOptions): Promise<BatchSummary> {
  const summary: BatchSummary = { total: jobs.length, done: 0, failed: 0, timedOut: 0 };
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < jobs.length && !opts.stopped?.()) {
      const job = jobs[next++]!;
      const r = await runJob(job, opts);
      if (r.status === 'done') summary.done++;
      else if (r.status === 'timeout') summary.timedOut++;
      else summary.failed++;
      await opts.write(resultRecords(r, opts.worker));
      opts.progress?.(++finished, jobs.length, r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, jobs.length)) }, worker));
  return summary;
}

/** The job ids an earlier output finished (`job` records with status done), for --resume. */
export async function finishedJobs(path: string): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('"job"')) continue;
    try {
      const r = JSON.parse(line) as { kind?: string; status?: string; job?: string };
      if (r.kind === 'job' && r.status === 'done' && typeof r.job === 'string') done.add(r.job);
    } catch {
      // a line cut short by an interrupted run: that job is not done
    }
  }
  return done;
}
