/**
 * Turns what the dump layer knows into stream records. The only place where
 * dump objects meet the record contract (docs/records.md).
 */
import type { Translation, TranslationFailure, VirtChunk } from '@vmpipe/kernel';
import { readUint, type Dump, type PhysChunk } from '@vmpipe/kernel';
import type { Program } from '@vmpipe/kernel';
import { errorRecord, hex, type CpuRecord, type ErrorRecord, type MemRecord, type SourceRecord, type TranslationRecord, type VmcoreinfoRecord } from '@vmpipe/records';

/** The one source record of a dump: what it is, and where the program takes symbols and types from. */
export function sourceRecord(prog: Program): SourceRecord {
  const dump = prog.theDump;
  const facts = prog.source();
  const counts = dump.pageCounts();
  const pageSize = BigInt(dump.pageSize);
  const record: SourceRecord = {
    kind: 'source',
    dump: dump.path,
    format: dump.format,
    producer: dump.producer,
    arch: dump.arch,
    endian: dump.endian,
    pageSize: dump.pageSize,
    release: dump.vmcoreinfo?.osrelease ?? (dump.utsname?.release || null),
    cpus: dump.cpus.length,
    memoryRanges: dump.memoryRanges().map((r) => ({ start: hex(r.start), end: hex(r.end), pages: Number((r.end - r.start + pageSize - 1n) / pageSize) })),
    pagesPresent: counts.present,
    pagesExcluded: counts.excluded,
    symbols: facts.symbols,
    types: facts.types,
  };
  if (dump.utsname) record.utsname = dump.utsname;
  if (dump.crashTime) record.crashTime = dump.crashTime.toISOString();
  if (dump.headerVersion !== undefined) record.headerVersion = dump.headerVersion;
  if (dump.dumpLevel !== undefined) record.dumpLevel = dump.dumpLevel;
  if (dump.compression.length) record.compression = [...dump.compression];
  return record;
}

export function vmcoreinfoRecord(dump: Dump): VmcoreinfoRecord | undefined {
  const info = dump.vmcoreinfo;
  if (!info) return undefined;
  const g = info.grouped();
  return { kind: 'vmcoreinfo', dump: dump.path, entries: info.entries, symbols: g.symbols as Record<string, string>, offsets: g.offsets, sizes: g.sizes, lengths: g.lengths, numbers: g.numbers, raw: info.raw };
}

/**
 * The problems the program met opening its dump and deriving its facts (`Program.problems`),
 * each an error record, so the stream says what it could not read and what it took instead.
 * The command base writes them once per dump at the start of every command's stream.
 */
export function programErrors(prog: Program): ErrorRecord[] {
  return prog.problems.map((p) => {
    const where: Record<string, unknown> = { dump: prog.path };
    if (p.field !== undefined) where['field'] = p.field;
    if (p.value !== undefined) where['value'] = p.value;
    if (p.pagesLost !== undefined) where['pagesLost'] = p.pagesLost;
    if (p.line !== undefined) where['line'] = p.line;
    if (p.used !== undefined) where['used'] = p.used;
    if (p.from !== undefined) where['from'] = p.from;
    return errorRecord(p.code, p.message, where);
  });
}

export function cpuRecords(dump: Dump): CpuRecord[] {
  return dump.cpus.map((c) => {
    const record: CpuRecord = {
      kind: 'cpu',
      dump: dump.path,
      cpu: c.cpu,
      pid: c.prPidMeaning === 'pid' ? c.prPid : null,
      prPid: c.prPid,
      prPidMeaning: c.prPidMeaning,
      regs: hexAll(c.regs),
    };
    if (c.qemu) record.qemu = hexAll(c.qemu);
    return record;
  });
}

function hexAll(values: Record<string, bigint>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, hex(v)]));
}

/**
 * Physical chunks as `mem` records of one `rd` line (16 bytes) each, and
 * `error` records for spans that could not be read.
 */
export function* memRecords(dump: Dump, chunks: PhysChunk[], width: 1 | 2 | 4 | 8): Generator<MemRecord | ErrorRecord> {
  for (const chunk of chunks) {
    if ('problem' in chunk) {
      yield errorRecord(chunk.problem.code, chunk.problem.message, { dump: dump.path, addr: hex(chunk.paddr), length: chunk.length, space: 'physical' });
      continue;
    }
    yield* wordRecords(dump, 'physical', chunk.paddr, chunk.bytes, width);
  }
}

/**
 * Kernel-virtual chunks (addrxlat's read) as `mem` records with `space:
 * "virtual"`, and `error` records for spans that could not be read:
 * `not-mapped` (with the page-table `level` where the walk stopped),
 * `page-excluded`, `not-in-dump`, ... as the physical layer says.
 */
export function* virtualMemRecords(dump: Dump, chunks: VirtChunk[], width: 1 | 2 | 4 | 8): Generator<MemRecord | ErrorRecord> {
  for (const chunk of chunks) {
    if ('problem' in chunk) {
      const where: Record<string, unknown> = { dump: dump.path, addr: hex(chunk.vaddr), length: chunk.length, space: 'virtual' };
      const level = (chunk.problem as { level?: string }).level;
      if (level) where['level'] = level;
      yield errorRecord(chunk.problem.code, chunk.problem.message, where);
      continue;
    }
    yield* wordRecords(dump, 'virtual', chunk.vaddr, chunk.bytes, width);
  }
}

/** One `translation` record (crash's `vtop`): every page-table level walked, top first. */
export function translationRecord(dump: Dump, t: Translation): TranslationRecord {
  const record: TranslationRecord = {
    kind: 'translation',
    dump: dump.path,
    vaddr: hex(t.vaddr),
    paddr: hex(t.paddr),
    pageSize: t.pageSize,
    levels: t.levels.map((l) => ({ level: l.level, addr: hex(l.addr), entry: hex(l.entry), ...(l.vaddr !== undefined ? { vaddr: hex(l.vaddr) } : {}) })),
  };
  if (t.root !== undefined) record.root = hex(t.root);
  if (dump.arch !== 'x86_64') record.arch = dump.arch;
  return record;
}

/** A translation that failed, as an `error` record: `level` is where the walk stopped, `levels` what it read on the way. */
export function translationErrorRecord(dump: Dump, f: TranslationFailure): ErrorRecord {
  const where: Record<string, unknown> = { dump: dump.path, addr: hex(f.vaddr) };
  if (f.level) where['level'] = f.level;
  if (f.levels.length) where['levels'] = f.levels.map((l) => ({ level: l.level, addr: hex(l.addr), entry: hex(l.entry) }));
  return errorRecord(f.code, f.message, where);
}

function* wordRecords(dump: Dump, space: 'virtual' | 'physical', start: bigint, bytes: Uint8Array, width: 1 | 2 | 4 | 8): Generator<MemRecord> {
  const perRecord = 16;
  const little = dump.endian === 'little';
  for (let off = 0; off < bytes.length; off += perRecord) {
    const words: string[] = [];
    for (let w = off; w + width <= Math.min(off + perRecord, bytes.length); w += width) {
      words.push(hex(readUint(bytes, w, width, little)));
    }
    yield { kind: 'mem', dump: dump.path, space, addr: hex(start + BigInt(off)), width, words };
  }
}

