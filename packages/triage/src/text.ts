/**
 * Signatures from console text: bytes in (a file or a stream of any size, any encoding),
 * one signature per report out, as each report completes.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { SignatureRecord } from '@vmpipe/records';
import { consoleLine, ReportSplitter, reportOf, type ConsoleLine } from './split.js';
import { signatureOf } from './signature.js';

/** One line's bytes as text: UTF-8 when valid, else each byte as one character (latin1), as the kernel log reader does. */
function decodeLine(bytes: Buffer): string {
  if (isAscii(bytes) || !isUtf8(bytes)) return bytes.toString('latin1');
  return bytes.toString('utf8');
}

/** Console lines from a byte stream, split at `\n`, numbered from 1. */
export async function* consoleLines(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string> | Readable): AsyncGenerator<ConsoleLine> {
  let rest: Buffer = Buffer.alloc(0);
  let n = 0;
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const data = rest.length ? Buffer.concat([rest, buf]) : buf;
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      yield consoleLine(decodeLine(data.subarray(start, nl)), ++n);
      start = nl + 1;
    }
    // A line longer than 1 MiB is garbage (binary noise in a console capture): cut it.
    rest = Buffer.from(data.subarray(start, Math.max(start, data.length)));
    if (rest.length > 1 << 20) {
      yield consoleLine(decodeLine(rest.subarray(0, 4096)), ++n);
      rest = Buffer.alloc(0);
    }
  }
  if (rest.length) yield consoleLine(decodeLine(rest), ++n);
}

/** One signature per report in the text; one `corrupted` signature saying so when there is none. */
export async function* textSignatures(lines: AsyncIterable<ConsoleLine> | Iterable<ConsoleLine>, log: string): AsyncGenerator<SignatureRecord> {
  const splitter = new ReportSplitter();
  let count = 0;
  // A piece that opened like a report but holds none (a stray `cut here`) is not a crash.
  const make = (segment: ConsoleLine[]) => {
    const report = reportOf(segment);
    if (report.kind === 'none') return [];
    count++;
    return [signatureOf(report, { log, line: report.line })];
  };
  for await (const l of lines) for (const seg of splitter.push(l)) yield* make(seg);
  for (const seg of splitter.end()) yield* make(seg);
  if (count === 0) {
    yield signatureOf({ headline: 'no crash report in the log', kind: 'none', message: null, rip: null, taint: null, callTrace: [] }, { log });
  }
}

/** Convenience for tests and library users: all signatures of a text. */
export async function signaturesOfText(text: string | Buffer, log = '-'): Promise<SignatureRecord[]> {
  const out: SignatureRecord[] = [];
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  for await (const s of textSignatures(consoleLines([bytes]), log)) out.push(s);
  return out;
}
