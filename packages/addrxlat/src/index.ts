export * from './kernel-memory.js';
