/**
 * The record kinds of the vmpipe stream. Names and types of the fields listed
 * in shared/design/RECORDS.md are a contract: add fields, never rename them.
 * docs/records.md is the full reference and must agree with this file.
 */

/** A 64-bit value or address as a lowercase `0x` hex string. */
export type Hex = string;

export type DumpFormat = 'elf' | 'kdump-compressed' | 'flattened';
export type Arch = 'x86_64' | 'arm64';
export type SymbolSource = 'kallsyms' | 'system-map' | 'vmlinux' | 'none';
export type TypeSource = 'btf-dump' | 'btf-vmlinux' | 'btf-file' | 'dwarf' | 'none';

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

export interface MemoryRange {
  start: Hex;
  end: Hex; // exclusive
  pages: number;
}

export interface SourceRecord {
  kind: 'source';
  dump: string;
  format: DumpFormat;
  producer: 'kdump' | 'makedumpfile' | 'qemu' | 'unknown';
  arch: Arch;
  endian: 'little' | 'big';
  pageSize: number;
  release: string | null;
  utsname?: Utsname;
  crashTime?: string; // ISO 8601
  cpus: number;
  dumpLevel?: number;
  compression?: string[]; // codecs seen in the header status, e.g. ["zlib"]
  headerVersion?: number;
  memoryRanges: MemoryRange[];
  pagesPresent: number;
  pagesExcluded: number;
  symbols: SymbolSource;
  types: TypeSource;
}

export interface VmcoreinfoRecord {
  kind: 'vmcoreinfo';
  dump: string;
  /** every KEY=VALUE line, key and value exactly as written */
  entries: Record<string, string>;
  /** the macro families typed: symbols as 0x-hex, offsets/sizes/lengths/numbers as numbers */
  symbols: Record<string, string>;
  offsets: Record<string, number | string>;
  sizes: Record<string, number | string>;
  lengths: Record<string, number | string>;
  numbers: Record<string, number | string>;
  raw: string;
}

export interface CpuRecord {
  kind: 'cpu';
  dump: string;
  cpu: number;
  /** The task's PID from NT_PRSTATUS; null where the producer stores something else there (QEMU: CPU number + 1). */
  pid: number | null;
  /** What the note's pr_pid field held, and what it means for this producer. */
  prPid: number;
  prPidMeaning: 'pid' | 'cpu-plus-one';
  regs: Record<string, Hex>;
  /** QEMU's QEMUCPUState note, when present: control registers, segment bases, descriptor tables. */
  qemu?: Record<string, Hex>;
}

export interface MemRecord {
  kind: 'mem';
  dump: string;
  space: 'virtual' | 'physical';
  addr: Hex;
  width: 1 | 2 | 4 | 8;
  words: Hex[];
}

export interface ErrorRecord {
  kind: 'error';
  code: string;
  message: string;
  dump?: string;
  addr?: Hex;
  [locator: string]: unknown;
}

export type VmRecord = SourceRecord | VmcoreinfoRecord | CpuRecord | MemRecord | ErrorRecord;

/** Any record met on a stream: known kinds are typed, others pass through untouched. */
export interface AnyRecord {
  kind: string;
  [field: string]: unknown;
}
