/**
 * ELF64 vmcores: kdump's /proc/vmcore as copied, `makedumpfile -E`, QEMU's
 * `dump-guest-memory` ELF. Spec: System V gABI (ELF header, program headers,
 * PT_NOTE, PT_LOAD with p_paddr as the physical address).
 * QEMU 7.2 writes its program headers at e_phoff 192 with e_ehsize 8, so the
 * header's e_phoff is always followed, never assumed to be 64.
 */
import { Parser } from 'binary-parser';
import { DumpError, type DumpProblem, type PageProblem } from './errors.js';
import type { Arch, Dump, PhysChunk, PhysRange, Producer, ReadOptions } from './dump.js';
import { readByPages, vmcoreinfoProblems } from './dump.js';
import { cpuStates, parseNotes, vmcoreinfoText, type CpuState, type ElfNote } from './notes.js';
import { readExact, type ByteSource } from './source.js';
import { Vmcoreinfo } from './vmcoreinfo.js';

// Shared problem objects: a long read over a hole makes one per page; the error record has the address.
const NOT_IN_ANY_LOAD: PageProblem = { code: 'not-in-dump', message: 'in no PT_LOAD of the dump' };
const NOT_IN_FILE: PageProblem = {
  code: 'page-excluded',
  message: 'in memory but not in the file (excluded, or a zero page: an ELF dump does not say which)',
};

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const ET_CORE = 4;
const PT_LOAD = 1;
const PT_NOTE = 4;

const elf64Header = new Parser()
  .endianness('little')
  .buffer('ident', { length: 16 })
  .uint16('type')
  .uint16('machine')
  .uint32('version')
  .uint64('entry')
  .uint64('phoff')
  .uint64('shoff')
  .uint32('flags')
  .uint16('ehsize')
  .uint16('phentsize')
  .uint16('phnum')
  .uint16('shentsize')
  .uint16('shnum')
  .uint16('shstrndx');

const elf64Phdr = new Parser()
  .endianness('little')
  .uint32('type')
  .uint32('flags')
  .uint64('offset')
  .uint64('vaddr')
  .uint64('paddr')
  .uint64('filesz')
  .uint64('memsz')
  .uint64('align');

interface Load {
  paddr: bigint;
  vaddr: bigint;
  offset: number;
  filesz: bigint;
  memsz: bigint;
}

export function isElf(magic: Uint8Array): boolean {
  return magic[0] === 0x7f && magic[1] === 0x45 && magic[2] === 0x4c && magic[3] === 0x46;
}

export class ElfDump implements Dump {
  readonly format;
  readonly producer: Producer;
  readonly arch: Arch;
  readonly endian = 'little' as const;
  readonly pageSize: number;
  readonly notes: ElfNote[] = [];
  readonly cpus: CpuState[];
  readonly vmcoreinfo: Vmcoreinfo | undefined;
  readonly utsname = undefined;
  readonly crashTime: Date | undefined;
  readonly headerVersion = undefined;
  readonly dumpLevel = undefined;
  readonly compression = [];
  readonly warnings: DumpProblem[] = [];
  /** PT_LOADs sorted by physical address, for binary search. */
  private readonly loads: Load[] = [];

  constructor(readonly path: string, private readonly source: ByteSource, format: 'elf' | 'flattened' = 'elf') {
    this.format = format;
    const ident = readExact(source, 0, 16, 'the ELF identification');
    if (ident[4] !== 2) throw new DumpError('unsupported', `unsupported format: ELF32 vmcore (only ELF64 is read)`);
    if (ident[5] !== 1) throw new DumpError('unsupported', `unsupported format: big-endian ELF vmcore`);
    const h = elf64Header.parse(Buffer.from(readExact(source, 0, 64, 'the ELF header')));
    if (h.type !== ET_CORE) throw new DumpError('not-a-dump', `not a dump: ELF file of type ${h.type}, not a core file (ET_CORE)`);
    if (h.machine === EM_X86_64) this.arch = 'x86_64';
    else if (h.machine === EM_AARCH64) this.arch = 'arm64';
    else throw new DumpError('unsupported', `unsupported format: ELF core for machine ${h.machine} (x86_64 and arm64 are read)`);
    if (h.phentsize !== 56) throw new DumpError('damaged', `damaged ELF header: e_phentsize is ${h.phentsize}, not 56`);
    const phoff = Number(h.phoff);
    const phdrs = readExact(source, phoff, h.phnum * 56, `${h.phnum} program headers`);

    const noteBlobs: Uint8Array[] = [];
    for (let i = 0; i < h.phnum; i++) {
      const p = elf64Phdr.parse(Buffer.from(phdrs.subarray(i * 56, i * 56 + 56)));
      if (p.type === PT_NOTE) {
        const size = Number(p.filesz);
        const bytes = source.read(Number(p.offset), size);
        if (bytes.length < size) this.warnings.push({ code: 'dump-truncated', message: `truncated dump: PT_NOTE at offset ${p.offset} is cut short (${bytes.length} of ${size} bytes)` });
        noteBlobs.push(bytes);
      } else if (p.type === PT_LOAD) {
        const at = `PT_LOAD ${i} (p_paddr 0x${p.paddr.toString(16)})`;
        let filesz = p.filesz;
        let memsz = p.memsz;
        if (filesz > memsz) {
          // gABI: p_filesz <= p_memsz. The file's bytes are memory the producer wrote: believe them.
          this.warnings.push({ code: 'dump-inconsistent', message: `${at}: p_filesz ${filesz} is larger than p_memsz ${memsz}; p_memsz is taken as ${filesz}`, field: 'p_filesz', value: filesz.toString() });
          memsz = filesz;
        }
        if (p.offset > BigInt(Number.MAX_SAFE_INTEGER) || p.paddr + memsz > 1n << 64n) {
          this.warnings.push({ code: 'dump-inconsistent', message: `${at}: p_offset ${p.offset}, p_memsz ${memsz} cannot be a segment of memory; not read`, field: 'p_offset', value: p.offset.toString() });
          continue;
        }
        if (filesz > 0n && p.offset + filesz > 1n << 53n) filesz = (1n << 53n) - p.offset;
        this.loads.push({ paddr: p.paddr, vaddr: p.vaddr, offset: Number(p.offset), filesz, memsz });
      }
    }
    this.loads.sort((a, b) => (a.paddr < b.paddr ? -1 : a.paddr > b.paddr ? 1 : 0));
    if (this.loads.length === 0) throw new DumpError('damaged', 'damaged ELF vmcore: no PT_LOAD segments');
    for (let i = 1; i < this.loads.length; i++) {
      const a = this.loads[i - 1]!;
      const b = this.loads[i]!;
      if (b.paddr < a.paddr + a.memsz) {
        this.warnings.push({ code: 'dump-inconsistent', message: `PT_LOADs at p_paddr 0x${a.paddr.toString(16)} and 0x${b.paddr.toString(16)} overlap; the first is read where they do`, field: 'p_paddr', value: `0x${b.paddr.toString(16)}` });
      }
    }

    for (const blob of noteBlobs) {
      const { notes, problem } = parseNotes(blob, true);
      this.notes.push(...notes);
      if (problem) this.warnings.push({ code: 'note-corrupt', message: `damaged note: ${problem}` });
    }
    const text = vmcoreinfoText(this.notes);
    this.vmcoreinfo = text === undefined ? undefined : new Vmcoreinfo(text);
    this.warnings.push(...vmcoreinfoProblems(this.vmcoreinfo));
    this.pageSize = this.vmcoreinfo?.pageSize ?? 4096;
    const lost = this.pageCounts().lost;
    if (lost > 0) {
      const last = this.loads.reduce((m, l) => Math.max(m, l.offset + Number(l.filesz)), 0);
      this.warnings.push({
        code: 'dump-truncated',
        message: `truncated dump: PT_LOAD data ends at offset ${last}, the file has ${source.size} bytes; ${lost} pages are lost and read as not-in-dump`,
        pagesLost: lost,
      });
    }
    // QEMU's notes survive makedumpfile -E, so they say where the CPU state came from, not who wrote
    // the file; QEMU (7.2 at least) is also the one producer that puts its program headers past 64.
    // QEMU writes "QEMU" notes for x86 only: its arm64 ELF is known by that header alone.
    const qemuNotes = this.notes.some((n) => n.name === 'QEMU');
    const qemuArm64 = this.arch === 'arm64' && !qemuNotes && phoff !== 64 && h.ehsize !== 64;
    this.producer = qemuNotes ? (phoff !== 64 ? 'qemu' : 'makedumpfile') : qemuArm64 ? 'qemu' : 'kdump';
    this.cpus = cpuStates(this.notes, this.arch, qemuArm64);
    const crashTime = this.vmcoreinfo?.crashTime;
    this.crashTime = crashTime === undefined ? undefined : new Date(crashTime * 1000);
  }

  memoryRanges(): PhysRange[] {
    return this.loads.map((l) => ({ start: l.paddr, end: l.paddr + l.memsz }));
  }

  /** Present: pages whose bytes the file holds; lost: pages p_filesz promises past the end of the file. */
  pageCounts(): { present: number; excluded: number; lost: number } {
    const size = BigInt(this.pageSize);
    const fileSize = BigInt(this.source.size);
    let present = 0n;
    let excluded = 0n;
    let lost = 0n;
    for (const l of this.loads) {
      const all = (l.filesz + size - 1n) / size;
      const inFile = BigInt(l.offset) >= fileSize ? 0n : fileSize - BigInt(l.offset);
      const readable = inFile >= l.filesz ? all : inFile / size;
      present += readable;
      lost += all - readable;
      excluded += (l.memsz - l.filesz) / size;
    }
    return { present: Number(present), excluded: Number(excluded), lost: Number(lost) };
  }

  readPhysical(paddr: bigint, length: number, options: ReadOptions = {}): PhysChunk[] {
    const size = BigInt(this.pageSize);
    return readByPages(this.pageSize, paddr, length, (pfn) => {
      const start = BigInt(pfn) * size;
      const load = this.findLoad(start);
      if (!load) return NOT_IN_ANY_LOAD;
      const rel = start - load.paddr;
      // [p_filesz, p_memsz) is memory the producer left out: makedumpfile -E drops excluded
      // pages and zero-filled pages alike there, so the file cannot say which it was. crash reads
      // zeros; we say it is missing, as for an excluded page of a kdump file, unless asked for zeros.
      if (rel >= load.filesz) {
        if (options.zeroExcluded) return new Uint8Array(this.pageSize);
        return NOT_IN_FILE;
      }
      const want = Number(load.filesz - rel < size ? load.filesz - rel : size);
      const bytes = this.source.read(load.offset + Number(rel), want);
      if (bytes.length < want) return { code: 'not-in-dump', message: `page 0x${start.toString(16)} lies past the end of the truncated file` };
      if (want === this.pageSize) return bytes;
      const page = new Uint8Array(this.pageSize);
      page.set(bytes);
      return page;
    });
  }

  /** The PT_LOAD whose [p_paddr, p_paddr + p_memsz) holds `paddr`. */
  private findLoad(paddr: bigint): Load | undefined {
    let lo = 0;
    let hi = this.loads.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const l = this.loads[mid]!;
      if (paddr < l.paddr) hi = mid - 1;
      else if (paddr >= l.paddr + l.memsz) lo = mid + 1;
      else return l;
    }
    return undefined;
  }

  close(): void {
    this.source.close();
  }
}
