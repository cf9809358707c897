/**
 * Where a kernel patches its own text at boot, read from its own tables (a
 * vmlinux's, a .ko's, or the running kernel's in a dump), so `disasm` can say
 * which mechanism changed an instruction:
 *
 * - static keys: `struct jump_entry` (include/linux/jump_label.h, with
 *   HAVE_ARCH_JUMP_LABEL_RELATIVE as on x86_64 and arm64): `code` and
 *   `target` are s32 offsets from their own fields, `key` a long offset from
 *   its own, whose low two bits are flags; between `__start___jump_table` and
 *   `__stop___jump_table`. The instruction at `code` is a jump or a nop as the
 *   key says (x86 `jmp`/nop, arm64 `b`/`nop`).
 * - alternatives: `struct alt_instr` (arch/x86/include/asm/alternative.h,
 *   arch/arm64/include/asm/alternative-macros.h): an s32 offset (from its own
 *   field) of the original instructions, one of the replacement, the CPU
 *   feature (`cpuid`, `cpufeature`, or the low 16 bits of x86's `ft_flags`),
 *   and the original's length in bytes; between `__alt_instructions` and
 *   `__alt_instructions_end`.
 * - static calls (x86): `struct static_call_site` (include/linux/
 *   static_call_types.h): s32 `addr` and `key` offsets from their fields,
 *   between `__start_static_call_sites` and `__stop_static_call_sites`.
 *
 * Every field's place and size comes from the kernel's own types, so the
 * layouts follow its version; a table whose type or bounds are missing is
 * simply not used. Sites come out in the address space of the table they are
 * read from: a vmlinux's link-time one, a module's or a dump's memory.
 */
import { ElfFile } from '@vmpipe/elf';
import { koSection, type CodeRelocation } from './code-file.js';
import { lookupType, memberIfPresent, sizeOf, type MemberAt, type TypeTable } from '@vmpipe/types';

export type PatchSiteKind = 'static-key' | 'alternative' | 'static-call';

export interface PatchSite {
  kind: PatchSiteKind;
  /** the first patched byte (in the table's address space: see the file's comment) */
  addr: bigint;
  /** bytes patched (0 for static keys and calls: one instruction, whatever its length) */
  length: number;
  /** static keys and calls: the key (`struct static_key`, `struct static_call_key`) */
  key?: bigint;
  /** alternatives: the CPU feature (capability) number */
  feature?: number;
}

/** A kernel's or a module's patch sites, looked up by address. */
export class PatchSites {
  private readonly exact = new Map<bigint, PatchSite>();
  /** alternatives by start address, sorted */
  private readonly spans: PatchSite[];

  constructor(sites: readonly PatchSite[]) {
    for (const s of sites) if (s.kind !== 'alternative') this.exact.set(s.addr, s);
    this.spans = sites.filter((s) => s.kind === 'alternative').sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  get size(): number {
    return this.exact.size + this.spans.length;
  }

  /** Every site: the key and call sites, then the alternatives by address. */
  all(): PatchSite[] {
    return [...this.exact.values(), ...this.spans];
  }

  /** The site of the instruction at `addr` of `length` bytes: a key or call site there, else an alternative overlapping it. */
  at(addr: bigint, length: number): PatchSite | undefined {
    const site = this.exact.get(addr);
    if (site) return site;
    // the last alternative starting before the instruction's end
    let lo = 0;
    let hi = this.spans.length - 1;
    const end = addr + BigInt(length);
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.spans[mid]!.addr < end) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // alternatives can nest or touch: look back over the few that start before
    for (let i = found; i >= 0 && i > found - 8; i--) {
      const s = this.spans[i]!;
      if (s.addr + BigInt(s.length) > addr) return s;
    }
    return undefined;
  }
}

/** One kind of table: where it is (a vmlinux's bounding symbols, a .ko's section) and its entry's members. */
interface Table {
  kind: PatchSiteKind;
  /** the vmlinux's symbols around the table */
  start: string;
  stop: string;
  /** the .ko's section */
  section: string;
  type: string;
  /** the patched code, relative to its own field (s32) */
  site: MemberAt;
  /** the key, relative to its own field (s32 or long), its low two bits flags */
  key?: MemberAt;
  /** the original's length in bytes (u8) */
  length?: MemberAt;
  /** the feature field (u16, or the low half of a u32) */
  feature?: MemberAt;
}

/** Which of `names` the ELF's .symtab defines, and their values (one pass, names compared as bytes). */
function symbolValues(elf: ElfFile, names: readonly string[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const symtab = elf.section('.symtab');
  const strtab = symtab ? elf.sections[symtab.link] : undefined;
  if (!symtab || !strtab) return out;
  const syms = Buffer.from(elf.contentsRaw(symtab));
  const strs = Buffer.from(elf.contentsRaw(strtab));
  const wanted = new Map(names.map((n) => [n, Buffer.from(`${n}\0`, 'latin1')]));
  for (let o = 0; o + 24 <= syms.length && out.size < wanted.size; o += 24) {
    const at = syms.readUInt32LE(o);
    for (const [name, bytes] of wanted) {
      if (!out.has(name) && strs.compare(bytes, 0, bytes.length, at, at + bytes.length) === 0) out.set(name, syms.readBigUInt64LE(o + 8));
    }
  }
  return out;
}

/** The tables of this kernel's version (members from its types); a table whose type lacks a member is left out. */
function tables(types: TypeTable): Table[] {
  const out: Table[] = [];
  const member = (type: string, ...names: string[]) => names.map((n) => memberIfPresent(types, type, n)).find((m) => m !== undefined);
  const code = member('struct jump_entry', 'code');
  const key = member('struct jump_entry', 'key');
  if (code?.size === 4 && (key?.size === 8 || key?.size === 4)) {
    out.push({ kind: 'static-key', start: '__start___jump_table', stop: '__stop___jump_table', section: '__jump_table', type: 'struct jump_entry', site: code, key });
  }
  const orig = member('struct alt_instr', 'instr_offset', 'orig_offset');
  const length = member('struct alt_instr', 'instrlen', 'orig_len');
  const feature = member('struct alt_instr', 'cpuid', 'cpufeature', 'ft_flags');
  if (orig?.size === 4 && length?.size === 1 && (feature?.size === 2 || feature?.size === 4)) {
    out.push({ kind: 'alternative', start: '__alt_instructions', stop: '__alt_instructions_end', section: '.altinstructions', type: 'struct alt_instr', site: orig, length, feature });
  }
  const site = member('struct static_call_site', 'addr');
  const callKey = member('struct static_call_site', 'key');
  if (site?.size === 4 && callKey?.size === 4) {
    out.push({ kind: 'static-call', start: '__start_static_call_sites', stop: '__stop_static_call_sites', section: '.static_call_sites', type: 'struct static_call_site', site, key: callKey });
  }
  return out;
}

/**
 * One entry of `t` at `at` in `v`: `target(m)` is where member m points (a vmlinux: its field's
 * address plus its value; a .ko: its relocation's symbol plus addend), undefined when unknown.
 */
function entry(t: Table, v: DataView, at: number, target: (m: MemberAt) => bigint | undefined): PatchSite | undefined {
  const addr = target(t.site);
  if (addr === undefined) return undefined;
  const site: PatchSite = { kind: t.kind, addr, length: t.length ? v.getUint8(at + t.length.offset) : 0 };
  if (t.key) {
    const key = target(t.key);
    if (key !== undefined) site.key = BigInt.asUintN(64, key) & ~3n;
  }
  if (t.feature) site.feature = v.getUint16(at + t.feature.offset, true);
  return site;
}

/** A table has at most this many entries (a 6.1 kernel has ~40 k jump entries); bounds further apart are not a table. */
const MAX_ENTRIES = 1 << 22;

const entrySize = (types: TypeTable, t: Table) => sizeOf(types, lookupType(types, t.type)!.id);

/**
 * The patch sites the tables between their bounding symbols list: `bound(name)` gives a
 * symbol's address, `read(addr, length)` the bytes there (undefined when they cannot be read).
 * Every offset in the tables is relative to its own field, so the sites come out in the
 * address space the bounds are in: a vmlinux's link-time one, or the running kernel's.
 */
export function readPatchSites(types: TypeTable, bound: (name: string) => bigint | undefined, read: (addr: bigint, length: number) => Uint8Array | undefined): PatchSites {
  const sites: PatchSite[] = [];
  for (const t of tables(types)) {
    const start = bound(t.start);
    const stop = bound(t.stop);
    const size = entrySize(types, t);
    if (start === undefined || stop === undefined || stop <= start || size <= 0) continue;
    const n = Number(stop - start) / size;
    if (!Number.isInteger(n) || n > MAX_ENTRIES) continue;
    const bytes = read(start, Number(stop - start));
    if (!bytes) continue;
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      const at = i * size;
      const field = (m: MemberAt) => start + BigInt(at + m.offset);
      const site = entry(t, v, at, (m) => field(m) + (m.size === 8 ? v.getBigInt64(at + m.offset, true) : BigInt(v.getInt32(at + m.offset, true))));
      if (site) sites.push(site);
    }
  }
  return new PatchSites(sites);
}

/** The patch sites a vmlinux's tables list (link-time addresses), with layouts from `types` (the running kernel's). */
export function vmlinuxPatchSites(path: string, types: TypeTable): PatchSites {
  const elf = ElfFile.open(path);
  try {
    const bounds = symbolValues(elf, tables(types).flatMap((t) => [t.start, t.stop]));
    return readPatchSites(types, (name) => bounds.get(name), (addr, length) => {
      const s = elf.sections.find((x) => x.addr !== 0n && addr >= x.addr && addr + BigInt(length) <= x.addr + BigInt(x.size));
      return s && elf.isPlain(s) ? elf.readIn(s, Number(addr - s.addr), length, 'patch-site table') : undefined;
    });
  } finally {
    elf.close();
  }
}

/**
 * The patch sites a module's .ko lists (its `__jump_table`, `.altinstructions`,
 * `.static_call_sites`), at their addresses in memory: each field is a relocation
 * (R_X86_64_PC32, R_AARCH64_PREL32, ...: S + A - P, so it points at S + A), and
 * `symbolAddress` places its symbol (a section of the module, or a kernel symbol).
 */
export function modulePatchSites(path: string, types: TypeTable, symbolAddress: (r: CodeRelocation) => bigint | undefined): PatchSites {
  const sites: PatchSite[] = [];
  for (const t of tables(types)) {
    const table = koSection(path, t.section);
    const size = entrySize(types, t);
    if (!table || size <= 0 || table.bytes.length % size !== 0) continue;
    const byField = new Map(table.relocations.map((r) => [r.at, r]));
    const v = new DataView(table.bytes.buffer, table.bytes.byteOffset, table.bytes.byteLength);
    for (let at = 0; at < table.bytes.length; at += size) {
      const site = entry(t, v, at, (m) => {
        const r = byField.get(at + m.offset);
        const s = r && symbolAddress(r);
        return s === undefined ? undefined : s + r!.addend;
      });
      if (site) sites.push(site);
    }
  }
  return new PatchSites(sites);
}
