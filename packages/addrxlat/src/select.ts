import { DumpError, type Dump } from '@vmpipe/dump';
import type { KernelMemory } from './kernel-memory.js';
import { X86_64Memory } from './x86_64.js';
import { Aarch64Memory } from './aarch64.js';

/**
 * Kernel memory of a dump, translated the way its architecture does it.
 * x86_64 (4/5-level paging) and arm64 (4K/16K/64K granules, 36..52-bit VAs, swapper_pg_dir).
 * Throws DumpError('unsupported') when the dump gives no page-table root.
 */
export function kernelMemory(dump: Dump): KernelMemory {
  switch (dump.arch) {
    case 'x86_64':
      return new X86_64Memory(dump);
    case 'arm64':
      return new Aarch64Memory(dump);
    default:
      throw new DumpError('unsupported', `kernel virtual addresses on ${String(dump.arch)} are not translated`);
  }
}
