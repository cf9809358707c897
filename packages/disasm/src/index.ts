export * from './x86_64.js';
export * from './objdump-listing.js';
export * from './walk.js';
export * from './code-file.js';
export * from './members.js';
export * from './aarch64.js';
export * from './aarch64-listing.js';
export * from './code-arch.js';
