/*
 * Safe LZO1X decompressor (the format makedumpfile writes with lzo1x_1_compress
 * and crash reads with lzo1x_decompress_safe).
 *
 * Written from the format as described in the Linux kernel's
 * Documentation/staging/lzo.rst and as implemented by liblzo2's lzo1x_d.ch and
 * the kernel's lib/lzo/lzo1x_decompress_safe.c (no code taken from either).
 * Only bitstream version 0 (plain LZO1X) is understood: the kernel's LZO-RLE
 * variant is a zram thing, makedumpfile links liblzo2.
 *
 * Every read and write is bounds-checked and every instruction consumes at
 * least one input byte, so corrupt input ends in an LzoError, never in an
 * out-of-range access or an endless loop.
 */

export class LzoError extends Error {}

/** Stream state after an instruction: how many literals it copied (0, 1-3, or 4 meaning "4 or more"). */
type State = 0 | 1 | 2 | 3 | 4;

/**
 * Decompresses one LZO1X stream into exactly `expectedSize` bytes.
 * Throws LzoError on any malformed stream, on output that would exceed
 * `expectedSize`, on output shorter than it, and on bytes after the end marker.
 */
export function lzo1xDecompress(input: Uint8Array, expectedSize: number): Uint8Array {
  const out = new Uint8Array(expectedSize);
  const inLen = input.length;
  let ip = 0;
  let op = 0;
  let state: State = 0;

  const fail = (what: string): never => {
    throw new LzoError(`${what} (input offset ${ip}, output offset ${op})`);
  };
  const byte = (): number => (ip < inLen ? input[ip++]! : fail('input overrun'));
  // Long lengths: a zero byte adds 255, the first non-zero byte ends the count.
  const extend = (base: number): number => {
    let n = base;
    let b: number;
    while ((b = byte()) === 0) n += 255;
    return n + b;
  };
  const literals = (n: number): void => {
    if (ip + n > inLen) fail('input overrun in literals');
    if (op + n > expectedSize) fail('output overrun in literals');
    // set() pays off only for longer runs; most runs are a few bytes.
    if (n > 32) {
      out.set(input.subarray(ip, ip + n), op);
      ip += n;
      op += n;
    } else for (const end = ip + n; ip < end; ) out[op++] = input[ip++]!;
  };
  const match = (dist: number, len: number): void => {
    if (dist > op) fail('lookbehind overrun');
    if (op + len > expectedSize) fail('output overrun in match');
    if (dist >= len && len > 32) {
      out.copyWithin(op, op - dist, op - dist + len);
      op += len;
    } else {
      // Byte by byte: an overlapping copy (dist < len) must repeat the pattern.
      for (let from = op - dist, end = op + len; op < end; ) out[op++] = out[from++]!;
    }
  };

  if (inLen < 3) fail('stream shorter than the end marker');

  // First byte 18..255 is a literal run with no instruction before it.
  if (input[0]! > 17) {
    const n = byte() - 17;
    literals(n);
    state = n < 4 ? (n as State) : 4;
  }

  for (;;) {
    const t = byte();
    let dist: number;
    let len: number;
    let next: number; // literals that follow the match, from the low two bits

    if (t < 16) {
      if (state === 0) {
        // 0000LLLL: literal run of 4 or more.
        literals(t === 0 ? extend(15) + 3 : t + 3);
        state = 4;
        continue;
      }
      // 0000DDSS HHHHHHHH: short match. Its meaning depends on what came before:
      // after 1-3 literals it copies 2 bytes within 1 KiB, after a literal run
      // 3 bytes at 2 KiB + 1 .. 3 KiB.
      dist = (t >> 2) + (byte() << 2) + (state === 4 ? 2049 : 1);
      len = state === 4 ? 3 : 2;
      next = t & 3;
    } else if (t >= 64) {
      // 1LLDDDSS / 01LDDDSS HHHHHHHH: 3-8 bytes within 2 KiB.
      len = (t >> 5) + 1;
      dist = ((t >> 2) & 7) + (byte() << 3) + 1;
      next = t & 3;
    } else if (t >= 32) {
      // 001LLLLL [len...] DDDDDDSS DDDDDDDD: within 16 KiB.
      len = (t & 31) === 0 ? extend(31) + 2 : (t & 31) + 2;
      const le = byte() | (byte() << 8);
      dist = (le >> 2) + 1;
      next = le & 3;
    } else {
      // 0001HLLL [len...] DDDDDDSS DDDDDDDD: 16 KiB .. 48 KiB, or the end marker.
      len = (t & 7) === 0 ? extend(7) + 2 : (t & 7) + 2;
      const le = byte() | (byte() << 8);
      dist = ((t & 8) << 11) + (le >> 2);
      if (dist === 0) {
        // The end marker is 0x11 0x00 0x00; the kernel also insists on length 3.
        if (len !== 3) fail('malformed end marker');
        break;
      }
      dist += 16384;
      next = le & 3;
    }

    match(dist, len);
    literals(next);
    state = next as State;
  }

  if (ip !== inLen) fail(`${inLen - ip} bytes after the end marker`);
  if (op !== expectedSize) fail(`decoded ${op} bytes, expected ${expectedSize}`);
  return out;
}
