import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { PageCache } from './pagecache.js';
import { DumpError } from './errors.js';

/**
 * Positioned reads over the bytes of a dump. Every format reader sits on one,
 * so a flattened file (whose bytes must be reassembled) can stand in for a
 * plain one. Reads never load a whole file: dumps can be larger than memory.
 */
export interface ByteSource {
  /** Size of the (logical) file in bytes. */
  readonly size: number;
  /** Up to `length` bytes from `offset`; shorter only at the end of the source. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export class FileSource implements ByteSource {
  readonly size: number;
  private fd: number;

  private constructor(fd: number, size: number) {
    this.fd = fd;
    this.size = size;
  }

  /** Opens read-only: nothing is ever written to a dump. */
  static open(path: string): FileSource {
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      throw new DumpError('no-input', `${path}: ${describeFsError(err)}`);
    }
    if (stat.isDirectory()) throw new DumpError('no-input', `${path}: is a directory`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw new DumpError('no-input', `${path}: ${describeFsError(err)}`);
    }
    const size = fstatSync(fd).size;
    return new FileSource(fd, size);
  }

  read(offset: number, length: number): Uint8Array {
    // A damaged header can ask for anything: outside the file there is nothing to read.
    if (!(offset >= 0) || !Number.isSafeInteger(offset) || !(length > 0)) return Buffer.alloc(0);
    const want = Math.max(0, Math.min(length, this.size - offset));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, buf, got, want - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return got === want ? buf : buf.subarray(0, got);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Reads exactly `length` bytes or reports the dump as cut short. */
export function readExact(source: ByteSource, offset: number, length: number, what: string): Uint8Array {
  const bytes = source.read(offset, length);
  if (bytes.length < length) {
    throw new DumpError('damaged', `truncated dump: ${what} needs ${length} bytes at offset ${offset}, the file has ${Math.max(0, source.size - offset)}`);
  }
  return bytes;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return (err as Error).message;
  }
}

/**
 * Reads through a few aligned blocks kept in memory: page descriptors and
 * neighbouring pages' data sit next to each other in a dump, so one pread
 * serves many small reads. Bounded: `blocks` × `blockSize` bytes at most.
 */
export class BlockCachedSource implements ByteSource {
  readonly size: number;
  private readonly cache: PageCache<Uint8Array>;

  constructor(private readonly inner: ByteSource, private readonly blockSize = 64 * 1024, blocks = 32) {
    this.size = inner.size;
    this.cache = new PageCache(blocks);
  }

  read(offset: number, length: number): Uint8Array {
    if (!(offset >= 0) || !Number.isSafeInteger(offset) || !(length > 0) || offset >= this.size) return new Uint8Array(0);
    const first = Math.floor(offset / this.blockSize);
    const last = Math.floor((offset + Math.max(length, 1) - 1) / this.blockSize);
    if (last - first > 1) return this.inner.read(offset, length); // large reads gain nothing from the cache
    const a = this.block(first);
    const start = offset - first * this.blockSize;
    if (first === last || start + length <= a.length) return a.subarray(start, start + length);
    const b = this.block(last);
    return Buffer.concat([a.subarray(start), b.subarray(0, length - (a.length - start))]);
  }

  private block(index: number): Uint8Array {
    let bytes = this.cache.get(index);
    if (!bytes) {
      bytes = this.inner.read(index * this.blockSize, this.blockSize);
      this.cache.set(index, bytes);
    }
    return bytes;
  }

  close(): void {
    this.inner.close();
  }
}
