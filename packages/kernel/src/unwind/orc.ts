/**
 * ORC unwind tables, read from the dump's memory (no vmlinux needed).
 *
 * Spec: arch/x86/include/asm/orc_types.h, arch/x86/include/asm/orc_lookup.h
 * and arch/x86/kernel/unwind_orc.c of Linux (orc_find, __orc_find,
 * unwind_init, unwind_module_init).
 *
 * - `.orc_unwind_ip` (`__start_orc_unwind_ip`..`__stop_orc_unwind_ip`): s32
 *   entries, each relative to its own address (orc_ip(p) = p + *p), sorted.
 * - `.orc_unwind` (`__start_orc_unwind`): one 6-byte `struct orc_entry` per
 *   ip entry: s16 sp_offset, s16 bp_offset, u16 of bit fields.
 * - `orc_lookup`..`orc_lookup_end`: u32 per LOOKUP_BLOCK_SIZE (256) bytes of
 *   text from `_stext` to `_etext`: the first ORC index for that block; the
 *   search for ip runs in [lookup[i], lookup[i+1] + 1].
 * - init text: a binary search over the whole vmlinux table; modules:
 *   `mod->arch.orc_unwind_ip` / `orc_unwind` / `num_orcs` (sorted at load).
 *
 * The entry's bit fields changed twice on x86_64, and once more upstream:
 * - v1 (4.14..6.2): sp_reg:4 bp_reg:4 type:2 end:1; types CALL 0, REGS 1,
 *   REGS_PARTIAL 2; sp_reg UNDEFINED with `end` ends the stack.
 * - v2 (6.3): sp_reg:4 bp_reg:4 type:2 signal:1 end:1.
 * - v3 (6.4+, with an `.orc_header` hash): sp_reg:4 bp_reg:4 type:3 signal:1;
 *   types UNDEFINED 0, END_OF_STACK 1, CALL 2, REGS 3, REGS_PARTIAL 4.
 * - v4: v3's layout with the registers renumbered (UNDEFINED 0, AX 1, DX 2,
 *   SP 3, BP 4, DI 5, R10 6, R13 7, PREV_SP 8, SP_INDIRECT 9, BP_INDIRECT 10)
 *   where v1-v3 have PREV_SP 1, DX 2, DI 3, BP 4, SP 5, R10 6, R13 7,
 *   BP_INDIRECT 8, SP_INDIRECT 9.
 * The `.orc_header` is a hash of the header text, so it tells "v3 or later"
 * but no hash table can be complete (distributions backport); the version is
 * decided from the table itself: almost every function's body is a CALL
 * entry with the CFA at SP+8 (v1/v2: type 0, sp_reg 5; v3: type 2, sp_reg 5;
 * v4: type 2, sp_reg 3), and v2's `end` sits one bit above v1's.
 */
import type { Program } from '../program.js';
import { memberAt } from '@vmpipe/types';

export type OrcReg = 'undefined' | 'prev_sp' | 'dx' | 'di' | 'bp' | 'sp' | 'r10' | 'r13' | 'bp_indirect' | 'sp_indirect' | 'ax' | 'unknown';
export type OrcType = 'undefined' | 'end_of_stack' | 'call' | 'regs' | 'regs_partial' | 'unknown';
export type OrcVersion = 1 | 2 | 3 | 4;

export interface OrcEntry {
  spOffset: number;
  bpOffset: number;
  spReg: OrcReg;
  bpReg: OrcReg;
  type: OrcType;
  /** the frame was interrupted (regs) or hinted as a signal frame: look up ip itself, not ip - 1 */
  signal: boolean;
}

export interface OrcFormat {
  version: OrcVersion;
  /** how it was decided */
  by: string;
  /** the `.orc_header` hash (6.4+), hex */
  header?: string;
}

const REGS_V1: OrcReg[] = ['undefined', 'prev_sp', 'dx', 'di', 'bp', 'sp', 'r10', 'r13', 'bp_indirect', 'sp_indirect'];
const REGS_V4: OrcReg[] = ['undefined', 'ax', 'dx', 'sp', 'bp', 'di', 'r10', 'r13', 'prev_sp', 'sp_indirect', 'bp_indirect'];
const TYPES_V1: OrcType[] = ['call', 'regs', 'regs_partial'];
const TYPES_V3: OrcType[] = ['undefined', 'end_of_stack', 'call', 'regs', 'regs_partial'];

/** Decodes one entry's bit fields (little-endian u16) by format version. */
export function decodeOrc(version: OrcVersion, spOffset: number, bpOffset: number, bits: number): OrcEntry {
  const sp = bits & 0xf;
  const bp = (bits >> 4) & 0xf;
  const regs = version === 4 ? REGS_V4 : REGS_V1;
  const spReg = regs[sp] ?? 'unknown';
  const bpReg = regs[bp] ?? 'unknown';
  if (version <= 2) {
    const t = (bits >> 8) & 3;
    const end = version === 1 ? (bits >> 10) & 1 : (bits >> 11) & 1;
    let type: OrcType = TYPES_V1[t] ?? 'unknown';
    // v1/v2: an UNDEFINED sp_reg is the end of the stack when `end` is set, else "no ORC here".
    if (spReg === 'undefined') type = end ? 'end_of_stack' : 'undefined';
    const signal = version === 2 ? ((bits >> 10) & 1) === 1 : type === 'regs' || type === 'regs_partial';
    return { spOffset, bpOffset, spReg, bpReg, type, signal };
  }
  const type = TYPES_V3[(bits >> 8) & 7] ?? 'unknown';
  return { spOffset, bpOffset, spReg, bpReg, type, signal: ((bits >> 11) & 1) === 1 };
}

/** Reads kernel memory a page at a time, once each: the tables are megabytes and a lookup touches a few pages. */
class ChunkedBytes {
  private readonly chunks = new Map<number, Uint8Array>();
  private static readonly SIZE = 4096;
  constructor(private readonly prog: Program, readonly base: bigint, readonly length: number) {}

  private chunk(i: number): Uint8Array {
    let c = this.chunks.get(i);
    if (!c) {
      const start = i * ChunkedBytes.SIZE;
      c = this.prog.mem.readBytes(this.base + BigInt(start), Math.min(ChunkedBytes.SIZE, this.length - start));
      this.chunks.set(i, c);
    }
    return c;
  }

  u16(off: number): number {
    return this.u8(off) | (this.u8(off + 1) << 8);
  }

  i16(off: number): number {
    const v = this.u16(off);
    return v >= 0x8000 ? v - 0x10000 : v;
  }

  i32(off: number): number {
    return (this.u16(off) | (this.u16(off + 2) << 16)) | 0;
  }

  u32(off: number): number {
    return this.i32(off) >>> 0;
  }

  private u8(off: number): number {
    const i = Math.floor(off / ChunkedBytes.SIZE);
    return this.chunk(i)[off - i * ChunkedBytes.SIZE]!;
  }
}

/** One ORC table: the vmlinux's or a module's. `ipBase` is what ips are measured from (Numbers, not BigInts). */
class OrcSection {
  constructor(
    readonly ips: ChunkedBytes,
    readonly orcs: ChunkedBytes,
    readonly count: number,
    /** the table's address minus ipBase */
    private readonly ipsOffset: number,
  ) {}

  /** orc_ip(&ip_table[i]) - ipBase */
  ip(i: number): number {
    return this.ipsOffset + i * 4 + this.ips.i32(i * 4);
  }

  /** __orc_find: the last entry in [first, first+n) whose ip is <= ip (the first one when none is) */
  find(ip: number, first = 0, n = this.count): number | undefined {
    if (n <= 0) return undefined;
    let lo = first;
    let hi = first + n - 1;
    let found = first;
    while (lo <= hi) {
      const mid = lo + ((hi - lo) >> 1);
      if (this.ip(mid) <= ip) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  entry(version: OrcVersion, i: number): OrcEntry {
    return decodeOrc(version, this.orcs.i16(i * 6), this.orcs.i16(i * 6 + 2), this.orcs.u16(i * 6 + 4));
  }
}

export class OrcError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrcError';
  }
}

const LOOKUP_BLOCK_SIZE = 256; // 1 << LOOKUP_BLOCK_ORDER (orc_lookup.h)

interface ModuleOrc {
  start: bigint;
  end: bigint;
  name: string;
  section?: OrcSection;
  problem?: string;
  base: bigint;
  load: () => OrcSection;
}

/** The kernel's ORC: vmlinux tables through kallsyms, modules' from their struct module; lookups as orc_find does them. */
export class OrcUnwinder {
  readonly format: OrcFormat;
  private readonly vmlinux: OrcSection;
  private readonly base: bigint;
  private readonly lookup?: ChunkedBytes;
  private readonly lookupBlocks: number;
  private readonly stext: bigint;
  private readonly etext: bigint;
  private readonly initText?: [bigint, bigint];
  private modules?: ModuleOrc[];
  readonly notes: string[] = [];

  constructor(private readonly prog: Program) {
    const sym = (n: string) => prog.symbol(n);
    const ipStart = sym('__start_orc_unwind_ip');
    const ipStop = sym('__stop_orc_unwind_ip');
    const orcStart = sym('__start_orc_unwind');
    const orcStop = sym('__stop_orc_unwind');
    if (ipStart === undefined || ipStop === undefined || orcStart === undefined) throw new OrcError('no ORC tables in kallsyms (__start_orc_unwind_ip, __start_orc_unwind): the kernel has no UNWINDER_ORC or its symbols are not read');
    const count = Number(ipStop - ipStart) / 4;
    if (!Number.isInteger(count) || count <= 0) throw new OrcError(`bad .orc_unwind_ip size ${ipStop - ipStart}`);
    if (orcStop !== undefined && Number(orcStop - orcStart) !== count * 6) throw new OrcError(`.orc_unwind holds ${Number(orcStop - orcStart) / 6} entries, .orc_unwind_ip ${count}`);
    this.stext = sym('_stext') ?? sym('_text') ?? ipStart;
    this.etext = sym('_etext') ?? this.stext;
    this.base = this.stext;
    this.vmlinux = new OrcSection(new ChunkedBytes(prog, ipStart, count * 4), new ChunkedBytes(prog, orcStart, count * 6), count, Number(ipStart - this.base));
    const lk = sym('orc_lookup');
    const lkEnd = sym('orc_lookup_end');
    if (lk !== undefined && lkEnd !== undefined && lkEnd > lk) {
      this.lookup = new ChunkedBytes(prog, lk, Number(lkEnd - lk));
      this.lookupBlocks = Number(lkEnd - lk) / 4;
    } else {
      this.lookupBlocks = 0;
      this.notes.push('no orc_lookup table: every lookup searches the whole .orc_unwind_ip');
    }
    const si = sym('_sinittext');
    const ei = sym('_einittext');
    if (si !== undefined && ei !== undefined) this.initText = [si, ei];
    this.format = this.detect();
  }

  /** The entry format: from the table's own statistics, the `.orc_header` as a witness. */
  private detect(): OrcFormat {
    const hdr = this.prog.symbol('__start_orc_header') ?? this.prog.symbol('orc_header');
    let header: string | undefined;
    if (hdr !== undefined) {
      try {
        header = Buffer.from(this.prog.mem.readBytes(hdr, 20)).toString('hex');
      } catch {
        header = undefined;
      }
    }
    const orcs = this.vmlinux.orcs;
    return detectOrcFormat(this.vmlinux.count, (i) => ({ spOffset: orcs.i16(i * 6), bits: orcs.u16(i * 6 + 4) }), header);
  }

  /** orc_find: the ORC entry for a text address, with where it came from; undefined when no table covers it. */
  find(ip: bigint): { entry: OrcEntry; module?: string } | undefined {
    if (ip >= this.stext && ip < this.etext) {
      const rel = Number(ip - this.base);
      if (this.lookup && this.lookupBlocks > 1) {
        const idx = Math.floor(Number(ip - this.stext) / LOOKUP_BLOCK_SIZE);
        if (idx + 1 < this.lookupBlocks) {
          const start = this.lookup.u32(idx * 4);
          const stop = this.lookup.u32((idx + 1) * 4) + 1;
          if (stop > start && stop <= this.vmlinux.count + 1) {
            const i = this.vmlinux.find(rel, start, Math.min(stop, this.vmlinux.count) - start);
            return i === undefined ? undefined : { entry: this.vmlinux.entry(this.format.version, i) };
          }
        }
      }
      const i = this.vmlinux.find(rel);
      return i === undefined ? undefined : { entry: this.vmlinux.entry(this.format.version, i) };
    }
    if (this.initText && ip >= this.initText[0] && ip < this.initText[1]) {
      const i = this.vmlinux.find(Number(ip - this.base));
      return i === undefined ? undefined : { entry: this.vmlinux.entry(this.format.version, i) };
    }
    const m = this.moduleFor(ip);
    if (!m) return undefined;
    if (!m.section && !m.problem) {
      try {
        m.section = m.load();
      } catch (err) {
        m.problem = (err as Error).message;
        this.notes.push(`module ${m.name}: ORC not read: ${m.problem}`);
      }
    }
    if (!m.section) return undefined;
    const i = m.section.find(Number(ip - m.base));
    return i === undefined ? undefined : { entry: m.section.entry(this.format.version, i), module: m.name };
  }

  /** The module whose memory holds ip, with a loader for its ORC (mod->arch). */
  private moduleFor(ip: bigint): ModuleOrc | undefined {
    if (!this.modules) {
      this.modules = [];
      let list;
      try {
        list = this.prog.modules;
      } catch (err) {
        this.notes.push(`modules not read, so no module ORC: ${(err as Error).message}`);
        return undefined;
      }
      let arch: { num: number; ip: number; orc: number } | undefined;
      try {
        const t = this.prog.types;
        const mod = { id: t.lookup('struct', 'module')!, name: 'struct module' };
        arch = {
          num: memberAt(t, mod, 'arch.num_orcs').offset,
          ip: memberAt(t, mod, 'arch.orc_unwind_ip').offset,
          orc: memberAt(t, mod, 'arch.orc_unwind').offset,
        };
      } catch (err) {
        this.notes.push(`struct module has no arch.orc_unwind*: ${(err as Error).message}`);
      }
      for (const km of list.modules) {
        for (const r of km.ranges) {
          const prog = this.prog;
          const a = arch;
          this.modules.push({
            start: r.start,
            end: r.end,
            name: km.name,
            base: r.start,
            load: () => {
              if (!a) throw new OrcError('struct module has no arch.orc_unwind_ip in these types');
              const num = prog.mem.readU32(km.addr + BigInt(a.num));
              const ipt = prog.mem.readU64(km.addr + BigInt(a.ip));
              const orc = prog.mem.readU64(km.addr + BigInt(a.orc));
              if (num === 0 || ipt === 0n || orc === 0n) throw new OrcError('the module has no ORC table (num_orcs 0)');
              if (num > 1 << 22) throw new OrcError(`num_orcs ${num} is not believable`);
              return new OrcSection(new ChunkedBytes(prog, ipt, num * 4), new ChunkedBytes(prog, orc, num * 6), num, Number(ipt - r.start));
            },
          });
        }
      }
    }
    return this.modules.find((m) => ip >= m.start && ip < m.end);
  }
}

/**
 * Which entry format a table uses (see the top of this file): 16 runs of 128
 * consecutive entries spread over the table (a few pages) are counted as
 * CALL-with-CFA-at-SP+8 in each format's encoding; `entry(i)` reads entry i
 * (and may throw where memory cannot be read). `header` is the `.orc_header`
 * hash, hex, when the kernel has one: named in `by`, and the answer when the
 * entries say nothing.
 */
export function detectOrcFormat(count: number, entry: (i: number) => { spOffset: number; bits: number }, header?: string): OrcFormat {
  const picks: number[] = [];
  for (let w = 0; w < 16; w++) {
    const from = Math.floor((count * w) / 16);
    for (let i = from; i < Math.min(count, from + 128); i++) picks.push(i);
  }
  let oldCall = 0; // v1/v2 CALL (type bits 0), sp_reg 5, sp_offset 8
  let newCall = 0; // v3 CALL (type bits 2), sp_reg 5
  let v4Call = 0; // v4: type 2, sp_reg 3
  let bit11 = 0;
  let sampled = 0;
  for (const i of picks) {
    let e: { spOffset: number; bits: number };
    try {
      e = entry(i);
    } catch {
      continue;
    }
    sampled++;
    const t3 = (e.bits >> 8) & 7;
    const sp = e.bits & 0xf;
    if (e.spOffset === 8 && sp === 5 && (e.bits & 0x300) === 0) oldCall++;
    if (e.spOffset === 8 && t3 === 2 && sp === 5) newCall++;
    if (e.spOffset === 8 && t3 === 2 && sp === 3) v4Call++;
    if (e.bits & 0x800) bit11++;
  }
  if (sampled === 0) throw new OrcError('the .orc_unwind table cannot be read from the dump');
  const best = Math.max(oldCall, newCall, v4Call);
  const hdrNote = header ? `, .orc_header ${header.slice(0, 12)}…` : ', no .orc_header';
  const h = header ? { header } : {};
  if (best === 0) return header ? { version: 3, by: '.orc_header present (entries inconclusive)', header } : { version: 1, by: 'no .orc_header (entries inconclusive)' };
  if (best === v4Call) return { version: 4, by: `entries: CALL frames have sp_reg 3 (renumbered registers)${hdrNote}`, ...h };
  if (best === newCall) return { version: 3, by: `entries: CALL frames have type 2 (6.4+ types)${hdrNote}`, ...h };
  // v1 or v2: v2 keeps `end` in bit 11, which v1 never sets.
  if (bit11 > 0) return { version: 2, by: `entries: 6.3 layout (signal bit, end in bit 11)${hdrNote}`, ...h };
  return { version: 1, by: `entries: CALL frames have type 0 (before 6.3)${hdrNote}`, ...h };
}
