import { queueStatus } from '@vmpipe/batch';
import { VmpipeCommand } from '../../base.js';
import { queueConfig, redisFlags, writeOut } from '../../batch-jobs.js';

export default class QueueStatus extends VmpipeCommand {
  static override summary = 'How many queued jobs are waiting, active, done and failed.';
  static override description = 'One `queue-status` record: waiting, active, delayed (waiting to be retried), completed, failed, and how many results are stored.';
  static override examples = ['<%= config.bin %> queue status --redis redis://127.0.0.1:6379'];
  static override produces = ['queue-status'];
  static override flags = { ...redisFlags };

  async run(): Promise<void> {
    const { flags } = await this.parse(QueueStatus);
    const c = await queueStatus(queueConfig(flags));
    await writeOut(JSON.stringify({ kind: 'queue-status', queue: flags.queue, ...c }) + '\n');
  }
}
