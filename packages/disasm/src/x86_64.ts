/**
 * x86_64 instructions from bytes and the address they sit at, decoded by
 * iced-x86 (WASM, from npm) and printed the way binutils' objdump 2.40 and
 * gdb (so crash `dis`) print them: AT&T syntax by default (`mov
 * 0x98(%rdx),%r8`), Intel (`mov r8,QWORD PTR [rdx+0x98]`) on request.
 *
 * iced formats registers, immediates and mnemonics; the parts where objdump
 * has its own habits are written here: memory operands (`0x0(%rax,%rax,1)`
 * keeps an encoded zero displacement and a scale of 1), branch and call
 * targets (`call ffffffff8106b730 <__fentry__>`, named by the caller's
 * symbolizer), RIP-relative operands' `# <target>` comment, and undecodable
 * bytes (`(bad)`, one byte, then the walk goes on).
 *
 * Operands are also given decomposed (registers, immediates, memory as
 * segment/base/index/scale/displacement), so a caller can compute the
 * effective address of a memory operand from a register set
 * (`effectiveAddress`). This file knows no dump, no flags, no records.
 */
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';
import { ByteStringMap } from './byte-map.js';
import { LEGACY_PREFIX, x86ImmediateSize, x86InstructionLength, x86ModrmAt } from './x86-length.js';

// iced-x86 is CommonJS: required, not imported, because Node's ESM loader first scans a CommonJS
// module's whole source for its export names, 0.1 s of CPU on every start-up for iced's 0.9 MB of glue.
const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
const { Decoder, DecoderOptions, Formatter, FormatterSyntax, FlowControl, OpKind, Register, Code, Mnemonic } = iced;
type IcedInstruction = InstanceType<typeof iced.Instruction>;
type IcedFormatter = InstanceType<typeof iced.Formatter>;

export type Syntax = 'att' | 'intel';

/** A memory operand, decomposed. Registers are lower-case names without `%` (`rdx`, `gs`). */
export interface MemoryOperand {
  kind: 'memory';
  /** segment override as written (`gs`); absent for the default segment */
  segment?: string;
  base?: string;
  index?: string;
  scale: number;
  /** signed displacement as encoded (for RIP-relative operands: relative to the next instruction) */
  displacement: bigint;
  /** bytes of displacement encoding (0 = none) */
  displacementSize: number;
  /** for RIP-relative operands: the absolute address (before any segment base) */
  target?: bigint;
  /** access size in bytes, when the instruction says (0 = unknown, e.g. lea) */
  size: number;
}

/** The operands every architecture has: a register, an immediate, a branch target. */
export type CommonOperand =
  | { kind: 'register'; register: string }
  | { kind: 'immediate'; value: bigint }
  | { kind: 'target'; target: bigint };

export type Operand =
  | CommonOperand
  | MemoryOperand
  /** string instructions' implicit operands (`%ds:(%rsi)`, `%es:(%rdi)`) */
  | { kind: 'string-memory'; segment: string; base: string; size: number };

export type Flow = 'next' | 'jump' | 'cond-jump' | 'indirect-jump' | 'call' | 'indirect-call' | 'return' | 'interrupt' | 'exception' | 'xbegin';

/** One decoded instruction as objdump prints it, whatever the architecture; `O` is its operand model. */
export interface DecodedInstruction<O> {
  addr: bigint;
  length: number;
  bytes: Uint8Array;
  /** the mnemonic as printed, without prefixes (`mov`, `cmpxchg`, `(bad)`) */
  mnemonic: string;
  /** prefixes printed before the mnemonic (`lock`, `rep`, `cs`, `data16`, `notrack`); always empty on A64 */
  prefixes: string[];
  /** the operands as printed */
  operandText: string;
  /** the whole instruction as printed, single-spaced, without its comment: `lock cmpxchg %edx,0x107ea8b(%rip)` */
  text: string;
  /** what objdump prints after `#` (x86: a RIP-relative operand's address and symbol) or `//` (A64: `b.any`, `#-1`) */
  comment?: string;
  operands: O[];
  flow: Flow;
  /** direct branch/call target */
  target?: bigint;
  /** the symbolizer's name for target (`foo+0x10`) */
  targetSymbol?: string;
  /** undecodable bytes (`(bad)`) */
  bad?: boolean;
  /** the bytes end before the instruction does */
  truncated?: boolean;
}

export type Instruction = DecodedInstruction<Operand>;

/** addr -> `name` or `name+0xoff` (objdump's text inside `<>`), or undefined. */
export type Symbolizer = (addr: bigint) => string | undefined;

export interface DisasmOptions {
  syntax?: Syntax;
  symbolize?: Symbolizer;
}

const REG_NAME: string[] = [];
// gas names: r8b..r15b (iced: R8L), st(1) (iced: ST1)
for (const [name, value] of Object.entries(Register)) if (typeof value === 'number') REG_NAME[value] = name.toLowerCase().replace(/^(r\d+)l$/, '$1b');

const FLOW: Record<number, Flow> = {
  [FlowControl.Next]: 'next',
  [FlowControl.UnconditionalBranch]: 'jump',
  [FlowControl.IndirectBranch]: 'indirect-jump',
  [FlowControl.ConditionalBranch]: 'cond-jump',
  [FlowControl.Return]: 'return',
  [FlowControl.Call]: 'call',
  [FlowControl.IndirectCall]: 'indirect-call',
  [FlowControl.Interrupt]: 'interrupt',
  [FlowControl.XbeginXabortXend]: 'xbegin',
  [FlowControl.Exception]: 'exception',
};

const MEM_STRING = new Set<number>([
  OpKind.MemorySegSI, OpKind.MemorySegESI, OpKind.MemorySegRSI, OpKind.MemorySegDI, OpKind.MemorySegEDI, OpKind.MemorySegRDI,
  OpKind.MemoryESDI, OpKind.MemoryESEDI, OpKind.MemoryESRDI,
]);

const U64 = (1n << 64n) - 1n;

/** the prefixes of the many instructions without any: one shared, frozen array */
const NO_PREFIXES: string[] = Object.freeze([]) as unknown as string[];

/** `0x1f`, `-0x8`: objdump's signed hex. */
function signedHex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function makeFormatter(syntax: Syntax): IcedFormatter {
  const f = new Formatter(syntax === 'att' ? FormatterSyntax.Gas : FormatterSyntax.Intel);
  f.uppercaseHex = false;
  f.smallHexNumbersInDecimal = false;
  f.addLeadingZeroToHexNumbers = false;
  f.hexPrefix = '0x';
  f.hexSuffix = '';
  f.branchLeadingZeros = false;
  f.spaceAfterOperandSeparator = false;
  f.signedImmediateOperands = false;
  f.showUselessPrefixes = true;
  // string instructions: objdump writes `%es:(%rdi)`, `%ds:(%rsi)`
  f.alwaysShowSegmentRegister = true;
  if (syntax === 'intel') {
    f.uppercaseKeywords = true;
    f.memorySizeOptions = iced.MemorySizeOptions.Always;
  }
  return f;
}

/** The register-value table `effectiveAddress` reads: lower-case names (`rdx`, `r8`), 64-bit values. */
export type RegisterValues = Partial<Record<string, bigint>>;

/** Sub-registers mapped to their 64-bit parent and a mask (only the ones addressing uses). */
function regValue(name: string, regs: RegisterValues): bigint | undefined {
  if (regs[name] !== undefined) return regs[name];
  const m32 = /^e(ax|bx|cx|dx|si|di|bp|sp)$/.exec(name) ?? /^(r\d+)d$/.exec(name);
  if (m32) {
    const parent = name.startsWith('e') ? `r${m32[1]}` : m32[1]!;
    const v = regs[parent];
    return v === undefined ? undefined : v & 0xffffffffn;
  }
  return undefined;
}

/**
 * The address a memory operand refers to, given register values, or undefined
 * when a register it needs is unknown. `segmentBase` supplies fs/gs bases
 * (per-CPU data is `%gs:`); without it a gs/fs operand has no address.
 */
export function effectiveAddress(op: MemoryOperand, regs: RegisterValues, segmentBase?: (seg: string) => bigint | undefined): bigint | undefined {
  let a: bigint;
  if (op.target !== undefined) a = op.target;
  else {
    a = op.displacement;
    if (op.base) {
      const b = regValue(op.base, regs);
      if (b === undefined) return undefined;
      a += b;
    }
    if (op.index) {
      const i = regValue(op.index, regs);
      if (i === undefined) return undefined;
      a += i * BigInt(op.scale);
    }
  }
  if (op.segment === 'fs' || op.segment === 'gs') {
    const s = segmentBase?.(op.segment);
    if (s === undefined) return undefined;
    a += s;
  }
  return a & U64;
}

/**
 * A reusable disassembler: decode `bytes` as code at `addr`. One formatter per
 * syntax is kept (WASM objects are freed with `free()`).
 */
export class Disassembler {
  private readonly syntax: Syntax;
  private readonly formatter: IcedFormatter;
  private readonly symbolize: Symbolizer;
  private readonly insn: IcedInstruction = new iced.Instruction();

  constructor(opts: DisasmOptions = {}) {
    this.syntax = opts.syntax ?? 'att';
    this.formatter = makeFormatter(this.syntax);
    this.symbolize = opts.symbolize ?? (() => undefined);
  }

  free(): void {
    this.dropWindow();
    this.formatter.free();
    this.insn.free();
  }

  /**
   * What is known of an instruction from its bytes, so that the next one like it costs a table
   * lookup instead of ~10 calls into iced's WASM and the formatting. Most of the kernel's
   * instructions repeat: the 6.1 kernel's 6.7 M instructions are ~0.25 M distinct byte strings
   * apart from branches and RIP-relative operands. Those two are kept by their form (the bytes
   * without the rel8/rel32 or the disp32, whose place the opcode and ModRM fix): the text is the
   * same around the number, and the target is the address plus the number plus the length.
   * An instruction's length is guessed from its bytes (x86InstructionLength) to find it here;
   * only what is not found goes to iced.
   *
   * A memory operand's displacement from a base or index register (`-0x8(%rbp)`) makes most of
   * the distinct byte strings (0.14 M of the 6.1 kernel's 0.19 M come from 27 k forms), and an
   * immediate many of the rest (55 k from 1.8 k forms), so the first of each such byte string is
   * made from its form too (`displaced`, `immediate`: no call into iced), then remembered by its
   * bytes like the rest.
   */
  private readonly exact = new ByteStringMap<Instruction>();
  private readonly branches = new ByteStringMap<Template>();
  private readonly ripRelative = new ByteStringMap<Template>();
  private readonly displaced = new ByteStringMap<Template>();
  private readonly immediate = new ByteStringMap<Template>();
  /** by remembered number: the displacement or immediate form (`templates`) it was made from, or -1 */
  private readonly madeFrom: number[] = [];

  /** The displacement or immediate form a remembered instruction (WalkStep.remembered) was made from, or -1. */
  formOf(remembered: number): number {
    return this.madeFrom[remembered] ?? -1;
  }

  /**
   * Every instruction in bytes, in order; undecodable bytes become one-byte `(bad)` entries.
   * Instructions with the same bytes share their `bytes`, `prefixes` and `operands` arrays (and
   * instructions of one form their `prefixes`): callers must not modify them.
   */
  *disassemble(bytes: Uint8Array, addr: bigint): Generator<Instruction> {
    const walk = newWalk(bytes, addr, 0, false);
    try {
      while (walk.pos < bytes.length) yield this.instructionAt(this.step(walk));
    } finally {
      this.dropWindow();
    }
  }

  /** The instruction a step of `walk` found, as its own object (what `disassemble` yields). */
  instructionAt(s: WalkStep): Instruction {
    const i = s.insn;
    if (s.remembered >= 0) {
      return { addr: s.walkAddr + BigInt(s.offset), length: i.length, bytes: i.bytes, mnemonic: i.mnemonic, prefixes: i.prefixes, operandText: i.operandText, text: i.text, operands: i.operands, flow: i.flow };
    }
    if (s.branch >= 0) {
      const end = s.offset + i.length;
      return this.branchLike(this.templates[s.branch]!, s.walkAddr + BigInt(s.offset), i.length, this.copy(s.bytes, s.offset, end), s.target - end);
    }
    if (s.ripRelative >= 0) {
      const end = s.offset + i.length;
      return this.ripRelativeLike(this.templates[s.ripRelative]!, s.walkAddr + BigInt(s.offset), i.length, this.copy(s.bytes, s.offset, end), s.displacement);
    }
    return i;
  }

  /**
   * The walk for consumers of millions of instructions (the `disasm` command's records): no
   * object and no BigInt per remembered instruction, branch or RIP-relative form. `visit(step)`
   * is called for each instruction from `bytes[from]` until the bytes end or it returns false;
   * the offset reached is returned (call again from there to go on). The step object is reused:
   * see WalkStep for what it holds; `instructionAt(step)` makes the instruction itself.
   */
  walk(bytes: Uint8Array, addr: bigint, visit: (step: WalkStep) => boolean | void, from = 0): number {
    const walk = newWalk(bytes, addr, from, true);
    try {
      while (walk.pos < bytes.length) {
        this.step(walk);
        if (visit(walk) === false) break;
      }
    } finally {
      this.dropWindow();
    }
    return walk.pos;
  }

  /** The remembered forms: branch and RIP-relative (by WalkStep.branch, WalkStep.ripRelative), displacement and immediate (by formOf). */
  private readonly templates: Template[] = [];

  /**
   * The instruction at walk.pos, remembered or decoded, into walk; moves walk.pos past it.
   * The common case (the same bytes seen before) is this small function alone: inside one
   * function with the rest, V8's optimized code made a heap object on every call, hit or not,
   * and took a third longer (measured over the kernel's text, every instruction remembered).
   */
  private step(walk: Walk): Walk {
    const bytes = walk.bytes;
    const pos = walk.pos;
    const guess = x86InstructionLength(bytes, pos, bytes.length);
    if (guess > 0) {
      const same = this.exact.find(bytes, pos, pos + guess);
      if (same >= 0) {
        walk.offset = pos;
        walk.remembered = same;
        walk.branch = -1;
        walk.ripRelative = -1;
        walk.pos = pos + guess;
        walk.insn = this.exact.at(same);
        return walk;
      }
    }
    return this.stepOther(walk, guess);
  }

  /** `step` for an instruction not remembered by its bytes: a branch, RIP-relative, displacement or immediate form, or iced. */
  private stepOther(walk: Walk, guess: number): Walk {
    const { bytes, walkAddr: addr } = walk;
    const pos = walk.pos;
    walk.offset = pos;
    walk.remembered = -1;
    walk.branch = -1;
    walk.ripRelative = -1;
    // the form at the guessed length, kept for `learn` when iced finds that length too
    let form = NO_FORM;
    if (guess > 0) {
      const end = pos + guess;
      form = formAt(bytes, pos, end);
      if (form.branch > 0) {
        const t = this.branches.get(bytes, pos, end - form.branch);
        if (t !== undefined && t.insn.length === guess) {
          walk.pos = end;
          const rel = form.branch === 1 ? (bytes[end - 1]! << 24) >> 24 : readInt32(bytes, end - 4);
          if (walk.lean) {
            walk.branch = t.id;
            walk.target = end + rel;
            walk.insn = t.insn;
          } else walk.insn = this.branchLike(t, addr + BigInt(pos), guess, this.copy(bytes, pos, end), rel);
          return walk;
        }
      } else if (form.modrm >= 0) {
        const t = this.ripRelative.get(bytes, pos, end, form.modrm + 1, form.modrm + 5);
        if (t !== undefined && t.insn.length === guess) {
          walk.pos = end;
          const disp = readInt32(bytes, form.modrm + 1);
          if (walk.lean) {
            walk.ripRelative = t.id;
            walk.displacement = disp;
            walk.target = end + disp;
            walk.insn = t.insn;
          } else walk.insn = this.ripRelativeLike(t, addr + BigInt(pos), guess, this.copy(bytes, pos, end), disp);
          return walk;
        }
      } else {
        const gap = displacementAt(bytes, pos, end);
        if (gap >= 0) {
          const from = Math.floor(gap / 16);
          const to = from + (gap % 16);
          const t = this.displaced.get(bytes, pos, end, from, to);
          if (t !== undefined && t.insn.length === guess && this.exact.size < SEEN_MAX) {
            const disp = to - from === 1 ? (bytes[from]! << 24) >> 24 : readInt32(bytes, from);
            const out = this.displacedLike(t, addr + BigInt(pos), this.copy(bytes, pos, end), disp);
            walk.pos = end;
            walk.remembered = this.exact.set(bytes, pos, end, out);
            this.madeFrom[walk.remembered] = t.id;
            walk.insn = out;
            return walk;
          }
        } else {
          const size = x86ImmediateSize(bytes, pos, end);
          const t = size > 0 ? this.immediate.get(bytes, pos, end, end - size, end) : undefined;
          if (t !== undefined && t.insn.length === guess && this.exact.size < SEEN_MAX) {
            const out = this.immediateLike(t, addr + BigInt(pos), this.copy(bytes, pos, end));
            walk.pos = end;
            walk.remembered = this.exact.set(bytes, pos, end, out);
            this.madeFrom[walk.remembered] = t.id;
            walk.insn = out;
            return walk;
          }
        }
      }
    }
    const at = addr + BigInt(pos);
    const dec = this.decoderAt(bytes, pos, at);
    const ins = this.insn;
    dec.decodeOut(ins);
    const code = ins.code;
    if (code === Code.INVALID) {
      // objdump prints `(bad)` and goes on from the next byte; so do we.
      const truncated = dec.lastError === iced.DecoderError.NoMoreBytes;
      const length = truncated ? bytes.length - pos : 1;
      walk.pos = pos + length;
      walk.insn = {
        addr: at, length, bytes: this.copy(bytes, pos, pos + length), mnemonic: '(bad)', prefixes: [], operandText: '', text: '(bad)', operands: [], flow: 'exception',
        ...(truncated ? { truncated: true } : { bad: true }),
      };
      return walk;
    }
    const length = ins.length;
    const end = pos + length;
    walk.pos = end;
    const out = this.describe(ins, code, at, this.copy(bytes, pos, end));
    // Remembered now: the caller may treat it as it treats the ones to come (its addr is this one's).
    walk.remembered = this.learn(out, bytes, pos, end, length === guess ? form : formAt(bytes, pos, end));
    walk.insn = out;
    return walk;
  }

  /**
   * An instruction's own copy of its bytes, cut from a shared slab: a `slice` per instruction is
   * an ArrayBuffer each, which V8 tracks one by one in every garbage collection.
   */
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  private copy(b: Uint8Array, from: number, to: number): Uint8Array {
    const n = to - from;
    if (this.slabUsed + n > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB, n));
      this.slabUsed = 0;
    }
    const out = this.slab.subarray(this.slabUsed, this.slabUsed + n);
    out.set(b.subarray(from, to));
    this.slabUsed += n;
    return out;
  }

  /**
   * iced's decoder over a window of the bytes: a Decoder copies its bytes into WASM memory, so
   * one over a whole walk's bytes would be copied again on every resumed `walk`.
   */
  private window?: { bytes: Uint8Array; from: number; to: number; dec: InstanceType<typeof Decoder> };
  private decoderAt(bytes: Uint8Array, pos: number, at: bigint): InstanceType<typeof Decoder> {
    let w = this.window;
    if (w === undefined || w.bytes !== bytes || pos < w.from || (pos + 15 > w.to && w.to < bytes.length)) {
      this.dropWindow();
      const to = Math.min(bytes.length, pos + DECODER_WINDOW);
      w = this.window = { bytes, from: pos, to, dec: new Decoder(64, bytes.subarray(pos, to), DecoderOptions.None) };
    }
    w.dec.position = pos - w.from;
    w.dec.ip = at;
    return w.dec;
  }

  private dropWindow(): void {
    this.window?.dec.free();
    this.window = undefined;
  }

  /** The form kinds of the instruction `describe` saw last (set by describe). */
  private lastKinds: number[] = [];

  /**
   * Remembers how to print the next instruction with these bytes, or of this form, without iced.
   * Returns its number when it is remembered by its bytes (WalkStep.remembered), else -1.
   */
  private learn(out: Instruction, b: Uint8Array, start: number, end: number, form: { branch: number; modrm: number }): number {
    if (this.exact.size + this.branches.size + this.ripRelative.size + this.displaced.size + this.immediate.size >= SEEN_MAX) return -1;
    if (out.target === undefined && out.comment === undefined) {
      this.learnDisplaced(out, b, start, end);
      this.learnImmediate(out, b, start, end);
      const id = this.exact.set(b, start, end, out);
      this.madeFrom[id] = -1;
      return id;
    }
    const length = end - start;
    if (out.target !== undefined) {
      // `jmp ffffffff81000000 <x>`: one 64-bit near-branch operand (16/32-bit ones wrap the target)
      const kinds = this.lastKinds;
      if (form.branch === 0 || kinds.length !== 1 || kinds[0] !== OpKind.NearBranch64 || out.comment !== undefined || out.operands.length !== 1) return -1;
      const rel = form.branch === 1 ? (b[end - 1]! << 24) >> 24 : readInt32(b, end - 4);
      if (BigInt.asIntN(64, out.target - out.addr - BigInt(length)) !== BigInt(rel)) return -1;
      const head = out.text.slice(0, out.text.length - out.operandText.length);
      if (!head.endsWith(' ')) return -1;
      const t: Template = { id: this.templates.length, insn: out, before: head, after: '', operandBefore: '', operandAfter: '', memory: -1, kind: 'branch' };
      this.templates.push(t);
      this.branches.set(b, start, end - form.branch, t);
      return -1;
    }
    // `mov 0x1a03f51(%rip),%rsp  # <target>`: the text around the displacement is the same everywhere
    const m = form.modrm;
    if (m < 0 || (b[m]! & 0xc7) !== 0x05) return -1;
    let memory = -1;
    for (let k = 0; k < out.operands.length; k++) {
      const o = out.operands[k]!;
      if (o.kind === 'memory' && o.target !== undefined) {
        if (memory >= 0 || o.base !== 'rip' || o.displacement !== BigInt(readInt32(b, m + 1))) return -1;
        memory = k;
      }
    }
    if (memory < 0) return -1;
    const needle = this.ripText(Number((out.operands[memory] as MemoryOperand).displacement));
    const template = this.numberForm(out, 'rip', memory, needle, (text) => onceAt(text, needle));
    if (template) this.ripRelative.set(b, start, end, template, m + 1, m + 5);
    return -1;
  }

  /**
   * Remembers the form of an instruction whose one memory operand has a base or index register
   * and a disp8/disp32 (`mov -0x8(%rbp),%rax`): its text around the displacement's number. Only
   * when the displacement is where x86ModrmAt says and the number is found once in the text.
   */
  private learnDisplaced(out: Instruction, b: Uint8Array, start: number, end: number): void {
    const gap = displacementAt(b, start, end);
    if (gap < 0) return;
    const from = Math.floor(gap / 16);
    const to = from + (gap % 16);
    if (this.displaced.find(b, start, end, from, to) >= 0) return;
    let memory = -1;
    for (let k = 0; k < out.operands.length; k++) {
      if (out.operands[k]!.kind !== 'memory') continue;
      if (memory >= 0) return;
      memory = k;
    }
    const m = out.operands[memory] as MemoryOperand | undefined;
    if (m === undefined || m.target !== undefined || (!m.base && !m.index) || m.displacementSize !== to - from) return;
    const disp = to - from === 1 ? (b[from]! << 24) >> 24 : readInt32(b, from);
    if (m.displacement !== BigInt(disp)) return;
    const needle = this.displacementText(disp);
    // the number is followed by its operand's `(` (AT&T) or `]` (Intel)
    const close = this.syntax === 'att' ? '(' : ']';
    const template = this.numberForm(out, 'displacement', memory, needle, (text) => onceAt(text, needle + close));
    if (template) this.displaced.set(b, start, end, template, from, to);
  }

  /**
   * Remembers the form of an instruction with one immediate operand, its last bytes (SDM vol. 2,
   * 2.1: the immediate ends the instruction), and no base/index displacement: its text around
   * the immediate's printed number. Only when the bytes give iced's value and the number is
   * found once in the text.
   */
  private learnImmediate(out: Instruction, b: Uint8Array, start: number, end: number): void {
    const size = x86ImmediateSize(b, start, end);
    if (size === 0 || displacementAt(b, start, end) >= 0 || this.immediate.find(b, start, end, end - size, end) >= 0) return;
    let which = -1;
    for (let k = 0; k < out.operands.length; k++) {
      if (out.operands[k]!.kind !== 'immediate') continue;
      if (which >= 0) return;
      which = k;
    }
    let kind = -1;
    for (const k of this.lastKinds) {
      if (k < OpKind.Immediate8 || k > OpKind.Immediate32to64) continue;
      if (kind >= 0) return;
      kind = k;
    }
    if (which < 0 || kind < 0 || kind === OpKind.Immediate8_2nd || immediateSize(kind) !== size) return;
    const raw = immediateBytes(b, end - size, size);
    if (immediateValue(raw, kind) !== (out.operands[which] as { value: bigint }).value) return;
    const needle = this.immediateText(raw, kind);
    const template = this.numberForm(out, 'immediate', which, needle, (text) => numberAt(text, needle), kind);
    if (template) this.immediate.set(b, start, end, template, end - size, end);
  }

  /**
   * A new form of `out`: its text and operand text around the number `needle`, which `where`
   * finds in each (once, or -1: no form). `operand`: the index of the operand the number is in.
   */
  private numberForm(out: Instruction, kind: Template['kind'], operand: number, needle: string, where: (text: string) => number, opKind?: number): Template | undefined {
    const t = where(out.text);
    const o = where(out.operandText);
    if (t < 0 || o < 0) return undefined;
    const template: Template = {
      id: this.templates.length, insn: out, before: out.text.slice(0, t), after: out.text.slice(t + needle.length),
      operandBefore: out.operandText.slice(0, o), operandAfter: out.operandText.slice(o + needle.length), memory: operand, kind,
    };
    if (opKind !== undefined) template.opKind = opKind;
    this.templates.push(template);
    return template;
  }

  /** An instruction of form t at `at` with bytes raw: the form's text with this one's number, and these operands. */
  private fromForm(t: Template, at: bigint, raw: Uint8Array, needle: string, operands: Operand[]): Instruction {
    const i = t.insn;
    return {
      addr: at, length: raw.length, bytes: raw, mnemonic: i.mnemonic, prefixes: i.prefixes, operandText: t.operandBefore + needle + t.operandAfter, text: t.before + needle + t.after, operands, flow: i.flow,
    };
  }

  /** How iced prints an immediate (signedImmediateOperands off): unsigned, in the width its kind extends it to. */
  private immediateText(raw: bigint, kind: number): string {
    const h = `0x${immediatePrinted(raw, kind).toString(16)}`;
    return this.syntax === 'att' ? `$${h}` : h;
  }

  private immediateLike(t: Template, at: bigint, raw: Uint8Array): Instruction {
    const i = t.insn;
    const kind = t.opKind!;
    const size = immediateSize(kind);
    const imm = immediateBytes(raw, raw.length - size, size);
    const operands = i.operands.slice();
    operands[t.memory] = { kind: 'immediate', value: immediateValue(imm, kind) };
    return this.fromForm(t, at, raw, this.immediateText(imm, kind), operands);
  }

  /** How a base/index memory operand's displacement is printed: `-0x8` in `-0x8(%rbp)`, `-0x8` and `+0x8` in `[rbp-0x8]`, `[rbp+0x8]`. */
  private displacementText(disp: number): string {
    const h = disp < 0 ? `-0x${(-disp).toString(16)}` : `0x${disp.toString(16)}`;
    return this.syntax === 'intel' && disp >= 0 ? `+${h}` : h;
  }

  private displacedLike(t: Template, at: bigint, raw: Uint8Array, disp: number): Instruction {
    const i = t.insn;
    const operands = i.operands.slice();
    operands[t.memory] = { ...(operands[t.memory] as MemoryOperand), displacement: BigInt(disp) };
    return this.fromForm(t, at, raw, this.displacementText(disp), operands);
  }

  /** How a RIP-relative operand's displacement is printed: `0x1a03f51(%rip)`, `[rip+0x1a03f51]`. */
  private ripText(disp: number): string {
    const h = this.displacementText(disp);
    return this.syntax === 'att' ? `${h}(%rip)` : `[rip${h}]`;
  }

  private branchLike(t: Template, at: bigint, length: number, raw: Uint8Array, rel: number): Instruction {
    const i = t.insn;
    const target = BigInt.asUintN(64, at + BigInt(length + rel));
    const sym = this.symbolize(target);
    const operandText = sym !== undefined ? `${target.toString(16)} <${sym}>` : target.toString(16);
    const out: Instruction = { addr: at, length, bytes: raw, mnemonic: i.mnemonic, prefixes: i.prefixes, operandText, text: t.before + operandText, operands: [{ kind: 'target', target }], flow: i.flow };
    out.target = target;
    if (sym !== undefined) out.targetSymbol = sym;
    return out;
  }

  private ripRelativeLike(t: Template, at: bigint, length: number, raw: Uint8Array, disp: number): Instruction {
    const target = BigInt.asUintN(64, at + BigInt(length + disp));
    return this.ripRelativeWith(t, at, raw, disp, target, this.symbolize(target));
  }

  /**
   * An instruction of RIP-relative form `id` (WalkStep.ripRelative) with the given bytes,
   * displacement, target and target name, which need not agree with each other: insn-json's
   * `ripRelativeTemplate` makes one with sentinel values to find where they are printed.
   */
  ripRelativeForm(id: number, raw: Uint8Array, disp: number, target: bigint, symbol: string | undefined): Instruction {
    const t = this.templates[id];
    if (t?.kind !== 'rip') throw new RangeError(`no RIP-relative form ${id}`);
    return this.ripRelativeWith(t, t.insn.addr, raw, disp, target, symbol);
  }

  private ripRelativeWith(t: Template, at: bigint, raw: Uint8Array, disp: number, target: bigint, sym: string | undefined): Instruction {
    const i = t.insn;
    const operands = i.operands.slice();
    operands[t.memory] = { ...(operands[t.memory] as MemoryOperand), displacement: BigInt(disp), target };
    const out = this.fromForm(t, at, raw, this.ripText(disp), operands);
    out.comment = sym !== undefined ? `${target.toString(16)} <${sym}>` : target.toString(16);
    return out;
  }

  /** All of `disassemble` as an array. */
  all(bytes: Uint8Array, addr: bigint): Instruction[] {
    return [...this.disassemble(bytes, addr)];
  }

  /** The first instruction of bytes, which sit at addr (undefined for no bytes). */
  decodeOne(bytes: Uint8Array, addr: bigint): Instruction | undefined {
    return this.disassemble(bytes.subarray(0, 15), addr).next().value ?? undefined;
  }

  /**
   * What depends only on the instruction's form (iced's Code and its operand kinds):
   * flow, the formatter's operand order, the mnemonic without prefixes. Read
   * once per form; every call into WASM saved here is most of the cost.
   */
  private readonly forms = new Map<number, Form>();
  private form(ins: IcedInstruction, code: number): Form {
    // r/m forms share a Code between register and memory operands: the kinds are part of the key.
    const n = ins.opCount;
    let packed = 0;
    const kinds: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = ins.opKind(i);
      kinds.push(k);
      packed = packed * 32 + k;
    }
    // Code < 8192, n < 8, kinds < 32 each (n <= 5): distinct keys below 2^53.
    const key = code + 8192 * (n + 8 * packed);
    let fm = this.forms.get(key);
    if (fm) return fm;
    const f = this.formatter;
    const fc = f.operandCount(ins);
    const order: (number | undefined)[] = [];
    for (let j = 0; j < fc; j++) order.push(f.getInstructionOperand(ins, j));
    const mn = ins.mnemonic;
    fm = {
      kinds, order, flow: FLOW[ins.flowControl] ?? 'next', mnemonicEnum: mn, memSize: memSize(ins),
      shiftBy1: SHIFT_BY_1.has(code), portIo: PORT_IO.has(mn),
      // the formatter shortens some forms by their operands' values (imul r,r,imm with equal registers): never cached
      cacheable: mn !== Mnemonic.Imul,
      mnemonic: '',
    };
    if (fm.cacheable) this.forms.set(key, fm);
    return fm;
  }

  private describe(ins: IcedInstruction, code: number, addr: bigint, raw: Uint8Array): Instruction {
    const f = this.formatter;
    const syntax = this.syntax;
    const fm = this.form(ins, code);
    this.lastKinds = fm.kinds;
    const flow = fm.flow;
    const byIndex: Operand[] = [];
    let target: bigint | undefined;
    let comment: string | undefined;
    let targetSymbol: string | undefined;
    let named = false;
    const n = fm.kinds.length;
    for (let i = 0; i < n; i++) {
      const k = fm.kinds[i]!;
      if (k === OpKind.Register) byIndex[i] = { kind: 'register', register: REG_NAME[ins.opRegister(i)]! };
      else if (k === OpKind.NearBranch64 || k === OpKind.NearBranch32 || k === OpKind.NearBranch16) {
        target = ins.nearBranch64;
        byIndex[i] = { kind: 'target', target };
      } else if (k === OpKind.Memory) byIndex[i] = this.memory(ins, fm, addr + BigInt(raw.length));
      else if (MEM_STRING.has(k)) {
        const segment = REG_NAME[ins.memorySegment]!;
        const base = k === OpKind.MemorySegRSI || k === OpKind.MemorySegESI || k === OpKind.MemorySegSI ? 'rsi' : 'rdi';
        byIndex[i] = { kind: 'string-memory', segment, base, size: fm.memSize };
      } else if (k >= OpKind.Immediate8 && k <= OpKind.Immediate32to64) byIndex[i] = { kind: 'immediate', value: ins.immediate(i) };
    }

    // Mnemonic and prefixes as iced prints them, then objdump's spelling. Without legacy prefix
    // bytes the text depends on the form alone.
    const prefixed = hasLegacyPrefix(raw);
    let mnemonic: string;
    let prefixes: string[];
    if (!prefixed && fm.mnemonic !== '') {
      mnemonic = fm.mnemonic;
      prefixes = NO_PREFIXES;
    } else {
      const words = f.formatMnemonic(ins).trim().split(/\s+/);
      mnemonic = words.pop() ?? '';
      prefixes = words;
      if (syntax === 'att' && (flow === 'indirect-call' || flow === 'indirect-jump' || flow === 'call' || flow === 'jump' || flow === 'return') && /^(call|jmp|ret)q$/.test(mnemonic)) {
        mnemonic = mnemonic.slice(0, -1); // binutils 2.40 prints call/jmp/ret without the q
      }
      if (mnemonic === 'pushq' || mnemonic === 'popq') mnemonic = mnemonic.slice(0, -1); // binutils 2.40: `push -0x158(%rbp)`
      if (mnemonic === 'ljmpl' || mnemonic === 'lcalll') mnemonic = mnemonic.slice(0, -1);
      if (!prefixed && fm.cacheable) fm.mnemonic = mnemonic;
    }
    const nop = mnemonic.startsWith('nop');
    if (nop) prefixes = nopPrefixes(raw, mnemonic);

    // Operands in printed order: iced knows AT&T's reversal; memory, registers and branch targets are ours.
    const order = fm.cacheable ? fm.order : Array.from({ length: f.operandCount(ins) }, (_, j) => f.getInstructionOperand(ins, j));
    const parts: string[] = [];
    for (let j = 0; j < order.length; j++) {
      const io = order[j];
      const k = io === undefined ? undefined : fm.kinds[io];
      if (fm.shiftBy1 && k !== undefined && k >= OpKind.Immediate8 && k <= OpKind.Immediate32to64) continue; // objdump: `shr %eax`
      if (k === OpKind.NearBranch64 || k === OpKind.NearBranch32 || k === OpKind.NearBranch16) {
        targetSymbol = this.symbolize(target!);
        named = true;
        const sym = targetSymbol;
        parts.push(`${target!.toString(16)}${sym !== undefined ? ` <${sym}>` : ''}`);
      } else if (k === OpKind.Memory) {
        const m = byIndex[io!] as MemoryOperand;
        const indirect = syntax === 'att' && (flow === 'indirect-call' || flow === 'indirect-jump') ? '*' : '';
        // A segment prefix on a nop is padding: objdump prints it as a prefix word (`cs nopw 0x0(%rax,%rax,1)`).
        // So is cs/ds/es/ss on anything in 64-bit mode, where it is ignored (`ds clflush (%rax)`).
        const ignored = m.segment !== undefined && m.segment !== 'fs' && m.segment !== 'gs';
        if (ignored && !nop) prefixes = [...prefixes, m.segment!];
        const shown = nop || ignored ? { ...m, segment: undefined } : m;
        parts.push(indirect + (syntax === 'att' ? attMemory(shown) : intelMemory(shown, f.formatOperand(ins, j))));
        if (m.target !== undefined) {
          const t = m.target & U64;
          const sym = this.symbolize(t);
          comment = `${t.toString(16)}${sym !== undefined ? ` <${sym}>` : ''}`;
        }
      } else if (k === OpKind.Register && syntax === 'att' && !fm.portIo && !SYSTEM_REG_OPS.has(fm.mnemonicEnum)) {
        const r = (byIndex[io!] as { register: string }).register;
        const star = flow === 'indirect-call' || flow === 'indirect-jump' ? '*' : '';
        parts.push(star + (r.startsWith('dr') ? `%db${r.slice(2)}` : `%${REG_ATT[r] ?? r}`)); // objdump names debug registers %db0..%db7
      } else {
        let t = f.formatOperand(ins, j);
        if (syntax === 'att') {
          if (t === '%dx' && fm.portIo) t = '(%dx)'; // objdump: `in (%dx),%al`
          else if (t.startsWith('%dr')) t = `%db${t.slice(3)}`;
        }
        parts.push(t);
      }
    }
    // objdump lists monitor/mwait's implicit register operands.
    const implicit = syntax === 'att' ? IMPLICIT_ATT[mnemonic] : undefined;
    if (implicit && parts.length === 0) parts.push(...implicit);
    // `imul $0x78,%rdi,%rdi`: objdump keeps the three-operand form iced shortens when source and destination agree.
    if (fm.mnemonicEnum === Mnemonic.Imul && n === 3 && parts.length === 2) parts.splice(1, 0, parts[1]!);
    const operandText = parts.join(',');
    // Operands in the order they are printed (AT&T: sources first, destination last).
    const operands: Operand[] = [];
    let seen = 0; // a bit per operand index (at most 5)
    for (let j = 0; j < order.length; j++) {
      const io = order[j];
      if (io !== undefined && byIndex[io] && !(seen & (1 << io))) {
        operands.push(byIndex[io]!);
        seen |= 1 << io;
      }
    }
    for (let i = 0; i < n; i++) if (byIndex[i] && !(seen & (1 << i))) operands.push(byIndex[i]!);
    const head = prefixes.length ? `${prefixes.join(' ')} ${mnemonic}` : mnemonic;
    const text = operandText ? `${head} ${operandText}` : head;
    const out: Instruction = { addr, length: raw.length, bytes: raw, mnemonic, prefixes, operandText, text, operands, flow };
    if (comment !== undefined) out.comment = comment;
    if (target !== undefined) {
      out.target = target;
      const sym = named ? targetSymbol : this.symbolize(target);
      if (sym !== undefined) out.targetSymbol = sym;
    }
    return out;
  }

  private memory(ins: IcedInstruction, fm: Form, nextIP: bigint): MemoryOperand {
    const base = ins.memoryBase;
    const index = ins.memoryIndex;
    const seg = ins.segmentPrefix;
    // iced reports a disp32 in 64-bit code as 8 (sign-extended); the encoding holds 4 bytes.
    const displSize = ins.memoryDisplSize === 8 && (base !== Register.None || index !== Register.None) ? 4 : ins.memoryDisplSize;
    const m: MemoryOperand = { kind: 'memory', scale: ins.memoryIndexScale, displacement: 0n, displacementSize: displSize, size: fm.memSize };
    if (seg !== Register.None) m.segment = REG_NAME[seg]!;
    if (base === Register.RIP || base === Register.EIP) {
      m.base = REG_NAME[base]!;
      m.target = ins.memoryDisplacementU64;
      m.displacement = BigInt.asIntN(32, m.target - nextIP);
      return m;
    }
    if (base !== Register.None) m.base = REG_NAME[base]!;
    if (index !== Register.None) m.index = REG_NAME[index]!;
    m.displacement = BigInt.asIntN(64, ins.memoryDisplacementU64);
    return m;
  }
}

const PORT_IO = new Set<number>([Mnemonic.In, Mnemonic.Out, Mnemonic.Insb, Mnemonic.Insw, Mnemonic.Insd, Mnemonic.Outsb, Mnemonic.Outsw, Mnemonic.Outsd]);
const IMPLICIT_ATT: Record<string, string[]> = {
  monitor: ['%rax', '%ecx', '%edx'],
  mwait: ['%eax', '%ecx'],
  monitorx: ['%rax', '%ecx', '%edx'],
  mwaitx: ['%eax', '%ecx', '%ebx'],
};

/** instructions' bytes are cut from slabs of this size (see copy) */
const SLAB = 64 * 1024;

/** bytes copied into iced's decoder at a time (see decoderAt) */
const DECODER_WINDOW = 4096;

/**
 * One step of `Disassembler.walk`: the instruction at `bytes[offset]` (at `walkAddr + offset`).
 * - `remembered` >= 0: the instruction is remembered by its bytes (seen before, or now for the
 *   first time); `insn` is the first one seen, so its `addr` may not be this one's; the number
 *   (0, 1, 2... per Disassembler) lets a caller keep what it derives from it in an array.
 * - `branch` >= 0: a direct jmp/call/jcc of a form seen before; `insn` is that form's first
 *   instruction, so its `addr`, `bytes`, text and target are not this one's; this one's target
 *   is `walkAddr + target` (target is an offset from the walk's start, like `offset`), its
 *   length is `insn.length`.
 * - `ripRelative` >= 0: an instruction with a RIP-relative operand, of a form seen before (the
 *   same bytes but the disp32); `insn` is that form's first instruction; this one's
 *   displacement is `displacement`, and the operand's address `walkAddr + target`.
 * - otherwise `insn` is this instruction, made for it.
 */
export interface WalkStep {
  bytes: Uint8Array;
  walkAddr: bigint;
  offset: number;
  insn: Instruction;
  remembered: number;
  branch: number;
  ripRelative: number;
  displacement: number;
  target: number;
}

/** Where `disassemble`/`walk` are in their bytes; `lean`: report branch and RIP-relative forms (WalkStep) instead of making instructions. */
interface Walk extends WalkStep {
  pos: number;
  lean: boolean;
}

const NO_INSTRUCTION: Instruction = { addr: 0n, length: 0, bytes: new Uint8Array(0), mnemonic: '', prefixes: [], operandText: '', text: '', operands: [], flow: 'next' };

function newWalk(bytes: Uint8Array, walkAddr: bigint, pos: number, lean: boolean): Walk {
  return { bytes, walkAddr, offset: pos, insn: NO_INSTRUCTION, remembered: -1, branch: -1, ripRelative: -1, displacement: 0, target: 0, pos, lean };
}

function readInt32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

/** distinct byte strings and forms remembered per Disassembler (the 6.1 kernel's whole text has ~0.3 M) */
const SEEN_MAX = 1 << 20;

/** A branch, RIP-relative or displacement form: the first instruction seen, and its text around the number that varies. */
interface Template {
  kind: 'branch' | 'rip' | 'displacement' | 'immediate';
  /** an immediate form's OpKind (how its bytes extend to its value) */
  opKind?: number;
  /** the form's number (WalkStep.branch, WalkStep.ripRelative) */
  id: number;
  insn: Instruction;
  before: string;
  after: string;
  operandBefore: string;
  operandAfter: string;
  /** the index of the RIP-relative or displaced memory operand, or of the immediate (-1 for a branch form) */
  memory: number;
}

const NO_FORM = { branch: 0, modrm: -1 };
// shared: formAt runs for every branch, and an object each was garbage by the hundred thousand
const REL32_FORM = { branch: 4, modrm: -1 };
const REL8_FORM = { branch: 1, modrm: -1 };

/**
 * Where the varying number of a branch or RIP-relative instruction sits, from its bytes
 * (Intel SDM vol. 2, 2.1-2.2: legacy prefixes, REX, opcode, ModRM; mod=00 rm=101 is
 * RIP+disp32): `branch` = the size of a trailing rel8/rel32 for jmp/call/jcc/loop/jrcxz,
 * else `modrm` = the index of a ModRM byte that selects RIP+disp32. A guess only: a form is
 * remembered after iced decoded an instruction of it and the number was where this says.
 * VEX/EVEX/XOP encodings are left out.
 */
function formAt(b: Uint8Array, start: number, end: number): { branch: number; modrm: number } {
  let i = start;
  while (i < end && LEGACY_PREFIX[b[i]!] === 1) i++;
  if (i < end && (b[i]! & 0xf0) === 0x40) i++;
  if (i >= end) return NO_FORM;
  const op = b[i]!;
  if (op === 0xe8 || op === 0xe9) return end - i === 5 ? REL32_FORM : NO_FORM;
  if (op === 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3)) return end - i === 2 ? REL8_FORM : NO_FORM;
  if (op === 0xc4 || op === 0xc5 || op === 0x62 || op === 0x8f) return NO_FORM;
  let m = i + 1;
  if (op === 0x0f) {
    const op2 = b[i + 1];
    if (op2 !== undefined && op2 >= 0x80 && op2 <= 0x8f) return end - i === 6 ? REL32_FORM : NO_FORM;
    m = op2 === 0x38 || op2 === 0x3a ? i + 3 : i + 2;
  }
  return m + 5 <= end && (b[m]! & 0xc7) === 0x05 ? { branch: 0, modrm: m } : NO_FORM;
}

/**
 * Where a base/index memory operand's disp8/disp32 sits in the instruction `b[start, end)`,
 * from its ModRM (SDM vol. 2 table 2-2: mod 01 and 10; a SIB byte when rm is 100), as
 * `offset * 16 + size`, or -1. A guess, like x86ModrmAt.
 */
function displacementAt(b: Uint8Array, start: number, end: number): number {
  const modrm = x86ModrmAt(b, start, end);
  if (modrm < 0) return -1;
  const mod = b[modrm]! >> 6;
  if (mod !== 1 && mod !== 2) return -1;
  const from = modrm + ((b[modrm]! & 7) === 4 ? 2 : 1);
  const size = mod === 1 ? 1 : 4;
  return from + size <= end ? from * 16 + size : -1;
}

/** b[at, at+size) as a little-endian unsigned number (an immediate's bytes). */
function immediateBytes(b: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

/** How many bytes an immediate of this OpKind is encoded in (they end the instruction). */
function immediateSize(k: number): number {
  return k === OpKind.Immediate64 ? 8 : k === OpKind.Immediate32 || k === OpKind.Immediate32to64 ? 4 : k === OpKind.Immediate16 ? 2 : 1;
}

/** An immediate's value as iced gives it (Instruction.immediate): the imm8s and imm32 that extend, sign-extended to 64 bits. */
function immediateValue(raw: bigint, kind: number): bigint {
  if (kind === OpKind.Immediate8to16 || kind === OpKind.Immediate8to32 || kind === OpKind.Immediate8to64) return BigInt.asUintN(64, BigInt.asIntN(8, raw));
  if (kind === OpKind.Immediate32to64) return BigInt.asUintN(64, BigInt.asIntN(32, raw));
  return raw;
}

/** The number iced prints for an immediate: sign-extended to its operand's width, unsigned (`and $0xfffffff0,%eax` for 83 e0 f0). */
function immediatePrinted(raw: bigint, kind: number): bigint {
  if (kind === OpKind.Immediate8to16) return BigInt.asUintN(16, BigInt.asIntN(8, raw));
  if (kind === OpKind.Immediate8to32) return BigInt.asUintN(32, BigInt.asIntN(8, raw));
  return immediateValue(raw, kind);
}

/** Where `needle` is in text when it is there once; -1 otherwise. */
function onceAt(text: string, needle: string): number {
  const at = text.indexOf(needle);
  return at < 0 || text.indexOf(needle, at + 1) >= 0 ? -1 : at;
}

/** Where `needle` (a number as printed) is in text, once and not inside a longer number; -1 otherwise. */
function numberAt(text: string, needle: string): number {
  const at = onceAt(text, needle);
  if (at < 0 || /[0-9a-fx]/.test(text[at + needle.length] ?? '') || /[0-9a-fx]/.test(text[at - 1] ?? '')) return -1;
  return at;
}

interface Form {
  kinds: number[];
  order: (number | undefined)[];
  flow: Flow;
  mnemonicEnum: number;
  memSize: number;
  shiftBy1: boolean;
  portIo: boolean;
  cacheable: boolean;
  /** the printed mnemonic when the instruction has no legacy prefixes ('' until first seen) */
  mnemonic: string;
}

/** Instructions whose register operand iced prints narrower than the register it decodes (`ltr %ax`): formatted by iced. */
const SYSTEM_REG_OPS = new Set<number>([Mnemonic.Ltr, Mnemonic.Lldt, Mnemonic.Sldt, Mnemonic.Str, Mnemonic.Smsw, Mnemonic.Lmsw, Mnemonic.Verr, Mnemonic.Verw, Mnemonic.Lar, Mnemonic.Lsl]);

/** Legacy prefix bytes before the opcode (REX aside): the printed prefixes may then differ per instruction. */
function hasLegacyPrefix(raw: Uint8Array): boolean {
  return raw.length > 0 && LEGACY_PREFIX[raw[0]!] === 1;
}

/** AT&T names that differ from iced's lower-cased enum names (iced: `st0`, `mm0`; gas: `st(0)`, `mm0`). */
const REG_ATT: Record<string, string> = { st0: 'st', st1: 'st(1)', st2: 'st(2)', st3: 'st(3)', st4: 'st(4)', st5: 'st(5)', st6: 'st(6)', st7: 'st(7)' };

/** `shr $1`-style encodings (D0/D1): objdump prints no count operand. */
const SHIFT_BY_1 = new Set<number>();
// by name (Rol_rm8_1 ... Sar_rm64_1): a scan of iced's ~4,900 Code names cost every start-up a few ms
for (const op of ['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sal', 'Sar']) {
  for (const width of [8, 16, 32, 64]) {
    const code = (Code as unknown as Record<string, number | undefined>)[`${op}_rm${width}_1`];
    if (code !== undefined) SHIFT_BY_1.add(code);
  }
}

/**
 * A nop's legacy prefixes as objdump names them: every 0x66 beyond the one
 * that makes it `nopw` is `data16`, segment overrides are `cs`/`ds`/...
 */
function nopPrefixes(raw: Uint8Array, mnemonic: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (; i < raw.length; i++) {
    const b = raw[i]!;
    if (b === 0x66) out.push('data16');
    else if (b === 0x2e) out.push('cs');
    else if (b === 0x3e) out.push('ds');
    else if (b === 0x26) out.push('es');
    else if (b === 0x36) out.push('ss');
    else if (b === 0x64) out.push('fs');
    else if (b === 0x65) out.push('gs');
    else break;
  }
  if (mnemonic === 'nopw') {
    const last = out.lastIndexOf('data16');
    if (last >= 0) out.splice(last, 1);
  }
  return out;
}

function memSize(ins: IcedInstruction): number {
  const s = iced.MemorySizeExt.size(ins.memorySize);
  return s;
}

/** objdump's AT&T memory operand: `%gs:0x28`, `-0x8(%rbp)`, `0x0(%rax,%rax,1)`, `0x1234(%rip)`. */
function attMemory(m: MemoryOperand): string {
  const seg = m.segment ? `%${m.segment}:` : '';
  if (!m.base && !m.index) {
    // absolute (SIB without base and index, or moffs): objdump prints the address unsigned
    return `${seg}0x${(m.displacement & U64).toString(16)}`;
  }
  const disp = m.displacementSize > 0 || m.target !== undefined ? signedHex(m.displacement) : '';
  const regs = m.index ? `${m.base ? `%${m.base}` : ''},%${m.index},${m.scale}` : `%${m.base}`;
  return `${seg}${disp}(${regs})`;
}

/** objdump -M intel memory operand: `QWORD PTR [rdx+0x98]`, `DWORD PTR gs:[rip+0x7e64c1b6]`. */
function intelMemory(m: MemoryOperand, iced: string): string {
  const sizeWord = /^([A-Z]+ PTR )/.exec(iced)?.[1] ?? '';
  const seg = m.segment ? `${m.segment}:` : '';
  const inner: string[] = [];
  if (m.base) inner.push(m.base);
  if (m.index) inner.push(`${inner.length ? '+' : ''}${m.index}*${m.scale}`);
  if (!m.base && !m.index) return `${sizeWord}${seg}0x${(m.displacement & U64).toString(16)}`;
  if (m.displacementSize > 0 || m.target !== undefined) inner.push(m.displacement < 0n ? `-0x${(-m.displacement).toString(16)}` : `+0x${m.displacement.toString(16)}`);
  return `${sizeWord}${seg}[${inner.join('')}]`;
}

export { Code };
