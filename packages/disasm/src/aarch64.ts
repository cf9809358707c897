/**
 * AArch64 (A64) instructions from bytes and the address they sit at, decoded
 * by capstone 5 (its WebAssembly build from npm, @alexaltea/capstone-js; why
 * that one: docs/disasm.md) and printed the way binutils 2.40's
 * `aarch64-linux-gnu-objdump -d` prints them (Arm ARM for the encodings;
 * binutils opcodes/aarch64-dis.c for the spelling).
 *
 * Capstone and objdump agree on mnemonics, register names and most aliases;
 * where they differ, `objdumpSpelling` below is the one place that says how
 * (immediates in decimal or hex by operand class, branch and literal targets
 * as `ffff800008b9d474 <panic>`, `cc`/`cs` for `lo`/`hs`, the `// b.any` and
 * `// #-1` comments). Capstone's detail mode is not usable from this build
 * (its arm64 detail struct reads empty), so operands are decomposed from the
 * printed text, which is regular on A64.
 *
 * Every A64 instruction is 4 bytes; a word capstone cannot decode is printed
 * as objdump does (`.inst 0xffffffff ; undefined`) and the walk goes on.
 * This file knows no dump, no flags, no records.
 */
import type MCapstone from '@alexaltea/capstone-js';
import { createRequire } from 'node:module';
import type { CommonOperand, DecodedInstruction, Flow, Symbolizer, RegisterValues } from './x86_64.js';

/** A memory operand `[base, #disp]`, `[base, index, lsl #3]`, `[sp, #-16]!`, `[sp], #16`, or a literal (`ldr x0, <addr>`: base `pc`). */
export interface Aarch64MemoryOperand {
  kind: 'memory';
  base: string;
  index?: string;
  /** the index's multiplier (`lsl #3` = 8); 1 without a shift */
  scale: number;
  /** `uxtw`, `sxtw`, `sxtx`: how a 32-bit index is widened */
  extend?: string;
  /** signed byte offset (pre-index or plain offset; for post-index it is the writeback amount) */
  displacement: bigint;
  /** 4 when an immediate offset is encoded, 0 when none (the shape x86's records have) */
  displacementSize: number;
  /** `pre` (`[sp, #-16]!`: address base+disp, then base updated), `post` (`[sp], #16`: address base, then updated) */
  writeback?: 'pre' | 'post';
  /** a literal's absolute address (pc-relative `ldr x0, <addr>`) */
  target?: bigint;
  /** bytes accessed, from the mnemonic and register (0 = unknown) */
  size: number;
}

export type Aarch64Operand =
  | CommonOperand
  | Aarch64MemoryOperand
  /** `lsl #16`, `uxtw #2`, `sxtw` after a register or immediate */
  | { kind: 'shift'; shift: string; amount: number }
  /** a condition (`ne`) of csel/ccmp/cset, objdump's name */
  | { kind: 'condition'; condition: string }
  /** anything else by name: system registers (`sp_el0`), barriers (`ish`), prefetch ops (`pldl1keep`), `c` of `bti c`, vector lists */
  | { kind: 'name'; name: string };

/** Same shape as x86's `Instruction` (the `insn` record), operands as A64 has them. */
export type Aarch64Instruction = DecodedInstruction<Aarch64Operand>;

export interface Aarch64Options {
  symbolize?: Symbolizer;
}

type Capstone = Awaited<ReturnType<typeof MCapstone>>;
let loaded: Promise<Capstone> | undefined;
/** The WASM module, compiled once per process (~3 MB, all of capstone's architectures). */
function capstone(): Promise<Capstone> {
  // required on first use, not imported: an x86 dump never pays for capstone's 0.3 MB of CommonJS glue
  loaded ??= (createRequire(import.meta.url)('@alexaltea/capstone-js') as typeof MCapstone)();
  return loaded;
}

const U64 = (1n << 64n) - 1n;

/**
 * A64 condition names as objdump prints them, with the other names it lists
 * in its comment (aarch64-dis.c's condition table: SVE's names beside the
 * classic ones). Capstone prints `lo`/`hs`; objdump `cc`/`cs`.
 */
const CONDITIONS: Record<string, string[]> = {
  eq: ['eq', 'none'], ne: ['ne', 'any'], cs: ['cs', 'hs', 'nlast'], cc: ['cc', 'lo', 'ul', 'last'], mi: ['mi', 'first'], pl: ['pl', 'nfrst'],
  vs: ['vs'], vc: ['vc'], hi: ['hi', 'pmore'], ls: ['ls', 'plast'], ge: ['ge', 'tcont'], lt: ['lt', 'tstop'], gt: ['gt'], le: ['le'], al: ['al'], nv: ['nv'],
};
const CAPSTONE_CONDITION: Record<string, string> = { lo: 'cc', hs: 'cs' };
const objdumpCondition = (c: string) => CAPSTONE_CONDITION[c] ?? c;

/** Instructions whose last operand is a condition (`csel x0, x1, x2, ne`). */
const CONDITIONAL = new Set(['csel', 'csinc', 'csinv', 'csneg', 'cset', 'csetm', 'cinc', 'cinv', 'cneg', 'ccmp', 'ccmn', 'fcsel', 'fccmp', 'fccmpe']);
/** Instructions whose immediates objdump prints in decimal (shift amounts, bit positions and widths). */
const DECIMAL = new Set(['rdvl', 'addvl', 'addpl', 'lsl', 'lsr', 'asr', 'ror', 'sbfx', 'ubfx', 'sbfiz', 'ubfiz', 'bfi', 'bfxil', 'bfc', 'sbfm', 'ubfm', 'bfm', 'extr', 'tbz', 'tbnz', 'udf',
  'shl', 'sshr', 'ushr', 'sri', 'sli', 'shrn', 'rshrn', 'ushll', 'sshll', 'ushll2', 'sshll2', 'shrn2', 'ursra', 'usra', 'ssra', 'srshr', 'urshr']);
/** Instructions whose operand is a pc-relative address: objdump prints it as `<addr> <symbol>`. */
const PC_RELATIVE = new Set(['b', 'bl', 'cbz', 'cbnz', 'tbz', 'tbnz', 'adr', 'adrp']);
/** Loads that have a pc-relative literal form (`ldr x0, <addr>`). */
const LITERAL = new Set(['ldr', 'ldrsw', 'prfm', 'ldr.w']);

/** `hint #N` that objdump names and capstone 5.0 does not. */
const HINTS: Record<string, string> = { '#0x16': 'clearbhb', '#0x6': 'dgh', '#0x10': 'esb', '#0x14': 'csdb' };
/** System registers capstone 5.0 prints by encoding (`s3_0_c0_c3_5`): objdump's names. */
const SYSREGS: Record<string, string> = { s3_0_c0_c3_5: 'id_dfr1_el1', s3_0_c0_c6_2: 'id_aa64isar2_el1', s3_0_c0_c4_7: 'id_aa64smfr0_el1', s3_0_c0_c4_4: 'id_aa64zfr0_el1', s3_4_c3_c1_6: 'hafgrtr_el2' };
/** `sys #op1, Cn, Cm, #op2` forms objdump prints as dc/ic/at/tlbi ops (the ones the kernel uses that capstone 5.0 leaves generic). */
const SYS_ALIASES: Record<string, string> = { '#0x3, c7, c13, #0x1': 'dc cvadp', '#3, c7, c13, #1': 'dc cvadp' };

/**
 * The value of a logical (bitmask) immediate from its encoding: N:immr:imms
 * (Arm ARM, DecodeBitMasks), widened to the register size.
 */
function logicalImmediate(word: number): bigint {
  const sf = word >>> 31;
  const n = (word >>> 22) & 1;
  const immr = (word >>> 16) & 0x3f;
  const imms = (word >>> 10) & 0x3f;
  const combined = (n << 6) | (~imms & 0x3f);
  let len = 6;
  while (len >= 0 && !((combined >> len) & 1)) len--;
  const size = 1 << len;
  const levels = size - 1;
  const s = imms & levels;
  const r = immr & levels;
  const welem = (1n << BigInt(s + 1)) - 1n;
  const mask = (1n << BigInt(size)) - 1n;
  const rotated = ((welem >> BigInt(r)) | (welem << BigInt(size - r))) & mask;
  const width = sf ? 64 : 32;
  let v = 0n;
  for (let i = 0; i < width; i += size) v |= rotated << BigInt(i);
  return v;
}

function flowOf(m: string): Flow {
  if (m === 'b') return 'jump';
  if (m === 'bl') return 'call';
  if (m.startsWith('b.') || m === 'cbz' || m === 'cbnz' || m === 'tbz' || m === 'tbnz') return 'cond-jump';
  if (/^br(aa|ab|aaz|abz)?$/.test(m)) return 'indirect-jump';
  if (/^blr(aa|ab|aaz|abz)?$/.test(m)) return 'indirect-call';
  if (/^(ret|retaa|retab|eret|eretaa|eretab)$/.test(m)) return 'return';
  if (m === 'brk' || m === 'udf' || m === 'hlt') return 'exception';
  if (m === 'svc' || m === 'hvc' || m === 'smc') return 'interrupt';
  return 'next';
}

/** Top-level operands of capstone's op_str: commas inside `[...]` and `{...}` do not split. */
function splitOperands(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

const IMM = /^#(-?)(0x[0-9a-f]+|\d+)$/i;
function parseImm(tok: string): bigint | undefined {
  const m = IMM.exec(tok);
  return m ? (m[1] ? -BigInt(m[2]!) : BigInt(m[2]!)) : undefined;
}
const dec = (v: bigint) => `#${v}`;
const hexImm = (v: bigint) => (v < 0n ? `#-0x${(-v).toString(16)}` : `#0x${v.toString(16)}`);
const SHIFT = /^(lsl|lsr|asr|ror|msl|uxtb|uxth|uxtw|uxtx|sxtb|sxth|sxtw|sxtx)(?: #(\S+))?$/;

/** Access size in bytes by mnemonic and transfer register (0 when not a plain load/store). */
function accessSize(m: string, reg: string | undefined): number {
  if (!/^(ld|st)/.test(m)) return 0;
  const pair = /^(ldp|stp|ldnp|stnp|ldxp|stxp|ldaxp|stlxp|ldpsw)/.test(m) ? 2 : 1;
  if (/b$/.test(m) || /sb$/.test(m)) return 1;
  if (/h$/.test(m) || /sh$/.test(m)) return 2;
  if (/sw$/.test(m)) return 4 * pair;
  const r = reg ?? '';
  const w = r.startsWith('x') || r === 'sp' || r.startsWith('d') ? 8 : r.startsWith('w') || r.startsWith('s') ? 4 : r.startsWith('q') ? 16 : r.startsWith('h') ? 2 : r.startsWith('b') ? 1 : 0;
  return w * pair;
}

/**
 * objdump's spelling of one capstone instruction: the text, its comment and
 * the decomposed operands. The one place where capstone's syntax is mapped to
 * objdump's:
 *  - pc-relative operands (b, bl, b.cond, cbz/cbnz, tbz/tbnz, adr, adrp, literal
 *    loads) are `ffff800008b9d474 <panic>` (`0x...` without a symbol), not `#0x...`;
 *  - immediates: memory offsets, shift amounts and bit positions/widths in
 *    decimal (`[sp, #-16]!`, `lsl #16`, `ubfx x0, x0, #18, #2`); all others
 *    in hex (`cmp w0, #0x4`, `msr daifset, #0x3`, `brk #0x800`);
 *  - `mov Rd, #imm` as the register-width unsigned value with the signed one in
 *    a comment (`mov w1, #0xffffffff // #-1`);
 *  - conditions `lo`/`hs` are `cc`/`cs`, and the other names of a condition are
 *    a comment (`b.ne ... // b.any`, `csel ..., ls // ls = plast`).
 */
export function objdumpSpelling(mnemonic: string, opStr: string, addr: bigint, symbolize: Symbolizer, word?: number): { mnemonic: string; operandText: string; comment?: string; operands: Aarch64Operand[]; target?: bigint } {
  let mn = mnemonic;
  let comment: string | undefined;
  // Names capstone 5.0 lacks (it prints the generic form): hints, system registers, `sys` aliases.
  if (mn === 'hint' && HINTS[opStr]) return { mnemonic: HINTS[opStr]!, operandText: '', operands: [] };
  if (mn === 'sys' && SYS_ALIASES[opStr.replace(/,\s*x\d+$/, '')]) {
    const [m, op] = SYS_ALIASES[opStr.replace(/,\s*x\d+$/, '')]!.split(' ');
    const reg = /x\d+$/.exec(opStr)?.[0];
    return { mnemonic: m!, operandText: reg ? `${op}, ${reg}` : op!, operands: [{ kind: 'name', name: op! }, ...(reg ? [{ kind: 'register' as const, register: reg }] : [])] };
  }
  opStr = opStr.replace(/\bs\d_\d_c\d+_c\d+_\d\b/g, (r) => SYSREGS[r] ?? r);
  // Logical immediates (and/orr/eor/ands/tst, and mov as orr): capstone 5.0 prints some as negative
  // numbers and a 32-bit pattern of a 64-bit `mov` without its sign extension; decode the bitmask.
  const logical = word !== undefined && (word & 0x1f800000) === 0x12000000 ? logicalImmediate(word) : undefined;
  if (mn.startsWith('b.')) {
    const c = objdumpCondition(mn.slice(2));
    mn = `b.${c}`;
    const alts = CONDITIONS[c]?.slice(1) ?? [];
    if (alts.length) comment = alts.map((a) => `b.${a}`).join(', ');
  }
  const toks = splitOperands(opStr);
  const texts: string[] = [];
  const operands: Aarch64Operand[] = [];
  let target: bigint | undefined;
  const decimal = DECIMAL.has(mn);
  const firstReg = toks[0];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const last = i === toks.length - 1;
    const imm = parseImm(t);
    // pc-relative address
    if (imm !== undefined && last && (PC_RELATIVE.has(mn) || mn.startsWith('b.') || (LITERAL.has(mn) && i === 1))) {
      const a = imm & U64;
      const sym = symbolize(a);
      texts.push(sym !== undefined ? `${a.toString(16)} <${sym}>` : `0x${a.toString(16)}`);
      if (LITERAL.has(mn)) {
        operands.push({ kind: 'memory', base: 'pc', scale: 1, displacement: BigInt.asIntN(64, a - addr), displacementSize: 4, target: a, size: accessSize(mn, firstReg) });
      } else if (mn === 'adr' || mn === 'adrp') operands.push({ kind: 'immediate', value: a });
      else {
        target = a;
        operands.push({ kind: 'target', target: a });
      }
      continue;
    }
    if (imm !== undefined && logical !== undefined && last) {
      texts.push(`#0x${logical.toString(16)}`);
      if (mn === 'mov') comment = `#${BigInt.asIntN(word! >>> 31 ? 64 : 32, logical)}`;
      operands.push({ kind: 'immediate', value: logical });
      continue;
    }
    if (imm !== undefined) {
      if (mn === 'mov' && i === 1 && toks.length === 2 && /^[wx]/.test(firstReg ?? '')) {
        const bits = firstReg!.startsWith('w') ? 32 : 64;
        const u = BigInt.asUintN(bits, imm);
        texts.push(`#0x${u.toString(16)}`);
        comment = `#${BigInt.asIntN(bits, imm)}`;
        operands.push({ kind: 'immediate', value: u });
        continue;
      }
      // post-index writeback `[sp], #16`
      const prev = operands[operands.length - 1];
      if (prev?.kind === 'memory' && !prev.writeback && prev.displacementSize === 0 && prev.base !== 'pc' && /\]$/.test(toks[i - 1] ?? '')) {
        prev.writeback = 'post';
        prev.displacement = BigInt.asIntN(64, imm); // capstone prints a negative post-index as unsigned 64-bit
        prev.displacementSize = 4;
        texts.push(dec(prev.displacement));
        continue;
      }
      texts.push(decimal ? dec(imm) : hexImm(imm));
      operands.push({ kind: 'immediate', value: imm });
      continue;
    }
    if (t.startsWith('[')) {
      const { text, operand } = memory(t, mn, firstReg);
      texts.push(text);
      operands.push(operand);
      continue;
    }
    const sh = SHIFT.exec(t);
    if (sh) {
      const amount = sh[2] !== undefined ? Number(parseImm(`#${sh[2]}`) ?? 0n) : 0;
      texts.push(sh[2] !== undefined ? `${sh[1]} #${amount}` : sh[1]!);
      operands.push({ kind: 'shift', shift: sh[1]!, amount });
      continue;
    }
    if (last && CONDITIONAL.has(mn) && (CONDITIONS[t] || CAPSTONE_CONDITION[t])) {
      const c = objdumpCondition(t);
      texts.push(c);
      const alts = CONDITIONS[c]!.slice(1);
      if (alts.length) comment = `${c} = ${alts.join(', ')}`;
      operands.push({ kind: 'condition', condition: c });
      continue;
    }
    texts.push(t);
    operands.push(/^([wx]([12]?\d|3[01])|w?sp|[wx]zr|[bhsdqv]([12]?\d|3[01])(\.\w+)?(\[\d+\])?)$/.test(t) ? { kind: 'register', register: t } : { kind: 'name', name: t });
  }
  const out: ReturnType<typeof objdumpSpelling> = { mnemonic: mn, operandText: texts.join(', '), operands };
  if (comment !== undefined) out.comment = comment;
  if (target !== undefined) out.target = target;
  return out;
}

/** `[x0, #0xdb8]` → `[x0, #3512]` and its parts; `[sp, #-0x10]!` pre-index; `[x0, w1, sxtw #2]`. */
function memory(tok: string, mn: string, reg: string | undefined): { text: string; operand: Aarch64MemoryOperand } {
  const pre = tok.endsWith('!');
  const inner = tok.slice(1, tok.lastIndexOf(']'));
  const parts = inner.split(',').map((p) => p.trim());
  const op: Aarch64MemoryOperand = { kind: 'memory', base: parts[0]!, scale: 1, displacement: 0n, displacementSize: 0, size: accessSize(mn, reg) };
  const texts = [parts[0]!];
  for (const p of parts.slice(1)) {
    const imm = parseImm(p);
    if (imm !== undefined) {
      op.displacement = imm;
      op.displacementSize = 4;
      texts.push(dec(imm));
      continue;
    }
    const sh = SHIFT.exec(p);
    if (sh) {
      const amount = sh[2] !== undefined ? Number(parseImm(`#${sh[2]}`) ?? 0n) : undefined;
      if (sh[1] !== 'lsl') op.extend = sh[1]!;
      if (amount !== undefined) op.scale = 2 ** amount;
      texts.push(amount !== undefined ? `${sh[1]} #${amount}` : sh[1]!);
      continue;
    }
    op.index = p;
    texts.push(p);
  }
  if (pre) op.writeback = 'pre';
  return { text: `[${texts.join(', ')}]${pre ? '!' : ''}`, operand: op };
}

/**
 * The address a memory operand refers to, given register values (`x0`..`x30`,
 * `sp`; a `w` register reads its `x` register's low half), or undefined when a
 * register it needs is unknown. Post-index operands address the base itself.
 */
export function aarch64EffectiveAddress(op: Aarch64MemoryOperand, regs: RegisterValues): bigint | undefined {
  if (op.target !== undefined) return op.target;
  const read = (r: string): bigint | undefined => {
    if (r === 'xzr' || r === 'wzr') return 0n;
    if (regs[r] !== undefined) return regs[r];
    if (/^w\d+$/.test(r)) {
      const v = regs[`x${r.slice(1)}`];
      return v === undefined ? undefined : v & 0xffffffffn;
    }
    return undefined;
  };
  const b = read(op.base);
  if (b === undefined) return undefined;
  let a = b;
  if (op.writeback !== 'post') a += op.displacement;
  if (op.index) {
    let i = read(op.index);
    if (i === undefined) return undefined;
    if (op.extend === 'sxtw') i = BigInt.asIntN(32, i);
    else if (op.extend === 'uxtw') i &= 0xffffffffn;
    a += i * BigInt(op.scale);
  }
  return a & U64;
}

/**
 * A reusable A64 disassembler (`Aarch64Disassembler.create()` loads the WASM
 * module): the same calls as the x86 `Disassembler`.
 */
export class Aarch64Disassembler {
  private readonly symbolize: Symbolizer;
  private constructor(private readonly handle: InstanceType<Capstone['Capstone']>, opts: Aarch64Options) {
    this.symbolize = opts.symbolize ?? (() => undefined);
  }

  static async create(opts: Aarch64Options = {}): Promise<Aarch64Disassembler> {
    const cs = await capstone();
    return new Aarch64Disassembler(new cs.Capstone(cs.ARCH_ARM64, cs.MODE_ARM), opts);
  }

  free(): void {
    this.handle.close();
  }

  /** Every instruction in bytes, in order; an undecodable word is one `.inst 0x... ; undefined` entry; a tail under 4 bytes is `truncated`. */
  *disassemble(bytes: Uint8Array, addr: bigint): Generator<Aarch64Instruction> {
    const CHUNK = 4096;
    let pos = 0;
    while (pos + 4 <= bytes.length) {
      const end = Math.min(bytes.length - ((bytes.length - pos) % 4), pos + CHUNK);
      const slice = bytes.subarray(pos, end);
      let got: ReturnType<typeof this.handle.disasm> = [];
      try {
        got = this.handle.disasm(slice, BigInt.asUintN(64, addr + BigInt(pos)));
      } catch {
        got = []; // capstone.js throws when the first word does not decode
      }
      for (const ci of got) {
        const at = addr + BigInt(pos);
        yield this.describe(ci.mnemonic, ci.op_str, at, bytes.slice(pos, pos + 4));
        pos += 4;
      }
      if (got.length * 4 < slice.length) {
        const raw = bytes.slice(pos, pos + 4);
        const w = new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true);
        const word = `0x${w.toString(16).padStart(8, '0')}`;
        yield { addr: addr + BigInt(pos), length: 4, bytes: raw, mnemonic: '.inst', prefixes: [], operandText: word, text: `.inst ${word} ; undefined`, operands: [{ kind: 'immediate', value: BigInt(w) }], flow: 'exception', bad: true };
        pos += 4;
      }
    }
    if (pos < bytes.length) {
      const raw = bytes.slice(pos);
      yield { addr: addr + BigInt(pos), length: raw.length, bytes: raw, mnemonic: '(bad)', prefixes: [], operandText: '', text: '(bad)', operands: [], flow: 'exception', truncated: true };
    }
  }

  all(bytes: Uint8Array, addr: bigint): Aarch64Instruction[] {
    return [...this.disassemble(bytes, addr)];
  }

  decodeOne(bytes: Uint8Array, addr: bigint): Aarch64Instruction | undefined {
    return this.disassemble(bytes.subarray(0, 4), addr).next().value ?? undefined;
  }

  private describe(mnemonic: string, opStr: string, addr: bigint, raw: Uint8Array): Aarch64Instruction {
    const s = objdumpSpelling(mnemonic, opStr, addr, this.symbolize, new DataView(raw.buffer, raw.byteOffset, 4).getUint32(0, true));
    const text = s.operandText ? `${s.mnemonic} ${s.operandText}` : s.mnemonic;
    const out: Aarch64Instruction = { addr, length: 4, bytes: raw, mnemonic: s.mnemonic, prefixes: [], operandText: s.operandText, text, operands: s.operands, flow: flowOf(s.mnemonic) };
    if (s.comment !== undefined) out.comment = s.comment;
    if (s.target !== undefined) {
      out.target = s.target;
      const sym = this.symbolize(s.target);
      if (sym !== undefined) out.targetSymbol = sym;
    }
    return out;
  }
}
