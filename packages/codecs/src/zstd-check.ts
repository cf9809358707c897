/*
 * Structural check of a zstd frame (RFC 8878, sections 3.1.1 - 3.1.1.3.2.1)
 * before fzstd decodes it. fzstd 0.1.1 sizes its buffers from the frame
 * header (up to ~2 GiB), goes on to decode whatever follows the first frame,
 * and lets a corrupt sequence count drive its copy loops for a very long time.
 * This walk reads only headers, never entropy-coded data, and bounds all of
 * that by the expected page size.
 */

const MAGIC = 0xfd2fb528;
const MAX_BLOCK = 128 * 1024;
/** Largest window we let fzstd allocate; real page frames have window == content size. */
export const MAX_ZSTD_WINDOW = 8 << 20;

/** Returns null if the input is one plausible frame for `expectedSize` bytes, else what is wrong. */
export function checkZstd(input: Uint8Array, expectedSize: number): string | null {
  const n = input.length;
  if (n < 6) return 'shorter than a frame header';
  const dv = new DataView(input.buffer, input.byteOffset, n);
  if (dv.getUint32(0, true) !== MAGIC) return 'not a zstd frame (bad magic)';

  const fhd = input[4]!;
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = (fhd >> 2) & 1;
  const dictFlag = fhd & 3;
  if (fhd & 8) return 'reserved frame header bit set';
  let p = 5;
  let window = 0;
  if (!single) {
    const wd = input[p++]!;
    const base = 2 ** (10 + (wd >> 3));
    window = base + (base / 8) * (wd & 7);
  }
  const dictBytes = [0, 1, 2, 4][dictFlag]!;
  const fcsBytes = [single, 2, 4, 8][fcsFlag]!;
  if (p + dictBytes + fcsBytes > n) return 'truncated frame header';
  for (let i = 0; i < dictBytes; i++) if (input[p + i] !== 0) return 'frame needs a dictionary';
  p += dictBytes;
  if (fcsBytes) {
    let fcs = 0;
    for (let i = 0; i < fcsBytes; i++) fcs += input[p + i]! * 2 ** (8 * i);
    if (fcsBytes === 2) fcs += 256;
    p += fcsBytes;
    if (fcs !== expectedSize) return `frame declares ${fcs} bytes, expected ${expectedSize}`;
    if (single) window = fcs;
  }
  if (window > MAX_ZSTD_WINDOW) return `window of ${window} bytes is too large`;

  // Blocks: a lower bound on what each one produces must fit the page.
  let atLeast = 0;
  for (let last = 0; !last; ) {
    if (p + 3 > n) return 'truncated block header';
    const bh = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
    p += 3;
    last = bh & 1;
    const type = (bh >> 1) & 3;
    const size = bh >>> 3;
    if (size > MAX_BLOCK) return 'block larger than 128 KiB';
    if (type === 3) return 'reserved block type';
    if (type === 1) {
      // RLE: one byte repeated `size` times
      if (p + 1 > n) return 'truncated block';
      atLeast += size;
      p += 1;
    } else {
      if (p + size > n) return 'truncated block';
      atLeast += type === 0 ? size : compressedBlockMinimum(input.subarray(p, p + size));
      p += size;
    }
    if (atLeast > expectedSize) return 'frame decodes to more than expected';
  }
  if (checksum) p += 4;
  if (p !== n) return p > n ? 'truncated checksum' : `${n - p} bytes after the frame`;
  return null;
}

/**
 * The fewest bytes a compressed block can produce: all its literals plus at
 * least 3 bytes per sequence (the minimum match length). Infinity if the
 * headers do not fit in the block.
 */
function compressedBlockMinimum(b: Uint8Array): number {
  if (b.length < 1) return Infinity;
  const b0 = b[0]!;
  const litType = b0 & 3;
  const sizeFormat = (b0 >> 2) & 3;
  let regenerated: number;
  let headerLen: number;
  let contentLen: number;
  if (litType < 2) {
    // raw or RLE literals
    headerLen = sizeFormat === 1 ? 2 : sizeFormat === 3 ? 3 : 1;
    if (b.length < headerLen) return Infinity;
    regenerated =
      headerLen === 1 ? b0 >> 3 : headerLen === 2 ? (b0 >> 4) + (b[1]! << 4) : (b0 >> 4) + (b[1]! << 4) + (b[2]! << 12);
    contentLen = litType === 0 ? regenerated : 1;
  } else {
    // Huffman-compressed literals
    headerLen = sizeFormat < 2 ? 3 : sizeFormat === 2 ? 4 : 5;
    if (b.length < headerLen) return Infinity;
    const [h1, h2, h3 = 0, h4 = 0] = [b[1]!, b[2]!, b[3], b[4]];
    if (headerLen === 3) {
      regenerated = (b0 >> 4) + ((h1 & 63) << 4);
      contentLen = (h1 >> 6) + (h2 << 2);
    } else if (headerLen === 4) {
      regenerated = (b0 >> 4) + (h1 << 4) + ((h2 & 3) << 12);
      contentLen = (h2 >> 2) + (h3 << 6);
    } else {
      regenerated = (b0 >> 4) + (h1 << 4) + ((h2 & 63) << 12);
      contentLen = (h2 >> 6) + (h3 << 2) + (h4 << 10);
    }
  }
  let p = headerLen + contentLen;
  if (p >= b.length) return Infinity; // the sequences header is mandatory, even if 0
  const s0 = b[p++]!;
  let sequences: number;
  if (s0 < 128) sequences = s0;
  else if (s0 < 255) {
    if (p + 1 > b.length) return Infinity;
    sequences = ((s0 - 128) << 8) + b[p]!;
  } else {
    if (p + 2 > b.length) return Infinity;
    sequences = b[p]! + (b[p + 1]! << 8) + 0x7f00;
  }
  return regenerated + 3 * sequences;
}
