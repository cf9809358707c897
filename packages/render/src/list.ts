import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type Layout, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';
import { renderObject } from './object.js';

// `list-entry` records as crash `list` and `tree` print them: the entry's
// address as 16 hex digits, one per line; with decoded members (list-walk
// --fields, or struct-decode downstream) the members below it as crash
// `list -s TYPE.a,b` does (`  a = 1,`); an xarray index as crash
// `tree -t xarray -p` (`  index: 1`), a maple range as `  range: 400000-400fff`.
// With --both-ways the backward walk starts under its own line.
// `list-count` is the number alone, `list-bracket` a block naming each side.

function entryLines(record: AnyRecord): string[] | null {
  const entry = parseHex(record.entry);
  if (entry === null) return null;
  const out = [hexDigits(entry, 16)];
  const key = parseHex(record.key);
  const last = parseHex(record.last);
  if (key !== null && last !== null) out.push(`  range: ${key.toString(16)}-${last.toString(16)}`);
  else if (key !== null) out.push(`  index: ${key}`);
  if (record.value !== undefined && typeof record.type === 'string') {
    out.push(...(renderObject({ kind: 'object', type: record.type, value: record.value, fields: Array.isArray(record.fields) ? record.fields : [] }) ?? []));
  }
  return out;
}

export const listEntryLayout: LayoutFactory = (): Layout => {
  let direction: unknown;
  return {
    block: false,
    render(record) {
      const lines = entryLines(record);
      if (!lines) return [jsonLine(record)];
      if (record.direction === 'backward' && direction !== 'backward') lines.unshift('(backward from the head, through prev)');
      direction = record.direction;
      return lines;
    },
    flush: () => [],
  };
};

export const listCountLayout: LayoutFactory = () => stateless(false, (record) => (typeof record.count === 'number' ? [String(record.count)] : [jsonLine(record)]));

function side(name: string, s: unknown): string {
  if (typeof s !== 'object' || s === null) return `${name}: ?`;
  const v = s as { entries?: number; lastGood?: string; lastGoodEntry?: string; reason?: string };
  const node = parseHex(v.lastGood);
  const entry = parseHex(v.lastGoodEntry);
  const at = node === null ? '?' : hexDigits(node, 16) + (entry !== null && entry !== node ? ` (entry ${hexDigits(entry, 16)})` : '');
  return `${name.padStart(8)}: ${v.entries ?? '?'} entries, last good node ${at}${v.reason ? `, then ${v.reason}` : ', back at the head'}`;
}

export const listBracketLayout: LayoutFactory = () =>
  stateless(true, (record) => {
    const head = parseHex(record.head);
    return [`LIST HEAD ${head === null ? '?' : hexDigits(head, 16)} bracketed from both sides:`, side('forward', record.forward), side('backward', record.backward)];
  });
