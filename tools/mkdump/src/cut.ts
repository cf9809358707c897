// Spec: the kdump-compressed format of makedumpfile's diskdump_mod.h (see kdump.ts for the
// layout). A cut dump is a real kdump-compressed dump with fewer pages: what
// makedumpfile's dump levels do to pages it excludes, done to every page not asked for.
//  - block 0 .. 1 + sub_hdr_size (disk_dump_header, kdump_sub_header, ELF notes,
//    VMCOREINFO) and the 1st bitmap are copied byte for byte;
//  - the 2nd bitmap is the original's AND the pages kept;
//  - one page_desc per kept page, in pfn order, its offset moved to where the page's stored
//    bytes now sit; the stored (compressed) bytes and the desc's size/flags/page_flags are
//    copied unchanged. Pages that shared stored bytes (makedumpfile's one zero page) still do.
// Bytes of memory are never edited: a kept page decodes to exactly what it did before.

import { readFileSync, writeFileSync } from 'node:fs';

const PAGE_DESC_SIZE = 24;

export interface CutResult {
  /** pages the original dumped */
  dumped: number;
  /** pages kept (asked for and dumped in the original) */
  kept: number;
  /** bytes of the cut file */
  size: number;
}

/** Writes `out`: `input` (a whole, non-split kdump-compressed file) keeping only the pfns in `keep`. */
export function cutKdump(input: Uint8Array, keep: ReadonlySet<number>): { bytes: Uint8Array; result: CutResult } {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (buf.toString('latin1', 0, 8) !== 'KDUMP   ') throw new Error('cut: not a kdump-compressed file (reassemble a flattened one first)');
  const headerVersion = buf.readInt32LE(8);
  const block = buf.readInt32LE(428);
  const subHdrSize = buf.readInt32LE(432);
  const bitmapBlocks = buf.readUInt32LE(436);
  let maxMapnr = buf.readUInt32LE(440);
  if (headerVersion >= 6) {
    const m64 = Number(buf.readBigUInt64LE(block + 96));
    if (m64 > 0) maxMapnr = m64;
  }
  if (headerVersion >= 2 && buf.readInt32LE(block + 12) !== 0) throw new Error('cut: a split dump file (cut the whole dump)');
  const bitmap1 = block * (1 + subHdrSize);
  const half = (bitmapBlocks * block) / 2;
  const bitmap2 = bitmap1 + half;
  const descOff = bitmap1 + bitmapBlocks * block;
  const bit = (base: number, pfn: number) => (buf[base + (pfn >> 3)]! >> (pfn & 7)) & 1;

  const newBitmap2 = new Uint8Array(half);
  const keptDescs: Buffer[] = [];
  const data: Buffer[] = [];
  const placed = new Map<bigint, bigint>(); // original offset -> offset in the cut file's data
  let dumped = 0;
  let dataSize = 0n;
  const keptPfns: number[] = [];
  for (let pfn = 0; pfn < maxMapnr; pfn++) {
    if (!bit(bitmap2, pfn)) continue;
    const descAt = descOff + dumped * PAGE_DESC_SIZE;
    dumped++;
    if (!keep.has(pfn)) continue;
    keptPfns.push(pfn);
    newBitmap2[pfn >> 3]! |= 1 << (pfn & 7);
    const desc = Buffer.from(buf.subarray(descAt, descAt + PAGE_DESC_SIZE));
    const offset = desc.readBigInt64LE(0);
    const size = desc.readUInt32LE(8);
    let at = placed.get(offset);
    if (at === undefined) {
      at = dataSize;
      placed.set(offset, at);
      data.push(buf.subarray(Number(offset), Number(offset) + size));
      dataSize += BigInt(size);
    }
    keptDescs.push(desc);
    desc.writeBigInt64LE(at, 0); // relative for now; made absolute below
  }
  const dataStart = BigInt(descOff + keptDescs.length * PAGE_DESC_SIZE);
  for (const d of keptDescs) d.writeBigInt64LE(d.readBigInt64LE(0) + dataStart, 0);
  const bytes = Buffer.concat([buf.subarray(0, bitmap1 + half), newBitmap2, buf.subarray(bitmap2 + half, descOff), ...keptDescs, ...data]);
  return { bytes, result: { dumped, kept: keptPfns.length, size: bytes.length } };
}

/** Page frame numbers from text: one per line, decimal or 0x-hex, or a range "A-B" (inclusive); # comments. */
export function parsePfnList(text: string): Set<number> {
  const out = new Set<number>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^(0x[0-9a-f]+|\d+)(?:\s*-\s*(0x[0-9a-f]+|\d+))?$/i.exec(line);
    if (!m) throw new Error(`cut: not a pfn or a range of pfns: "${line}"`);
    const a = Number(m[1]);
    const b = m[2] !== undefined ? Number(m[2]) : a;
    for (let p = a; p <= b; p++) out.add(p);
  }
  return out;
}

export function cutKdumpFile(inPath: string, keepPath: string, outPath: string): CutResult {
  const { bytes, result } = cutKdump(readFileSync(inPath), parsePfnList(readFileSync(keepPath, 'utf8')));
  writeFileSync(outPath, bytes);
  return result;
}
