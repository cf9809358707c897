import type { AnyRecord } from '@vmpipe/records';
import { parseHex, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// crash's `dis` (gdb's disassembler behind x86_64_dis_filter): one line per
// instruction, `0x<addr> <sym+<decimal offset>>:\t<insn>`; gdb pads the
// mnemonic (with its prefixes) to six columns and a space (`cli    `, `mov    %rsp,%rbp`),
// writes branch targets as `0x<addr> <sym+dec>`, and a RIP-relative operand's
// address as `        # 0x<addr> <sym>`; crash appends ` [FTRACE NOP]` to the
// nop that replaced a function's `call __fentry__`. Module symbols keep no
// ` [module]` in crash's labels. `disasm --sites` adds `[static key NAME: on]` and the like after
// the instruction. A `current` instruction (the faulting one in
// filter mode) is marked as crash `dis -r` leaves it: the last line; here `=>`
// leads it as gdb's `x/i $pc` does. --diff rows add the file's bytes below.

/** `panic+0x65 [mod]` → `panic+101`: crash prints offsets in decimal and no module tag. */
export function crashSymbol(sym: string): string {
  return sym.replace(/ \[[^\]]+\]$/, '').replace(/\+0x([0-9a-f]+)$/, (_m, h: string) => `+${parseInt(h, 16)}`);
}

function insnLine(record: AnyRecord): string[] {
  const addr = parseHex(record.addr);
  if (addr === null || typeof record.text !== 'string' || typeof record.mnemonic !== 'string') return [jsonLine(record)];
  const label = typeof record.symbol === 'string' ? ` <${crashSymbol(record.symbol)}>` : '';
  const prefixes = Array.isArray(record.prefixes) ? (record.prefixes as string[]).join(' ') + ' ' : '';
  const head = `${prefixes}${record.mnemonic}`;
  let operands = typeof record.operandText === 'string' ? record.operandText : record.text.slice(head.length).trim();
  // targets as gdb writes them: 0x-prefixed, decimal offsets
  operands = operands.replace(/\b([0-9a-f]{9,16}) <([^>]+)>/g, (_m, a: string, s: string) => `0x${a} <${crashSymbol(s)}>`);
  if (typeof record.target === 'string' && record.targetSym === undefined) operands = operands.replace(/^([0-9a-f]{9,16})$/, '0x$1');
  let line = `${head.padEnd(6)} ${operands}`;
  if (typeof record.comment === 'string') line += `        # 0x${record.comment.replace(/ <([^>]+)>/, (_m, s: string) => ` <${crashSymbol(s)}>`)}`;
  if (typeof record.note === 'string' && record.note.startsWith('[')) line += ` ${record.note}`;
  if (record.site && typeof record.site === 'object') line += ` ${siteNote(record.site as Record<string, unknown>)}`;
  const out = [`${record.current === true ? '=> ' : ''}0x${addr.toString(16)}${label}:\t${line}`];
  // What vmpipe adds to crash's line: a memory operand's effective address (registers known) and the member at its displacement.
  for (const o of Array.isArray(record.operands) ? (record.operands as Record<string, unknown>[]) : []) {
    if (o.kind !== 'memory' || (o.addr === undefined && o.member === undefined)) continue;
    const where = typeof o.addr === 'string' ? ` = ${o.addr}` : '';
    const member = Array.isArray(o.member) && o.member.length ? `  ${(o.member as string[]).join(' | ')}` : '';
    out.push(`\t\t\t\t; ${memText(o)}${where}${member}`);
  }
  if (record.same === false && Array.isArray(record.file)) {
    // the site's key or feature beside the mechanism: (static-call __SCK__preempt_schedule), (alternative cx16)
    const site = record.staticKey ?? record.staticCall ?? record.cpuFeatureName ?? record.cpuFeature;
    const why = `${typeof record.reason === 'string' ? record.reason : 'differs'}${site !== undefined ? ` ${String(site)}` : ''}`;
    const file = record.file as { addr?: string; text?: string; bytes?: string }[];
    if (file.length === 0) out.push(`\t\t\t\t(${why}: part of the file instruction above)`);
    for (const f of file) out.push(`\t\t\t\tvmlinux ${f.addr ?? ''}: ${f.text ?? ''}   [${f.bytes ?? ''}] (${why})`);
  }
  return out;
}

/** `disasm --sites`: `[static key init_on_free: off]`, `[static call __SCK__preempt_schedule]`, `[alternative cx16]`. */
function siteNote(site: Record<string, unknown>): string {
  const what = String(site.kind ?? 'site').replace('-', ' ');
  const which = site.key ?? site.cpuFeatureName ?? site.cpuFeature;
  const state = typeof site.enabled === 'boolean' ? `: ${site.enabled ? 'on' : 'off'}` : '';
  return `[${what}${which !== undefined ? ` ${String(which)}` : ''}${state}]`;
}

/** A memory operand as AT&T writes it, from its parts (`0x98(%r13)`). */
function memText(o: Record<string, unknown>): string {
  const seg = typeof o.segment === 'string' ? `%${o.segment}:` : '';
  const regs = typeof o.index === 'string' ? `${o.base ? `%${o.base}` : ''},%${o.index},${o.scale}` : `%${String(o.base)}`;
  return `${seg}${o.displacement === '0x0' ? '' : String(o.displacement)}(${regs})`;
}

/** Instructions as crash dis prints them; with source lines (disasm --lines), crash dis -l's `file: line` above each change of line. */
export const insnLayout: LayoutFactory = () => {
  let last = '';
  return {
    block: false,
    render(record) {
      const lines = insnLine(record);
      if (typeof record.sourceFile !== 'string' || typeof record.sourceLine !== 'number') return lines;
      const head = `${record.sourceFile}: ${record.sourceLine}`;
      if (head === last) return lines;
      last = head;
      return [head, ...lines];
    },
    flush() {
      last = '';
      return [];
    },
  };
};
