import type { Readable } from 'node:stream';
import jsonl from 'stream-json/jsonl/parser.js';
import { errorRecord } from './errors.js';
import type { AnyRecord } from './kinds.js';

const BAD_LINE = Symbol('bad-line');

interface BadLine {
  [BAD_LINE]: true;
  text: string;
  reason: string;
}

/**
 * Reads NDJSON records from a stream (stdin by default). A line that is not a
 * JSON object with a string `kind` becomes an `error` record (`bad-record`)
 * carrying the line number, and reading goes on: one bad line never ends a
 * pipeline.
 */
export async function* readRecords(input: Readable = process.stdin): AsyncGenerator<AnyRecord> {
  const parser = jsonl.asStream({
    errorIndicator: (error: Error, text: string): BadLine => ({ [BAD_LINE]: true, text, reason: error.message }),
  });
  input.pipe(parser);
  let line = 0;
  for await (const item of parser as AsyncIterable<{ key: number; value: unknown }>) {
    line = item.key + 1;
    const value = item.value;
    if (value && typeof value === 'object' && BAD_LINE in value) {
      const bad = value as BadLine;
      yield errorRecord('bad-record', `line ${line} is not JSON: ${clip(bad.text)}`, { line });
    } else if (!value || typeof value !== 'object' || Array.isArray(value) || typeof (value as AnyRecord).kind !== 'string') {
      yield errorRecord('bad-record', `line ${line} is not a record (an object with a "kind"): ${clip(JSON.stringify(value))}`, { line });
    } else {
      yield value as AnyRecord;
    }
  }
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}
