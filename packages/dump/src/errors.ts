/**
 * Why a dump cannot be read at all. Commands turn these into one line on
 * stderr and an exit code; per-page problems are `PageProblem`s instead.
 */
export type DumpErrorReason =
  | 'no-input' // missing, a directory, unreadable
  | 'unsupported' // a format we recognise but do not read (ELF32, sadump, ...)
  | 'not-a-dump' // no known magic
  | 'damaged'; // a known format whose headers are inconsistent or cut short

export class DumpError extends Error {
  constructor(readonly reason: DumpErrorReason, message: string) {
    super(message);
    this.name = 'DumpError';
  }
}

/** Per-page problem codes; the same words as the `error` record codes. */
export type PageProblemCode = 'page-excluded' | 'not-in-dump' | 'page-corrupt' | 'page-incomplete';

export interface PageProblem {
  code: PageProblemCode;
  message: string;
}

/**
 * Codes of problems found at open that do not stop reading; the same words as
 * the `error` record codes (docs/records.md).
 *  - dump-truncated: the file ends before data its headers describe (`pagesLost` pages of it)
 *  - dump-inconsistent: a header field contradicts the file or another field (`field`, `value`)
 *  - vmcoreinfo-invalid: a VMCOREINFO value cannot be true (`field` is its key); it is not used
 *  - vmcoreinfo-truncated: the VMCOREINFO text ends inside a line: that line is not used, later keys are missing
 *  - note-corrupt: an ELF note could not be parsed; notes before it are used
 */
export type DumpProblemCode = 'dump-truncated' | 'dump-inconsistent' | 'vmcoreinfo-invalid' | 'vmcoreinfo-truncated' | 'note-corrupt';

export interface DumpProblem {
  code: DumpProblemCode;
  message: string;
  /** the header field or VMCOREINFO key at fault */
  field?: string;
  /** its value as read */
  value?: string | number;
  /** pages the headers describe whose bytes are not in the file */
  pagesLost?: number;
  /** the VMCOREINFO line at fault (1-based) */
  line?: number;
}
