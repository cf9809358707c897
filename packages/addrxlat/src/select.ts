import { DumpError, type Dump } from '@vmpipe/dump';
import type { KernelMemory } from './kernel-memory.js';
import { X86_64Memory } from './x86_64.js';

/**
 * Kernel memory of a dump, translated the way its architecture does it.
 * x86_64 only for now; arm64 (4K/16K/64K granules, 39..52-bit VAs, TTBR1)
 * is the next implementation and is refused with one clear line until then.
 * Throws DumpError('unsupported') when the dump gives no page-table root.
 */
export function kernelMemory(dump: Dump): KernelMemory {
  switch (dump.arch) {
    case 'x86_64':
      return new X86_64Memory(dump);
    case 'arm64':
      throw new DumpError('unsupported', 'kernel virtual addresses on arm64 are not translated yet (x86_64 only); use --physical');
    default:
      throw new DumpError('unsupported', `kernel virtual addresses on ${String(dump.arch)} are not translated`);
  }
}
