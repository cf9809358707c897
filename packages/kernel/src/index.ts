export * from './printk/index.js';
export * from './panic.js';
export * from './system.js';
export * from './typed.js';
