/**
 * The parts of an `insn` record (docs/records.md) that an instruction alone
 * decides, as JSON text, written by hand: a disassembly of the kernel's text
 * is millions of records, and building an object per record and per operand
 * for JSON.stringify was most of the `disasm` command's time. Instructions
 * with the same bytes (which share their `bytes` array, see
 * `Disassembler.disassemble`) and no address in their text share the text made
 * here. Field order and spelling are the record's, as the command wrote them
 * with JSON.stringify before (a test compares the two).
 */
import type { Instruction, MemoryOperand, Operand } from './x86_64.js';

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
  private readonly shared = new WeakMap<Uint8Array, InsnParts>();

  constructor(private readonly extra?: MemoryExtra) {}

  /** `,"bytes":…,"length":N` and `[,"prefixes":…],"operandText":…,"flow":…[,"target":…][,"targetSym":…][,"comment":…][,"bad":true][,"truncated":true]` */
  parts(ins: Instruction): InsnParts {
    const fixed = ins.target === undefined && ins.comment === undefined && !ins.bad && !ins.truncated;
    if (fixed) {
      const p = this.shared.get(ins.bytes);
      if (p !== undefined) return p;
    }
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
    const p = { head, tail };
    if (fixed) this.shared.set(ins.bytes, p);
    return p;
  }
}
