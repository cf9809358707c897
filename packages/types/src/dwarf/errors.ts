/**
 * Why debug information cannot be read: a missing file, a file that is not
 * ELF, or DWARF sections that are truncated or inconsistent. The message is
 * one line, meant to be printed as is by a command.
 */
import { ElfError } from '@vmpipe/elf';

export type DwarfErrorReason = 'no-input' | 'not-elf' | 'unsupported' | 'no-dwarf' | 'damaged';

export class DwarfError extends Error {
  constructor(readonly reason: DwarfErrorReason, message: string) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'DwarfError';
  }
}

/** The ELF layer's errors reach callers of the DWARF reader as DWARF errors: one error type to catch. */
export function fromElf<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof ElfError ? new DwarfError(err.reason, err.message) : err;
  }
}
