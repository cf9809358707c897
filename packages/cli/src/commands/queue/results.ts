import { Flags } from '@oclif/core';
import { readResults } from '@vmpipe/batch';
import { VmpipeCommand } from '../../base.js';
import { queueConfig, redisFlags, writeOut } from '../../batch-jobs.js';

export default class QueueResults extends VmpipeCommand {
  static override summary = 'The queued jobs\' results as one NDJSON stream, each job once.';
  static override description =
    'Every finished job\'s records (as `vmpipe batch` writes them: the command\'s records, an error record if it failed, its `job` record), each job once however often it ran. --follow keeps going until no job is waiting, active or delayed.';
  static override examples = ['<%= config.bin %> queue results --redis redis://127.0.0.1:6379 --follow > results.ndjson'];
  static override produces = ['*', 'job', 'error'];

  static override flags = {
    ...redisFlags,
    follow: Flags.boolean({ char: 'f', description: 'wait for the rest until the queue is drained' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(QueueResults);
    let closed = false;
    process.stdout.once('error', () => (closed = true));
    await readResults(queueConfig(flags), writeOut, { follow: flags.follow, stopped: () => closed });
  }
}
