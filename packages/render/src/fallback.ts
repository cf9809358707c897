import type { AnyRecord } from '@vmpipe/records';
import { stateless, type LayoutFactory } from './layout.js';

/**
 * Kinds without a layout yet (and records too malformed for theirs) print as
 * the record itself, so nothing on the stream is ever hidden from the reader.
 */
export function jsonLine(record: AnyRecord): string {
  return JSON.stringify(record);
}

export const fallbackLayout: LayoutFactory = () => stateless(false, (record) => [jsonLine(record)]);
