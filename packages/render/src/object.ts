import type { AnyRecord } from '@vmpipe/records';
import type { LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// `object` records as crash's `struct page ADDR` prints them: `name = value,`
// two spaces deeper per level, structs as `name = {` ... `},`, arrays of
// scalars on one line `{1, 2, 3}`, strings quoted, pointers and 64-bit
// values as the record's hex. A record made with --fields prints only those
// lines, as crash's `struct page.flags,_refcount ADDR` does. Members of
// anonymous structs/unions are already flat in the record, so crash's bare
// `{` blocks around them do not appear. A member that could not be read shows
// `<error: code>`.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const HEX = /^-?0x[0-9a-f]+$/;

function isError(v: Json): v is { error: string; message?: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.error === 'string' && Object.keys(v).every((k) => k === 'error' || k === 'message' || k === 'addr');
}

function scalar(v: Json): string | null {
  if (v === null) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return HEX.test(v) ? v : JSON.stringify(v);
  if (isError(v)) return `<error: ${v.error}>`;
  return null;
}

function lines(name: string, v: Json, depth: number, out: string[], last: boolean): void {
  const pad = '  '.repeat(depth);
  const comma = last ? '' : ',';
  const s = scalar(v);
  if (s !== null) {
    out.push(`${pad}${name} = ${s}${comma}`);
    return;
  }
  if (Array.isArray(v)) {
    const flat = v.map(scalar);
    if (flat.every((x) => x !== null)) {
      out.push(`${pad}${name} = {${flat.join(', ')}}${comma}`);
      return;
    }
    out.push(`${pad}${name} = {`);
    v.forEach((e, i) => lines(`[${i}]`, e, depth + 1, out, i === v.length - 1));
    out.push(`${pad}}${comma}`);
    return;
  }
  const obj = v as { [k: string]: Json };
  // A followed pointer (--deref): {addr, value}
  out.push(`${pad}${name} = {`);
  const keys = Object.keys(obj);
  keys.forEach((k, i) => lines(k, obj[k]!, depth + 1, out, i === keys.length - 1));
  out.push(`${pad}}${comma}`);
}

export function renderObject(record: AnyRecord): string[] | null {
  const value = record.value as Json;
  if (typeof record.type !== 'string' || typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const out: string[] = [];
  const keys = Object.keys(value);
  if (Array.isArray(record.fields)) {
    for (const k of keys) lines(k, value[k]!, 1, out, false);
    return out;
  }
  out.push(`${record.type} {`);
  keys.forEach((k, i) => lines(k, value[k]!, 1, out, i === keys.length - 1));
  out.push('}');
  return out;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** gdb's value of a scalar: pointers with their type in parentheses, wide integers in decimal. */
function pValue(type: string, v: Json): string | null {
  if (typeof v === 'string' && HEX.test(v)) {
    if (/\*\)?(\(.*\))?$/.test(type.trim())) return `(${type}) ${v}`;
    return (v.startsWith('-') ? -BigInt(v.slice(1)) : BigInt(v)).toString(10);
  }
  if (Array.isArray(v)) {
    const flat = v.map((e) => pValue(type.replace(/\s*\[\d*\]$/, ''), e));
    return flat.every((x) => x !== null) ? `{${flat.join(', ')}}` : null;
  }
  return scalar(v);
}

/**
 * A scalar object (`struct-decode DUMP 'unsigned long' jiffies`) as crash's
 * `p` prints it: gdb's `$N = value`, counted per stream as gdb's value
 * history is per session, and prefixed by `NAME = ` when the address was
 * exactly the symbol NAME (record field `symbol`): crash 8.0.2 prints
 * `jiffies = $1 = 4294892995` for `p jiffies` but `$3 = 0` for `p init_task.pid`.
 */
export function renderScalar(record: AnyRecord, n: number): string[] | null {
  const value = record.value as Json;
  if (typeof record.type !== 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value))) return null;
  const text = pValue(record.type, value);
  if (text === null) return null;
  const name = typeof record.symbol === 'string' && IDENTIFIER.test(record.symbol) ? `${record.symbol} = ` : '';
  return [`${name}$${n} = ${text}`];
}

export const objectLayout: LayoutFactory = () => {
  let history = 0; // gdb's $N
  let block = true; // objects are blocks; `p` lines follow each other tightly, as in crash
  return {
    get block() {
      return block;
    },
    flush: () => [],
    render(record: AnyRecord): string[] {
      const whole = renderObject(record);
      block = true;
      if (whole) return whole;
      const p = renderScalar(record, history + 1);
      if (!p) return [jsonLine(record)];
      history++;
      block = false;
      return p;
    },
  };
};
