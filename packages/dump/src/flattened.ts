/**
 * makedumpfile's flattened format (`makedumpfile -F`, and QEMU's kdump
 * output): the dump written as a stream of (offset, size, bytes) pieces so
 * it can go down a pipe. Spec: makedumpfile.h `struct makedumpfile_header`
 * (signature "makedumpfile", type 1, version 1, padded to MAX_SIZE_MDF_HEADER
 * = 4096 bytes) and `struct makedumpfile_data_header` {int64 offset, int64
 * buf_size}, both big-endian; a data header with offset -1 ends the stream.
 *
 * FlattenedSource presents the reassembled file as a ByteSource, so the
 * kdump and ELF readers work on it unchanged, without writing anything.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { DumpError } from './errors.js';
import type { ByteSource } from './source.js';

export const MDF_SIGNATURE = 'makedumpfile';
const MDF_HEADER_SIZE = 4096;
const DATA_HEADER_SIZE = 16;
const SCAN_BLOCK = 1 << 20;

export function isFlattened(magic: Uint8Array): boolean {
  return Buffer.from(magic.subarray(0, 12)).toString('latin1') === MDF_SIGNATURE && (magic[12] === 0 || magic.length === 12);
}

export class FlattenedSource implements ByteSource {
  readonly size: number;
  readonly pieces: number;
  /** Pieces sorted by logical offset; seq keeps the write order, so a later write wins where two overlap. */
  private readonly start: number[] = [];
  private readonly length: number[] = [];
  private readonly filePos: number[] = [];
  private readonly seq: number[] = [];
  /** maxEnd[i]: the largest end among pieces 0..i (sorted), to find overlaps by binary search. */
  private readonly maxEnd: number[] = [];

  constructor(private readonly file: ByteSource) {
    const header = file.read(0, 32);
    if (header.length < 32) throw new DumpError('damaged', 'truncated dump: flattened header cut short');
    const view = new DataView(header.buffer, header.byteOffset, 32);
    const type = view.getBigInt64(16, false);
    const version = view.getBigInt64(24, false);
    if (type !== 1n) throw new DumpError('unsupported', `unsupported format: makedumpfile flattened type ${type}`);
    if (version !== 1n) throw new DumpError('unsupported', `unsupported format: makedumpfile flattened version ${version}`);

    const pieces: { start: number; length: number; filePos: number; seq: number }[] = [];
    let pos = MDF_HEADER_SIZE;
    let ended = false;
    let block: Uint8Array = new Uint8Array(0);
    let blockPos = pos;
    const bytesAt = (at: number, n: number): Uint8Array => {
      if (at < blockPos || at + n > blockPos + block.length) {
        block = file.read(at, Math.max(SCAN_BLOCK, n));
        blockPos = at;
      }
      return block.subarray(at - blockPos, at - blockPos + n);
    };
    while (pos + DATA_HEADER_SIZE <= file.size) {
      const dh = bytesAt(pos, DATA_HEADER_SIZE);
      const dv = new DataView(dh.buffer, dh.byteOffset, DATA_HEADER_SIZE);
      const offset = dv.getBigInt64(0, false);
      const size = dv.getBigInt64(8, false);
      if (offset === -1n) {
        ended = true;
        break;
      }
      if (offset < 0n || size < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER) || size > 1n << 40n) {
        throw new DumpError('damaged', `damaged flattened dump: data header at file offset ${pos} says offset ${offset}, size ${size}`);
      }
      const dataPos = pos + DATA_HEADER_SIZE;
      if (dataPos + Number(size) > file.size) {
        throw new DumpError('damaged', `truncated dump: flattened piece at file offset ${pos} needs ${size} bytes, the file ends first`);
      }
      pieces.push({ start: Number(offset), length: Number(size), filePos: dataPos, seq: pieces.length });
      pos = dataPos + Number(size);
    }
    if (!ended) throw new DumpError('damaged', `truncated dump: flattened stream has no end marker (file ends at ${file.size})`);
    pieces.sort((a, b) => a.start - b.start || a.seq - b.seq);
    let maxEnd = 0;
    for (const p of pieces) {
      this.start.push(p.start);
      this.length.push(p.length);
      this.filePos.push(p.filePos);
      this.seq.push(p.seq);
      maxEnd = Math.max(maxEnd, p.start + p.length);
      this.maxEnd.push(maxEnd);
    }
    this.size = maxEnd;
    this.pieces = pieces.length;
  }

  read(offset: number, length: number): Uint8Array {
    if (!(offset >= 0) || !Number.isSafeInteger(offset) || !(length > 0)) return new Uint8Array(0);
    const want = Math.max(0, Math.min(length, this.size - offset));
    const out = new Uint8Array(want);
    if (want === 0) return out;
    const end = offset + want;
    // Last piece starting before `end`; walk back while pieces can still reach `offset`.
    let lo = 0;
    let hi = this.start.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.start[mid]! < end) lo = mid + 1;
      else hi = mid - 1;
    }
    const hits: number[] = [];
    for (let i = hi; i >= 0 && this.maxEnd[i]! > offset; i--) {
      if (this.start[i]! + this.length[i]! > offset) hits.push(i);
    }
    hits.sort((a, b) => this.seq[a]! - this.seq[b]!);
    for (const i of hits) {
      const from = Math.max(offset, this.start[i]!);
      const to = Math.min(end, this.start[i]! + this.length[i]!);
      out.set(this.file.read(this.filePos[i]! + (from - this.start[i]!), to - from), from - offset);
    }
    return out;
  }

  /** Writes the ordinary dump file, like `makedumpfile -R`: each piece at its offset, in stream order. */
  reassemble(outPath: string): number {
    const fd = openSync(outPath, 'wx');
    try {
      const order = [...this.seq.keys()].sort((a, b) => this.seq[a]! - this.seq[b]!);
      for (const i of order) {
        for (let done = 0; done < this.length[i]!; done += SCAN_BLOCK) {
          const n = Math.min(SCAN_BLOCK, this.length[i]! - done);
          const bytes = this.file.read(this.filePos[i]! + done, n);
          writeSync(fd, bytes, 0, bytes.length, this.start[i]! + done);
        }
      }
    } finally {
      closeSync(fd);
    }
    return this.size;
  }

  close(): void {
    this.file.close();
  }
}
