/*
 * Small LZO1X compressor in the spirit of liblzo2's lzo1x_1_compress: a greedy
 * matcher over a 4-byte hash table. Its output is not byte-identical to
 * liblzo's, but it is a valid LZO1X stream that liblzo2's
 * lzo1x_decompress_safe (and so crash and makedumpfile) decodes.
 *
 * Encodings follow the LZO1X format as described in the Linux kernel's
 * Documentation/staging/lzo.rst and implemented by liblzo2's lzo1x_d.ch and
 * the kernel's lib/lzo/lzo1x_decompress_safe.c (no code taken from either).
 * Only the instructions every LZO1X decoder reads unconditionally are emitted:
 * literal runs, M2 (3-8 bytes within 2 KiB), M3 (within 16 KiB), M4 (up to
 * 48 KiB) and the 0x11 0x00 0x00 end marker; the state-dependent short M1
 * matches are never written.
 */

const HASH_BITS = 14;
const MIN_MATCH = 4;
const MAX_DIST = 49151; // farthest M4 distance

export function lzo1xCompress(input: Uint8Array): Uint8Array {
  const n = input.length;
  // liblzo's documented worst case for incompressible input.
  const out = new Uint8Array(n + (n >> 4) + 64 + 3);
  let op = 0;
  // Position + 1 of the last place each 4-byte hash was seen; 0 means never.
  const table = new Int32Array(1 << HASH_BITS);

  const read32 = (i: number): number =>
    input[i]! | (input[i + 1]! << 8) | (input[i + 2]! << 16) | (input[i + 3]! << 24);

  // Length beyond what the instruction's own bits hold: zero bytes add 255 each.
  const extra = (r: number): void => {
    for (; r > 255; r -= 255) out[op++] = 0;
    out[op++] = r;
  };

  const emitLiterals = (from: number, to: number): void => {
    const k = to - from;
    if (k === 0) return;
    if (op === 0 && k <= 238) out[op++] = 17 + k; // first-byte literal run
    else if (k <= 3) out[op - 2]! |= k; // rides in the previous match's low two bits
    else if (k <= 18) out[op++] = k - 3;
    else {
      out[op++] = 0;
      extra(k - 18);
    }
    out.set(input.subarray(from, to), op);
    op += k;
  };

  const emitMatch = (dist: number, len: number): void => {
    if (len <= 8 && dist <= 2048) {
      const d = dist - 1;
      out[op++] = ((len - 1) << 5) | ((d & 7) << 2);
      out[op++] = d >> 3;
    } else if (dist <= 16384) {
      const d = dist - 1;
      if (len - 2 <= 31) out[op++] = 32 | (len - 2);
      else {
        out[op++] = 32;
        extra(len - 2 - 31);
      }
      out[op++] = (d << 2) & 0xff;
      out[op++] = d >> 6;
    } else {
      const d = dist - 16384;
      const h = (d & 0x4000) >> 11;
      if (len - 2 <= 7) out[op++] = 16 | h | (len - 2);
      else {
        out[op++] = 16 | h;
        extra(len - 2 - 7);
      }
      out[op++] = (d << 2) & 0xff;
      out[op++] = (d >> 6) & 0xff;
    }
  };

  let anchor = 0; // first byte not yet emitted
  let ip = 0;
  while (ip + MIN_MATCH <= n) {
    const v = read32(ip);
    const h = Math.imul(v, 0x9e3779b1) >>> (32 - HASH_BITS);
    const cand = table[h]! - 1;
    table[h] = ip + 1;
    if (cand < 0 || ip - cand > MAX_DIST || read32(cand) !== v) {
      ip++;
      continue;
    }
    let len = MIN_MATCH;
    while (ip + len < n && input[cand + len] === input[ip + len]) len++;
    emitLiterals(anchor, ip);
    emitMatch(ip - cand, len);
    ip += len;
    anchor = ip;
  }
  emitLiterals(anchor, n);
  out[op++] = 0x11; // end marker: an M4 match of distance 0
  out[op++] = 0;
  out[op++] = 0;
  return out.slice(0, op);
}
