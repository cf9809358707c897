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

  /**
   * Writes whole lines already encoded as UTF-8 bytes, each ending in a newline (a `ByteLines`
   * chunk), after the lines queued as text; resolves when the stream is done with chunk, so its
   * buffer can be used again. (A write callback alone would not do: a synchronous stream calls
   * it on a later tick, which a producer that only awaits promises never lets come.)
   */
  async bytes(chunk: Uint8Array): Promise<void> {
    if (this.closed || chunk.length === 0) return;
    await this.flush();
    if (this.waiting) await this.waiting;
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('close', done);
        resolve();
      };
      this.out.once('close', done);
      this.out.write(chunk, done);
    });
  }

  /** Hands the queued lines to the stream, waiting for it to drain first if it asked to. */
  private async flush(): Promise<void> {
    if (this.waiting) await this.waiting;
    if (this.closed || this.pending === '') return;
    const chunk = this.pending;
    this.pending = '';
    await this.send(chunk);
  }

  private async send(chunk: string): Promise<void> {
    if (this.waiting) await this.waiting;
    if (this.closed) return;
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

const UTF8 = new TextEncoder();
const UTF8_DECODER = new TextDecoder();

let arena = new Uint8Array(0);
let arenaUsed = 0;

/** At least n bytes free in the arena: a new one when the current one has not (the pieces cut from the old stay valid). */
function roomInArena(n: number): void {
  if (arenaUsed + n > arena.length) {
    arena = new Uint8Array(Math.max(1 << 16, n));
    arenaUsed = 0;
  }
}

/**
 * A string as UTF-8 bytes in a plain Uint8Array, the kind of piece `ByteLines.bytes` copies
 * fastest. Cut from shared 64 KiB arenas: a writer makes hundreds of thousands of pieces, and an
 * ArrayBuffer each (TextEncoder.encode) is memory V8 tracks one by one.
 */
export function utf8(s: string): Uint8Array {
  const most = s.length * 3;
  roomInArena(most);
  const { written } = UTF8.encodeInto(s, arena.subarray(arenaUsed));
  const out = arena.subarray(arenaUsed, arenaUsed + written);
  arenaUsed += written;
  return out;
}

const HEX_DIGIT = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));

/**
 * NDJSON lines built as UTF-8 bytes, for a command that writes millions of records (`disasm`
 * over a kernel's text): copying pre-encoded pieces into one buffer is several times cheaper
 * than joining template strings and encoding them. `take()` hands the lines written so far to
 * `LineWriter.bytes` and starts a new buffer (the stream may still hold the old one).
 */
export class ByteLines {
  // Plain Uint8Arrays everywhere (pieces made with `utf8`, not Buffer.from): `set` between
  // arrays of one class stays a fast copy, a Buffer among them made it several times slower.
  private buf: Uint8Array;
  private at = 0;

  constructor(private readonly size = 1 << 17) {
    this.buf = new Uint8Array(size);
  }

  /** bytes written since the last take() */
  get length(): number {
    return this.at;
  }

  /** Pre-encoded bytes. */
  bytes(b: Uint8Array): void {
    if (this.at + b.length > this.buf.length) this.grow(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** A string, UTF-8 encoded. */
  text(s: string): void {
    if (this.at + s.length * 3 > this.buf.length) this.grow(s.length * 3);
    this.at += UTF8.encodeInto(s, this.buf.subarray(this.at)).written;
  }

  /** A string known to be ASCII (a register name, hex digits): its char codes are its bytes. */
  ascii(s: string): void {
    const n = s.length;
    if (this.at + n > this.buf.length) this.grow(n);
    const b = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /** A string as JSON.stringify writes it: printable ASCII copied between quotes, anything else through JSON.stringify. */
  json(s: string): void {
    const n = s.length;
    if (this.at + n + 2 > this.buf.length) this.grow(n + 2);
    const b = this.buf;
    let at = this.at;
    b[at++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.text(JSON.stringify(s));
        return;
      }
      b[at++] = c;
    }
    b[at++] = 0x22;
    this.at = at;
  }

  /** A non-negative integer in decimal. */
  decimal(n: number): void {
    this.ascii(String(n));
  }

  /**
   * The bytes written since `from` (a `length` taken before), as a piece of their own (copied into
   * the arenas `utf8` cuts from), taken back out of the lines: a writer builds a piece in place.
   */
  piece(from: number): Uint8Array {
    const n = this.at - from;
    roomInArena(n);
    const out = arena.subarray(arenaUsed, arenaUsed + n);
    out.set(this.buf.subarray(from, this.at));
    arenaUsed += n;
    this.at = from;
    return out;
  }

  /** The text written since `from`, taken back out of the lines. */
  textSince(from: number): string {
    const s = UTF8_DECODER.decode(this.buf.subarray(from, this.at));
    this.at = from;
    return s;
  }

  /** One ASCII byte (`"`, `}`, a newline). */
  byte(c: number): void {
    if (this.at + 1 > this.buf.length) this.grow(1);
    this.buf[this.at++] = c;
  }

  /**
   * A 64-bit value given as its high and low 32 bits, in lower-case hex without leading zeros
   * (as `bigint.toString(16)`): no BigInt is made.
   */
  hex64(hi: number, lo: number): void {
    if (hi === 0) {
      this.hex(lo);
      return;
    }
    this.hex(hi);
    this.hex(lo, 8);
  }

  /** b[from, to) as hex byte pairs separated by spaces (`48 8d 25`). */
  hexBytes(b: Uint8Array, from: number, to: number): void {
    if (this.at + 3 * (to - from) > this.buf.length) this.grow(3 * (to - from));
    const out = this.buf;
    let at = this.at;
    for (let i = from; i < to; i++) {
      if (i > from) out[at++] = 0x20;
      out[at++] = HEX_DIGIT[b[i]! >> 4]!;
      out[at++] = HEX_DIGIT[b[i]! & 15]!;
    }
    this.at = at;
  }

  /** An unsigned 32-bit value in hex, at least `digits` digits (zero-padded), without leading zeros beyond them. */
  hex(v: number, digits = 1): void {
    let n = digits;
    while (n < 8 && v >>> (4 * n) !== 0) n++;
    if (this.at + n > this.buf.length) this.grow(n);
    const b = this.buf;
    for (let k = this.at + n - 1; k >= this.at; k--) {
      b[k] = HEX_DIGIT[v & 15]!;
      v >>>= 4;
    }
    this.at += n;
  }

  /**
   * The lines written so far; the next ones go to another buffer. Give the chunk back with
   * `recycle` once it is written (`LineWriter.bytes` resolved): a fresh 128 KiB buffer per
   * chunk is memory outside V8's heap, and gigabytes of it churned made V8 collect its whole heap
   * again and again.
   */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.at);
    this.buf = this.free.pop() ?? new Uint8Array(this.size);
    this.at = 0;
    return out;
  }

  /** A chunk from `take` that the stream no longer needs. */
  recycle(chunk: Uint8Array): void {
    if (chunk.buffer.byteLength === this.size && this.free.length < 8) this.free.push(new Uint8Array(chunk.buffer));
  }

  private readonly free: Uint8Array[] = [];

  private grow(need: number): void {
    const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.at + need));
    bigger.set(this.buf.subarray(0, this.at));
    this.buf = bigger;
  }
}
