/** Addresses travel as lowercase 0x-hex strings: JSON numbers lose 64-bit values. */
export function hex(value: bigint | number): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a non-negative integer: ${value}`);
    return '0x' + value.toString(16);
  }
  return '0x' + BigInt.asUintN(64, value).toString(16);
}

/** A value as zero-padded hex of `bytes` bytes, as crash prints words (`rd`). */
export function hexPadded(value: bigint, bytes: number): string {
  return value.toString(16).padStart(bytes * 2, '0');
}

const HEX = /^(0x)?[0-9a-f]+$/i;

/**
 * Reads an address as users type it: `0xffff...`, `ffff...` (crash's habit),
 * or decimal when prefixed with `0d`/written with `--decimal`. Returns null
 * when it is not a number.
 */
export function parseAddress(text: string): bigint | null {
  const t = text.trim().replace(/_/g, '');
  if (/^0d[0-9]+$/i.test(t)) return BigInt(t.slice(2));
  if (!HEX.test(t)) return null;
  const value = BigInt(t.toLowerCase().startsWith('0x') ? t : '0x' + t);
  return value < 1n << 64n ? value : null;
}

/** Reads a length or count: decimal, or hex with 0x. */
export function parseSize(text: string): number | null {
  const t = text.trim();
  let value: number;
  if (/^0x[0-9a-f]+$/i.test(t)) value = Number.parseInt(t.slice(2), 16);
  else if (/^[0-9]+$/.test(t)) value = Number.parseInt(t, 10);
  else return null;
  return Number.isSafeInteger(value) ? value : null;
}
