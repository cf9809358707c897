/**
 * The batch package's errors alone, without BullMQ and ioredis: every command's
 * error table (cli base.ts) names QueueConnectionError, and importing the whole
 * package for it cost each run ~0.15 s of CPU loading the queue's libraries.
 */

/** Redis cannot be reached (a one-shot command gives up after a few seconds; workers keep trying). */
export class QueueConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueueConnectionError';
  }
}
