/**
 * kdump-compressed dumps ("KDUMP   "), as written by makedumpfile and by
 * QEMU's `dump-guest-memory -z/-l/-s`. Spec: makedumpfile's diskdump_mod.h
 * (struct disk_dump_header, struct kdump_sub_header, struct page_desc,
 * DUMP_DH_* flags) and the layout makedumpfile.c writes:
 *
 *   block 0                      disk_dump_header
 *   block 1                      kdump_sub_header (sub_hdr_size blocks; notes and VMCOREINFO live here too)
 *   block 1 + sub_hdr_size       1st bitmap (pfns that exist), then 2nd bitmap (pfns dumped): bitmap_blocks in all
 *   next block                   one page_desc per dumped pfn, in pfn order
 *   then                         page data, each page compressed on its own
 *
 * Header versions 1..6 add sub header fields; version 6 adds 64-bit pfn counts.
 */
import { Parser } from 'binary-parser';
import { decompress, type Codec } from '@vmpipe/codecs';
import { DumpError, type DumpProblem, type PageProblem } from './errors.js';
import { archFromMachine, readByPages, vmcoreinfoProblems, type Arch, type Dump, type PhysChunk, type PhysRange, type Producer, type ReadOptions, type Utsname, UTSNAME_FIELDS } from './dump.js';
import { cpuStates, parseNotes, PRSTATUS_SIZE, NT_PRSTATUS, vmcoreinfoText, type CpuState, type ElfNote } from './notes.js';
import { PageCache } from './pagecache.js';
import { readExact, type ByteSource } from './source.js';
import { Vmcoreinfo } from './vmcoreinfo.js';

export const KDUMP_SIGNATURE = 'KDUMP   ';

const DUMP_DH_COMPRESSED_ZLIB = 0x1;
const DUMP_DH_COMPRESSED_LZO = 0x2;
const DUMP_DH_COMPRESSED_SNAPPY = 0x4;
const DUMP_DH_COMPRESSED_INCOMPLETE = 0x8;
const DUMP_DH_COMPRESSED_ZSTD = 0x20;
const CODEC_FLAGS: [number, Codec][] = [
  [DUMP_DH_COMPRESSED_ZLIB, 'zlib'],
  [DUMP_DH_COMPRESSED_LZO, 'lzo'],
  [DUMP_DH_COMPRESSED_SNAPPY, 'snappy'],
  [DUMP_DH_COMPRESSED_ZSTD, 'zstd'],
];

const UTS_LEN = 65;
const utsField = (p: Parser, name: string) => p.string(name, { length: UTS_LEN, stripNull: true, encoding: 'latin1' });

// struct disk_dump_header on a 64-bit machine: timestamp (struct timeval) is 8-aligned at 408.
const diskDumpHeader = (() => {
  let p = new Parser().endianness('little').string('signature', { length: 8 }).int32('headerVersion');
  for (const f of UTSNAME_FIELDS) p = utsField(p, f);
  return p
    .seek(6) // pad to 408
    .int64('tvSec')
    .int64('tvUsec')
    .uint32('status')
    .int32('blockSize')
    .int32('subHdrSize')
    .uint32('bitmapBlocks')
    .uint32('maxMapnr')
    .uint32('totalRamBlocks')
    .uint32('deviceBlocks')
    .uint32('writtenBlocks')
    .uint32('currentCpu')
    .int32('nrCpus');
})();
const DISK_DUMP_HEADER_SIZE = 464;

const kdumpSubHeader = new Parser()
  .endianness('little')
  .uint64('physBase')
  .int32('dumpLevel')
  .int32('split')
  .uint64('startPfn')
  .uint64('endPfn')
  .int64('offsetVmcoreinfo')
  .uint64('sizeVmcoreinfo')
  .int64('offsetNote')
  .uint64('sizeNote')
  .int64('offsetEraseinfo')
  .uint64('sizeEraseinfo')
  .uint64('startPfn64')
  .uint64('endPfn64')
  .uint64('maxMapnr64');
const KDUMP_SUB_HEADER_SIZE = 104;

// The common problems are shared objects: a long read over excluded memory makes one per page.
// The error record built from a run of them carries the address and length.
const NOT_MEMORY: PageProblem = { code: 'not-in-dump', message: 'not memory the dumped machine had' };
const EXCLUDED: PageProblem = { code: 'page-excluded', message: 'excluded by the dump level' };

const PAGE_DESC_SIZE = 24; // off_t offset; u32 size; u32 flags; u64 page_flags

/** Bytes of bitmap read and cached at a time. */
const RANK_CHUNK = 4096;
/** Bytes of bitmap per precomputed count of dumped pfns before it: rank() sums at most this many bytes. */
const RANK_STEP = 64;

export class KdumpDump implements Dump {
  readonly format;
  readonly producer: Producer;
  readonly arch: Arch;
  readonly endian = 'little' as const;
  /** The kernel's page size: VMCOREINFO PAGESIZE when it divides block_size, else block_size. */
  readonly pageSize: number;
  /**
   * The file's page unit (block_size): bitmaps, page descriptors and VMPIPE_RECORD_PAGES count
   * these. makedumpfile writes the kernel's page size; QEMU (target/arm/arch_dump.c) writes
   * 64 KiB for every aarch64 guest whatever its granule, so a 4K-page guest's block holds 16 pages.
   */
  readonly blockSize: number;
  readonly notes: ElfNote[] = [];
  readonly cpus: CpuState[];
  readonly vmcoreinfo: Vmcoreinfo | undefined;
  readonly utsname: Utsname;
  readonly crashTime: Date | undefined;
  readonly headerVersion: number;
  readonly dumpLevel: number | undefined;
  readonly compression: Codec[];
  readonly warnings: DumpProblem[] = [];
  readonly incomplete: boolean;
  readonly currentCpu: number;
  readonly physBase: bigint | undefined;
  /** A `makedumpfile --split` file holds only pfns [start, end); its bitmaps still describe them all. */
  readonly split: { startPfn: number; endPfn: number } | undefined;

  private readonly maxMapnr: number;
  private readonly bitmap1Offset: number;
  private readonly bitmap2Offset: number;
  private readonly bitmapBytes: number;
  private readonly descOffset: number;
  /** dumpedBefore[i]: pfns set in the 2nd bitmap before byte i * RANK_STEP; the last entry is the total. */
  private readonly dumpedBefore: Uint32Array;
  /** Index of the first descriptor: rank of the split's first pfn, 0 for a whole dump. */
  private readonly firstDesc: number;
  /** Dumped pages whose descriptor or data lies past the end of the file (found at open). */
  private readonly pagesLost: number;
  private readonly chunks = new PageCache<Uint8Array>(64);
  private lastChunk1: { key: number; bytes: Uint8Array } = { key: NaN, bytes: new Uint8Array(0) };
  private lastChunk2: { key: number; bytes: Uint8Array } = { key: NaN, bytes: new Uint8Array(0) };
  private readonly pages = new PageCache<Uint8Array>(256);

  constructor(readonly path: string, private readonly source: ByteSource, format: 'kdump-compressed' | 'flattened' = 'kdump-compressed') {
    this.format = format;
    const h = diskDumpHeader.parse(Buffer.from(readExact(source, 0, DISK_DUMP_HEADER_SIZE, 'the kdump header')));
    if (h.headerVersion < 0 || h.headerVersion > 64) throw new DumpError('damaged', `damaged kdump header: header_version ${h.headerVersion}`);
    if (h.blockSize < 512 || h.blockSize > 1 << 20 || (h.blockSize & (h.blockSize - 1)) !== 0) {
      throw new DumpError('damaged', `damaged kdump header: block_size ${h.blockSize} is not a power of two page size`);
    }
    this.headerVersion = h.headerVersion;
    this.blockSize = h.blockSize;
    this.utsname = Object.fromEntries(UTSNAME_FIELDS.map((f) => [f, h[f]])) as Utsname;
    this.crashTime = h.tvSec > 0n ? new Date(Number(h.tvSec) * 1000 + Math.floor(Number(h.tvUsec) / 1000)) : undefined;
    this.compression = CODEC_FLAGS.filter(([bit]) => h.status & bit).map(([, c]) => c);
    this.incomplete = (h.status & DUMP_DH_COMPRESSED_INCOMPLETE) !== 0;
    this.currentCpu = h.currentCpu;
    const block = h.blockSize;

    const inconsistent = (field: string, value: string | number, why: string) =>
      this.warnings.push({ code: 'dump-inconsistent', message: `kdump header ${field} ${value}: ${why}`, field, value });
    // sub_hdr_size places the bitmaps: a value that puts them outside the file leaves nothing to trust.
    if (h.subHdrSize < 0 || block * (1 + h.subHdrSize) >= source.size) {
      throw new DumpError('damaged', `damaged kdump header: sub_hdr_size ${h.subHdrSize} puts the bitmaps at offset ${block * (1 + h.subHdrSize)}, the file has ${source.size} bytes`);
    }

    let maxMapnr = BigInt(h.maxMapnr);
    let sub: ReturnType<typeof kdumpSubHeader.parse> | undefined;
    if (h.headerVersion >= 1 && h.subHdrSize > 0) {
      const need = Math.min(KDUMP_SUB_HEADER_SIZE, h.subHdrSize * block);
      const raw = Buffer.alloc(KDUMP_SUB_HEADER_SIZE);
      raw.set(readExact(source, block, need, 'the kdump sub header'));
      sub = kdumpSubHeader.parse(raw);
      if (h.headerVersion >= 6 && sub.maxMapnr64 > 0n) {
        // makedumpfile writes max_mapnr = min(max_mapnr_64, UINT_MAX): the two must agree.
        const low = sub.maxMapnr64 > 0xffffffffn ? 0xffffffffn : sub.maxMapnr64;
        if (BigInt(h.maxMapnr) !== low) inconsistent('max_mapnr', h.maxMapnr, `disagrees with max_mapnr_64 ${sub.maxMapnr64}; max_mapnr_64 is used`);
        maxMapnr = sub.maxMapnr64;
      }
    } else if (h.headerVersion >= 1) {
      inconsistent('sub_hdr_size', h.subHdrSize, `a version ${h.headerVersion} header has a sub header; notes and VMCOREINFO are not read`);
    }
    this.physBase = sub?.physBase;
    if (sub && h.headerVersion >= 2 && sub.split) {
      const start = h.headerVersion >= 6 ? sub.startPfn64 : sub.startPfn;
      const end = h.headerVersion >= 6 ? sub.endPfn64 : sub.endPfn;
      if (sub.split !== 1) inconsistent('split', sub.split, 'is neither 0 nor 1; read as a whole dump');
      else if (start >= end || end > maxMapnr) inconsistent('split', sub.split, `but start_pfn ${start} and end_pfn ${end} are not a range below max_mapnr ${maxMapnr}; read as a whole dump`);
      else this.split = { startPfn: Number(start), endPfn: Number(end) };
    }
    this.dumpLevel = sub && h.headerVersion >= 1 ? sub.dumpLevel : undefined;
    if (this.dumpLevel !== undefined && (this.dumpLevel < 0 || this.dumpLevel > 31)) inconsistent('dump_level', this.dumpLevel, 'is not 0..31');
    if (maxMapnr > BigInt(Number.MAX_SAFE_INTEGER)) throw new DumpError('damaged', `damaged kdump header: max_mapnr ${maxMapnr}`);
    this.maxMapnr = Number(maxMapnr);

    this.bitmap1Offset = block * (1 + h.subHdrSize);
    this.bitmapBytes = (h.bitmapBlocks * block) / 2;
    this.bitmap2Offset = this.bitmap1Offset + this.bitmapBytes;
    this.descOffset = this.bitmap1Offset + h.bitmapBlocks * block;
    if (this.bitmapBytes * 8 < this.maxMapnr) {
      throw new DumpError('damaged', `damaged kdump header: ${h.bitmapBlocks} bitmap blocks cannot hold ${this.maxMapnr} pfns`);
    }
    if (this.descOffset > source.size) {
      throw new DumpError('damaged', `truncated dump: the bitmaps end at offset ${this.descOffset}, the file has ${source.size} bytes`);
    }
    // makedumpfile: each bitmap is divideup(max_mapnr, 8) bytes rounded up to whole blocks.
    const expectedBlocks = 2 * Math.ceil(Math.ceil(this.maxMapnr / 8) / block);
    if (h.bitmapBlocks !== expectedBlocks) {
      inconsistent('bitmap_blocks', h.bitmapBlocks, `max_mapnr ${this.maxMapnr} needs ${expectedBlocks}; the bitmaps are read where bitmap_blocks puts them`);
    }
    this.dumpedBefore = this.countDumped();
    const orphans = this.dumpedNotInMemory();
    if (orphans > 0) {
      this.warnings.push({
        code: 'dump-inconsistent',
        message: `the 2nd bitmap marks ${orphans} pfns dumped that the 1st bitmap says are not memory; they read as not-in-dump`,
        field: 'bitmap',
        value: orphans,
      });
    }
    this.firstDesc = this.split ? this.rank(this.split.startPfn) : 0;
    const dumped = (this.split ? this.rank(Math.min(this.split.endPfn, this.maxMapnr)) : this.dumpedBefore[this.dumpedBefore.length - 1]!) - this.firstDesc;
    this.pagesLost = this.lostAtEnd(dumped);
    if (this.pagesLost > 0) {
      const descEnd = this.descOffset + dumped * PAGE_DESC_SIZE;
      const where = descEnd > source.size ? `${dumped} page descriptors need ${descEnd} bytes` : `page data runs past the end`;
      this.warnings.push({
        code: 'dump-truncated',
        message: `truncated dump: ${where}, the file has ${source.size}; ${this.pagesLost} of ${dumped} dumped pages are lost and read as not-in-dump`,
        pagesLost: this.pagesLost,
      });
    }

    const subEnd = this.bitmap1Offset;
    const blob = (what: string, field: string, offset: bigint, size: bigint): Uint8Array | undefined => {
      if (offset < BigInt(block) || offset + size > BigInt(subEnd)) {
        const inFile = offset >= 0n && offset + size <= BigInt(source.size);
        inconsistent(field, offset.toString(), `${what} of ${size} bytes there lies outside the sub header (blocks 1..${h.subHdrSize})${inFile ? '' : ' and outside the file'}; not read`);
        return undefined;
      }
      return source.read(Number(offset), Number(size));
    };
    if (sub && h.headerVersion >= 4 && sub.sizeNote > 0n) {
      const bytes = blob('the ELF notes', 'offset_note', sub.offsetNote, sub.sizeNote);
      if (bytes) {
        const { notes, problem } = parseNotes(bytes, true);
        this.notes.push(...notes);
        if (problem) this.warnings.push({ code: 'note-corrupt', message: `damaged note: ${problem}` });
      }
    }
    let text: string | undefined;
    if (sub && h.headerVersion >= 3 && sub.sizeVmcoreinfo > 0n) {
      const bytes = blob('VMCOREINFO', 'offset_vmcoreinfo', sub.offsetVmcoreinfo, sub.sizeVmcoreinfo);
      if (bytes) text = Buffer.from(bytes).toString('latin1').replace(/\0+$/, '');
    }
    text ??= vmcoreinfoText(this.notes);
    this.vmcoreinfo = text === undefined ? undefined : new Vmcoreinfo(text);
    this.warnings.push(...vmcoreinfoProblems(this.vmcoreinfo, this.blockSize));
    const kernelPage = this.vmcoreinfo?.pageSize;
    this.pageSize = kernelPage !== undefined && kernelPage < block && block % kernelPage === 0 ? kernelPage : block;

    const prstatus = this.notes.find((n) => n.name === 'CORE' && n.type === NT_PRSTATUS);
    const arch =
      archFromMachine(h.machine) ??
      (prstatus?.desc.length === PRSTATUS_SIZE.arm64 ? 'arm64' : prstatus?.desc.length === PRSTATUS_SIZE.x86_64 ? 'x86_64' : undefined);
    if (!arch) throw new DumpError('unsupported', `unsupported format: kdump of machine "${h.machine}" (x86_64 and arm64 are read)`);
    this.arch = arch;
    // QEMU's kdump writer fills in only utsname.machine (aarch64: "Unknown"); makedumpfile copies
    // the whole utsname from memory. QEMU writes "QEMU" notes for x86 only.
    const qemuArm64 = arch === 'arm64' && h.sysname === '' && h.release === '' && !this.notes.some((n) => n.name === 'QEMU');
    this.cpus = cpuStates(this.notes, arch, qemuArm64);
    // The source record counts CPU states from the notes; the kernel (system record) counts its own.
    // When the two can disagree, say so here rather than let one command say 0 and another 2.
    if (h.nrCpus !== this.cpus.length && (this.cpus.length > 0 || h.nrCpus > 0)) {
      const why = this.cpus.length ? `the notes hold ${this.cpus.length} CPU states (NT_PRSTATUS); those are used` : 'but no CPU state (NT_PRSTATUS note) could be read: no cpu records';
      inconsistent('nr_cpus', h.nrCpus, why);
    }
    this.producer = (h.sysname === '' && this.notes.some((n) => n.name === 'QEMU')) || qemuArm64 ? 'qemu' : 'makedumpfile';
  }

  memoryRanges(): PhysRange[] {
    const ranges: PhysRange[] = [];
    const size = BigInt(this.blockSize);
    let runStart = -1;
    this.forEachBitmapByte(this.bitmap1Offset, (byte, base) => {
      for (let bit = 0; bit < 8; bit++) {
        const pfn = base + bit;
        const set = pfn < this.maxMapnr && (byte >> bit) & 1;
        if (set && runStart < 0) runStart = pfn;
        if (!set && runStart >= 0) {
          ranges.push({ start: BigInt(runStart) * size, end: BigInt(pfn) * size });
          runStart = -1;
        }
      }
    });
    if (runStart >= 0) ranges.push({ start: BigInt(runStart) * size, end: BigInt(this.maxMapnr) * size });
    return ranges;
  }

  pageCounts(): { present: number; excluded: number } {
    let inMemory = 0;
    this.forEachBitmapByte(this.bitmap1Offset, (byte) => (inMemory += popcount8(byte)));
    const dumped = this.dumpedBefore[this.dumpedBefore.length - 1]!;
    // Present counts what can be read: pages lost to a cut-short file are not.
    const present = (this.split ? this.rank(Math.min(this.split.endPfn, this.maxMapnr)) - this.firstDesc : dumped) - this.pagesLost;
    // Excluded counts the dump level's choice; a split file's other pfns are elsewhere, not excluded.
    // Counted in the kernel's pages: a QEMU arm64 block of 64 KiB is 16 pages of a 4K-page guest.
    const perBlock = this.blockSize / this.pageSize;
    return { present: present * perBlock, excluded: Math.max(0, inMemory - dumped) * perBlock };
  }

  readPhysical(paddr: bigint, length: number, options: ReadOptions = {}): PhysChunk[] {
    return readByPages(this.blockSize, paddr, length, (pfn) => {
      const page = this.page(pfn);
      if (options.zeroExcluded && !(page instanceof Uint8Array) && page.code === 'page-excluded') return new Uint8Array(this.blockSize);
      return page;
    });
  }

  /** The bytes of one page frame, or why there are none. */
  page(pfn: number): Uint8Array | PageProblem {
    const cached = this.pages.get(pfn);
    if (cached) return cached;
    const result = this.loadPage(pfn);
    if (result instanceof Uint8Array) this.pages.set(pfn, result); // problems are cheap to find again
    return result;
  }

  private loadPage(pfn: number): Uint8Array | PageProblem {
    const raw = this.storedPage(pfn);
    if (!('data' in raw)) return raw;
    if (!raw.codec) return raw.data;
    try {
      return decompress(raw.codec, raw.data, this.blockSize);
    } catch (err) {
      return { code: 'page-corrupt', message: `page ${pageAddress(pfn, this.blockSize)}: ${raw.codec} data does not decode: ${(err as Error).message}` };
    }
  }

  /** A page as the file stores it (compressed or raw), before decoding: what the benchmark feeds the bare codec. */
  storedPage(pfn: number): { codec: Codec | undefined; data: Uint8Array } | PageProblem {
    if (pfn >= this.maxMapnr || !this.bit(this.bitmap1Offset, pfn)) return NOT_MEMORY;
    if (!this.bit(this.bitmap2Offset, pfn)) return EXCLUDED;
    if (this.split && (pfn < this.split.startPfn || pfn >= this.split.endPfn)) {
      const range = `pfns 0x${this.split.startPfn.toString(16)}-0x${this.split.endPfn.toString(16)}`;
      return { code: 'not-in-dump', message: `in another file of this split dump (this one holds ${range})` };
    }
    const at = pageAddress(pfn, this.blockSize);
    const index = this.rank(pfn) - this.firstDesc;
    const desc = this.source.read(this.descOffset + index * PAGE_DESC_SIZE, PAGE_DESC_SIZE);
    if (desc.length < PAGE_DESC_SIZE) return { code: 'not-in-dump', message: `page ${at}: its descriptor lies past the end of the truncated file` };
    const view = new DataView(desc.buffer, desc.byteOffset, PAGE_DESC_SIZE);
    const offset = view.getBigInt64(0, true);
    const size = view.getUint32(8, true);
    const flags = view.getUint32(12, true);
    // makedumpfile leaves descriptors zeroed for pages it never wrote (an incomplete dump).
    if (offset === 0n && size === 0) return { code: 'page-incomplete', message: `page ${at} was never written (incomplete dump)` };
    if (this.pagesLost > 0 && offset > 0n && offset + BigInt(size) > BigInt(this.source.size) && size <= this.blockSize * 2) {
      return { code: 'not-in-dump', message: `page ${at} lies past the end of the truncated file` };
    }
    if (offset < 0n || offset + BigInt(size) > BigInt(this.source.size) || size > this.blockSize * 2 || size === 0) {
      return { code: 'page-corrupt', message: `page ${at}: descriptor points outside the file (offset ${offset}, size ${size})` };
    }
    const data = this.source.read(Number(offset), size);
    const codec = CODEC_FLAGS.find(([bit]) => flags & bit)?.[1];
    if (!codec && size !== this.blockSize) return { code: 'page-corrupt', message: `page ${at}: stored raw but ${size} bytes long` };
    return { codec, data };
  }

  /** Pfns set in the 2nd bitmap but clear in the 1st: a dumped page of memory the machine did not have. */
  private dumpedNotInMemory(): number {
    const usedBytes = Math.ceil(this.maxMapnr / 8);
    const step = 1 << 20;
    let count = 0;
    for (let off = 0; off < usedBytes; off += step) {
      const n = Math.min(step, usedBytes - off);
      const a = this.source.read(this.bitmap1Offset + off, n);
      const b = this.source.read(this.bitmap2Offset + off, n);
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        let byte = b[i]! & ~a[i]!;
        const pfn = (off + i) * 8;
        if (pfn + 8 > this.maxMapnr) byte &= (1 << (this.maxMapnr - pfn)) - 1;
        if (byte) count += popcount8(byte);
      }
    }
    return count;
  }

  /**
   * Dumped pages at the end whose descriptor or data is past the end of the file. makedumpfile
   * writes page data in pfn order after the descriptors, so a file cut short loses a tail of
   * pages: descriptors are scanned from the last back to the first whose data is in the file.
   * The shared zero page (written first) and never-written descriptors (0, 0) are stepped over;
   * a descriptor whose offset could not belong to that tail is damage, found when its page is read.
   */
  private lostAtEnd(dumped: number): number {
    const size = this.source.size;
    const dataStart = BigInt(this.descOffset + dumped * PAGE_DESC_SIZE);
    const descEnd = this.descOffset + dumped * PAGE_DESC_SIZE;
    let lost = descEnd > size ? Math.ceil((descEnd - Math.max(size, this.descOffset)) / PAGE_DESC_SIZE) : 0;
    let index = dumped - lost;
    let previous = BigInt(Number.MAX_SAFE_INTEGER);
    const batch = 2048;
    while (index > 0) {
      const from = Math.max(0, index - batch);
      const bytes = this.source.read(this.descOffset + from * PAGE_DESC_SIZE, (index - from) * PAGE_DESC_SIZE);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = index - from - 1; i >= 0; i--) {
        if ((i + 1) * PAGE_DESC_SIZE > bytes.length) {
          lost++;
          continue;
        }
        const offset = view.getBigInt64(i * PAGE_DESC_SIZE, true);
        const len = view.getUint32(i * PAGE_DESC_SIZE + 8, true);
        if ((offset === 0n && len === 0) || offset === dataStart) continue;
        // Scanning back, a cut-off tail's offsets fall; one that does not is damage, not the cut.
        const plausible = offset >= dataStart && offset <= previous;
        if (offset + BigInt(len) > BigInt(size) && plausible) {
          lost++;
          previous = offset;
        } else return lost;
      }
      index = from;
    }
    return lost;
  }

  private bitmapChunk(base: number, chunk: number): Uint8Array {
    const key = base === this.bitmap1Offset ? chunk : -1 - chunk;
    // Reads walk pfns in order: the same two chunks answer almost every lookup.
    if (key === this.lastChunk1.key) return this.lastChunk1.bytes;
    if (key === this.lastChunk2.key) return this.lastChunk2.bytes;
    let bytes = this.chunks.get(key);
    if (!bytes) {
      const start = chunk * RANK_CHUNK;
      bytes = this.source.read(base + start, Math.min(RANK_CHUNK, this.bitmapBytes - start));
      this.chunks.set(key, bytes);
    }
    if (key >= 0) this.lastChunk1 = { key, bytes };
    else this.lastChunk2 = { key, bytes };
    return bytes;
  }

  private bit(base: number, pfn: number): boolean {
    const byteIndex = pfn >> 3;
    const chunk = this.bitmapChunk(base, Math.floor(byteIndex / RANK_CHUNK));
    const byte = chunk[byteIndex % RANK_CHUNK];
    return byte !== undefined && ((byte >> (pfn & 7)) & 1) === 1;
  }

  /** Index of `pfn` among dumped pfns = its page descriptor's index. */
  private rank(pfn: number): number {
    if (pfn >= this.maxMapnr) return this.dumpedBefore[this.dumpedBefore.length - 1]!;
    const byteIndex = pfn >> 3;
    const chunkIndex = Math.floor(byteIndex / RANK_CHUNK);
    const chunk = this.bitmapChunk(this.bitmap2Offset, chunkIndex);
    let count = this.dumpedBefore[Math.floor(byteIndex / RANK_STEP)]!;
    const inChunk = byteIndex % RANK_CHUNK;
    for (let i = inChunk - (byteIndex % RANK_STEP); i < inChunk; i++) count += popcount8(chunk[i]!);
    count += popcount8(chunk[inChunk]! & ((1 << (pfn & 7)) - 1));
    return count;
  }

  /** One streaming pass over the 2nd bitmap: per-chunk prefix counts, so rank() reads one chunk. */
  private countDumped(): Uint32Array {
    const usedBytes = Math.ceil(this.maxMapnr / 8);
    const steps = Math.ceil(usedBytes / RANK_STEP);
    const before = new Uint32Array(steps + 1);
    let total = 0;
    this.forEachBitmapByte(this.bitmap2Offset, (byte, base) => {
      if (base % (RANK_STEP * 8) === 0) before[base / (RANK_STEP * 8)] = total;
      total += popcount8(byte);
    });
    before[steps] = total;
    return before;
  }

  /** Visits the bitmap bytes that cover pfns below max_mapnr, reading 1 MiB at a time; bits past max_mapnr are masked. */
  private forEachBitmapByte(base: number, visit: (byte: number, firstPfn: number) => void): void {
    const usedBytes = Math.ceil(this.maxMapnr / 8);
    const step = 1 << 20;
    for (let off = 0; off < usedBytes; off += step) {
      const bytes = this.source.read(base + off, Math.min(step, usedBytes - off));
      if (bytes.length === 0) throw new DumpError('damaged', `truncated dump: bitmap at offset ${base + off} is past the end of the file`);
      for (let i = 0; i < bytes.length; i++) {
        const pfn = (off + i) * 8;
        let byte = bytes[i]!;
        if (pfn + 8 > this.maxMapnr) byte &= (1 << (this.maxMapnr - pfn)) - 1;
        visit(byte, pfn);
      }
      if (bytes.length < Math.min(step, usedBytes - off)) {
        throw new DumpError('damaged', `truncated dump: bitmap at offset ${base + off} is cut short`);
      }
    }
  }

  close(): void {
    this.source.close();
  }
}

function pageAddress(pfn: number, pageSize: number): string {
  return `0x${(BigInt(pfn) * BigInt(pageSize)).toString(16)}`;
}

function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}
