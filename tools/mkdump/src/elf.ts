// Spec: the ELF-64 Object File Format / System V gABI for core files (Elf64_Ehdr,
// Elf64_Phdr), as a kdump /proc/vmcore presents it: ELFCLASS64, ELFDATA2LSB,
// ET_CORE, e_machine EM_X86_64 (62) or EM_AARCH64 (183), program headers at e_phoff
// (64, or e.g. 192 as QEMU 7.2 wrote), one PT_NOTE first (p_offset/p_filesz of the
// note segment, addresses 0), then one PT_LOAD per contiguous run of dumped pfns
// (p_paddr = physical address, p_vaddr = the range's virtual address or 0,
// p_filesz = p_memsz, p_flags RWX); note segment right after the program headers;
// page data from the next page-aligned offset, PT_LOADs back to back (as Linux's
// /proc/vmcore aligns memory to pages for mmap).

import { Struct, concat, roundup, type Layout } from './bytes.js';
import { buildNotes } from './notes.js';
import type { Resolved } from './spec.js';

export const EHDR_SIZE = 64;
export const PHDR_SIZE = 56;
export const ET_CORE = 4;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

interface Load {
  pfn: number;
  count: number;
  vaddr: bigint;
}

/** Contiguous runs of dumped pfns: each range split around excluded pfns. */
export function loads(r: Resolved): Load[] {
  const out: Load[] = [];
  const ps = BigInt(r.pageSize);
  for (const run of r.ranges) {
    let start = -1;
    const end = run.startPfn + run.count;
    for (let pfn = run.startPfn; pfn <= end; pfn++) {
      const dumped = pfn < end && !r.excluded.has(pfn);
      if (dumped && start < 0) start = pfn;
      if (!dumped && start >= 0) {
        const vaddr = run.vaddr !== undefined ? BigInt.asUintN(64, run.vaddr + BigInt(start - run.startPfn) * ps) : 0n;
        out.push({ pfn: start, count: pfn - start, vaddr });
        start = -1;
      }
    }
  }
  return out;
}

export function writeElf(r: Resolved): { bytes: Uint8Array; layout: Layout } {
  const layout: Layout = {};
  const notes = buildNotes(r);
  const lds = loads(r);
  const phnum = 1 + lds.length;
  if (phnum >= 0xffff) throw new Error('mkdump: more than 65534 PT_LOADs (PN_XNUM) is not supported');
  const phoff = r.elfPhoff;
  const notesOff = phoff + PHDR_SIZE * phnum;
  const dataOff = roundup(notesOff + notes.bytes.length, r.pageSize);
  const ps = r.pageSize;

  const ehdr = new Struct(EHDR_SIZE)
    .set(0, Uint8Array.of(0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* ELFDATA2LSB */, 1 /* EV_CURRENT */, 0 /* ELFOSABI_NONE */))
    .u16(16, ET_CORE)
    .u16(18, r.arch === 'x86_64' ? EM_X86_64 : EM_AARCH64)
    .u32(20, 1)
    .u64(24, 0) // e_entry
    .u64(32, phoff)
    .u64(40, 0) // e_shoff
    .u32(48, 0) // e_flags
    .u16(52, r.elfEhsize)
    .u16(54, PHDR_SIZE)
    .u16(56, phnum)
    .u16(58, 0) // e_shentsize
    .u16(60, 0) // e_shnum
    .u16(62, 0); // e_shstrndx
  layout.ehdr = { offset: 0, size: EHDR_SIZE };

  const phdrs = new Struct(PHDR_SIZE * phnum);
  // PT_NOTE
  phdrs.u32(0, PT_NOTE).u32(4, 0).u64(8, notesOff).u64(16, 0).u64(24, 0).u64(32, notes.bytes.length).u64(40, notes.bytes.length).u64(48, 0);
  layout.phdrs = { offset: phoff, size: PHDR_SIZE * phnum };
  layout['phdr.0'] = { offset: phoff, size: PHDR_SIZE };
  let off = dataOff;
  const pages: Uint8Array[] = [];
  lds.forEach((l, i) => {
    const o = PHDR_SIZE * (i + 1);
    const size = l.count * ps;
    phdrs
      .u32(o, PT_LOAD)
      .u32(o + 4, PF_R | PF_W | PF_X)
      .u64(o + 8, off)
      .u64(o + 16, l.vaddr)
      .u64(o + 24, BigInt(l.pfn) * BigInt(ps))
      .u64(o + 32, size)
      .u64(o + 40, size)
      .u64(o + 48, 0);
    layout[`phdr.${i + 1}`] = { offset: phoff + o, size: PHDR_SIZE };
    layout[`load.${i}`] = { offset: off, size };
    for (let k = 0; k < l.count; k++) {
      layout[`page.${l.pfn + k}`] = { offset: off + k * ps, size: ps };
      pages.push(r.pageContent(l.pfn + k));
    }
    off += size;
  });
  if (lds.length) layout.firstPageData = { offset: dataOff, size: ps };
  layout.notes = { offset: notesOff, size: notes.bytes.length };
  for (const [k, e] of Object.entries(notes.layout)) layout[k] = { offset: notesOff + e.offset, size: e.size };

  const head = new Uint8Array(dataOff);
  head.set(ehdr.bytes, 0);
  head.set(phdrs.bytes, phoff);
  head.set(notes.bytes, notesOff);
  const bytes = concat([head, ...pages]);
  layout.file = { offset: 0, size: bytes.length };
  return { bytes, layout };
}
