import type { AnyRecord } from '@vmpipe/records';
import { stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

/** `[%5llu.%06llu]` from ts_nsec (a JSON number; exact below 2^53 ns). */
function stamp(record: AnyRecord): string | null {
  if (typeof record.timestamp === 'string') return record.timestamp;
  if (typeof record.tsNsec !== 'number') return null;
  const ns = BigInt(Math.round(record.tsNsec));
  return `[${(ns / 1_000_000_000n).toString().padStart(5)}.${((ns % 1_000_000_000n) / 1000n).toString().padStart(6, '0')}]`;
}

/**
 * A `log` record as crash's `log` prints it (printk.c dump_record()): the
 * stamp, a space, the text; the lines after the first of a multi-line record
 * indented under the text; a record without a stamp as its bare text.
 */
export function logLines(record: AnyRecord): string[] {
  if (typeof record.text !== 'string') return [jsonLine(record)];
  const s = stamp(record);
  const prefix = s === null ? '' : `${s} `;
  const indent = ' '.repeat(prefix.length);
  return record.text.split('\n').map((line, i) => (i === 0 ? prefix : indent) + line.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '.'));
}

export const logLayout: LayoutFactory = () => stateless(false, logLines);
