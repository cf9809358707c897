/**
 * The parts of an `insn` record (docs/records.md) that an instruction alone
 * decides, as JSON written by hand, as UTF-8 bytes: a disassembly of the
 * kernel's text is millions of records, and building an object per record and
 * per operand for JSON.stringify was most of the `disasm` command's time. The
 * command keeps these parts per remembered instruction (Disassembler.walk) as
 * bytes (InsnWriter), and fills a form's holes (branchTemplate,
 * ripRelativeTemplate); `parts` gives the same as text for the records made
 * one at a time. Field order and spelling are the record's, as the command
 * wrote them with JSON.stringify before (a test compares the two).
 */
import type { Disassembler, Instruction, MemoryOperand, Operand } from '@vmpipe/disasm';
import { ByteLines, utf8 } from '@vmpipe/records';

const HEX_BYTE: string[] = [];
for (let b = 0; b < 256; b++) HEX_BYTE.push(b.toString(16).padStart(2, '0'));

/** `48 8d 25 51`: the record's bytes field. */
export function hexBytes(b: Uint8Array): string {
  let s = b.length > 0 ? HEX_BYTE[b[0]!]! : '';
  for (let i = 1; i < b.length; i++) s += ' ' + HEX_BYTE[b[i]!]!;
  return s;
}

/** 64-bit two's complement hex without `0x` */
const u64 = (v: bigint) => BigInt.asUintN(64, v).toString(16);

/** A memory operand's fields beyond the instruction's own (the `member` names of `disasm --member-of`). */
export type MemoryExtra = (o: MemoryOperand) => Record<string, unknown> | undefined;

/** The record's fields from `bytes` to `length`, and from `prefixes` to `truncated`, each with a leading comma. */
export interface InsnParts {
  head: string;
  tail: string;
}

// the record's constant pieces, as bytes
const BYTES = utf8(',"bytes":"');
const TEXT = utf8('","text":');
const MNEMONIC = utf8(',"mnemonic":');
const LENGTH = utf8(',"length":');
const PREFIXES = utf8(',"prefixes":[');
const OPERAND_TEXT = utf8(',"operandText":');
const OPERANDS = utf8(',"operands":[');
const FLOW = utf8('],"flow":"');
const TARGET = utf8('","target":"0x');
const TARGET_SYM = utf8(',"targetSym":');
const COMMENT = utf8(',"comment":');
const BAD = utf8(',"bad":true');
const TRUNCATED = utf8(',"truncated":true');
const REGISTER = utf8('{"kind":"register","register":"');
const IMMEDIATE = utf8('{"kind":"immediate","value":"0x');
const TARGET_OPERAND = utf8('{"kind":"target","target":"0x');
const STRING_MEMORY = utf8('{"kind":"string-memory","segment":"');
const MEMORY = utf8('{"kind":"memory"');
const SEGMENT = utf8(',"segment":"');
const BASE = utf8(',"base":"');
const INDEX = utf8(',"index":"');
const SCALE = utf8(',"scale":');
const DISPLACEMENT = utf8(',"displacement":"');
const QUOTE_SIZE = utf8('","size":');
const QUOTE_BASE = utf8('","base":"');
const MEMORY_TARGET = utf8(',"target":"0x');
const END_OPERAND = utf8('"}');
const COMMA = 0x2c;
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

/** `,"key":"value"` for a plain word (a register name, hex digits), when there is one; `key` ends in the opening quote. */
function wordField(out: ByteLines, key: Uint8Array, value: string | undefined): void {
  if (!value) return;
  out.bytes(key);
  out.ascii(value);
  out.byte(QUOTE);
}

export class InsnJson {
  /** where `parts` writes before it reads the text back */
  private readonly scratch = new ByteLines(1 << 12);

  constructor(private readonly extra?: MemoryExtra) {}

  /** `,"bytes":…,"length":N` */
  writeHead(out: ByteLines, ins: Instruction): void {
    out.bytes(BYTES);
    out.hexBytes(ins.bytes, 0, ins.bytes.length);
    out.bytes(TEXT);
    out.json(ins.text);
    out.bytes(MNEMONIC);
    out.json(ins.mnemonic);
    out.bytes(LENGTH);
    out.decimal(ins.length);
  }

  /** `[,"prefixes":…],"operandText":…,"operands":[…],"flow":…[,"target":…][,"targetSym":…][,"comment":…][,"bad":true][,"truncated":true]` */
  writeTail(out: ByteLines, ins: Instruction): void {
    if (ins.prefixes.length) {
      out.bytes(PREFIXES);
      for (let k = 0; k < ins.prefixes.length; k++) {
        if (k) out.byte(COMMA);
        out.json(ins.prefixes[k]!);
      }
      out.byte(CLOSE_BRACKET);
    }
    out.bytes(OPERAND_TEXT);
    out.json(ins.operandText);
    out.bytes(OPERANDS);
    for (let k = 0; k < ins.operands.length; k++) {
      if (k) out.byte(COMMA);
      this.writeOperand(out, ins.operands[k]!);
    }
    out.bytes(FLOW);
    out.ascii(ins.flow);
    if (ins.target !== undefined) {
      out.bytes(TARGET);
      out.ascii(u64(ins.target));
    }
    out.byte(QUOTE);
    if (ins.targetSymbol) {
      out.bytes(TARGET_SYM);
      out.json(ins.targetSymbol);
    }
    if (ins.comment) {
      out.bytes(COMMENT);
      out.json(ins.comment);
    }
    if (ins.bad) out.bytes(BAD);
    if (ins.truncated) out.bytes(TRUNCATED);
  }

  /** One operand as the record carries it: addresses and values as 0x-hex strings, displacements signed. */
  private writeOperand(out: ByteLines, o: Operand): void {
    // register, segment and kind names are plain words: no escaping needed
    switch (o.kind) {
      case 'register':
        out.bytes(REGISTER);
        out.ascii(o.register);
        out.bytes(END_OPERAND);
        return;
      case 'immediate':
        out.bytes(IMMEDIATE);
        out.ascii(u64(o.value));
        out.bytes(END_OPERAND);
        return;
      case 'target':
        out.bytes(TARGET_OPERAND);
        out.ascii(u64(o.target));
        out.bytes(END_OPERAND);
        return;
      case 'string-memory':
        out.bytes(STRING_MEMORY);
        out.ascii(o.segment);
        out.bytes(QUOTE_BASE);
        out.ascii(o.base);
        out.bytes(QUOTE_SIZE);
        out.decimal(o.size);
        out.byte(CLOSE_BRACE);
        return;
      case 'memory': {
        out.bytes(MEMORY);
        wordField(out, SEGMENT, o.segment);
        wordField(out, BASE, o.base);
        wordField(out, INDEX, o.index);
        out.bytes(SCALE);
        out.decimal(o.scale);
        out.bytes(DISPLACEMENT);
        out.ascii(o.displacement < 0n ? `-0x${(-o.displacement).toString(16)}` : `0x${o.displacement.toString(16)}`);
        out.bytes(QUOTE_SIZE);
        out.decimal(o.size);
        if (o.target !== undefined) wordField(out, MEMORY_TARGET, u64(o.target));
        const more = this.extra?.(o);
        if (more) {
          for (const [k, v] of Object.entries(more)) {
            out.byte(COMMA);
            out.json(k);
            out.byte(COLON);
            out.text(JSON.stringify(v));
          }
        }
        out.byte(CLOSE_BRACE);
        return;
      }
    }
  }

  /** The same parts as text (records made one at a time, and the templates cut from them). */
  parts(ins: Instruction): InsnParts {
    const s = this.scratch;
    this.writeHead(s, ins);
    const head = s.textSince(0);
    this.writeTail(s, ins);
    return { head, tail: s.textSince(0) };
  }
}

/** What goes into a hole of a `RecordTemplate`. */
export const Hole = {
  /** the instruction's bytes as the record spells them (`e8 1b 2c 3d 4e`) */
  Bytes: 0,
  /** the branch target in hex without `0x` */
  Target: 1,
  /** the target's symbol (`name+0x1a`), JSON-escaped */
  TargetSymbol: 2,
  /** a displacement as objdump prints it, signed: `0x1a03f51`, `-0x10` (AT&T text, the operand's field) */
  Displacement: 3,
  /** the same with its sign always: `+0x1a03f51`, `-0x10` (Intel's `[rip+0x1a03f51]`) */
  SignedDisplacement: 4,
} as const;
export type Hole = (typeof Hole)[keyof typeof Hole];

/** A record's JSON text as literal pieces with holes between them: `pieces.length === holes.length + 1`. */
export interface RecordTemplate {
  pieces: string[];
  holes: Hole[];
}

const SENTINEL_TARGET = 0x5e5e5e5e5e5e5e5en;
const SENTINEL_BYTE = 0x5e;
const SENTINEL_SYMBOL = '\u0001';
const SENTINEL_DISPLACEMENT = 0x3a3a3a3a;

/**
 * The record parts of every direct branch of one form (the same bytes apart from rel8/rel32):
 * `parts()` of the form's first instruction with sentinels for its bytes, target and target
 * symbol, cut where they are. So the field layout stays `parts()`'s alone, and the `disasm`
 * command writes a branch's record by filling three holes, without making the instruction.
 * `withSymbol`: the target has a symbol (`call ffffffff81000000 <__fentry__>`, `"targetSym"`).
 */
export function branchTemplate(json: InsnJson, form: Instruction, withSymbol: boolean): PartsTemplate {
  const targetHex = SENTINEL_TARGET.toString(16);
  const operandText = withSymbol ? `${targetHex} <${SENTINEL_SYMBOL}>` : targetHex;
  const before = form.text.slice(0, form.text.length - form.operandText.length);
  const fake: Instruction = {
    ...form, bytes: new Uint8Array(form.length).fill(SENTINEL_BYTE), operandText, text: before + operandText,
    operands: [{ kind: 'target', target: SENTINEL_TARGET }], target: SENTINEL_TARGET,
  };
  if (withSymbol) fake.targetSymbol = SENTINEL_SYMBOL;
  else delete fake.targetSymbol;
  const p = json.parts(fake);
  const m = markers(fake.bytes);
  return { head: cut(p.head, m), tail: cut(p.tail, m) };
}

/** Where a template's holes were, by the sentinels put there (Intel's `+0x…` before the bare `0x…` it contains). */
function markers(sentinelBytes: Uint8Array): [string, Hole][] {
  return [
    [hexBytes(sentinelBytes), Hole.Bytes],
    [SENTINEL_TARGET.toString(16), Hole.Target],
    [JSON.stringify(SENTINEL_SYMBOL).slice(1, -1), Hole.TargetSymbol],
    [`+0x${SENTINEL_DISPLACEMENT.toString(16)}`, Hole.SignedDisplacement],
    [`0x${SENTINEL_DISPLACEMENT.toString(16)}`, Hole.Displacement],
  ];
}

/** A record's head and tail as templates (branchTemplate and the form templates below). */
export interface PartsTemplate {
  head: RecordTemplate;
  tail: RecordTemplate;
}

/**
 * The record parts of every instruction of one RIP-relative form (Disassembler.walk's
 * WalkStep.ripRelative: the same bytes apart from the disp32), cut as branchTemplate cuts them:
 * the bytes, the displacement (in the text and the operand), the operand's address (its
 * `target` and the comment) and that address's name are holes. `form` is the form's first
 * instruction (WalkStep.insn). Undefined when the template fails its check (checkedTemplate).
 */
export function ripRelativeTemplate(json: InsnJson, dis: Disassembler, id: number, form: Instruction, withSymbol: boolean): PartsTemplate | undefined {
  const memory = form.operands.find((o): o is MemoryOperand => o.kind === 'memory' && o.target !== undefined);
  if (memory === undefined) return undefined;
  const disp = Number(memory.displacement);
  const name = withSymbol ? 'name+0x10' : undefined;
  return checkedTemplate(
    json,
    dis.ripRelativeForm(id, new Uint8Array(form.length).fill(SENTINEL_BYTE), SENTINEL_DISPLACEMENT, SENTINEL_TARGET, withSymbol ? SENTINEL_SYMBOL : undefined),
    dis.ripRelativeForm(id, form.bytes, disp, memory.target!, name),
    { [Hole.Target]: memory.target!.toString(16), [Hole.TargetSymbol]: name ?? '' },
  );
}

/**
 * `fake`'s parts cut at their sentinels, if `real` (the same form with real numbers) comes out
 * of the template as `parts()` writes it: a sentinel's digits met elsewhere in the text would
 * put a hole where none is. `values`: the real target and name, where the form has them.
 */
function checkedTemplate(json: InsnJson, fake: Instruction, real: Instruction, values: Partial<Record<Hole, string>>): PartsTemplate | undefined {
  const m = markers(fake.bytes);
  const p = json.parts(fake);
  const t = { head: cut(p.head, m), tail: cut(p.tail, m) };
  const r = json.parts(real);
  const all = { ...holeValues(real), ...values } as Record<Hole, string>;
  return fillText(t.head, all) === r.head && fillText(t.tail, all) === r.tail ? t : undefined;
}

/** An instruction's bytes and its memory operand's displacement, as its template's holes take them. */
function holeValues(ins: Instruction): Partial<Record<Hole, string>> {
  const memory = ins.operands.find((o): o is MemoryOperand => o.kind === 'memory');
  const values: Partial<Record<Hole, string>> = { [Hole.Bytes]: hexBytes(ins.bytes) };
  if (memory !== undefined) {
    const d = memory.displacement;
    values[Hole.Displacement] = d < 0n ? `-0x${(-d).toString(16)}` : `0x${d.toString(16)}`;
    values[Hole.SignedDisplacement] = d < 0n ? `-0x${(-d).toString(16)}` : `+0x${d.toString(16)}`;
  }
  return values;
}

/** A template's text with its holes filled. */
function fillText(t: RecordTemplate, values: Partial<Record<Hole, string>>): string {
  let s = t.pieces[0]!;
  for (let k = 0; k < t.holes.length; k++) s += values[t.holes[k]!] + t.pieces[k + 1]!;
  return s;
}

function cut(text: string, markers: [string, Hole][]): RecordTemplate {
  const pieces: string[] = [];
  const holes: Hole[] = [];
  let from = 0;
  for (;;) {
    let at = -1;
    let which: [string, Hole] | undefined;
    for (const m of markers) {
      const i = text.indexOf(m[0], from);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = m;
      }
    }
    if (which === undefined) break;
    pieces.push(text.slice(from, at));
    holes.push(which[1]);
    from = at + which[0].length;
  }
  pieces.push(text.slice(from));
  return { pieces, holes };
}
