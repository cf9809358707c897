// The ELF reader lives in @vmpipe/elf (shared with symbols and BTF); DWARF reads its sections.
export * from '@vmpipe/elf';
