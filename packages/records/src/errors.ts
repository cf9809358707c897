import type { ErrorRecord } from './kinds.js';

/**
 * Error codes that travel in `error` records. Stable kebab-case words:
 * scripts match on them, so never rename one.
 */
export const ERROR_CODES = {
  'page-excluded': 'the dump level excluded this page from the dump',
  'not-in-dump': 'the address lies in no memory range the dump holds',
  'page-corrupt': 'the page data in the dump could not be decoded',
  'not-mapped': 'no translation for this virtual address',
  'bad-record': 'a line on the input stream is not a JSON record',
  'note-corrupt': 'an ELF note in the dump could not be parsed',
  'vmcoreinfo-line': 'a VMCOREINFO line is not KEY=VALUE',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES | (string & {});

export function errorRecord(code: ErrorCode, message: string, locators: Record<string, unknown> = {}): ErrorRecord {
  return { kind: 'error', code, message, ...locators } as ErrorRecord;
}

/**
 * A failure that makes the whole run meaningless (no such file, not a dump,
 * bad flags): the command prints `message` as one line on stderr and exits
 * with `exitCode`. Exit codes are documented in docs/exit-codes.md.
 */
export class FatalError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'FatalError';
  }
}

/** Exit codes shared by every command (docs/exit-codes.md). */
export const EXIT = {
  ok: 0,
  usage: 2, // bad flags or arguments
  noInput: 3, // file missing, a directory, unreadable
  badFormat: 4, // not a dump, unsupported or damaged beyond use
  io: 5, // reading or writing failed midway
} as const;
