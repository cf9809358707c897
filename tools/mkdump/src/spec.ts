// Spec: the vmpipe dump-writer input (docs/mkdump.md). Page numbering follows the
// kernel's pfn = paddr / page size; the x86_64 / arm64 register sets follow Linux's
// `struct user_regs_struct` (arch/x86/include/asm/user_64.h) and arm64's
// `struct user_pt_regs` (arch/arm64/include/uapi/asm/ptrace.h).

export type Arch = 'x86_64' | 'arm64';
export type PageCodec = 'zlib' | 'lzo' | 'snappy' | 'zstd' | 'none';
export type DumpFormat = 'elf' | 'kdump' | 'flattened';

export interface Utsname {
  sysname: string;
  nodename: string;
  release: string;
  version: string;
  machine: string;
  domainname: string;
}

export interface CpuSpec {
  prstatusPid: number;
  regs: Record<string, bigint>;
}

export interface RangeSpec {
  paddr: bigint;
  pages: number;
  vaddr?: bigint;
}

export interface DumpSpec {
  /** default x86_64 (both little-endian) */
  arch?: Arch;
  /** default 4096; also the kdump block_size */
  pageSize?: number;
  /** VMCOREINFO note text, written as-is */
  vmcoreinfo?: string;
  /** kdump header utsname */
  utsname?: Partial<Utsname>;
  /** seconds; kdump header timestamp.tv_sec (tv_usec is 0) */
  crashTime?: number;
  /** one NT_PRSTATUS each, in order */
  cpus?: CpuSpec[];
  /** also a "QEMU" note (QEMUCPUState) per CPU; x86_64 only */
  qemuCpuState?: boolean;
  /** physical memory: PT_LOADs / pfns present in the 1st bitmap */
  ranges: RangeSpec[];
  /** page content; default pagePattern. Must return pageSize bytes. */
  content?: (pfn: number, pageSize: number) => Uint8Array;
  /** pfns whose content is all zeros */
  zeroPages?: number[];
  /** pfns the dump level excluded */
  excluded?: number[];
  /** kdump sub header dump_level (default 31, as `makedumpfile -d 31`) */
  dumpLevel?: number;
  format: DumpFormat;
  /** kdump page compression (default zlib); 'none' stores pages raw */
  codec?: PageCodec;
  /** kdump disk_dump_header.header_version, 1..6, default 6 */
  headerVersion?: number;
  /** ELF header quirks, e.g. QEMU 7.2's e_phoff=192 / e_ehsize=8 */
  elf?: { phoff?: number; ehsize?: number };
  /** kdump sub header phys_base (extension; default 0) */
  physBase?: bigint;
}

/** Small deterministic PRNG (xorshift32), seeded per pfn. */
function xorshift(seed: number): () => number {
  let s = (seed ^ 0x9e3779b9) >>> 0 || 0x1234567;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function pfnSeed(pfn: number): number {
  // mix the high half too, so pfns above 2^32 stay distinct
  const lo = pfn >>> 0;
  const hi = Math.floor(pfn / 0x100000000) >>> 0;
  return (Math.imul(lo, 0x85ebca6b) ^ Math.imul(hi + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Deterministic page content, distinct per pfn, compressible by every codec
 * (LZ77-only codecs included) but not trivially: the page is 64-byte lines, each
 * an 8-byte tag (pfn, line number) followed by one of eight per-pfn random lines.
 */
export function pagePattern(pfn: number, pageSize: number): Uint8Array {
  const page = new Uint8Array(pageSize);
  const rnd = xorshift(pfnSeed(pfn));
  const dict: Uint8Array[] = [];
  for (let d = 0; d < 8; d++) {
    const line = new Uint8Array(56);
    for (let i = 0; i < 56; i++) line[i] = rnd() & 0xff;
    dict.push(line);
  }
  for (let off = 0, line = 0; off < pageSize; off += 64, line++) {
    const n = Math.min(64, pageSize - off);
    const tag = new Uint8Array(8);
    const tv = new DataView(tag.buffer);
    tv.setUint32(0, pfn >>> 0, true);
    tv.setUint16(4, Math.floor(pfn / 0x100000000) & 0xffff, true);
    tv.setUint16(6, line & 0xffff, true);
    const full = new Uint8Array(64);
    full.set(tag, 0);
    full.set(dict[rnd() & 7]!, 8);
    page.set(full.subarray(0, n), off);
  }
  return page;
}

/** Deterministic, distinct per pfn, and incompressible: makedumpfile stores such a page raw. */
export function incompressiblePattern(pfn: number, pageSize: number): Uint8Array {
  const page = new Uint8Array(pageSize);
  const rnd = xorshift(pfnSeed(pfn) ^ 0x5bd1e995);
  for (let i = 0; i + 4 <= pageSize; i += 4) {
    const v = rnd();
    page[i] = v & 0xff;
    page[i + 1] = (v >>> 8) & 0xff;
    page[i + 2] = (v >>> 16) & 0xff;
    page[i + 3] = (v >>> 24) & 0xff;
  }
  return page;
}

export function zeroPattern(_pfn: number, pageSize: number): Uint8Array {
  return new Uint8Array(pageSize);
}

/** A contiguous run of present pfns, from one range. */
export interface Run {
  startPfn: number;
  count: number;
  /** virtual address of startPfn, if the range had one */
  vaddr?: bigint;
}

export interface Resolved {
  arch: Arch;
  pageSize: number;
  format: DumpFormat;
  codec: PageCodec;
  headerVersion: number;
  dumpLevel: number;
  physBase: bigint;
  crashTime: number;
  utsname: Utsname;
  vmcoreinfo?: string;
  cpus: CpuSpec[];
  qemuCpuState: boolean;
  /** ranges, sorted by paddr, as runs of pfns */
  ranges: Run[];
  present: Set<number>;
  excluded: Set<number>;
  zeroPages: Set<number>;
  /** one past the highest present pfn (makedumpfile's max_mapnr) */
  maxMapnr: number;
  elfPhoff: number;
  elfEhsize: number;
  pageContent(pfn: number): Uint8Array;
}

const MACHINE: Record<Arch, string> = { x86_64: 'x86_64', arm64: 'aarch64' };

function fail(msg: string): never {
  throw new Error(`mkdump: ${msg}`);
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

export function resolveSpec(spec: DumpSpec): Resolved {
  const arch = spec.arch ?? 'x86_64';
  if (arch !== 'x86_64' && arch !== 'arm64') fail(`unknown arch ${String(arch)}`);
  const pageSize = spec.pageSize ?? 4096;
  if (!isPow2(pageSize) || pageSize < 512 || pageSize > 1 << 20) fail(`pageSize ${pageSize} is not a power of two in 512..1M`);
  const format = spec.format;
  if (format !== 'elf' && format !== 'kdump' && format !== 'flattened') fail(`unknown format ${String(format)}`);
  const codec = spec.codec ?? 'zlib';
  if (!['zlib', 'lzo', 'snappy', 'zstd', 'none'].includes(codec)) fail(`unknown codec ${String(codec)}`);
  const headerVersion = spec.headerVersion ?? 6;
  if (!Number.isInteger(headerVersion) || headerVersion < 1 || headerVersion > 6) fail(`headerVersion ${headerVersion} not in 1..6`);
  const dumpLevel = spec.dumpLevel ?? 31;
  if (!Number.isInteger(dumpLevel) || dumpLevel < 0 || dumpLevel > 0x7fffffff) fail(`dumpLevel ${dumpLevel}`);
  if (spec.qemuCpuState && arch !== 'x86_64') fail('qemuCpuState: QEMU writes QEMUCPUState notes for x86 only');

  if (!Array.isArray(spec.ranges) || spec.ranges.length === 0) fail('ranges: at least one range is needed');
  const ps = BigInt(pageSize);
  const runs: Run[] = spec.ranges.map((r, i) => {
    if (typeof r.paddr !== 'bigint' || r.paddr < 0n || r.paddr % ps !== 0n) fail(`ranges[${i}].paddr must be a page-aligned bigint`);
    if (!Number.isInteger(r.pages) || r.pages < 1) fail(`ranges[${i}].pages must be a positive integer`);
    const startPfn = r.paddr / ps;
    if (startPfn + BigInt(r.pages) > BigInt(Number.MAX_SAFE_INTEGER)) fail(`ranges[${i}] beyond 2^53 pfns`);
    const run: Run = { startPfn: Number(startPfn), count: r.pages };
    if (r.vaddr !== undefined) run.vaddr = BigInt.asUintN(64, r.vaddr);
    return run;
  });
  runs.sort((a, b) => a.startPfn - b.startPfn);
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1]!;
    if (runs[i]!.startPfn < prev.startPfn + prev.count) fail('ranges overlap');
  }
  const present = new Set<number>();
  for (const r of runs) for (let p = r.startPfn; p < r.startPfn + r.count; p++) present.add(p);
  const last = runs[runs.length - 1]!;
  const maxMapnr = last.startPfn + last.count;

  const pfnSet = (name: string, list: number[] | undefined): Set<number> => {
    const s = new Set<number>();
    for (const p of list ?? []) {
      if (!present.has(p)) fail(`${name}: pfn ${p} is not in any range`);
      s.add(p);
    }
    return s;
  };
  const excluded = pfnSet('excluded', spec.excluded);
  const zeroPages = pfnSet('zeroPages', spec.zeroPages);

  const uts: Utsname = {
    sysname: 'Linux',
    nodename: 'localhost',
    release: '6.1.0',
    version: '#1 SMP',
    machine: MACHINE[arch],
    domainname: '(none)',
    ...(spec.utsname ?? {}),
  };
  for (const [k, v] of Object.entries(uts)) {
    if (Buffer.byteLength(v, 'utf8') > 64) fail(`utsname.${k} longer than 64 bytes`);
  }

  const elfPhoff = spec.elf?.phoff ?? 64;
  const elfEhsize = spec.elf?.ehsize ?? 64;
  if (!Number.isInteger(elfPhoff) || elfPhoff < 64) fail('elf.phoff must be an integer >= 64 (the ELF header is 64 bytes)');
  if (!Number.isInteger(elfEhsize) || elfEhsize < 0 || elfEhsize > 0xffff) fail('elf.ehsize must fit a u16');

  const content = spec.content ?? pagePattern;
  const cpus = spec.cpus ?? [];
  cpus.forEach((c, i) => {
    if (!Number.isInteger(c.prstatusPid)) fail(`cpus[${i}].prstatusPid must be an integer`);
  });

  const resolved: Resolved = {
    arch,
    pageSize,
    format,
    codec,
    headerVersion,
    dumpLevel,
    physBase: spec.physBase ?? 0n,
    crashTime: spec.crashTime ?? 0,
    utsname: uts,
    cpus,
    qemuCpuState: !!spec.qemuCpuState,
    ranges: runs,
    present,
    excluded,
    zeroPages,
    maxMapnr,
    elfPhoff,
    elfEhsize,
    pageContent(pfn: number): Uint8Array {
      if (zeroPages.has(pfn)) return new Uint8Array(pageSize);
      const page = content(pfn, pageSize);
      if (!(page instanceof Uint8Array) || page.length !== pageSize) fail(`content(${pfn}) did not return ${pageSize} bytes`);
      return page;
    },
  };
  if (spec.vmcoreinfo !== undefined) resolved.vmcoreinfo = spec.vmcoreinfo;
  return resolved;
}

// ---- JSON spec (CLI) ----------------------------------------------------------

export type PatternName = 'pattern' | 'incompressible' | 'zero';
const PATTERNS: Record<PatternName, (pfn: number, pageSize: number) => Uint8Array> = {
  pattern: pagePattern,
  incompressible: incompressiblePattern,
  zero: zeroPattern,
};

function toBig(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?(0x[0-9a-f]+|\d+)$/i.test(v.trim())) {
    const s = v.trim();
    return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
  }
  return fail(`${where}: expected a "0x..." string or a safe integer, got ${JSON.stringify(v)}`);
}

function pattern(name: unknown, where: string): (pfn: number, pageSize: number) => Uint8Array {
  if (typeof name === 'string' && name in PATTERNS) return PATTERNS[name as PatternName];
  return fail(`${where}: unknown content pattern ${JSON.stringify(name)} (pattern | incompressible | zero)`);
}

/**
 * A DumpSpec from parsed JSON: bigints as "0x..." strings (or safe integers);
 * `content` is a pattern name, or `{ "default": name, "pages": { "<pfn>": name } }`.
 */
export function specFromJson(json: unknown): DumpSpec {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('spec JSON must be an object');
  const j = json as Record<string, unknown>;
  const spec = { ...j } as unknown as DumpSpec & Record<string, unknown>;
  if (!Array.isArray(j.ranges)) fail('ranges must be an array');
  spec.ranges = (j.ranges as Record<string, unknown>[]).map((r, i) => {
    const out: RangeSpec = { paddr: toBig(r.paddr, `ranges[${i}].paddr`), pages: Number(r.pages) };
    if (r.vaddr !== undefined) out.vaddr = toBig(r.vaddr, `ranges[${i}].vaddr`);
    return out;
  });
  if (j.cpus !== undefined) {
    if (!Array.isArray(j.cpus)) fail('cpus must be an array');
    spec.cpus = (j.cpus as Record<string, unknown>[]).map((c, i) => {
      const regs: Record<string, bigint> = {};
      for (const [k, v] of Object.entries((c.regs ?? {}) as Record<string, unknown>)) regs[k] = toBig(v, `cpus[${i}].regs.${k}`);
      return { prstatusPid: Number(c.prstatusPid), regs };
    });
  }
  if (j.physBase !== undefined) spec.physBase = toBig(j.physBase, 'physBase');
  if (j.content !== undefined) {
    const c = j.content;
    if (typeof c === 'string') spec.content = pattern(c, 'content');
    else if (typeof c === 'object' && c !== null) {
      const co = c as { default?: unknown; pages?: Record<string, unknown> };
      const def = pattern(co.default ?? 'pattern', 'content.default');
      const per = new Map<number, (pfn: number, pageSize: number) => Uint8Array>();
      for (const [k, v] of Object.entries(co.pages ?? {})) per.set(Number(k), pattern(v, `content.pages.${k}`));
      spec.content = (pfn, pageSize) => (per.get(pfn) ?? def)(pfn, pageSize);
    } else fail('content must be a pattern name or an object');
  }
  return spec;
}
