/**
 * The kernel log as text, byte for byte as the reference tools print it:
 *
 * - `vmcore-dmesg` (kexec-tools 2.0.25 util_lib/elf_info.c, dump_record() and
 *   dump_dmesg_structured()): `[%5llu.%06llu] ` then the text, a byte that is
 *   neither isprint() nor isspace() in the C locale as `\xNN`, inner newlines
 *   as they are; a record without a text block still prints its stamp.
 * - `makedumpfile` (--dump-dmesg, 1.7.2 printk.c dump_record() and
 *   makedumpfile.c dump_log_entry()): the same stamp; an inner newline is
 *   followed by as many spaces as the stamp is wide; the byte test runs on a
 *   signed `char`, so a byte >= 0x80 prints as `\xffffffNN`; records without a
 *   text block are left out.
 * - `crash` (`log`, crash 8.0.2 printk.c dump_record()): the same stamp and
 *   indent as makedumpfile, unprintable bytes as `.`, and a record without a
 *   text block as an empty line.
 */
import type { PrintkRecord } from './record.js';

export type TextFormat = 'vmcore-dmesg' | 'makedumpfile' | 'crash';

/** `[%5llu.%06llu]`: seconds at least five wide, microseconds truncated. */
export function timestamp(tsNsec: bigint): string {
  if (tsNsec <= BigInt(Number.MAX_SAFE_INTEGER)) {
    // Exact in doubles below 2^53 ns, and much cheaper than BigInt division.
    const ns = Number(tsNsec);
    const sec = Math.floor(ns / 1e9);
    const usec = Math.floor((ns - sec * 1e9) / 1000);
    return `[${String(sec).padStart(5)}.${String(usec).padStart(6, '0')}]`;
  }
  const sec = tsNsec / 1_000_000_000n;
  const usec = (tsNsec % 1_000_000_000n) / 1000n;
  return `[${sec.toString().padStart(5)}.${usec.toString().padStart(6, '0')}]`;
}

const isPrint = (c: number) => c >= 0x20 && c <= 0x7e;
const isSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);

/** One record as `format` prints it, with its trailing newline; null when that tool leaves it out. */
export function formatRecord(record: PrintkRecord, format: TextFormat): string | null {
  if (record.dataless) {
    if (format === 'makedumpfile') return null;
    if (format === 'crash') return '\n';
  }
  const stamp = `${timestamp(record.tsNsec ?? 0n)} `;
  const indent = format === 'vmcore-dmesg' ? '' : ' '.repeat(stamp.length);
  let out = stamp;
  const text = record.text;
  let runStart = 0;
  // Copy runs of plain bytes at once; only newlines and unprintables need care.
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const plain = isPrint(c) || (isSpace(c) && (c !== 0x0a || format === 'vmcore-dmesg'));
    if (plain) continue;
    out += text.toString('latin1', runStart, i);
    runStart = i + 1;
    if (c === 0x0a) out += '\n' + indent;
    else if (format === 'crash') out += '.';
    else if (format === 'makedumpfile' && c >= 0x80) out += `\\xffffff${c.toString(16)}`;
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  out += text.toString('latin1', runStart);
  return out + '\n';
}
