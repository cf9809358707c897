export * from './jobs.js';
export * from './run.js';
export * from './local.js';
export * from './queue.js';
export * from './progress.js';
