/**
 * The architecture of a code file by its ELF header's e_machine (ELF gABI;
 * EM_X86_64 = 62, EM_AARCH64 = 183): which disassembler reads a vmlinux.
 */
import { ElfFile } from '@vmpipe/elf';
import { CodeFileError } from './code-file.js';

export type CodeArch = 'x86_64' | 'arm64';

export function vmlinuxArch(path: string): CodeArch {
  let machine: number;
  try {
    machine = ElfFile.open(path).machine;
  } catch (err) {
    throw new CodeFileError((err as Error).message, (err as { reason?: string }).reason === 'no-input' ? 'no-input' : 'bad-format');
  }
  if (machine === 183) return 'arm64';
  if (machine === 62) return 'x86_64';
  throw new CodeFileError(`${path}: ELF machine ${machine} is neither x86_64 (62) nor aarch64 (183)`, 'bad-format');
}
