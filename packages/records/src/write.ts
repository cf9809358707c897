import type { Writable } from 'node:stream';
import type { AnyRecord } from './kinds.js';

/**
 * Writes records as NDJSON with backpressure. A reader that goes away
 * (`| head -1`) is normal: the writer then stops quietly and `closed` is true,
 * so a generator can stop producing.
 */
export class RecordWriter {
  closed = false;
  private waiting: Promise<void> | null = null;

  constructor(private readonly out: Writable = process.stdout) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else throw err;
    });
  }

  /** Writes one record; resolves when the stream can take more. */
  async write(record: AnyRecord | object): Promise<void> {
    if (this.closed) return;
    if (this.waiting) await this.waiting;
    if (this.closed) return;
    const ok = this.out.write(JSON.stringify(record) + '\n');
    if (!ok) {
      this.waiting = new Promise<void>((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.waiting = null;
          resolve();
        };
        this.out.once('drain', done);
        this.out.once('close', done);
      });
    }
  }

  /** Resolves once everything written has been handed to the OS. */
  async end(): Promise<void> {
    if (this.closed) return;
    if (this.waiting) await this.waiting;
    await new Promise<void>((resolve) => {
      if (this.out === process.stdout) {
        this.out.write('', () => resolve());
      } else {
        this.out.end(() => resolve());
      }
    });
  }
}
