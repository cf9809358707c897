// Spec: small, independent readers for the tests, written from the format
// definitions (makedumpfile diskdump_mod.h / makedumpfile.h, ELF-64 gABI, Linux
// elf_prstatus) and deliberately not sharing code or constants with the writers.

import { spawnSync } from 'node:child_process';

export const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
export const u16 = (b: Uint8Array, o: number) => le(b).getUint16(o, true);
export const u32 = (b: Uint8Array, o: number) => le(b).getUint32(o, true);
export const i32 = (b: Uint8Array, o: number) => le(b).getInt32(o, true);
export const u64 = (b: Uint8Array, o: number) => le(b).getBigUint64(o, true);
export const n64 = (b: Uint8Array, o: number) => Number(le(b).getBigUint64(o, true));
export const cstr = (b: Uint8Array, o: number, len: number) => {
  const s = b.subarray(o, o + len);
  const z = s.indexOf(0);
  return Buffer.from(z < 0 ? s : s.subarray(0, z)).toString('utf8');
};

export interface Note {
  name: string;
  type: number;
  desc: Uint8Array;
  /** offset of the note header, relative to the segment */
  at: number;
  descAt: number;
}

/** Elf64_Nhdr records, 4-byte padded. */
export function parseNotes(seg: Uint8Array): Note[] {
  const out: Note[] = [];
  let o = 0;
  while (o + 12 <= seg.length) {
    const namesz = u32(seg, o);
    const descsz = u32(seg, o + 4);
    const type = u32(seg, o + 8);
    const nameAt = o + 12;
    const descAt = nameAt + Math.ceil(namesz / 4) * 4;
    out.push({ name: cstr(seg, nameAt, namesz), type, desc: seg.slice(descAt, descAt + descsz), at: o, descAt });
    o = descAt + Math.ceil(descsz / 4) * 4;
  }
  return out;
}

export interface KdumpHeader {
  signature: string;
  headerVersion: number;
  utsname: string[];
  tvSec: bigint;
  tvUsec: bigint;
  status: number;
  blockSize: number;
  subHdrSize: number;
  bitmapBlocks: number;
  maxMapnr: number;
  totalRamBlocks: number;
  deviceBlocks: number;
  writtenBlocks: number;
  currentCpu: number;
  nrCpus: number;
}

/** struct disk_dump_header on LP64: timeval aligned to 8 after the 390-byte utsname. */
export function parseKdumpHeader(b: Uint8Array): KdumpHeader {
  const uts: string[] = [];
  for (let i = 0; i < 6; i++) uts.push(cstr(b, 12 + 65 * i, 65));
  return {
    signature: Buffer.from(b.subarray(0, 8)).toString('latin1'),
    headerVersion: i32(b, 8),
    utsname: uts,
    tvSec: u64(b, 408),
    tvUsec: u64(b, 416),
    status: u32(b, 424),
    blockSize: i32(b, 428),
    subHdrSize: i32(b, 432),
    bitmapBlocks: u32(b, 436),
    maxMapnr: u32(b, 440),
    totalRamBlocks: u32(b, 444),
    deviceBlocks: u32(b, 448),
    writtenBlocks: u32(b, 452),
    currentCpu: u32(b, 456),
    nrCpus: i32(b, 460),
  };
}

export interface SubHeader {
  physBase: bigint;
  dumpLevel: number;
  split: number;
  offsetVmcoreinfo: number;
  sizeVmcoreinfo: number;
  offsetNote: number;
  sizeNote: number;
  offsetEraseinfo: number;
  sizeEraseinfo: number;
  maxMapnr64?: number;
}

export function parseSubHeader(b: Uint8Array, at: number, version: number): SubHeader {
  const s: SubHeader = {
    physBase: u64(b, at),
    dumpLevel: i32(b, at + 8),
    split: version >= 2 ? i32(b, at + 12) : 0,
    offsetVmcoreinfo: version >= 3 ? n64(b, at + 32) : 0,
    sizeVmcoreinfo: version >= 3 ? n64(b, at + 40) : 0,
    offsetNote: version >= 4 ? n64(b, at + 48) : 0,
    sizeNote: version >= 4 ? n64(b, at + 56) : 0,
    offsetEraseinfo: version >= 5 ? n64(b, at + 64) : 0,
    sizeEraseinfo: version >= 5 ? n64(b, at + 72) : 0,
  };
  if (version >= 6) s.maxMapnr64 = n64(b, at + 96);
  return s;
}

export interface PageDesc {
  offset: number;
  size: number;
  flags: number;
  pageFlags: bigint;
}

export interface Kdump {
  h: KdumpHeader;
  sub: SubHeader;
  bitmap1: Uint8Array;
  bitmap2: Uint8Array;
  /** pfn -> descriptor, for every pfn set in the 2nd bitmap */
  descs: Map<number, PageDesc>;
  descTable: number;
}

export const bit = (bm: Uint8Array, pfn: number) => ((bm[pfn >> 3] ?? 0) >> (pfn & 7)) & 1;

export function parseKdump(b: Uint8Array): Kdump {
  const h = parseKdumpHeader(b);
  const sub = parseSubHeader(b, h.blockSize, h.headerVersion);
  const half = (h.bitmapBlocks * h.blockSize) / 2;
  const bm1At = (1 + h.subHdrSize) * h.blockSize;
  const bitmap1 = b.slice(bm1At, bm1At + half);
  const bitmap2 = b.slice(bm1At + half, bm1At + 2 * half);
  const descTable = (1 + h.subHdrSize + h.bitmapBlocks) * h.blockSize;
  const descs = new Map<number, PageDesc>();
  const maxMapnr = sub.maxMapnr64 ?? h.maxMapnr;
  let i = 0;
  for (let pfn = 0; pfn < maxMapnr; pfn++) {
    if (!bit(bitmap2, pfn)) continue;
    const o = descTable + 24 * i++;
    descs.set(pfn, { offset: n64(b, o), size: u32(b, o + 8), flags: u32(b, o + 12), pageFlags: u64(b, o + 16) });
  }
  return { h, sub, bitmap1, bitmap2, descs, descTable };
}

export interface Phdr {
  type: number;
  flags: number;
  offset: number;
  vaddr: bigint;
  paddr: bigint;
  filesz: number;
  memsz: number;
  align: number;
}

export interface Elf {
  ident: Uint8Array;
  type: number;
  machine: number;
  version: number;
  phoff: number;
  shoff: number;
  ehsize: number;
  phentsize: number;
  phnum: number;
  phdrs: Phdr[];
}

export function parseElf(b: Uint8Array): Elf {
  const phoff = n64(b, 32);
  const phnum = u16(b, 56);
  const phentsize = u16(b, 54);
  const phdrs: Phdr[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + phentsize * i;
    phdrs.push({
      type: u32(b, o),
      flags: u32(b, o + 4),
      offset: n64(b, o + 8),
      vaddr: u64(b, o + 16),
      paddr: u64(b, o + 24),
      filesz: n64(b, o + 32),
      memsz: n64(b, o + 40),
      align: n64(b, o + 48),
    });
  }
  return {
    ident: b.slice(0, 16),
    type: u16(b, 16),
    machine: u16(b, 18),
    version: u32(b, 20),
    phoff,
    shoff: n64(b, 40),
    ehsize: u16(b, 52),
    phentsize,
    phnum,
    phdrs,
  };
}

/** Segments of a flattened file, and the file they rearrange to (independent of the writer). */
export function parseFlattened(b: Uint8Array): { type: bigint; version: bigint; segments: { offset: number; size: number; at: number }[]; rearranged: Uint8Array } {
  const dv = le(b);
  const sig = cstr(b, 0, 16);
  if (sig !== 'makedumpfile') throw new Error(`bad signature ${sig}`);
  const segments: { offset: number; size: number; at: number }[] = [];
  let o = 4096;
  let end = 0;
  for (;;) {
    const off = dv.getBigInt64(o, false);
    const size = dv.getBigInt64(o + 8, false);
    if (off === -1n && size === -1n) break;
    segments.push({ offset: Number(off), size: Number(size), at: o + 16 });
    end = Math.max(end, Number(off + size));
    o += 16 + Number(size);
  }
  if (o + 16 !== b.length) throw new Error('bytes after the end marker');
  const out = new Uint8Array(end);
  for (const s of segments) out.set(b.subarray(s.at, s.at + s.size), s.offset);
  return { type: dv.getBigInt64(16, false), version: dv.getBigInt64(24, false), segments, rearranged: out };
}

/** Path of a tool on PATH, or undefined. */
export function tool(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/**
 * For checks against a real tool: true when `name` is on PATH; otherwise logs the skip, marks the
 * test passed (CI machines may lack the tool) and returns false.
 */
export function haveTool(t: { log(...values: unknown[]): void; pass(): void }, name: string): boolean {
  if (tool(name)) return true;
  t.log(`${name} not on PATH: skipped`);
  t.pass();
  return false;
}

export const X86_REGS = 'r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs'.split(' ');

/** Distinct, recognizable register values: 0xRR00_..._00ii for register index RR, cpu i. */
export function sampleRegs(names: string[], cpu: number): Record<string, bigint> {
  const regs: Record<string, bigint> = {};
  names.forEach((n, i) => {
    regs[n] = (BigInt(i + 1) << 56n) | (0xabcdn << 16n) | BigInt(cpu);
  });
  return regs;
}
