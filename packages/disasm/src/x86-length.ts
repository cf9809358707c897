/**
 * The length of the x86-64 instruction at `b[pos]`, from its prefixes, opcode,
 * ModRM/SIB and immediate sizes alone: Intel 64 and IA-32 Architectures
 * Software Developer's Manual, vol. 2, ch. 2 (instruction format: legacy
 * prefixes, REX, VEX; ModRM/SIB/displacement in tables 2-2 and 2-3) and
 * appendix A (opcode maps: which opcodes take ModRM and which immediate).
 *
 * It is a guess, used only to find an instruction the disassembler has already
 * decoded with iced: x86 encodings are prefix-free (the decoder reads exactly
 * one instruction's bytes and no more), so if `b[pos, pos+n)` equals the bytes
 * of an instruction decoded before, iced would decode the same instruction of
 * length n here, whatever this function said. A wrong or missing guess costs
 * only a call into iced. Hence 0 ("ask iced") for what is rare in kernel text
 * or ambiguous: EVEX, XOP, 3DNow!, opsize-prefixed near branches (Intel and
 * AMD disagree on their length), REX followed by another prefix.
 */

/** The legacy prefix bytes (SDM vol. 2, 2.1.1: lock, rep, segment overrides, operand and address size): 1 for a prefix. */
export const LEGACY_PREFIX = new Uint8Array(256);
for (const b of [0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0x66, 0x67]) LEGACY_PREFIX[b] = 1;

const NONE = 0;
/** the opcode has a ModRM byte */
const M = 1;
/** an 8-bit immediate or rel8 */
const I8 = 2;
/** a 16/32-bit immediate (2 bytes with 0x66 and no REX.W), or rel32 */
const IZ = 4;
/** a 16-bit immediate */
const I16 = 8;
/** not valid in 64-bit mode, or a prefix or escape handled before the table (0x0f, 0x26, 0x40-0x4f, 0x62, 0xc4...) */
const X = 16;
/** a near branch with rel32: 0x66 makes its length differ between Intel and AMD */
const REL = 32;

/** One-byte opcode map (SDM vol. 2 table A-2). */
const ONE = new Uint8Array(256);
/** Two-byte opcode map, 0x0f xx (SDM vol. 2 table A-3). */
const TWO = new Uint8Array(256);

function set(table: Uint8Array, from: number, to: number, flags: number): void {
  for (let op = from; op <= to; op++) table[op] = flags;
}

// 0x00-0x3f: the ALU rows (add, or, adc, sbb, and, sub, xor, cmp): x0-x3 r/m forms, x4 AL,imm8, x5 eAX,immz
for (let row = 0; row < 8; row++) {
  const base = row * 8;
  set(ONE, base, base + 3, M);
  ONE[base + 4] = I8;
  ONE[base + 5] = IZ;
  ONE[base + 6] = X; // push/pop seg, daa/das/aaa/aas, or a segment prefix: invalid or handled earlier
  ONE[base + 7] = X;
}
ONE[0x0f] = X;
set(ONE, 0x40, 0x4f, X); // REX
set(ONE, 0x50, 0x5f, NONE); // push/pop reg
set(ONE, 0x60, 0x62, X); // pusha, popa, bound (EVEX)
ONE[0x63] = M; // movsxd
set(ONE, 0x64, 0x67, X); // prefixes
ONE[0x68] = IZ;
ONE[0x69] = M | IZ;
ONE[0x6a] = I8;
ONE[0x6b] = M | I8;
set(ONE, 0x6c, 0x6f, NONE); // ins/outs
set(ONE, 0x70, 0x7f, I8); // jcc rel8
ONE[0x80] = M | I8;
ONE[0x81] = M | IZ;
ONE[0x82] = X;
ONE[0x83] = M | I8;
set(ONE, 0x84, 0x8e, M);
ONE[0x8f] = M; // pop r/m (XOP when ModRM.reg != 0: checked below)
set(ONE, 0x90, 0x99, NONE);
ONE[0x9a] = X; // far call
set(ONE, 0x9b, 0x9f, NONE);
set(ONE, 0xa0, 0xa3, X); // mov moffs: the address size decides, handled below
set(ONE, 0xa4, 0xa7, NONE);
ONE[0xa8] = I8;
ONE[0xa9] = IZ;
set(ONE, 0xaa, 0xaf, NONE);
set(ONE, 0xb0, 0xb7, I8);
set(ONE, 0xb8, 0xbf, IZ); // mov reg,imm: imm64 with REX.W, handled below
ONE[0xc0] = M | I8;
ONE[0xc1] = M | I8;
ONE[0xc2] = I16;
ONE[0xc3] = NONE;
ONE[0xc4] = X; // VEX3
ONE[0xc5] = X; // VEX2
ONE[0xc6] = M | I8; // mov r/m8,imm8; xabort imm8 (c6 f8)
ONE[0xc7] = M | IZ; // mov r/m,immz; xbegin relz (c7 f8: checked below)
ONE[0xc8] = X; // enter imm16,imm8: handled below
ONE[0xc9] = NONE;
ONE[0xca] = I16;
set(ONE, 0xcb, 0xcc, NONE);
ONE[0xcd] = I8;
ONE[0xce] = X;
ONE[0xcf] = NONE;
set(ONE, 0xd0, 0xd3, M);
set(ONE, 0xd4, 0xd6, X);
ONE[0xd7] = NONE;
set(ONE, 0xd8, 0xdf, M); // x87
set(ONE, 0xe0, 0xe7, I8); // loop*, jrcxz, in/out imm8
ONE[0xe8] = IZ | REL;
ONE[0xe9] = IZ | REL;
ONE[0xea] = X;
ONE[0xeb] = I8;
set(ONE, 0xec, 0xef, NONE);
ONE[0xf0] = X;
ONE[0xf1] = NONE;
set(ONE, 0xf2, 0xf3, X);
set(ONE, 0xf4, 0xf5, NONE);
ONE[0xf6] = M; // test r/m8,imm8 for /0 and /1: handled below
ONE[0xf7] = M;
set(ONE, 0xf8, 0xfd, NONE);
ONE[0xfe] = M;
ONE[0xff] = M;

set(TWO, 0x00, 0x03, M);
TWO[0x04] = X;
set(TWO, 0x05, 0x09, NONE); // syscall, clts, sysret, invd, wbinvd
TWO[0x0a] = X;
TWO[0x0b] = NONE; // ud2
TWO[0x0c] = X;
TWO[0x0d] = M; // prefetch
TWO[0x0e] = NONE; // femms
TWO[0x0f] = X; // 3DNow!
set(TWO, 0x10, 0x1f, M); // SSE moves, prefetch/hint nops, endbr64 (f3 0f 1e fa)
set(TWO, 0x20, 0x23, M); // mov cr/dr
set(TWO, 0x24, 0x27, X);
set(TWO, 0x28, 0x2f, M);
set(TWO, 0x30, 0x37, NONE); // wrmsr, rdtsc, rdmsr, rdpmc, sysenter, sysexit, getsec
TWO[0x38] = X; // three-byte map 0f 38: handled below
TWO[0x39] = X;
TWO[0x3a] = X; // three-byte map 0f 3a: handled below
set(TWO, 0x3b, 0x3f, X);
set(TWO, 0x40, 0x4f, M); // cmovcc
set(TWO, 0x50, 0x6f, M);
set(TWO, 0x70, 0x73, M | I8); // pshuf*, psrl/psra/psll imm8
set(TWO, 0x74, 0x76, M);
TWO[0x77] = NONE; // emms
TWO[0x78] = X; // vmread, or SSE4a extrq/insertq with immediates: rare
TWO[0x79] = X;
set(TWO, 0x7a, 0x7b, X);
set(TWO, 0x7c, 0x7f, M);
set(TWO, 0x80, 0x8f, IZ | REL); // jcc rel32
set(TWO, 0x90, 0x9f, M); // setcc
set(TWO, 0xa0, 0xa2, NONE); // push/pop fs, cpuid
TWO[0xa3] = M;
TWO[0xa4] = M | I8;
TWO[0xa5] = M;
set(TWO, 0xa6, 0xa7, X);
set(TWO, 0xa8, 0xaa, NONE); // push/pop gs, rsm
TWO[0xab] = M;
TWO[0xac] = M | I8;
set(TWO, 0xad, 0xb9, M); // shrd, fences/xsave (0f ae), imul, cmpxchg, lss, btr, lfs, lgs, movzx, popcnt, ud1
TWO[0xba] = M | I8;
set(TWO, 0xbb, 0xc1, M);
TWO[0xc2] = M | I8;
TWO[0xc3] = M;
set(TWO, 0xc4, 0xc6, M | I8);
TWO[0xc7] = M;
set(TWO, 0xc8, 0xcf, NONE); // bswap
set(TWO, 0xd0, 0xff, M);

/** Bytes of ModRM, SIB and displacement at b[p] (64- and 32-bit addressing share the format), or 0 past `end`. */
function modrmBytes(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return 0;
  const modrm = b[p]!;
  const mod = modrm >> 6;
  const rm = modrm & 7;
  if (mod === 3) return 1;
  let n = 1;
  if (rm === 4) {
    if (p + 1 >= end) return 0;
    n = 2;
    if (mod === 0 && (b[p + 1]! & 7) === 5) return n + 4; // SIB without base: disp32
  } else if (mod === 0 && rm === 5) return n + 4; // RIP+disp32
  return mod === 1 ? n + 1 : mod === 2 ? n + 4 : n;
}

/** where the last x86InstructionLength found a ModRM byte (-1: none), and how many immediate bytes end the instruction */
let modrmIndex = -1;
let immediateBytes = 0;

/**
 * Where the ModRM byte of the instruction at `b[pos]` is, as x86InstructionLength reads the
 * instruction, or -1 (no ModRM, or no guess). A guess like the length: a caller remembers what
 * it derives from it only once iced agreed.
 */
export function x86ModrmAt(b: Uint8Array, pos: number, end: number): number {
  return x86InstructionLength(b, pos, end) > 0 ? modrmIndex : -1;
}

/**
 * How many bytes of immediate end the instruction at `b[pos]` (an imm8/16/32/64, or a rel8/rel32
 * for a branch), as x86InstructionLength reads it; 0 for none, for two (enter) and for no guess.
 */
export function x86ImmediateSize(b: Uint8Array, pos: number, end: number): number {
  return x86InstructionLength(b, pos, end) > 0 ? immediateBytes : 0;
}

/** The instruction's length, or 0 when this guess does not know (see the file comment). */
export function x86InstructionLength(b: Uint8Array, pos: number, end: number): number {
  modrmIndex = -1;
  immediateBytes = 0;
  let p = pos;
  let opsize = false;
  let addrsize = false;
  const limit = Math.min(end, pos + 15);
  for (;;) {
    if (p >= limit) return 0;
    const c = b[p]!;
    if (LEGACY_PREFIX[c] !== 1) break;
    if (c === 0x66) opsize = true;
    else if (c === 0x67) addrsize = true;
    p++;
  }
  let rexW = false;
  if ((b[p]! & 0xf0) === 0x40) {
    rexW = (b[p]! & 8) !== 0;
    p++;
    if (p >= limit) return 0;
    const c = b[p]!;
    // a prefix after REX makes the REX ignored: rare enough to leave to iced
    if ((c & 0xf0) === 0x40 || LEGACY_PREFIX[c] === 1) return 0;
  }
  const op = b[p++]!;
  const z = opsize && !rexW ? 2 : 4;
  let n: number;
  if (op === 0x0f) {
    if (p >= limit) return 0;
    const op2 = b[p++]!;
    if (op2 === 0x38 || op2 === 0x3a) {
      if (p >= limit) return 0;
      p++; // the third opcode byte
      const m = modrmBytes(b, p, limit);
      if (m === 0) return 0;
      modrmIndex = p;
      immediateBytes = op2 === 0x3a ? 1 : 0;
      n = p - pos + m + immediateBytes;
    } else {
      const f = TWO[op2]!;
      if (f & X || (f & REL && opsize)) return 0;
      let m = 0;
      if (f & M) {
        m = modrmBytes(b, p, limit);
        if (m === 0) return 0;
        modrmIndex = p;
      }
      immediateBytes = (f & I8 ? 1 : 0) + (f & IZ ? z : 0);
      n = p - pos + m + immediateBytes;
    }
  } else if (op === 0xc4 || op === 0xc5) {
    // VEX: c5 R.vvvv.L.pp opcode (map 0f); c4 RXB.mmmmm W.vvvv.L.pp opcode
    if (opsize || p >= limit) return 0; // 0x66 before VEX is #UD
    let map = 1;
    if (op === 0xc4) {
      map = b[p]! & 0x1f;
      p += 2;
    } else p += 1;
    if (p >= limit) return 0;
    const vop = b[p++]!;
    if (map === 1 && vop === 0x77) n = p - pos; // vzeroupper/vzeroall
    else {
      const m = modrmBytes(b, p, limit);
      if (m === 0 || map < 1 || map > 3) return 0;
      modrmIndex = p;
      const imm = map === 3 || (map === 1 && ((vop >= 0x70 && vop <= 0x73) || vop === 0xc2 || (vop >= 0xc4 && vop <= 0xc6))) ? 1 : 0;
      immediateBytes = imm;
      n = p - pos + m + imm;
    }
  } else {
    const f = ONE[op]!;
    if (f & X) {
      if (op >= 0xa0 && op <= 0xa3) n = p - pos + (addrsize ? 4 : 8); // mov moffs
      else if (op === 0xc8) n = p - pos + 3; // enter imm16,imm8
      else return 0;
    } else {
      if (f & REL && opsize) return 0;
      let m = 0;
      if (f & M) {
        m = modrmBytes(b, p, limit);
        if (m === 0) return 0;
        modrmIndex = p;
        const reg = (b[p]! >> 3) & 7;
        if (op === 0x8f && reg !== 0) return 0; // XOP
        if (op === 0xc7 && b[p] === 0xf8 && opsize) return 0; // xbegin rel16/rel32
        if ((op === 0xf6 || op === 0xf7) && reg < 2) immediateBytes = op === 0xf6 ? 1 : z; // test r/m,imm
      }
      let imm = (f & I8 ? 1 : 0) + (f & I16 ? 2 : 0) + (f & IZ ? z : 0);
      if (op >= 0xb8 && op <= 0xbf && rexW) imm = 8; // movabs reg,imm64
      immediateBytes += imm;
      n = p - pos + m + immediateBytes;
    }
  }
  return n <= 15 && pos + n <= end ? n : 0;
}
