export * from './kinds.js';
export * from './hex.js';
export * from './errors.js';
export { RecordWriter } from './write.js';
export { readRecords } from './read.js';
