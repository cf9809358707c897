/*
 * Structural check of a raw snappy block (format_description.txt in
 * google/snappy) before snappyjs decodes it. snappyjs 0.7.0 does not check
 * that copies stay inside the output, reads past the input for a truncated
 * 1-byte-offset copy, never checks that the output was filled, and can walk
 * backwards on a 4-byte literal length with the top bit set. Walking the
 * elements once here, with every bound checked, leaves snappyjs only streams
 * it decodes correctly.
 */

/** Returns null if the block decodes to exactly `expectedSize` bytes, else what is wrong. */
export function checkSnappy(input: Uint8Array, expectedSize: number): string | null {
  const n = input.length;
  let p = 0;

  // Preamble: uncompressed length as a little-endian base-128 varint, at most 32 bits.
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (p >= n || shift > 28) return 'bad length preamble';
    const b = input[p++]!;
    declared += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (declared !== expectedSize) return `declares ${declared} bytes, expected ${expectedSize}`;

  let out = 0;
  while (p < n) {
    const tag = input[p++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = (tag >> 2) + 1;
        if (len > 60) {
          const nb = len - 60; // 1-4 length bytes follow
          if (p + nb > n) return 'truncated literal length';
          len = 1;
          for (let i = 0; i < nb; i++) len += input[p + i]! * 2 ** (8 * i);
          p += nb;
        }
        if (p + len > n) return 'literal runs past the input';
        if (out + len > expectedSize) return 'literal runs past the output';
        p += len;
        out += len;
        continue;
      }
      case 1:
        if (p + 1 > n) return 'truncated copy';
        len = ((tag >> 2) & 7) + 4;
        offset = ((tag >> 5) << 8) | input[p]!;
        p += 1;
        break;
      case 2:
        if (p + 2 > n) return 'truncated copy';
        len = (tag >> 2) + 1;
        offset = input[p]! | (input[p + 1]! << 8);
        p += 2;
        break;
      default:
        if (p + 4 > n) return 'truncated copy';
        len = (tag >> 2) + 1;
        offset = (input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16) | (input[p + 3]! << 24)) >>> 0;
        p += 4;
    }
    if (offset === 0 || offset > out) return 'copy reaches before the output';
    if (out + len > expectedSize) return 'copy runs past the output';
    out += len;
  }
  return out === expectedSize ? null : `decodes to ${out} bytes, expected ${expectedSize}`;
}
