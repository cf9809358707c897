import type { AnyRecord } from '@vmpipe/records';
import type { Layout, LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

/**
 * `bucket` records (triage --group) as one table, most frequent first: the buckets are held
 * until the stream moves on, then printed sorted by count. `signature` records as one line
 * each: the title, where, and the hash.
 */
const day = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 10) : '-');

export function bucketTable(records: AnyRecord[]): string[] {
  const rows = [...records].sort((a, b) => Number(b.count) - Number(a.count) || String(a.title).localeCompare(String(b.title)));
  const cells = rows.map((r) => [
    String(r.count),
    typeof r.corrupted === 'number' && r.corrupted > 0 ? `${r.corrupted}` : '',
    day(r.firstSeen),
    day(r.lastSeen),
    String(r.hash),
    String(r.crashType ?? ''),
    String(r.title),
  ]);
  const head = ['COUNT', 'CORRUPT', 'FIRST', 'LAST', 'HASH', 'TYPE', 'TITLE'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((v, i) => (i === c.length - 1 ? v : i < 2 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)];
}

export const bucketLayout: LayoutFactory = (): Layout => {
  let held: AnyRecord[] = [];
  return {
    block: true,
    render(record) {
      if (typeof record.title !== 'string' || typeof record.count !== 'number') return [jsonLine(record)];
      held.push(record);
      return [];
    },
    flush() {
      const out = held.length ? bucketTable(held) : [];
      held = [];
      return out;
    },
  };
};

export const signatureLayout: LayoutFactory = (): Layout => ({
  block: false,
  render(record) {
    if (typeof record.title !== 'string') return [jsonLine(record)];
    const where = typeof record.dump === 'string' ? record.dump : `${String(record.log ?? '-')}${typeof record.line === 'number' ? `:${record.line}` : ''}`;
    const mark = record.corrupted === true ? ` (corrupted: ${String(record.reason ?? '')})` : '';
    return [`${String(record.hash ?? '')}  ${record.title}  [${where}]${mark}`];
  },
  flush: () => [],
});
