/**
 * Relocations in module code, applied as the kernel's module loader applies
 * them (apply_relocate_add), so a .ko's code can be compared with what ran.
 *
 * x86_64: System V ABI, AMD64 supplement, 4.4 "Relocation Types"
 * (arch/x86/kernel/module.c): a field of 4 or 8 bytes holding S + A, or
 * S + A - P for PC32/PLT32 (a module's calls reach the kernel directly).
 *
 * AArch64: "ELF for the Arm 64-bit Architecture (AArch64)" (aaelf64), 5.7
 * "Relocation", tables "Static Data relocations", "PC-relative addresses",
 * "Relocations for control-flow instructions" and "Static AArch64
 * relocations" (the LO12 ones) (arch/arm64/kernel/module.c). Data fields hold
 * S + A or S + A - P; instruction fields take bits of X in the A64 encodings
 * (Arm ARM C4): ADR/ADRP immlo [30:29] and immhi [23:5], ADD/LDR/STR imm12
 * [21:10] scaled by the access size, B/BL imm26 [25:0], B.cond/CBZ/LDR
 * literal imm19 [23:5], TBZ imm14 [18:5]. A B/BL whose target is out of its
 * ±128 MiB reach goes through a PLT entry the loader made in the module
 * (arch/arm64/kernel/module-plts.c: `adrp x16, T; add x16, x16, :lo12:T;
 * br x16`); the .ko cannot say where, so the caller may name the entry
 * (`plt`), which `aarch64PltTarget` checks leads to the symbol. MOVW
 * relocations are not used by module text and are not applied.
 */
import { EM_AARCH64, EM_X86_64, R_X86_64_32, R_X86_64_32S, R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32 } from '@vmpipe/elf';

/** The quantity a relocation puts in its field (aaelf64's notation). */
type Base = 'S+A' | 'S+A-P' | 'Page(S+A)-Page(P)';

interface Rule {
  /** bytes of the field */
  size: 2 | 4 | 8;
  base: Base;
  /** an A64 instruction with X placed in its immediate; undefined when X does not fit */
  insn?: (word: number, x: bigint) => number | undefined;
  /** a B/BL the loader routes through a PLT entry when its target is out of reach */
  plt?: true;
}

/** The instruction word with `value`'s low `width` bits at bit `lsb`. */
function field(word: number, value: bigint, lsb: number, width: number): number {
  const mask = (2 ** width - 1) * 2 ** lsb;
  const bits = Number(BigInt.asUintN(width, value)) * 2 ** lsb;
  return ((word & ~mask) | bits) >>> 0;
}

const fits = (x: bigint, bits: number) => x >= -(1n << BigInt(bits - 1)) && x < 1n << BigInt(bits - 1);

/** ADR/ADRP: immlo = X[1:0] at [30:29], immhi = X[20:2] at [23:5]. */
const adr = (word: number, x: bigint) => field(field(word, x, 29, 2), x >> 2n, 5, 19);
/** An imm12 of X's low 12 bits, scaled down by the access size (2^scale bytes). */
const lo12 = (scale: number) => (word: number, x: bigint) => field(word, BigInt.asUintN(12, x) >> BigInt(scale), 10, 12);
/** A branch offset in words, of `bits` bits at `lsb`; undefined when out of reach. */
const branch = (bits: number, lsb: number) => (word: number, x: bigint) => (fits(x, bits + 2) ? field(word, x >> 2n, lsb, bits) : undefined);

const X86_64: Record<number, Rule> = {
  [R_X86_64_64]: { size: 8, base: 'S+A' },
  [R_X86_64_PC32]: { size: 4, base: 'S+A-P' },
  [R_X86_64_PLT32]: { size: 4, base: 'S+A-P' },
  [R_X86_64_32]: { size: 4, base: 'S+A' },
  [R_X86_64_32S]: { size: 4, base: 'S+A' },
};

const AARCH64: Record<number, Rule> = {
  257: { size: 8, base: 'S+A' }, // R_AARCH64_ABS64
  258: { size: 4, base: 'S+A' }, // R_AARCH64_ABS32
  259: { size: 2, base: 'S+A' }, // R_AARCH64_ABS16
  260: { size: 8, base: 'S+A-P' }, // R_AARCH64_PREL64
  261: { size: 4, base: 'S+A-P' }, // R_AARCH64_PREL32
  262: { size: 2, base: 'S+A-P' }, // R_AARCH64_PREL16
  273: { size: 4, base: 'S+A-P', insn: branch(19, 5) }, // R_AARCH64_LD_PREL_LO19
  274: { size: 4, base: 'S+A-P', insn: (w, x) => (fits(x, 21) ? adr(w, x) : undefined) }, // R_AARCH64_ADR_PREL_LO21
  275: { size: 4, base: 'Page(S+A)-Page(P)', insn: (w, x) => (fits(x >> 12n, 21) ? adr(w, x >> 12n) : undefined) }, // R_AARCH64_ADR_PREL_PG_HI21 (±4 GiB)
  276: { size: 4, base: 'Page(S+A)-Page(P)', insn: (w, x) => adr(w, x >> 12n) }, // R_AARCH64_ADR_PREL_PG_HI21_NC
  277: { size: 4, base: 'S+A', insn: lo12(0) }, // R_AARCH64_ADD_ABS_LO12_NC
  278: { size: 4, base: 'S+A', insn: lo12(0) }, // R_AARCH64_LDST8_ABS_LO12_NC
  279: { size: 4, base: 'S+A-P', insn: branch(14, 5) }, // R_AARCH64_TSTBR14
  280: { size: 4, base: 'S+A-P', insn: branch(19, 5) }, // R_AARCH64_CONDBR19
  282: { size: 4, base: 'S+A-P', insn: branch(26, 0), plt: true }, // R_AARCH64_JUMP26
  283: { size: 4, base: 'S+A-P', insn: branch(26, 0), plt: true }, // R_AARCH64_CALL26
  284: { size: 4, base: 'S+A', insn: lo12(1) }, // R_AARCH64_LDST16_ABS_LO12_NC
  285: { size: 4, base: 'S+A', insn: lo12(2) }, // R_AARCH64_LDST32_ABS_LO12_NC
  286: { size: 4, base: 'S+A', insn: lo12(3) }, // R_AARCH64_LDST64_ABS_LO12_NC
  299: { size: 4, base: 'S+A', insn: lo12(4) }, // R_AARCH64_LDST128_ABS_LO12_NC
};

const RULES: Record<number, Record<number, Rule>> = { [EM_X86_64]: X86_64, [EM_AARCH64]: AARCH64 };

/** The field size of a relocation type of ELF machine `machine`, undefined when it is not applied here. */
export function relocationSize(machine: number, type: number): number | undefined {
  return RULES[machine]?.[type]?.size;
}

const page = (x: bigint) => x & ~0xfffn;

/**
 * Writes relocation `type` of `machine` into `view` at `at`, `p` being that
 * field's address in memory and `sa` the symbol's address plus the addend;
 * `plt(sa, p)` names the PLT entry a branch out of reach goes through.
 * False when it is not written: a type not applied here, or a value that
 * does not fit its instruction (and no PLT entry for it).
 */
export function applyRelocation(machine: number, type: number, view: DataView, at: number, sa: bigint, p: bigint, plt?: (sa: bigint, p: bigint) => bigint | undefined): boolean {
  const rule = RULES[machine]?.[type];
  if (!rule) return false;
  const x = rule.base === 'S+A' ? sa : rule.base === 'S+A-P' ? sa - p : page(sa) - page(p);
  if (rule.insn) {
    const stored = view.getUint32(at, true);
    let word = rule.insn(stored, x);
    const entry = word === undefined && rule.plt ? plt?.(sa, p) : undefined;
    if (entry !== undefined) word = rule.insn(stored, entry - p);
    if (word === undefined) return false;
    view.setUint32(at, word, true);
  } else if (rule.size === 8) view.setBigUint64(at, BigInt.asUintN(64, x), true);
  else if (rule.size === 4) view.setUint32(at, Number(BigInt.asUintN(32, x)), true);
  else view.setUint16(at, Number(BigInt.asUintN(16, x)), true);
  return true;
}

const signed = (v: number, bits: number) => BigInt.asIntN(bits, BigInt(v));

/**
 * Where an arm64 module PLT entry at `at` jumps (`adrp x16, T; add x16, x16,
 * #lo12; br x16`, Arm ARM C6: ADRP, ADD (immediate), BR), or undefined when
 * the 12 bytes are not such an entry.
 */
export function aarch64PltTarget(entry: Uint8Array, at: bigint): bigint | undefined {
  if (entry.length < 12) return undefined;
  const v = new DataView(entry.buffer, entry.byteOffset, 12);
  const [adrp, add, br] = [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
  if ((adrp & 0x9f00001f) >>> 0 !== 0x90000010 || (add & 0xffc003ff) >>> 0 !== 0x91000210 || br !== 0xd61f0200) return undefined;
  const pages = signed((((adrp >>> 5) & 0x7ffff) << 2) | ((adrp >>> 29) & 3), 21);
  return page(at) + (pages << 12n) + BigInt((add >>> 10) & 0xfff);
}
