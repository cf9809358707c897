export * from './x86_64.js';
