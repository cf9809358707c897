import type { AnyRecord } from '@vmpipe/records';
import { stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/** Bare words stay bare; anything that could blur the `key=value` list is quoted as JSON. */
function locatorValue(value: unknown): string {
  if (typeof value === 'string' && /^[^\s=(),"]+$/.test(value)) return value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * `error: <code>: <message>  (addr=0x... dump=vmcore)`: one line, so an error
 * sits in an `rd` listing exactly where the unreadable memory was. Locators
 * keep the record's own field order.
 */
export function errorLine(record: AnyRecord): string {
  const { kind: _kind, code, message, ...locators } = record;
  let line = `error: ${String(code)}: ${String(message)}`;
  const pairs = Object.entries(locators).map(([key, value]) => `${key}=${locatorValue(value)}`);
  if (pairs.length > 0) line += `  (${pairs.join(' ')})`;
  return line;
}

export const errorLayout: LayoutFactory = (ctx) =>
  stateless(false, (record) => {
    if (typeof record.code !== 'string' || typeof record.message !== 'string') return [jsonLine(record)];
    const line = errorLine(record);
    return [ctx.opts.color ? RED + line + RESET : line];
  });
