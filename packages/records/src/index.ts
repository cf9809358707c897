export * from './kinds.js';
export * from './hex.js';
export * from './errors.js';
export { LineWriter, RecordWriter } from './write.js';
export { readRecords, readLimits, DEFAULT_MAX_LINE, DEFAULT_MAX_DEPTH, type ReadLimits } from './read.js';
export * from './kinds-translation.js';
export * from './kinds-symbols.js';
export * from './kinds-kernel.js';
export * from './kinds-types.js';
