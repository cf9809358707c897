/**
 * `disasm`'s x86 insn records as NDJSON bytes, for walks of millions of
 * instructions (a kernel's whole text). Most instructions are remembered by
 * the Disassembler (the same bytes seen before) or are direct branches or
 * RIP-relative instructions of a remembered form: their records are written
 * from pieces made once, with the address, the symbol (`name+0x…`) and a
 * form's bytes, displacement, target and target name written as digits, and
 * no object, string or BigInt made per record. Everything else (an ftrace nop
 * or a ud2 that gets a note, --lines, an address with no kernel symbol, a
 * form whose template fails its check) is written from the command's own
 * `line`, so the record text has one definition (insn-json's `parts` and the
 * command's `line`); a test compares the two ways.
 *
 * All per-record state is in this object and in plain arrays (a command
 * object's properties are slow to read in a hot loop), and all arithmetic on
 * addresses is on small integers: offsets from the walk's start, the low 20
 * bits, and the hex of the bits above them cached per MiB.
 */
import type { Disassembler, Instruction, WalkStep } from '@vmpipe/disasm';
import { branchTemplate, Hole, type InsnJson, type RecordTemplate, ripRelativeTemplate } from './insn-json.js';
import { ByteLines, utf8 } from '@vmpipe/records';

/** What a writer takes from the command: the record text of the slow cases, and symbols. */
export interface InsnWriterSource {
  json: InsnJson;
  /** one record's JSON text (no newline), with the instruction written before it (for the ftrace-nop check) */
  line(ins: Instruction, fnStart: bigint, previous: Instruction | undefined): string;
  /** the kernel symbol containing addr, as the command's `symbolOf` finds it (no module symbols), if it has an extent */
  kernelSymbolAt(addr: bigint): { start: bigint; end: bigint; name: string } | undefined;
  /** a branch target's name (`name+0x10`, `name [mod]`), as the command names targets */
  symbolize(addr: bigint): string | undefined;
}

/**
 * A remembered instruction's record around its address and symbol; `noted`: it gets a note, and
 * `line` writes it (a ud2 and its BUG); `ftrace`: the tail with crash's `[FTRACE NOP]` note, for
 * the 5-byte nop that is one where it sits (ftraceNopAt).
 */
interface RememberedParts {
  head: Uint8Array;
  tail: Uint8Array;
  noted: boolean;
  ftrace: Uint8Array | undefined;
}

/** A branch or RIP-relative form's record pieces (insn-json's branchTemplate, ripRelativeTemplate, as bytes). */
interface Pieces {
  pieces: Uint8Array[];
  holes: Hole[];
}
interface FormParts {
  head: Pieces;
  tail: Pieces;
}

/** The pieces made for one Disassembler's remembered instructions and forms, kept across walks. */
export class InsnPieces {
  readonly remembered: RememberedParts[] = [];
  /** by form number (WalkStep.branch, WalkStep.ripRelative), then without and with a target name; null: written by `line` */
  readonly forms: (FormParts | null | undefined)[][] = [];
  readonly endBytes: Uint8Array;
  constructor(readonly dis: Disassembler, readonly endText: string) {
    this.endBytes = utf8(endText);
  }
}

const EMPTY = new Uint8Array(0);
const NEWLINE = 0x0a;
const FTRACE_NOTE = utf8(',"note":"[FTRACE NOP]"');
const QUOTE = 0x22;
/** a slot for an id not met in a kernel symbol yet (the array stays without holes) */
const NOT_MADE: RememberedParts = { head: EMPTY, tail: EMPTY, noted: true, ftrace: undefined };

export class InsnWriter {
  private readonly low20: number;
  /** the walk's function start, as an offset from base (the ftrace nop's check where no symbol starts near) */
  private readonly fnOffset: number;
  private readonly base1M: bigint;
  /** the hex of an address's bits above the low 20, and the record's start followed by it, by MiB from base */
  private readonly high = new Map<number, Uint8Array>();
  private readonly heads = new Map<number, Uint8Array>();
  private readonly head: Uint8Array;
  /** the kernel symbol the last instructions were in, as offsets from base; `,"symbol":"name`, the same with `+0x`, and `name` */
  private symbolFrom = 0;
  private symbolTo = 0;
  private symbol: Uint8Array = EMPTY;
  private symbolPlus: Uint8Array = EMPTY;
  private symbolText: Uint8Array = EMPTY;
  /** branch targets outside the current symbol, by offset: their name's JSON text, or null for none */
  private readonly targetNames = new Map<number, Uint8Array | null>();
  private previous: Instruction | undefined;
  private previousOffset = -1;
  private previousRemembered = -1;
  private readonly remembered: RememberedParts[];

  constructor(
    private readonly out: ByteLines,
    private readonly source: InsnWriterSource,
    private readonly pieces: InsnPieces,
    /** the walk's start address and its function's start */
    private readonly base: bigint,
    private readonly fnStart: bigint,
    dumpJson: string,
    /** --lines: every record takes `line` */
    private readonly slowOnly: boolean,
  ) {
    this.low20 = Number(base & 0xfffffn);
    this.fnOffset = Number(fnStart - base);
    this.base1M = base >> 20n;
    this.head = utf8(`{"kind":"insn","dump":${dumpJson},"addr":"0x`);
    this.remembered = pieces.remembered;
  }

  /** One step of Disassembler.walk as its record. */
  write(s: WalkStep): void {
    // The common case first, in a function small enough for V8 to keep fast: an instruction
    // remembered, in the current kernel symbol, its pieces made.
    const offset = s.offset;
    const id = s.remembered;
    if (offset < this.symbolFrom || offset >= this.symbolTo) this.moveCursor(offset);
    if (offset >= this.symbolFrom && offset < this.symbolTo && !this.slowOnly) {
      if (id >= 0) {
        const p = this.remembered[id];
        if (p !== undefined && !p.noted) {
          this.writeRemembered(offset, p);
          this.wrote(s.insn, offset, id);
          return;
        }
      } else if ((s.branch >= 0 || s.ripRelative >= 0) && this.writeForm(s)) return;
    }
    this.writeOther(s);
  }

  /** What the next record's ftrace-nop check looks back at: the instruction just written, where, and its remembered number. */
  private wrote(insn: Instruction | undefined, offset: number, id: number): void {
    this.previous = insn;
    this.previousOffset = offset;
    this.previousRemembered = id;
  }

  /** A branch or RIP-relative instruction of a remembered form, in the current symbol: its form's pieces filled (false: the form's records take `line`). */
  private writeForm(s: WalkStep): boolean {
    const offset = s.offset;
    const local = s.target >= this.symbolFrom && s.target < this.symbolTo;
    let name = local ? undefined : this.targetNames.get(s.target);
    if (!local && name === undefined) {
      const sym = this.source.symbolize(this.base + BigInt(s.target));
      name = sym === undefined ? null : utf8(JSON.stringify(sym).slice(1, -1));
      this.targetNames.set(s.target, name);
    }
    const form = this.formParts(s, local || name !== null);
    if (form === null) return false;
    this.address(offset);
    this.fill(s, form.head, name);
    this.symbolAt(offset);
    this.fill(s, form.tail, name);
    // a branch or a RIP-relative instruction is never the endbr64 an ftrace nop's check looks back for
    this.wrote(undefined, offset, -1);
    return true;
  }

  /** A record `write` has no pieces for yet (a first sighting), or that its pieces cannot say (`line`). */
  private writeOther(s: WalkStep): void {
    const offset = s.offset;
    const out = this.out;
    const fast = offset >= this.symbolFrom && offset < this.symbolTo && !this.slowOnly;
    const id = s.remembered;
    let p: RememberedParts | undefined;
    if (fast && id >= 0) {
      p = this.remembered[id];
      if (p === undefined || p === NOT_MADE) p = this.rememberedParts(id, s.insn);
    }
    if (p !== undefined && !p.noted) this.writeRemembered(offset, p);
    else {
      const at = this.pieces.dis.instructionAt(s);
      const previous = this.previous === undefined || this.previousRemembered < 0 ? this.previous : { ...this.previous, addr: this.base + BigInt(this.previousOffset) };
      out.text(this.source.line(at, this.fnStart, previous));
      out.byte(NEWLINE);
    }
    this.wrote(s.branch >= 0 || s.ripRelative >= 0 ? undefined : s.insn, offset, id);
  }

  /** A remembered instruction's record: its pieces around its address and symbol. */
  private writeRemembered(offset: number, p: RememberedParts): void {
    this.address(offset);
    this.out.bytes(p.head);
    this.symbolAt(offset);
    this.out.bytes(p.ftrace !== undefined && this.ftraceNopAt(offset) ? p.ftrace : p.tail);
  }

  /**
   * The 5-byte nop at offset replaced `call __fentry__` (crash's [FTRACE NOP]): it starts its
   * function, or follows the endbr64 that does. The command's `line` decides the same from the
   * instruction objects (isFtraceNop); a test compares the two ways.
   */
  private ftraceNopAt(offset: number): boolean {
    const start = offset - this.symbolFrom <= 4 ? this.symbolFrom : this.fnOffset;
    return offset === start || (offset === start + 4 && this.previousOffset === start && this.previous?.mnemonic === 'endbr64');
  }

  /** `"` closing the address, bytes..length; and `"` closing the symbol, operandText..flow, bytesFrom, `}`, newline (made once per id). */
  private rememberedParts(id: number, ins: Instruction): RememberedParts {
    const b = ins.bytes;
    const nop5 = b.length === 5 && b[0] === 0x0f && b[1] === 0x1f && b[2] === 0x44 && b[3] === 0x00 && b[4] === 0x00;
    // written in place at the end of the lines, then cut out as pieces
    const out = this.out;
    const json = this.source.json;
    const mark = out.length;
    out.byte(QUOTE);
    json.writeHead(out, ins);
    const head = out.piece(mark);
    out.byte(QUOTE);
    json.writeTail(out, ins);
    out.bytes(this.pieces.endBytes);
    const tail = out.piece(mark);
    // ids come in order (remembered when first met), so the array grows without holes
    let ftrace: Uint8Array | undefined;
    if (nop5) {
      out.byte(QUOTE);
      json.writeTail(out, ins);
      out.bytes(FTRACE_NOTE);
      out.bytes(this.pieces.endBytes);
      ftrace = out.piece(mark);
    }
    const p = { head, tail, noted: ins.mnemonic === 'ud2', ftrace };
    while (this.remembered.length < id) this.remembered.push(NOT_MADE);
    this.remembered[id] = p;
    return p;
  }

  /** A branch's or RIP-relative instruction's form pieces, made at the form's first use; null: its records take `line`. */
  private formParts(s: WalkStep, withSymbol: boolean): FormParts | null {
    const id = s.branch >= 0 ? s.branch : s.ripRelative;
    const forms = (this.pieces.forms[id] ??= []);
    let p = forms[withSymbol ? 1 : 0];
    if (p === undefined) {
      const json = this.source.json;
      const t = s.branch >= 0 ? branchTemplate(json, s.insn, withSymbol) : ripRelativeTemplate(json, this.pieces.dis, id, s.insn, withSymbol);
      p = forms[withSymbol ? 1 : 0] = t === undefined ? null : { head: this.bytePieces(t.head, '"', ''), tail: this.bytePieces(t.tail, '"', this.pieces.endText) };
    }
    return p;
  }

  /** A template's pieces as bytes, with text before its first piece and after its last. */
  private bytePieces(t: RecordTemplate, before: string, after: string): Pieces {
    const last = t.pieces.length - 1;
    return { pieces: t.pieces.map((piece, k) => utf8((k === 0 ? before : '') + piece + (k === last ? after : ''))), holes: t.holes };
  }

  /** The kernel symbol of the instruction at offset, in offsets from base (none: an empty range). */
  private moveCursor(offset: number): void {
    const c = this.source.kernelSymbolAt(this.base + BigInt(offset));
    if (c === undefined) {
      this.symbolFrom = this.symbolTo = 0;
      return;
    }
    this.symbolFrom = Number(c.start - this.base);
    this.symbolTo = Number(c.end - this.base);
    const json = JSON.stringify(c.name).slice(0, -1);
    this.symbol = utf8(`,"symbol":${json}`);
    this.symbolPlus = utf8(`,"symbol":${json}+0x`);
    this.symbolText = utf8(json.slice(1));
  }

  /** `{"kind":"insn","dump":…,"addr":"0x…` (the record's start and the address's high digits are one cached piece). */
  private address(offset: number): void {
    const a = this.low20 + offset;
    const k = a >> 20;
    if (k !== this.headAt) this.moveHead(k);
    this.out.bytes(this.headBytes);
    this.out.hex(a & 0xfffff, this.headDigits);
  }

  /** The piece for addresses k MiB from base, and how many low digits follow it. */
  private headAt = NaN;
  private headBytes: Uint8Array = EMPTY;
  private headDigits = 1;
  private moveHead(k: number): void {
    let head = this.heads.get(k);
    if (head === undefined) {
      const high = this.highHex(k);
      head = new Uint8Array(this.head.length + high.length);
      head.set(this.head);
      head.set(high, this.head.length);
      this.heads.set(k, head);
    }
    this.headAt = k;
    this.headBytes = head;
    this.headDigits = head.length === this.head.length ? 1 : 5;
  }

  /**
   * The address at offset from base in hex (offset may be negative), for a form's target: a
   * record names it up to four times (text, operand, target, comment), so it is written once,
   * into a scratch seen through one fixed view per length (no array made per record).
   */
  private targetAt = NaN;
  private targetText: Uint8Array = EMPTY;
  private readonly targetScratch = new Uint8Array(16);
  private readonly targetViews = Array.from({ length: 17 }, (_, n) => this.targetScratch.subarray(0, n));
  private targetHex(offset: number): Uint8Array {
    if (offset !== this.targetAt) {
      const a = this.low20 + offset;
      const high = this.highHex(a >> 20);
      const t = this.targetScratch;
      t.set(high);
      let low = a & 0xfffff;
      let n = high.length === 0 ? 1 : 5;
      while (n < 5 && low >>> (4 * n) !== 0) n++;
      for (let k = high.length + n - 1; k >= high.length; k--) {
        t[k] = HEX_DIGIT[low & 15]!;
        low >>>= 4;
      }
      this.targetText = this.targetViews[high.length + n]!;
      this.targetAt = offset;
    }
    return this.targetText;
  }

  /** The hex digits of an address above its low 20 bits, k MiB from base ('' for none). */
  private highHex(k: number): Uint8Array {
    let high = this.high.get(k);
    if (high === undefined) {
      const h = BigInt.asUintN(44, this.base1M + BigInt(k));
      high = h === 0n ? EMPTY : utf8(h.toString(16));
      this.high.set(k, high);
    }
    return high;
  }

  /** `,"symbol":"name+0x…` (the closing quote starts the next piece). */
  private symbolAt(offset: number): void {
    if (offset === this.symbolFrom) this.out.bytes(this.symbol);
    else {
      this.out.bytes(this.symbolPlus);
      this.out.hex(offset - this.symbolFrom);
    }
  }

  /** A form's pieces with this instruction's bytes, displacement, target and target name in the holes. */
  private fill(s: WalkStep, t: Pieces, name: Uint8Array | null | undefined): void {
    const { pieces, holes } = t;
    const out = this.out;
    for (let k = 0; k < holes.length; k++) {
      out.bytes(pieces[k]!);
      const hole = holes[k];
      if (hole === Hole.Bytes) out.hexBytes(s.bytes, s.offset, s.offset + s.insn.length);
      else if (hole === Hole.Target) out.bytes(this.targetHex(s.target));
      else if (hole === Hole.Displacement || hole === Hole.SignedDisplacement) {
        const d = s.displacement;
        out.bytes(d < 0 ? MINUS_0X : hole === Hole.Displacement ? ZERO_X : PLUS_0X);
        out.hex(d < 0 ? -d : d);
      } else if (name) out.bytes(name);
      else {
        // a target in the current symbol: name+0x…
        out.bytes(this.symbolText);
        if (s.target !== this.symbolFrom) {
          out.bytes(PLUS_0X);
          out.hex(s.target - this.symbolFrom);
        }
      }
    }
    out.bytes(pieces[pieces.length - 1]!);
  }
}

const PLUS_0X = utf8('+0x');
const HEX_DIGIT = utf8('0123456789abcdef');
const MINUS_0X = utf8('-0x');
const ZERO_X = utf8('0x');
