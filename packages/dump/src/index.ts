export * from './dump.js';
export { DumpError, type DumpErrorReason, type DumpProblem, type DumpProblemCode, type PageProblem, type PageProblemCode } from './errors.js';
export { openDump, reassembleFlattened } from './open.js';
export type { CpuState, ElfNote } from './notes.js';
export { Vmcoreinfo } from './vmcoreinfo.js';
export { FileSource, type ByteSource } from './source.js';
export { KdumpDump } from './kdump.js';
export { ElfDump } from './elf.js';
