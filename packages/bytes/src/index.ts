/**
 * Reading fields out of bytes: the one place every layer takes an N-byte
 * integer or a NUL-terminated string from a buffer it already holds.
 */

/** An unsigned integer of `size` bytes at `offset` (any size: 16-byte __int128 too). */
export function readUint(bytes: Uint8Array, offset: number, size: number, littleEndian: boolean): bigint {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, size);
  switch (size) {
    case 1:
      return BigInt(view.getUint8(0));
    case 2:
      return BigInt(view.getUint16(0, littleEndian));
    case 4:
      return BigInt(view.getUint32(0, littleEndian));
    case 8:
      return view.getBigUint64(0, littleEndian);
    default: {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[offset + (littleEndian ? i : size - 1 - i)]!);
      return v;
    }
  }
}

/** The latin1 string at `offset` up to its NUL or `max` bytes, whichever comes first. */
export function cString(bytes: Uint8Array, offset = 0, max = bytes.length - offset): string {
  const end = Math.min(bytes.length, offset + max);
  let i = offset;
  while (i < end && bytes[i] !== 0) i++;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offset, i - offset).toString('latin1');
}
