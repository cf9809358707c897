export * from './kernel-memory.js';
export * from './x86_64.js';
export * from './aarch64.js';
export { kernelMemory } from './select.js';
