import { Flags } from '@oclif/core';
import { startWorker } from '@vmpipe/batch';
import { cpus } from 'node:os';
import { VmpipeCommand } from '../base.js';
import { queueConfig, redisFlags, commandResolver } from '../batch-jobs.js';

export default class WorkerCommand extends VmpipeCommand {
  static override summary = 'Run queued jobs on this machine (a BullMQ worker on Redis) until stopped.';
  static override description =
    'Takes jobs that `vmpipe queue add` put on the queue and runs them here, --concurrency at a time; the dumps must be readable here at the paths the jobs name. Results go back to Redis, one per job (`vmpipe queue results`). A job that fails is retried with backoff; a worker that dies mid-job has its job taken over by another once its lock expires (--lock). SIGINT/SIGTERM finish the running jobs and stop. See docs/batch.md.';
  static override examples = ['VMPIPE_REDIS_URL=redis://127.0.0.1:6379 <%= config.bin %> worker --concurrency 2'];

  static override flags = {
    ...redisFlags,
    concurrency: Flags.integer({ char: 'c', description: 'jobs at a time (default: the number of cores)', min: 1, helpValue: 'N' }),
    timeout: Flags.integer({ description: 'seconds a job may run before it is killed (0: no limit)', default: 600, min: 0, helpValue: 'S' }),
    memory: Flags.integer({ description: 'heap cap per vmpipe job, in MB', default: 4096, min: 64, helpValue: 'MB' }),
    lock: Flags.integer({ description: 'seconds without a sign of life before a job is taken as abandoned and run elsewhere', default: 30, min: 1, helpValue: 'S' }),
    verbose: Flags.boolean({ description: 'a line on stderr per job' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(WorkerCommand);
    const cfg = queueConfig(flags);
    const { worker, done } = startWorker(cfg, {
      concurrency: flags.concurrency ?? cpus().length,
      resolve: commandResolver(this.config),
      timeoutMs: flags.timeout * 1000,
      memoryMb: flags.memory,
      lockMs: flags.lock * 1000,
      stalledCheckMs: Math.max(500, (flags.lock * 1000) / 2),
      ...(flags.verbose ? { log: (l: string) => process.stderr.write(`worker: ${l}\n`) } : {}),
    });
    const stop = () => void worker.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await done;
  }
}
