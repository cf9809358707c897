// Spec: C struct layout on LP64 little-endian targets (x86_64 / arm64 SysV ABIs:
// int 4, long / off_t / pointers 8, natural alignment) and the big-endian int64
// fields of makedumpfile's flattened format. Helpers only.

export type Layout = Record<string, { offset: number; size: number }>;

/** A little-endian (unless told otherwise) struct builder over a fixed buffer. */
export class Struct {
  readonly bytes: Uint8Array;
  private readonly dv: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.dv = new DataView(this.bytes.buffer);
  }
  u8(off: number, v: number): this {
    this.dv.setUint8(off, v);
    return this;
  }
  u16(off: number, v: number): this {
    this.dv.setUint16(off, v, true);
    return this;
  }
  u32(off: number, v: number): this {
    this.dv.setUint32(off, v >>> 0, true);
    return this;
  }
  i32(off: number, v: number): this {
    this.dv.setInt32(off, v, true);
    return this;
  }
  u64(off: number, v: bigint | number): this {
    this.dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
    return this;
  }
  i64be(off: number, v: bigint | number): this {
    this.dv.setBigInt64(off, BigInt.asIntN(64, BigInt(v)), false);
    return this;
  }
  /** a NUL-padded char[len] field */
  str(off: number, s: string, len: number): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > len) throw new Error(`mkdump: "${s}" does not fit char[${len}]`);
    this.bytes.set(b, off);
    return this;
  }
  set(off: number, b: Uint8Array): this {
    this.bytes.set(b, off);
    return this;
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const divideup = (x: number, y: number): number => Math.floor((x + y - 1) / y);
export const roundup = (x: number, y: number): number => divideup(x, y) * y;

export function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
