import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { jsonlParser } from 'stream-json/jsonl/parser.js';
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
 *
 * Lines are split here, a chunk at a time, and each is parsed by stream-json's
 * per-line JSONL parser: its stream form costs several promise hops per record,
 * which dominated filters over millions of records.
 */
export async function* readRecords(input: Readable = process.stdin): AsyncGenerator<AnyRecord> {
  const parse = jsonlParser({
    errorIndicator: (error: Error, text: string): BadLine => ({ [BAD_LINE]: true, text, reason: error.message }),
  });
  const decoder = new StringDecoder('utf8');
  let line = 0;
  let rest = '';
  const records = function* (text: string): Generator<AnyRecord> {
    for (const raw of text.split('\n')) {
      line++;
      const item = parse(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
      if (typeof item === 'symbol') continue; // an empty line
      const value = item.value;
      if (value && typeof value === 'object' && BAD_LINE in value) {
        yield errorRecord('bad-record', `line ${line} is not JSON: ${clip((value as BadLine).text)}`, { line });
      } else if (!value || typeof value !== 'object' || Array.isArray(value) || typeof (value as AnyRecord).kind !== 'string') {
        yield errorRecord('bad-record', `line ${line} is not a record (an object with a "kind"): ${clip(JSON.stringify(value))}`, { line });
      } else {
        yield value as AnyRecord;
      }
    }
  };
  for await (const chunk of input) {
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      rest = text;
      continue;
    }
    rest = text.slice(end + 1);
    yield* records(text.slice(0, end));
  }
  rest += decoder.end();
  if (rest !== '') yield* records(rest);
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}
