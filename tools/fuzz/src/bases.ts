/**
 * The undamaged dumps cases start from: small dumps written by the project's
 * dump writer (tools/mkdump: every format and codec) and small dumps cut from
 * the real fixture (its own header, sub header, notes, VMCOREINFO and
 * bitmaps, with the 2nd bitmap and the page descriptors rewritten to keep only
 * the pages a kernel reader needs). The fixture itself is only ever read.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KdumpDump, openDump, type Dump } from '@vmpipe/dump';
import { writeDump, type DumpSpec, type Layout } from '@vmpipe/mkdump';

export type BaseName =
  | 'kdump-zlib'
  | 'kdump-lzo'
  | 'kdump-snappy'
  | 'kdump-zstd'
  | 'kdump-raw'
  | 'kdump-v3'
  | 'flattened'
  | 'elf'
  | 'real-log'
  | 'real-sys'
  | 'real-sys-raw';

export const MK_BASES: BaseName[] = ['kdump-zlib', 'kdump-lzo', 'kdump-snappy', 'kdump-zstd', 'kdump-raw', 'kdump-v3', 'flattened', 'elf'];
/** real-sys-raw stores its pages uncompressed: damage to page data is then damage to the kernel's memory itself. */
export const REAL_BASES: BaseName[] = ['real-log', 'real-sys', 'real-sys-raw'];

export interface Base {
  name: BaseName;
  bytes: Uint8Array;
  /** named regions of the file damage is aimed at */
  regions: Record<string, { offset: number; size: number }>;
  /** page-aligned physical addresses of the pages the base holds, to check reads against */
  pages: bigint[];
  pageSize: number;
  /** where the undamaged copy is, to read the right bytes from */
  path: string;
}

export const FIXTURE = new URL('../../../fixtures/real/vmcore.kdump-zlib', import.meta.url).pathname;

export function haveFixture(): boolean {
  return existsSync(FIXTURE);
}

/** The fixture's VMCOREINFO text: the writer's dumps carry a real kernel's keys. */
function realVmcoreinfo(): string {
  if (!haveFixture()) return 'OSRELEASE=6.1.0-fuzz\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff81c0a000\nOFFSET(page.flags)=0\nSIZE(page)=64\n';
  const d = openDump(FIXTURE);
  try {
    return d.vmcoreinfo!.raw + '\n';
  } finally {
    d.close();
  }
}

function mkSpec(name: BaseName, vmcoreinfo: string): DumpSpec {
  const codec = ({ 'kdump-zlib': 'zlib', 'kdump-lzo': 'lzo', 'kdump-snappy': 'snappy', 'kdump-zstd': 'zstd', 'kdump-raw': 'none' } as const)[name as 'kdump-zlib'] ?? 'zlib';
  return {
    format: name === 'elf' ? 'elf' : name === 'flattened' ? 'flattened' : 'kdump',
    codec,
    headerVersion: name === 'kdump-v3' ? 3 : 6,
    vmcoreinfo,
    utsname: { sysname: 'Linux', nodename: 'fuzz', release: '6.1.0-56-cloud-amd64', version: '#1 SMP', machine: 'x86_64', domainname: '(none)' },
    crashTime: 1764035000,
    cpus: [
      { prstatusPid: 44, regs: { rip: 0xffffffff93c3d023n, rsp: 0xffffd210c0003fc0n } },
      { prstatusPid: 0, regs: { rip: 0xffffffffc03ee230n, rsp: 0xffffd210c0013b78n } },
    ],
    ranges: [
      { paddr: 0n, pages: 16 },
      { paddr: 0x100000n, pages: 24 },
    ],
    excluded: [3, 0x100 + 5],
    zeroPages: [4, 0x100 + 7],
  };
}

function pagesOf(dump: Dump): bigint[] {
  const out: bigint[] = [];
  const size = BigInt(dump.pageSize);
  for (const r of dump.memoryRanges()) for (let a = r.start; a < r.end && out.length < 4096; a += size) out.push(a);
  return out;
}

/** Pfns the kernel readers touch for a mode, found by reading the fixture once with a watch on its pages. */
const needed = new Map<string, number[]>();

async function neededPfns(mode: 'log' | 'sys'): Promise<number[]> {
  if (!needed.has(mode)) needed.set(mode, await recordPfns(mode));
  return needed.get(mode)!;
}

async function recordPfns(mode: 'log' | 'sys'): Promise<number[]> {
  const seen = new Set<number>();
  const proto = KdumpDump.prototype as unknown as { page(pfn: number): unknown };
  const page = proto.page;
  proto.page = function (this: unknown, pfn: number) {
    seen.add(pfn);
    return page.call(this, pfn);
  };
  try {
    const { runCommand } = await import('./run-command.js');
    await runCommand('vmcore-extract', [FIXTURE, mode === 'log' ? '--log' : '--sys']);
    if (mode === 'sys') {
      await runCommand('vmcore-extract', [FIXTURE, '--panic']);
      await runCommand('sym-resolve', [FIXTURE, 'jiffies', 'init_task']);
      await runCommand('struct-decode', [FIXTURE, 'task_struct', 'init_task', '--fields', 'pid,comm']);
      await runCommand('vmcore-extract', [FIXTURE, '--read', 'jiffies']);
    }
  } finally {
    proto.page = page;
  }
  return [...seen].sort((a, b) => a - b);
}

/**
 * A kdump file holding only `keep` of the fixture's pages: blocks 0..1+sub_hdr_size and the
 * 1st bitmap as they are, the 2nd bitmap with only `keep` set, their descriptors (offsets
 * moved) and their data. Every header field stays true of the smaller file.
 */
export function cutFixture(keep: number[], raw = false): { bytes: Uint8Array; regions: Record<string, { offset: number; size: number }>; pfns: number[] } {
  const src = readFileSync(FIXTURE);
  const block = src.readInt32LE(428);
  const subHdrSize = src.readInt32LE(432);
  const bitmapBlocks = src.readUInt32LE(436);
  const bitmap1 = block * (1 + subHdrSize);
  const half = (bitmapBlocks * block) / 2;
  const bitmap2 = bitmap1 + half;
  const descs = bitmap1 + bitmapBlocks * block;
  const bit = (base: number, pfn: number) => (src[base + (pfn >> 3)]! >> (pfn & 7)) & 1;
  // rank of each kept pfn among the fixture's dumped pfns
  const keepSet = new Set(keep.filter((p) => bit(bitmap2, p)));
  const kept: { pfn: number; offset: bigint; size: number; flags: number; pageFlags: bigint }[] = [];
  let rank = 0;
  for (let pfn = 0; pfn < half * 8; pfn++) {
    if (!bit(bitmap2, pfn)) continue;
    if (keepSet.has(pfn)) {
      const d = descs + rank * 24;
      kept.push({ pfn, offset: src.readBigInt64LE(d), size: src.readUInt32LE(d + 8), flags: src.readUInt32LE(d + 12), pageFlags: src.readBigUInt64LE(d + 16) });
    }
    rank++;
  }
  if (raw) {
    // Each page decoded and stored as makedumpfile stores an incompressible one: flags 0, a page long.
    const d = openDump(FIXTURE);
    const pages = new Map<number, Buffer>();
    for (const k of kept) {
      const c = d.readPhysical(BigInt(k.pfn) * BigInt(block), block)[0]!;
      pages.set(k.pfn, 'bytes' in c ? Buffer.from(c.bytes) : Buffer.alloc(block));
    }
    d.close();
    const rawStart = descs + kept.length * 24;
    const out = Buffer.alloc(rawStart + kept.length * block);
    src.copy(out, 0, 0, bitmap2);
    out.fill(0, bitmap2, bitmap2 + half);
    kept.forEach((k, i) => {
      out[bitmap2 + (k.pfn >> 3)] |= 1 << (k.pfn & 7);
      const at = descs + i * 24;
      out.writeBigInt64LE(BigInt(rawStart + i * block), at);
      out.writeUInt32LE(block, at + 8);
      out.writeUInt32LE(0, at + 12);
      out.writeBigUInt64LE(k.pageFlags, at + 16);
      pages.get(k.pfn)!.copy(out, rawStart + i * block);
    });
    // The header's compression bits say zlib; a raw page has flags 0 either way.
    return { bytes: out, regions: cutRegions(src, block, bitmap1, half, descs, kept.length, rawStart, out.length), pfns: kept.map((k) => k.pfn) };
  }
  const dataStart = descs + kept.length * 24;
  const moved = new Map<bigint, number>();
  const chunks: Buffer[] = [];
  let at = dataStart;
  for (const k of kept) {
    if (!moved.has(k.offset)) {
      moved.set(k.offset, at);
      chunks.push(src.subarray(Number(k.offset), Number(k.offset) + k.size));
      at += k.size;
    }
  }
  const out = Buffer.alloc(at);
  src.copy(out, 0, 0, bitmap2);
  out.fill(0, bitmap2, bitmap2 + half);
  for (const k of kept) out[bitmap2 + (k.pfn >> 3)] |= 1 << (k.pfn & 7);
  kept.forEach((k, i) => {
    const d = descs + i * 24;
    out.writeBigInt64LE(BigInt(moved.get(k.offset)!), d);
    out.writeUInt32LE(k.size, d + 8);
    out.writeUInt32LE(k.flags, d + 12);
    out.writeBigUInt64LE(k.pageFlags, d + 16);
  });
  Buffer.concat(chunks).copy(out, dataStart);
  const regions = cutRegions(src, block, bitmap1, half, descs, kept.length, dataStart, at);
  return { bytes: out, regions, pfns: kept.map((k) => k.pfn) };
}

function cutRegions(src: Buffer, block: number, bitmap1: number, half: number, descs: number, count: number, dataStart: number, end: number): Record<string, { offset: number; size: number }> {
  const sub = block;
  return {
    header: { offset: 0, size: 464 },
    subHeader: { offset: sub, size: 104 },
    notes: { offset: Number(src.readBigInt64LE(sub + 48)), size: Number(src.readBigUInt64LE(sub + 56)) },
    vmcoreinfo: { offset: Number(src.readBigInt64LE(sub + 32)), size: Number(src.readBigUInt64LE(sub + 40)) },
    bitmap1: { offset: bitmap1, size: half },
    bitmap2: { offset: bitmap1 + half, size: half },
    pageDescs: { offset: descs, size: count * 24 },
    pageData: { offset: dataStart, size: end - dataStart },
  };
}

const REGION_KEYS = ['header', 'subHeader', 'notes', 'vmcoreinfo', 'bitmap1', 'bitmap2', 'pageDescs', 'pageData', 'ehdr', 'phdrs'];

function regionsOf(layout: Layout): Record<string, { offset: number; size: number }> {
  const out: Record<string, { offset: number; size: number }> = {};
  for (const k of REGION_KEYS) if (layout[k] && layout[k]!.size > 0) out[k] = layout[k]!;
  if (!out['pageData'] && layout['firstPageData']) {
    const file = layout['file']!;
    out['pageData'] = { offset: layout['firstPageData'].offset, size: file.size - layout['firstPageData'].offset };
  }
  return out;
}

/** Every base, written once into `dir` (real ones only when the fixture is there). */
export async function makeBases(dir: string, names: BaseName[] = [...MK_BASES, ...REAL_BASES]): Promise<Map<BaseName, Base>> {
  const info = realVmcoreinfo();
  const out = new Map<BaseName, Base>();
  for (const name of names) {
    let bytes: Uint8Array;
    let regions: Record<string, { offset: number; size: number }>;
    let pages: bigint[] | undefined;
    if (name === 'real-log' || name === 'real-sys' || name === 'real-sys-raw') {
      if (!haveFixture()) continue;
      const cut = cutFixture(await neededPfns(name === 'real-log' ? 'log' : 'sys'), name === 'real-sys-raw');
      bytes = cut.bytes;
      regions = cut.regions;
      pages = cut.pfns.filter((_, i) => i % Math.ceil(cut.pfns.length / 200) === 0).map((p) => BigInt(p) * 4096n);
    } else {
      const w = await writeDump(mkSpec(name, info));
      bytes = w.bytes;
      regions = regionsOf(w.layout);
    }
    const path = join(dir, `base-${name}`);
    writeFileSync(path, bytes);
    const d = openDump(path);
    const base: Base = { name, bytes, regions, pages: pages ?? pagesOf(d), pageSize: d.pageSize, path };
    d.close();
    out.set(name, base);
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
