/** What the printk readers hand out: one kernel log record, or a problem with one. */

export interface PrintkRecord {
  /**
   * The record's sequence number. Lockless ringbuffer: `printk_info.seq`.
   * Structured and plain buffers keep no sequence number that VMCOREINFO
   * exports, so there it counts the records in the buffer from 0.
   */
  seq: bigint;
  /** `ts_nsec`: local clock at printk time; null for a plain buffer line without a `[...]` stamp. */
  tsNsec: bigint | null;
  /** syslog level 0–7, when the layout tells */
  level: number | null;
  facility: number | null;
  /** printk's internal record flags (LOG_NEWLINE 2, LOG_CONT 8), when the layout tells */
  flags: number | null;
  /** `T<pid>` or `C<cpu>` (PRINTK_CALLER), when recorded */
  callerId: string | null;
  /** The text as stored: no prefix, no trailing newline; inner newlines kept. */
  text: Buffer;
  /** dev_printk_info, when set */
  subsystem?: string;
  device?: string;
  /** Lockless: the descriptor's state (readers take committed and finalized records). */
  state?: 'committed' | 'finalized';
  /** Lockless: the descriptor id. */
  id?: bigint;
  /**
   * Lockless: the record has no text block. `empty` (NO_LPOS) is an empty
   * line; `lost` (FAILED_LPOS, or begin and next equal after the modulo as the
   * dump tools test it) is text the kernel could not store.
   */
  dataless?: 'empty' | 'lost';
  /** Where it lives: the descriptor (lockless) or the record header (structured) or the line (plain). */
  addr: bigint;
}

export interface PrintkProblem {
  /** error-record code: printk-desc-damaged, printk-text-damaged, printk-log-corrupt, page-excluded, ... */
  code: string;
  message: string;
  addr?: bigint;
  seq?: bigint;
  id?: bigint;
}

/**
 * A record, a record with a problem (the kernel's own readers would reject it;
 * the dump tools print it anyway, so their text formats keep it), or a
 * problem alone (nothing readable).
 */
export type PrintkItem = { record: PrintkRecord; problem?: PrintkProblem } | { record?: undefined; problem: PrintkProblem };

/** The whole log cannot be read: a VMCOREINFO without printk entries, or its anchors unreadable. */
export class PrintkUnavailable extends Error {
  constructor(
    message: string,
    readonly code: 'printk-unavailable' | 'printk-unreadable' | 'printk-log-corrupt',
    /** VMCOREINFO keys that would be needed */
    readonly missing: string[] = [],
    readonly addr?: bigint,
  ) {
    super(message);
    this.name = 'PrintkUnavailable';
  }
}

/** `T123` / `C1`: bit 31 of caller_id says a CPU (interrupt context), else a task id (printk.c printk_caller_id()). */
export function callerIdText(callerId: number): string {
  return callerId & 0x80000000 ? `C${callerId & 0x7fffffff}` : `T${callerId}`;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Kernel text is bytes: UTF-8 when it is valid UTF-8, else each byte as one character (latin1). */
export function decodeText(bytes: Uint8Array): string {
  // Nearly all kernel text is ASCII, which latin1 decodes the same and faster.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (ascii) return b.toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return b.toString('latin1');
  }
}
