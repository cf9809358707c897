import { appendFileSync } from 'node:fs';
import type { Codec } from '@vmpipe/codecs';
import type { DumpProblem, PageProblem } from './errors.js';
import type { CpuState, ElfNote } from './notes.js';
import type { Vmcoreinfo } from './vmcoreinfo.js';

export type Arch = 'x86_64' | 'arm64';
export type DumpFormat = 'elf' | 'kdump-compressed' | 'flattened';
export type Producer = 'kdump' | 'makedumpfile' | 'qemu' | 'unknown';

/** struct new_utsname (include/uapi/linux/utsname.h): six char[65], in this order. */
export const UTSNAME_FIELDS = ['sysname', 'nodename', 'release', 'version', 'machine', 'domainname'] as const;
export type Utsname = Record<(typeof UTSNAME_FIELDS)[number], string>;

/** A run of physical memory the machine had: [start, end). */
export interface PhysRange {
  start: bigint;
  end: bigint;
}

/** One piece of a physical read: bytes, or why there are none for this span. */
export type PhysChunk =
  | { paddr: bigint; bytes: Uint8Array }
  | { paddr: bigint; length: number; problem: PageProblem };

export interface ReadOptions {
  /** Give zeros for excluded pages instead of a problem, like crash's --zero_excluded. */
  zeroExcluded?: boolean;
}

/** What every dump format offers once opened. Physical addresses only: translation lives in addrxlat. */
export interface Dump {
  readonly path: string;
  readonly format: DumpFormat;
  readonly producer: Producer;
  readonly arch: Arch;
  readonly endian: 'little' | 'big';
  readonly pageSize: number;
  readonly notes: ElfNote[];
  readonly cpus: CpuState[];
  readonly vmcoreinfo: Vmcoreinfo | undefined;
  readonly utsname: Utsname | undefined;
  readonly crashTime: Date | undefined;
  readonly headerVersion: number | undefined;
  readonly dumpLevel: number | undefined;
  readonly compression: Codec[];
  /**
   * Problems met while opening that do not stop reading: the file cut short, a header field
   * that contradicts the file or another field, a damaged note, a VMCOREINFO value that cannot
   * be true. Each names its field and value; what it makes untrustworthy is not used.
   */
  readonly warnings: DumpProblem[];
  memoryRanges(): PhysRange[];
  pageCounts(): { present: number; excluded: number };
  readPhysical(paddr: bigint, length: number, options?: ReadOptions): PhysChunk[];
  close(): void;
}

/** Splits [paddr, paddr+length) at page boundaries and asks `page` for each piece; merges neighbours. */
export function readByPages(
  pageSize: number,
  paddr: bigint,
  length: number,
  page: (pfn: number) => Uint8Array | PageProblem,
): PhysChunk[] {
  const out: PhysChunk[] = [];
  // Neighbouring readable pages are joined once at the end of their run, not page by page.
  let run: { paddr: bigint; parts: Uint8Array[] } | null = null;
  const endRun = () => {
    if (run) out.push({ paddr: run.paddr, bytes: run.parts.length === 1 ? run.parts[0]! : Buffer.concat(run.parts) });
    run = null;
  };
  let addr = paddr;
  let left = length;
  const size = BigInt(pageSize);
  while (left > 0) {
    const pfn = Number(addr / size);
    const inPage = Number(addr % size);
    const take = Math.min(left, pageSize - inPage);
    const got = page(pfn);
    if (recorded) recordPage(pfn);
    if (got instanceof Uint8Array) {
      run ??= { paddr: addr, parts: [] };
      run.parts.push(got.subarray(inPage, inPage + take));
    } else {
      endRun();
      const last = out[out.length - 1];
      if (last && 'problem' in last && last.problem === got && last.paddr + BigInt(last.length) === addr) last.length += take;
      else out.push({ paddr: addr, length: take, problem: got });
    }
    addr += BigInt(take);
    left -= take;
  }
  endRun();
  return out;
}

/**
 * Opt-in recording of the page frames read (VMPIPE_RECORD_PAGES=FILE): each pfn is appended
 * to FILE once per process, as a decimal line. The fixture recipe (tools/recipes/scenarios)
 * runs commands this way to learn which pages a cut dump must keep. Off: one null check per page.
 */
const recordFile = process.env['VMPIPE_RECORD_PAGES'] || undefined;
const recorded: Set<number> | null = recordFile ? new Set() : null;
function recordPage(pfn: number): void {
  if (recorded!.has(pfn)) return;
  recorded!.add(pfn);
  appendFileSync(recordFile!, `${pfn}\n`);
}

export function archFromMachine(machine: string | undefined): Arch | undefined {
  if (machine === 'x86_64') return 'x86_64';
  if (machine === 'aarch64' || machine === 'arm64') return 'arm64';
  return undefined;
}

/** VMCOREINFO values its checks refused, and a PAGESIZE that contradicts the format's page size. */
export function vmcoreinfoProblems(info: Vmcoreinfo | undefined, formatPageSize?: number): DumpProblem[] {
  if (!info) return [];
  const out: DumpProblem[] = info.invalid.map((i) => ({
    code: 'vmcoreinfo-invalid',
    message: `VMCOREINFO ${i.key}=${clipValue(i.value)}: ${i.reason}; not used`,
    field: i.key,
    value: clipValue(i.value),
  }));
  if (info.cutShort) {
    const { line, text } = info.cutShort;
    const eq = text.indexOf('=');
    out.push({
      code: 'vmcoreinfo-truncated',
      message: `VMCOREINFO is cut short: it ends inside line ${line} (${JSON.stringify(clipValue(text))}), which is not used; keys after it are missing`,
      line,
      ...(eq > 0 ? { field: text.slice(0, eq), value: clipValue(text.slice(eq + 1)) } : {}),
    });
  }
  const page = info.pageSize;
  // A block_size that is a multiple of PAGESIZE is QEMU's arm64 kdump (64 KiB blocks whatever the
  // guest's granule): consistent, the kernel's pages are read out of the blocks.
  if (formatPageSize !== undefined && page !== undefined && page !== formatPageSize && (page > formatPageSize || formatPageSize % page !== 0)) {
    out.push({ code: 'dump-inconsistent', message: `VMCOREINFO PAGESIZE=${page} but the kdump header's block_size is ${formatPageSize}; block_size is used`, field: 'PAGESIZE', value: page });
  }
  return out;
}

function clipValue(v: string): string {
  return v.length > 40 ? v.slice(0, 37) + '...' : v;
}
