/**
 * Many machines: jobs on a BullMQ queue in Redis. The queue carries each job's
 * command line and its input's path or URL, never the dump: workers run where
 * the dumps are. A job's id is its command line's hash (jobs.ts), so adding the
 * same job twice adds it once, and its result is stored once, keyed by that id,
 * however often a worker ran it (a stalled job taken over, a retry).
 *
 * BullMQ gives what a home-made queue would get wrong: retries with backoff,
 * stalled-job recovery when a worker dies mid-job (its lock expires and another
 * worker takes the job), and reconnection when Redis restarts.
 */
import { hostname } from 'node:os';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { QueueConnectionError } from './errors.js';
import type { Job } from './jobs.js';
import { resultRecords, runJob, type RunOptions } from './run.js';

export interface QueueConfig {
  /** redis://[:password@]host:port[/db] or rediss:// for TLS */
  url: string;
  /** queue name (several batches can share one Redis) */
  name?: string;
  /** a password not in the URL */
  password?: string;
}

interface JobData {
  argv: string[];
  input: string;
}

const DEFAULT_NAME = 'vmpipe';

export { QueueConnectionError };

function redis(cfg: QueueConfig, extra: RedisOptions = {}): Redis {
  // maxRetriesPerRequest: null: BullMQ's blocking calls wait across reconnects (a Redis restart) instead of failing.
  return new Redis(cfg.url, { maxRetriesPerRequest: null, ...(cfg.password ? { password: cfg.password } : {}), ...extra });
}

/** A connection for a one-shot command: it must answer within a few seconds, or the command ends with one line. */
async function connect(cfg: QueueConfig): Promise<Redis> {
  const r = redis(cfg, { lazyConnect: true, connectTimeout: 5000, retryStrategy: (times) => (times > 3 ? null : 500) });
  let cause: Error | undefined;
  r.on('error', (e: Error) => (cause = e)); // reported once below, not per retry
  try {
    await r.connect();
    await r.ping();
    return r;
  } catch (err) {
    r.disconnect();
    throw new QueueConnectionError(`cannot reach Redis at ${cfg.url.replace(/\/\/[^@/]*@/, '//***@')}: ${(cause ?? (err as Error)).message}`);
  }
}

const resultsKey = (name: string) => `vmpipe:${name}:results`;

/** Adds jobs (those already on the queue, by id, are left as they are). */
export async function enqueue(cfg: QueueConfig, jobs: readonly Job[], opts: { attempts?: number; backoffMs?: number } = {}): Promise<number> {
  const connection = await connect(cfg);
  const queue = new Queue<JobData>(cfg.name ?? DEFAULT_NAME, { connection: connection as unknown as ConnectionOptions });
  try {
    await queue.addBulk(jobs.map((j) => ({
      name: 'run',
      data: { argv: j.argv, input: j.input },
      opts: { jobId: j.id, attempts: opts.attempts ?? 3, backoff: { type: 'exponential', delay: opts.backoffMs ?? 2000 }, removeOnComplete: false, removeOnFail: false },
    })));
    return jobs.length;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

export interface WorkerOptions extends RunOptions {
  concurrency: number;
  /** ms a job's lock lives without renewal: a worker silent that long is taken as dead and its job is run elsewhere */
  lockMs?: number;
  /** how often to look for such jobs */
  stalledCheckMs?: number;
  log?: (line: string) => void;
}

/** A worker on this machine; resolves when it is closed (SIGINT/SIGTERM close it gracefully). */
export function startWorker(cfg: QueueConfig, opts: WorkerOptions): { worker: Worker; done: Promise<void> } {
  const name = cfg.name ?? DEFAULT_NAME;
  const store = redis(cfg);
  // BullMQ does not close a connection it was given: the worker's is closed with it below.
  const connection = redis(cfg);
  const me = opts.worker ?? `${hostname()}:${process.pid}`;
  const worker = new Worker<JobData>(
    name,
    async (bj) => {
      const job: Job = { input: bj.data.input, argv: bj.data.argv, id: bj.id! };
      const r = await runJob(job, { ...opts, worker: me });
      const last = bj.attemptsMade + 1 >= (bj.opts.attempts ?? 1);
      // The result is kept once per job: a retry or a second run of a taken-over job overwrites the same field.
      if (r.status === 'done' || last) await store.hset(resultsKey(name), job.id, resultRecords(r, me));
      opts.log?.(`${job.id} ${r.status} ${job.argv.join(' ')}`);
      if (r.status !== 'done') throw new Error(`${r.status}: ${r.stderr.split('\n').filter(Boolean).at(-1) ?? `exit ${r.exitCode}`}`);
      return { status: r.status, durationMs: r.durationMs };
    },
    {
      connection: connection as unknown as ConnectionOptions,
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: opts.stalledCheckMs ?? 15_000,
      maxStalledCount: 3,
    },
  );
  worker.on('error', (e) => opts.log?.(`worker: ${e.message}`));
  const done = new Promise<void>((resolve) => worker.on('closed', () => {
    store.disconnect();
    connection.disconnect();
    resolve();
  }));
  return { worker, done };
}

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  results: number;
}

export async function queueStatus(cfg: QueueConfig): Promise<QueueCounts> {
  const connection = await connect(cfg);
  const queue = new Queue(cfg.name ?? DEFAULT_NAME, { connection: connection as unknown as ConnectionOptions });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children');
    const results = await connection.hlen(resultsKey(cfg.name ?? DEFAULT_NAME));
    return { waiting: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['waiting-children'] ?? 0), active: c['active'] ?? 0, delayed: c['delayed'] ?? 0, completed: c['completed'] ?? 0, failed: c['failed'] ?? 0, results };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/**
 * Every stored result, once each, as NDJSON text. With `follow`, keeps
 * looking until no job is waiting, active or delayed and every result is out.
 */
export async function readResults(cfg: QueueConfig, write: (ndjson: string) => Promise<void> | void, opts: { follow?: boolean; pollMs?: number; stopped?: () => boolean } = {}): Promise<number> {
  const name = cfg.name ?? DEFAULT_NAME;
  const connection = await connect(cfg);
  const seen = new Set<string>();
  try {
    for (;;) {
      let cursor = '0';
      do {
        const [next, flat] = await connection.hscan(resultsKey(name), cursor, 'COUNT', 500);
        cursor = next;
        for (let i = 0; i + 1 < flat.length; i += 2) {
          if (seen.has(flat[i]!)) continue;
          seen.add(flat[i]!);
          await write(flat[i + 1]!);
        }
      } while (cursor !== '0' && !opts.stopped?.());
      if (!opts.follow || opts.stopped?.()) return seen.size;
      const c = await queueStatus(cfg);
      if (c.waiting + c.active + c.delayed === 0 && c.results <= seen.size) return seen.size;
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    }
  } finally {
    connection.disconnect();
  }
}

/** Removes the queue and its results (a fresh start for the same name). */
export async function clearQueue(cfg: QueueConfig): Promise<void> {
  const connection = await connect(cfg);
  const queue = new Queue(cfg.name ?? DEFAULT_NAME, { connection: connection as unknown as ConnectionOptions });
  try {
    await queue.obliterate({ force: true });
    await connection.del(resultsKey(cfg.name ?? DEFAULT_NAME));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
