/**
 * Little-endian byte cursor with the DWARF encodings (DWARF 5 section 7.6,
 * LEB128). Bounds are checked by the callers that know what they read; a
 * read past the buffer yields `undefined` bytes, which the unit parsers turn
 * into a DwarfError by checking `p` against the unit's end.
 */
export class Cursor {
  constructor(public b: Uint8Array, public p = 0) {}

  u8(): number {
    return this.b[this.p++]!;
  }
  u16(): number {
    const b = this.b;
    const p = this.p;
    this.p = p + 2;
    return b[p]! | (b[p + 1]! << 8);
  }
  u24(): number {
    const b = this.b;
    const p = this.p;
    this.p = p + 3;
    return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16);
  }
  u32(): number {
    const b = this.b;
    const p = this.p;
    this.p = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  /** 64-bit value as a number (exact below 2^53: offsets and sizes). */
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    return hi * 0x100000000 + lo;
  }
  u64big(): bigint {
    const lo = this.u32();
    const hi = this.u32();
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** A section offset of the unit's offset size (4 in 32-bit DWARF, 8 in 64-bit DWARF). */
  offset(size: number): number {
    return size === 4 ? this.u32() : this.u64();
  }
  uleb(): number {
    const b = this.b;
    let p = this.p;
    let byte = b[p++]!;
    if (byte < 0x80) {
      this.p = p;
      return byte;
    }
    let result = byte & 0x7f;
    let mul = 0x80;
    for (;;) {
      byte = b[p++]!;
      if (byte === undefined) break;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 0x80;
    }
    this.p = p;
    return result;
  }
  /** ULEB128 that may exceed 2^53. */
  ulebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = this.b[this.p++];
      if (byte === undefined) break;
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) break;
    }
    return result;
  }
  slebBig(): bigint {
    let result = 0n;
    let shift = 0n;
    let byte = 0;
    for (;;) {
      const v = this.b[this.p++];
      if (v === undefined) break;
      byte = v;
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) break;
    }
    if (byte & 0x40) result -= 1n << shift;
    return result;
  }
  skipUleb(): void {
    const b = this.b;
    let p = this.p;
    while (p < b.length && b[p++]! >= 0x80);
    this.p = p;
  }
  /** A NUL-terminated string (DW_FORM_string), UTF-8. */
  cstring(): string {
    const b = this.b;
    const start = this.p;
    let end = start;
    while (end < b.length && b[end] !== 0) end++;
    this.p = end + 1;
    return utf8(b, start, end);
  }
  skipCstring(): void {
    const b = this.b;
    let p = this.p;
    while (p < b.length && b[p] !== 0) p++;
    this.p = p + 1;
  }
}

const decoder = new TextDecoder();

export function utf8(b: Uint8Array, start: number, end: number): string {
  // Names are almost always ASCII: building the string by hand is faster than TextDecoder for short ones.
  if (end - start < 48) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i]!;
      if (c >= 0x80) return decoder.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(b.subarray(start, end));
}

/** The NUL-terminated string at `off` of a string section. */
export function strAt(b: Uint8Array, off: number): string | undefined {
  if (off < 0 || off >= b.length) return undefined;
  let end = off;
  while (end < b.length && b[end] !== 0) end++;
  return utf8(b, off, end);
}
