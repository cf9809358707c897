/**
 * The kernel log from a dump: picks the printk layout VMCOREINFO describes
 * and reads it through kernel virtual memory.
 */
import type { KernelMemory } from '@vmpipe/addrxlat';
import { dropUnfitOptional, printkLayout, printkLayoutProblems, type PrintkLayout, type PrintkLayoutMissing } from './layout.js';
import { readLockless } from './ringbuffer.js';
import { plainBytes, readPlain, readStructured } from './log-buf.js';
import { PrintkUnavailable, type PrintkItem } from './record.js';
import { formatRecord, type TextFormat } from './format.js';

export * from './layout.js';
export * from './record.js';
export * from './format.js';
export { readLockless } from './ringbuffer.js';
export { readStructured, readPlain, plainBytes } from './log-buf.js';

/** The layout, or PrintkUnavailable naming the VMCOREINFO keys that are missing or contradict each other. */
export function requirePrintkLayout(entries: Readonly<Record<string, string>>): PrintkLayout {
  return checkedLayout(entries).layout;
}

/** The layout with optional members that do not fit left out (`dropped` names them). */
function checkedLayout(entries: Readonly<Record<string, string>>): { layout: PrintkLayout; dropped: string[] } {
  const found = printkLayout(entries);
  if (found.kind === 'missing') missingLayout(found);
  const { layout, dropped } = dropUnfitOptional(found);
  // Checked before any byte is read: a patched or damaged VMCOREINFO names its own fault.
  const bad = printkLayoutProblems(layout);
  if (bad.length) throw new PrintkUnavailable(`VMCOREINFO's printk entries contradict each other: ${bad.join('; ')}`, 'printk-unavailable');
  return { layout, dropped };
}

function missingLayout(layout: PrintkLayoutMissing): never {
  const what = layout.closest ? `VMCOREINFO lacks entries of the ${layout.closest} printk buffer` : 'VMCOREINFO has no printk entries';
  throw new PrintkUnavailable(`${what}: missing ${layout.missing.join(', ')}`, 'printk-unavailable', layout.missing);
}

/** Every record of the log, oldest first, with problems in place. Throws PrintkUnavailable when there is no log to read. */
export function readPrintk(mem: KernelMemory, entries: Readonly<Record<string, string>>): Generator<PrintkItem> {
  const { layout, dropped } = checkedLayout(entries);
  const records = layout.kind === 'lockless' ? readLockless(mem, layout) : layout.kind === 'structured' ? readStructured(mem, layout) : readPlain(mem, layout);
  if (dropped.length === 0) return records;
  return (function* () {
    yield { problem: { code: 'printk-field-unfit', message: `VMCOREINFO: ${dropped.join('; ')}: read without it` } };
    yield* records;
  })();
}

/**
 * The log as one of the reference tools prints it, in pieces; `problems`
 * receives what could not be read (the tools would stop or print garbage).
 * A plain (pre-3.5) buffer is printed as it is, as both tools do.
 */
export function* printkText(
  mem: KernelMemory,
  entries: Readonly<Record<string, string>>,
  format: TextFormat,
  problems: (p: PrintkItem['problem'] & object) => void = () => {},
): Generator<string | Buffer> {
  const layout = requirePrintkLayout(entries);
  if (layout.kind === 'plain' && format !== 'crash') {
    const { bytes, holes, logBuf } = plainBytes(mem, layout);
    for (const h of holes) problems({ code: h.code, message: `log_buf at offset ${h.offset}: ${h.message}`, addr: logBuf });
    yield bytes;
    return;
  }
  for (const item of readPrintk(mem, entries)) {
    if (item.problem) problems(item.problem);
    if (!item.record) continue;
    const text = formatRecord(item.record, format);
    if (text !== null) yield text;
  }
}
