export * from './x86_64.js';
export * from './objdump-listing.js';
export * from './walk.js';
export * from './code-file.js';
export * from './members.js';
export * from './insn-json.js';
export * from './bug-table.js';
