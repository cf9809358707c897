import { Flags } from '@oclif/core';
import { enqueue } from '@vmpipe/batch';
import { VmpipeCommand } from '../../base.js';
import { jobsFromArgv, queueConfig, redisFlags } from '../../batch-jobs.js';

export default class QueueAdd extends VmpipeCommand {
  static override summary = 'Put jobs on the queue: one command line per dump, for workers on other machines.';
  static override description =
    'vmpipe queue add --redis URL -- CMD ARGS... ::: DUMP...: as `vmpipe batch`, but the jobs go to a BullMQ queue in Redis and `vmpipe worker` runs them wherever it runs. A job carries the command line and the dump\'s path or URL, never the dump. A job already on the queue (the same command line) is not added again.';
  static override examples = ['<%= config.bin %> queue add --redis redis://127.0.0.1:6379 -- vmcore-extract {} --panic ::: /srv/dumps/*/vmcore'];
  static override strict = false;

  static override flags = {
    ...redisFlags,
    attempts: Flags.integer({ description: 'tries per job before it counts as failed', default: 3, min: 1, helpValue: 'N' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(QueueAdd);
    const jobs = await jobsFromArgv(argv as string[]);
    const n = await enqueue(queueConfig(flags), jobs, { attempts: flags.attempts });
    process.stderr.write(`queue add: ${n} job(s) on queue ${flags.queue}\n`);
  }
}
