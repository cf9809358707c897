// Positioned file reads and the dump error type alone, for readers of other files (ELF debug
// info) that must not load every dump format and codec at start-up.
export { FileSource, type ByteSource } from './source.js';
export { DumpError, type DumpErrorReason } from './errors.js';
