/**
 * The parts of an `insn` record (docs/records.md) that an instruction alone
 * decides, as JSON text, written by hand: a disassembly of the kernel's text
 * is millions of records, and building an object per record and per operand
 * for JSON.stringify was most of the `disasm` command's time. The command
 * keeps these parts per remembered instruction (Disassembler.walk), and fills
 * a branch form's holes (branchTemplate). Field order and spelling are the
 * record's, as the command wrote them with JSON.stringify before (a test
 * compares the two).
 */
import type { Disassembler, Instruction, MemoryOperand, Operand } from './x86_64.js';

const HEX_BYTE: string[] = [];
for (let b = 0; b < 256; b++) HEX_BYTE.push(b.toString(16).padStart(2, '0'));

/** `48 8d 25 51`: the record's bytes field. */
export function hexBytes(b: Uint8Array): string {
  let s = b.length > 0 ? HEX_BYTE[b[0]!]! : '';
  for (let i = 1; i < b.length; i++) s += ' ' + HEX_BYTE[b[i]!]!;
  return s;
}

const hex = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;

/** A memory operand's fields beyond the instruction's own (the `member` names of `disasm --member-of`). */
export type MemoryExtra = (o: MemoryOperand) => Record<string, unknown> | undefined;

/** One operand as the record carries it (JSON text): addresses and values as 0x-hex strings, displacements signed. */
export function operandJson(o: Operand, extra?: MemoryExtra): string {
  // register, segment and kind names are plain words: no escaping needed
  switch (o.kind) {
    case 'register':
      return `{"kind":"register","register":"${o.register}"}`;
    case 'immediate':
      return `{"kind":"immediate","value":"${hex(o.value)}"}`;
    case 'target':
      return `{"kind":"target","target":"${hex(o.target)}"}`;
    case 'string-memory':
      return `{"kind":"string-memory","segment":"${o.segment}","base":"${o.base}","size":${o.size}}`;
    case 'memory': {
      let m = '{"kind":"memory"';
      if (o.segment) m += `,"segment":"${o.segment}"`;
      if (o.base) m += `,"base":"${o.base}"`;
      if (o.index) m += `,"index":"${o.index}"`;
      m += `,"scale":${o.scale},"displacement":"${o.displacement < 0n ? `-0x${(-o.displacement).toString(16)}` : `0x${o.displacement.toString(16)}`}","size":${o.size}`;
      if (o.target !== undefined) m += `,"target":"${hex(o.target)}"`;
      const more = extra?.(o);
      if (more) for (const [k, v] of Object.entries(more)) m += `,${JSON.stringify(k)}:${JSON.stringify(v)}`;
      return `${m}}`;
    }
  }
}

/** The record's fields from `bytes` to `length`, and from `prefixes` to `truncated`, each with a leading comma. */
export interface InsnParts {
  head: string;
  tail: string;
}

export class InsnJson {
  constructor(private readonly extra?: MemoryExtra) {}

  /** `,"bytes":…,"length":N` and `[,"prefixes":…],"operandText":…,"flow":…[,"target":…][,"targetSym":…][,"comment":…][,"bad":true][,"truncated":true]` */
  parts(ins: Instruction): InsnParts {
    const head = `,"bytes":"${hexBytes(ins.bytes)}","text":${JSON.stringify(ins.text)},"mnemonic":${JSON.stringify(ins.mnemonic)},"length":${ins.length}`;
    let tail = ins.prefixes.length ? `,"prefixes":${JSON.stringify(ins.prefixes)}` : '';
    tail += `,"operandText":${JSON.stringify(ins.operandText)},"operands":[`;
    for (let k = 0; k < ins.operands.length; k++) tail += (k ? ',' : '') + operandJson(ins.operands[k]!, this.extra);
    tail += `],"flow":"${ins.flow}"`;
    if (ins.target !== undefined) tail += `,"target":"${hex(ins.target)}"`;
    if (ins.targetSymbol) tail += `,"targetSym":${JSON.stringify(ins.targetSymbol)}`;
    if (ins.comment) tail += `,"comment":${JSON.stringify(ins.comment)}`;
    if (ins.bad) tail += ',"bad":true';
    if (ins.truncated) tail += ',"truncated":true';
    return { head, tail };
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
export function holeValues(ins: Instruction): Partial<Record<Hole, string>> {
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
export function fillText(t: RecordTemplate, values: Partial<Record<Hole, string>>): string {
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
