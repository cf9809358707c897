export * from './table.js';
export * from './kallsyms.js';
export * from './system-map.js';
export * from './elf-symtab.js';
export * from './match.js';
export * from './symbols-for.js';
export * from './annotate.js';

