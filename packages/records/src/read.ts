import type { Readable } from 'node:stream';
import { errorRecord } from './errors.js';
import type { AnyRecord } from './kinds.js';

const BAD_LINE = Symbol('bad-line');

interface BadLine {
  [BAD_LINE]: true;
  text: string;
  reason: string;
}

/** The longest line read as a record by default (bytes, newline excluded): 16 MiB. */
export const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
/** The deepest nesting of arrays and objects a record may have: JSON.stringify and renderers recurse. */
export const DEFAULT_MAX_DEPTH = 256;

export interface ReadLimits {
  /** Bytes per line; longer lines become one `bad-record` and are skipped without being kept. */
  maxLine?: number;
  /** Nesting depth of arrays/objects; deeper lines become a `bad-record`. */
  maxDepth?: number;
}

/** The limits in force: VMPIPE_MAX_LINE (bytes, e.g. 64M) raises or lowers the line limit. */
export function readLimits(env: NodeJS.ProcessEnv = process.env): Required<ReadLimits> {
  const raw = env['VMPIPE_MAX_LINE'];
  let maxLine = DEFAULT_MAX_LINE;
  if (raw !== undefined && raw !== '') {
    const m = /^([0-9]+)([kKmMgG]?)$/.exec(raw.trim());
    if (m) maxLine = Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as Record<string, number>)[m[2]!.toLowerCase()]!;
  }
  return { maxLine: Math.max(1, Math.min(maxLine, 512 * 1024 * 1024)), maxDepth: DEFAULT_MAX_DEPTH };
}

/**
 * Reads NDJSON records from a stream (stdin by default). A line that is not a
 * JSON object with a string `kind` becomes an `error` record (`bad-record`)
 * carrying the line number, and reading goes on: one bad line never ends a
 * pipeline.
 *
 * Lines are split here on bytes, a chunk at a time, and each is parsed by
 * stream-json's per-line JSONL parser (its stream form costs several promise
 * hops per record). Time and memory are linear in the input: a line is kept
 * as a list of chunk slices and joined once; a line longer than `maxLine`
 * is answered with a `bad-record` as soon as it passes the limit and the rest
 * of it is skipped, never held; nesting deeper than `maxDepth` is refused
 * before anything recurses over it.
 */
export async function* readRecords(input: Readable = process.stdin, limits: ReadLimits = {}): AsyncGenerator<AnyRecord> {
  const { maxLine, maxDepth } = { ...readLimits(), ...limits };
  // Imported here, not at the top: only the commands that read records pay its ~12 ms of loading.
  const { jsonlParser } = await import('stream-json/jsonl/parser.js');
  const parse = jsonlParser({
    errorIndicator: (error: Error, text: string): BadLine => ({ [BAD_LINE]: true, text, reason: error.message }),
  });
  let line = 0;
  let parts: Buffer[] = [];
  let partsLength = 0;
  /** Bytes of the current line seen after it passed the limit (-1: under the limit). */
  let skipping = -1;

  const record = (bytes: Buffer): AnyRecord | undefined => {
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    if (tooDeep(bytes, end, maxDepth)) {
      return errorRecord('bad-record', `line ${line} nests arrays/objects deeper than ${maxDepth} levels`, { line, reason: 'too-deep', maxDepth });
    }
    const item = parse(bytes.toString('utf8', 0, end));
    if (typeof item === 'symbol') return undefined; // an empty line
    const value = item.value;
    if (value && typeof value === 'object' && BAD_LINE in value) {
      return errorRecord('bad-record', `line ${line} is not JSON: ${clip((value as BadLine).text)}`, { line });
    }
    if (!value || typeof value !== 'object' || Array.isArray(value) || typeof (value as AnyRecord).kind !== 'string') {
      return errorRecord('bad-record', `line ${line} is not a record (an object with a "kind"): ${clip(JSON.stringify(value))}`, { line });
    }
    return value as AnyRecord;
  };
  const overLimit = (): AnyRecord =>
    errorRecord('bad-record', `line ${line} is longer than ${maxLine} bytes (the limit; VMPIPE_MAX_LINE raises it): skipped`, { line, reason: 'too-long', maxLine });

  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    let at = 0;
    while (at <= buf.length) {
      const nl = buf.indexOf(0x0a, at);
      const stop = nl < 0 ? buf.length : nl;
      if (skipping >= 0) skipping += stop - at;
      else if (partsLength + (stop - at) > maxLine) {
        line++;
        parts = [];
        partsLength = 0;
        skipping = 0;
        yield overLimit();
      } else if (stop > at) {
        parts.push(buf.subarray(at, stop));
        partsLength += stop - at;
      }
      if (nl < 0) break;
      if (skipping >= 0) skipping = -1; // the long line ends here; its number was counted when it passed the limit
      else {
        line++;
        const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength);
        parts = [];
        partsLength = 0;
        const r = record(bytes);
        if (r) yield r;
      }
      at = nl + 1;
    }
  }
  if (skipping < 0 && partsLength > 0) {
    line++;
    const r = record(parts.length === 1 ? parts[0]! : Buffer.concat(parts, partsLength));
    if (r) yield r;
  }
}

/**
 * Whether a line nests deeper than `max`. Counting brackets is enough when
 * there are few of them; otherwise brackets inside strings are skipped.
 */
function tooDeep(bytes: Buffer, end: number, max: number): boolean {
  let open = 0;
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (c === 0x5b || c === 0x7b) open++;
  }
  if (open <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + '...' : text;
}
