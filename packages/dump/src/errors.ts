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
