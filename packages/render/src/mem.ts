import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, type Layout, type LayoutFactory, type RenderContext } from './layout.js';
import { jsonLine } from './fallback.js';

// crash's `rd` (display_memory in memory.c): each line holds 16 bytes, i.e.
// 2/4/8/16 words of width 8/4/2/1, and starts `<addr>:  ` with the address
// right-justified to 16 columns (crash pads with spaces, not zeros). Each word
// is `%0<2w>x ` (zero-padded, then one space). Plain `rd` ends a line with
// two spaces and the bytes as ASCII (printable 0x20..0x7e, else `.`), the
// last line padded so the column stays put; `rd -s` prints no ASCII and puts
// a word's symbol in its place, left-justified to the word's width (`%-16s `).
// crash's trailing space after the last word is trimmed here.

const ADDR_COLUMNS = 16;
const LINE_BYTES = 16;

interface Group {
  dump: unknown;
  space: unknown;
  width: number;
  symbolic: boolean;
  next: bigint; // the address the next contiguous word would have
}

interface Line {
  addr: bigint;
  cells: string[];
  ascii: string;
}

interface Word {
  value: bigint;
  sym: string | null;
}

/** The words of a well-formed mem record, or null to fall back to JSON. */
function words(record: AnyRecord): Word[] | null {
  if (!Array.isArray(record.words) || ![1, 2, 4, 8].includes(record.width as number)) return null;
  const syms = Array.isArray(record.wordsSym) && record.wordsSym.length === record.words.length ? record.wordsSym : null;
  const out: Word[] = [];
  for (let i = 0; i < record.words.length; i++) {
    const value = parseHex(record.words[i]);
    if (value === null) return null;
    const sym = syms?.[i];
    out.push({ value, sym: typeof sym === 'string' && sym !== '' ? sym : null });
  }
  return out;
}

/** The word's bytes as they lie in memory, shown as crash's ASCII column shows them. */
function asciiOf(value: bigint, width: number, endian: 'little' | 'big'): string {
  let text = '';
  for (let i = 0; i < width; i++) {
    const shift = BigInt(8 * (endian === 'little' ? i : width - 1 - i));
    const byte = Number((value >> shift) & 0xffn);
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
  }
  return text;
}

class MemLayout implements Layout {
  readonly block = false;
  private group: Group | null = null;
  private line: Line | null = null;

  constructor(private readonly ctx: RenderContext) {}

  render(record: AnyRecord): string[] {
    const ws = words(record);
    const addr = parseHex(record.addr);
    if (ws === null || addr === null) return [...this.flush(), jsonLine(record)];
    const width = record.width as number;
    const symbolic = Array.isArray(record.wordsSym);
    const out: string[] = [];
    const g = this.group;
    // A line continues only where crash's own `rd` would have gone on reading.
    if (!g || g.dump !== record.dump || g.space !== record.space || g.width !== width || g.symbolic !== symbolic || g.next !== addr) {
      out.push(...this.flush());
    }
    const endian = this.ctx.dumpInfo(record.dump).endian ?? 'little';
    let next = addr;
    for (const w of ws) {
      if (!this.line) this.line = { addr: next, cells: [], ascii: '' };
      const digits = width * 2;
      this.line.cells.push(w.sym !== null ? w.sym.padEnd(digits) : hexDigits(w.value, digits));
      this.line.ascii += asciiOf(w.value, width, endian);
      next += BigInt(width);
      if (this.line.cells.length === LINE_BYTES / width) out.push(this.finish(width, symbolic));
    }
    this.group = { dump: record.dump, space: record.space, width, symbolic, next };
    return out;
  }

  flush(): string[] {
    const out = this.line && this.group ? [this.finish(this.group.width, this.group.symbolic)] : [];
    this.line = null;
    this.group = null;
    return out;
  }

  private finish(width: number, symbolic: boolean): string {
    const line = this.line!;
    this.line = null;
    const head = `${line.addr.toString(16).padStart(ADDR_COLUMNS)}:  `;
    const body = line.cells.map((c) => c + ' ').join('');
    if (symbolic) return (head + body).trimEnd();
    const fullBody = (LINE_BYTES / width) * (width * 2 + 1);
    return head + body.padEnd(fullBody) + '  ' + line.ascii;
  }
}

export const memLayout: LayoutFactory = (ctx) => new MemLayout(ctx);
