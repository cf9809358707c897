// Spec: vmpipe's dump writer API (docs/mkdump.md). The formats themselves are
// defined in elf.ts (ELF-64 gABI core files), kdump.ts (makedumpfile's
// diskdump_mod.h), flattened.ts (makedumpfile.h flattened format) and notes.ts
// (Linux elf_prstatus, VMCOREINFO, QEMU's QEMUCPUState).

import { writeFile } from 'node:fs/promises';
import type { Layout } from './bytes.js';
import { writeElf } from './elf.js';
import { flatten } from './flattened.js';
import { writeKdump } from './kdump.js';
import { resolveSpec, type DumpSpec } from './spec.js';

export type { Layout } from './bytes.js';
export {
  pagePattern,
  incompressiblePattern,
  zeroPattern,
  specFromJson,
  type Arch,
  type CpuSpec,
  type DumpFormat,
  type DumpSpec,
  type PageCodec,
  type PatternName,
  type RangeSpec,
  type Utsname,
} from './spec.js';
export { cutKdump, cutKdumpFile, parsePfnList, type CutResult } from './cut.js';
export { X86_64_PR_REG, ARM64_PR_REG, PRSTATUS_SIZE, QEMU_CPUSTATE_SIZE } from './notes.js';

export interface Written {
  bytes: Uint8Array;
  /** where each structure sits in `bytes`: header, subHeader, notes, note.*, vmcoreinfo, bitmap1, bitmap2, pageDescs, pageDesc.<pfn>, page.<pfn>, ... */
  layout: Layout;
}

export async function writeDump(spec: DumpSpec): Promise<Written> {
  const r = resolveSpec(spec);
  switch (r.format) {
    case 'elf':
      return writeElf(r);
    case 'kdump': {
      const { bytes, layout } = await writeKdump(r);
      return { bytes, layout };
    }
    case 'flattened': {
      const { plan } = await writeKdump(r);
      return flatten(plan);
    }
  }
}

export async function writeDumpFile(path: string, spec: DumpSpec): Promise<Written> {
  const w = await writeDump(spec);
  await writeFile(path, w.bytes);
  return w;
}
