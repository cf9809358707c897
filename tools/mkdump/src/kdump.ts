// Spec: the kdump-compressed format as defined by makedumpfile's diskdump_mod.h
// (struct disk_dump_header, struct kdump_sub_header by header_version, page_desc_t,
// DUMP_DH_COMPRESSED_* flags) and written by makedumpfile 1.7 (header_version 6):
//  block 0: disk_dump_header (464 bytes on LP64: signature "KDUMP   " @0,
//    header_version @8, utsname 6x65 @12, timestamp timeval @408, status @424,
//    block_size @428, sub_hdr_size @432, bitmap_blocks @436, max_mapnr @440,
//    total_ram_blocks @444, device_blocks @448, written_blocks @452, current_cpu @456,
//    nr_cpus @460);
//  block 1: kdump_sub_header (phys_base @0, dump_level @8, split @12, start_pfn @16,
//    end_pfn @24, offset_vmcoreinfo @32, size_vmcoreinfo @40, offset_note @48,
//    size_note @56, offset_eraseinfo @64, size_eraseinfo @72, start_pfn_64 @80,
//    end_pfn_64 @88, max_mapnr_64 @96; 104 bytes for v6), the ELF note segment right
//    after it (offset_note = block_size + sizeof(sub header)); offset_vmcoreinfo
//    points at the VMCOREINFO note's desc inside it; sub_hdr_size counts both in blocks;
//  then the 1st bitmap (pfns present) and the 2nd bitmap (pfns dumped), each
//    roundup(max_mapnr/8, block_size) bytes, bit (pfn & 7) of byte pfn >> 3;
//  then one 24-byte page_desc {off_t offset; u32 size; u32 flags; u64 page_flags}
//    per dumped pfn, then the page data. With dump_level bit 1 (exclude zero pages)
//    one zero page is written first and every all-zero page shares its descriptor.
//    A page whose compressed form is not smaller than the page is stored raw, flags 0.
// The writes are issued in makedumpfile's order and with its cache sizes (page_size
// << 4 for page descriptors and page data) so the flattened wrapper sees the same
// sequence of writes `makedumpfile -F` emits.

import { compress } from '@vmpipe/codecs';
import { Struct, divideup, isZero, type Layout } from './bytes.js';
import { buildNotes } from './notes.js';
import type { Resolved } from './spec.js';

export const KDUMP_SIGNATURE = 'KDUMP   ';
export const DISK_DUMP_HEADER_SIZE = 464;
export const PAGE_DESC_SIZE = 24;
/** sizeof(struct kdump_sub_header) as each header_version defined it (LP64) */
export const SUB_HEADER_SIZE: Record<number, number> = { 1: 16, 2: 32, 3: 48, 4: 64, 5: 80, 6: 104 };

export const DUMP_DH_COMPRESSED_ZLIB = 0x1;
export const DUMP_DH_COMPRESSED_LZO = 0x2;
export const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
export const DUMP_DH_COMPRESSED_INCOMPLETE = 0x8;
export const DUMP_DH_EXCLUDED_VMEMMAP = 0x10;
export const DUMP_DH_COMPRESSED_ZSTD = 0x20;
export const DL_EXCLUDE_ZERO = 0x1;
/** makedumpfile's DEFAULT_ORDER: cache_size = page_size << 4 */
export const CACHE_ORDER = 4;

export const CODEC_FLAG = {
  zlib: DUMP_DH_COMPRESSED_ZLIB,
  lzo: DUMP_DH_COMPRESSED_LZO,
  snappy: DUMP_DH_COMPRESSED_SNAPPY,
  zstd: DUMP_DH_COMPRESSED_ZSTD,
  none: 0,
} as const;

/** One write(2) at an offset, as makedumpfile's write_buffer() issues it. */
export interface Write {
  offset: number;
  data: Uint8Array;
}

export interface KdumpPlan {
  writes: Write[];
  /** size of the assembled file (end of the last byte written) */
  size: number;
  layout: Layout;
}

/** makedumpfile's struct cache_data and write_cache / write_cache_bufsz / write_cd_buf. */
class Cache {
  buf: Uint8Array;
  bufSize = 0;
  constructor(
    public offset: number,
    readonly cacheSize: number,
    private readonly out: Write[],
  ) {
    this.buf = new Uint8Array(cacheSize + cacheSize); // room for one overflowing item
  }
  private emit(off: number, data: Uint8Array): void {
    this.out.push({ offset: off, data: data.slice() });
  }
  write(data: Uint8Array): void {
    if (this.bufSize + data.length > this.buf.length) {
      const bigger = new Uint8Array(this.bufSize + data.length + this.cacheSize);
      bigger.set(this.buf.subarray(0, this.bufSize));
      this.buf = bigger;
    }
    this.buf.set(data, this.bufSize);
    this.bufSize += data.length;
    if (this.bufSize < this.cacheSize) return;
    this.emit(this.offset, this.buf.subarray(0, this.cacheSize));
    this.bufSize -= this.cacheSize;
    this.buf.copyWithin(0, this.cacheSize, this.cacheSize + this.bufSize);
    this.offset += this.cacheSize;
  }
  flush(): void {
    if (!this.bufSize) return;
    this.emit(this.offset, this.buf.subarray(0, this.bufSize));
    this.offset += this.bufSize;
    this.bufSize = 0;
  }
}

function pageDesc(offset: number, size: number, flags: number): Uint8Array {
  return new Struct(PAGE_DESC_SIZE).u64(0, offset).u32(8, size).u32(12, flags).u64(16, 0).bytes;
}

export async function planKdump(r: Resolved): Promise<KdumpPlan> {
  const block = r.pageSize;
  const writes: Write[] = [];
  const layout: Layout = {};
  const v = r.headerVersion;
  const khSize = SUB_HEADER_SIZE[v]!;

  // What follows the sub header: the ELF notes (v4+), the bare VMCOREINFO text (v3).
  const notes = buildNotes(r);
  const withNotes = v >= 4 && notes.bytes.length > 0;
  const vmcoreinfoText = r.vmcoreinfo !== undefined ? Buffer.from(r.vmcoreinfo, 'utf8') : undefined;
  const v3Info = v === 3 && vmcoreinfoText !== undefined;
  const extra = withNotes ? notes.bytes.length : v3Info ? vmcoreinfoText.length : 0;
  const subHdrBlocks = divideup(khSize + extra, block);

  const bitmapHalf = divideup(divideup(r.maxMapnr, 8), block) * block;
  const bitmapBlocks = (bitmapHalf * 2) / block;
  const bitmapBytes = divideup(r.maxMapnr, 8);

  const flag = CODEC_FLAG[r.codec];
  const nrCpus = r.cpus.length;

  // -- disk_dump_header
  const uts = r.utsname;
  const dh = new Struct(DISK_DUMP_HEADER_SIZE)
    .str(0, KDUMP_SIGNATURE, 8)
    .i32(8, v)
    .str(12, uts.sysname, 65)
    .str(77, uts.nodename, 65)
    .str(142, uts.release, 65)
    .str(207, uts.version, 65)
    .str(272, uts.machine, 65)
    .str(337, uts.domainname, 65)
    .u64(408, r.crashTime)
    .u64(416, 0)
    .u32(424, flag)
    .i32(428, block)
    .i32(432, subHdrBlocks)
    .u32(436, bitmapBlocks)
    .u32(440, Math.min(r.maxMapnr, 0xffffffff))
    .i32(460, nrCpus);
  writes.push({ offset: 0, data: dh.bytes });
  layout.header = { offset: 0, size: DISK_DUMP_HEADER_SIZE };

  // -- kdump_sub_header (+ notes)
  const kh = new Struct(khSize).u64(0, r.physBase).i32(8, r.dumpLevel);
  const khOff = block;
  const extraOff = khOff + khSize;
  if (withNotes) {
    kh.u64(48, extraOff).u64(56, notes.bytes.length);
    writes.push({ offset: extraOff, data: notes.bytes });
    layout.notes = { offset: extraOff, size: notes.bytes.length };
    for (const [k, e] of Object.entries(notes.layout)) layout[k] = { offset: extraOff + e.offset, size: e.size };
    if (notes.vmcoreinfo) kh.u64(32, extraOff + notes.vmcoreinfo.offset).u64(40, notes.vmcoreinfo.size);
  } else if (v3Info) {
    kh.u64(32, extraOff).u64(40, vmcoreinfoText.length);
    writes.push({ offset: extraOff, data: vmcoreinfoText });
    layout.vmcoreinfo = { offset: extraOff, size: vmcoreinfoText.length };
  }
  if (v >= 6) kh.u64(96, r.maxMapnr);
  writes.push({ offset: khOff, data: kh.bytes });
  layout.subHeader = { offset: khOff, size: khSize };

  // -- bitmaps
  const bitmap1Off = (1 + subHdrBlocks) * block;
  const bitmap2Off = bitmap1Off + bitmapHalf;
  const bm1 = new Uint8Array(bitmapBytes);
  const bm2 = new Uint8Array(bitmapBytes);
  const dumpable: number[] = [];
  for (const run of r.ranges) {
    for (let pfn = run.startPfn; pfn < run.startPfn + run.count; pfn++) {
      bm1[pfn >> 3]! |= 1 << (pfn & 7);
      if (r.excluded.has(pfn)) continue;
      bm2[pfn >> 3]! |= 1 << (pfn & 7);
      dumpable.push(pfn);
    }
  }
  writes.push({ offset: bitmap1Off, data: bm1 });
  writes.push({ offset: bitmap2Off, data: bm2 });
  layout.bitmap1 = { offset: bitmap1Off, size: bitmapHalf };
  layout.bitmap2 = { offset: bitmap2Off, size: bitmapHalf };

  // -- page descriptors and page data (write_kdump_pages_and_bitmap_cyclic)
  const descOff = (1 + subHdrBlocks + bitmapBlocks) * block;
  const dataStart = descOff + PAGE_DESC_SIZE * dumpable.length;
  const cacheSize = r.pageSize << CACHE_ORDER;
  const cdHeader = new Cache(descOff, cacheSize, writes);
  const cdPage = new Cache(dataStart, cacheSize, writes);
  let offsetData = dataStart;
  layout.pageDescs = { offset: descOff, size: PAGE_DESC_SIZE * dumpable.length };

  const excludeZero = (r.dumpLevel & DL_EXCLUDE_ZERO) !== 0;
  let pdZero: Uint8Array | undefined;
  if (excludeZero) {
    pdZero = pageDesc(offsetData, r.pageSize, 0);
    layout.zeroPage = { offset: offsetData, size: r.pageSize };
    cdPage.write(new Uint8Array(r.pageSize));
    offsetData += r.pageSize;
  }

  let first = true;
  for (let i = 0; i < dumpable.length; i++) {
    const pfn = dumpable[i]!;
    const descAt = descOff + PAGE_DESC_SIZE * i;
    layout[`pageDesc.${pfn}`] = { offset: descAt, size: PAGE_DESC_SIZE };
    const buf = r.pageContent(pfn);
    if (pdZero && isZero(buf)) {
      cdHeader.write(pdZero);
      layout[`page.${pfn}`] = layout.zeroPage!;
      continue;
    }
    let data = buf;
    let flags = 0;
    if (r.codec !== 'none') {
      const c = await compress(r.codec, buf);
      if (c.length < r.pageSize) {
        data = c;
        flags = flag;
      }
    }
    const pd = pageDesc(offsetData, data.length, flags);
    layout[`page.${pfn}`] = { offset: offsetData, size: data.length };
    if (first) {
      layout.firstPageData = layout[`page.${pfn}`]!;
      first = false;
    }
    offsetData += data.length;
    // write_kdump_page: flush both caches first when either would fill up
    if (cdHeader.bufSize + PAGE_DESC_SIZE >= cdHeader.cacheSize || cdPage.bufSize + data.length >= cdPage.cacheSize) {
      cdHeader.flush();
      cdPage.flush();
    }
    cdHeader.write(pd);
    cdPage.write(data);
  }
  cdPage.flush();
  cdHeader.flush();
  layout.pageData = { offset: dataStart, size: offsetData - dataStart };

  let size = 0;
  for (const w of writes) size = Math.max(size, w.offset + w.data.length);
  layout.file = { offset: 0, size };
  return { writes, size, layout };
}

/** Lay the writes out as a file (holes are zeros). */
export function assemble(plan: KdumpPlan): Uint8Array {
  const out = new Uint8Array(plan.size);
  for (const w of plan.writes) out.set(w.data, w.offset);
  return out;
}

export async function writeKdump(r: Resolved): Promise<{ bytes: Uint8Array; layout: Layout; plan: KdumpPlan }> {
  const plan = await planKdump(r);
  return { bytes: assemble(plan), layout: plan.layout, plan };
}
