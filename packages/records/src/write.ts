import type { Writable } from 'node:stream';
import type { AnyRecord } from './kinds.js';

/** Records are written in batches of about this many characters: one write per record costs a syscall each. */
const BATCH = 64 * 1024;

/**
 * Writes lines of text with backpressure. Lines are gathered into batches
 * and flushed when a batch is full, when the event loop turns (so a slow
 * producer's output still appears promptly), and at `end()`. A reader that
 * goes away (`| head -1`) is normal: the writer then stops quietly and
 * `closed` is true, so a generator can stop producing.
 */
export class LineWriter {
  closed = false;
  private pending = '';
  private waiting: Promise<void> | null = null;
  private flushScheduled = false;

  constructor(private readonly out: Writable = process.stdout) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') this.closed = true;
      else throw err;
    });
  }

  /** Queues one line (without its newline); resolves when the stream can take more. */
  async line(text: string): Promise<void> {
    if (this.closed) return;
    this.pending += text + '\n';
    if (this.pending.length >= BATCH) await this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        void this.flush();
      });
    }
  }

  /** Hands the queued lines to the stream, waiting for it to drain first if it asked to. */
  private async flush(): Promise<void> {
    if (this.waiting) await this.waiting;
    if (this.closed || this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    if (!this.out.write(chunk)) {
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
      await this.waiting;
    }
  }

  /** Resolves once everything written has been handed to the OS. */
  async end(): Promise<void> {
    await this.flush();
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      if (this.out === process.stdout) {
        this.out.write('', () => resolve());
      } else {
        this.out.end(() => resolve());
      }
    });
  }
}

/** Writes records as NDJSON: one JSON object per line, batched as LineWriter does. */
export class RecordWriter extends LineWriter {
  /** Queues one record; resolves when the stream can take more. */
  async write(record: AnyRecord | object): Promise<void> {
    await this.line(JSON.stringify(record));
  }
}
