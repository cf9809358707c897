import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory, type RenderContext } from './layout.js';
import { jsonLine } from './fallback.js';

/** One cell of crash's register block: label as printed, the names a producer may use, digits. */
export interface Cell {
  label: string;
  names: string[];
  digits: number;
}

const cell = (label: string, names: string[] = [label.trim().toLowerCase()], digits = 16): Cell => ({ label, names, digits });

/**
 * crash's x86_64 exception-frame block (x86_64_print_eframe_regs in x86_64.c),
 * the lines `bt` prints: `%016lx` registers, `%08lx` RFLAGS, `%04lx` CS/SS,
 * two spaces between cells; ` R8`/` R9` keep one more so the columns line up.
 * NT_PRSTATUS calls the flags register eflags and the syscall slot orig_ax;
 * other producers say rflags/orig_rax, so both are looked up.
 */
export const X86_64_BLOCK: Cell[][] = [
  [cell('RIP'), cell('RSP'), cell('RFLAGS', ['eflags', 'rflags'], 8)],
  [cell('RAX'), cell('RBX'), cell('RCX')],
  [cell('RDX'), cell('RSI'), cell('RDI')],
  [cell('RBP'), cell(' R8'), cell(' R9')],
  [cell('R10'), cell('R11'), cell('R12')],
  [cell('R13'), cell('R14'), cell('R15')],
  [cell('ORIG_RAX', ['orig_rax', 'orig_ax']), cell('CS', ['cs'], 4), cell('SS', ['ss'], 4)],
];

/** Selectors are 16-bit: crash prints them with four digits. */
const SELECTORS = new Set(['cs', 'ss', 'ds', 'es', 'fs', 'gs']);

export function digitsOf(value: unknown, digits: number): string {
  const v = parseHex(value);
  // A register the producer left out: a dash row, never a made-up zero.
  return v === null ? '-'.repeat(digits) : hexDigits(v, digits);
}

/** Registers with no fixed place: `NAME: value`, three to a line, as the block does. */
function genericLines(regs: Array<[string, unknown]>): string[] {
  const cells = regs.map(([name, value]) => `${name.toUpperCase()}: ${digitsOf(value, SELECTORS.has(name) ? 4 : 16)}`);
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += 3) lines.push('    ' + cells.slice(i, i + 3).join('  '));
  return lines;
}

/**
 * crash's `bt` header names the task (`PID: 44  TASK: ...  CPU: 0  COMMAND: ...`);
 * a cpu record knows only the CPU and what NT_PRSTATUS said, so we lead with the CPU.
 * QEMU stores CPU number + 1 in pr_pid, which is no PID: say so rather than print it.
 */
function header(record: AnyRecord): string {
  if (record.pid === null || record.pid === undefined) {
    const why = record.prPidMeaning === 'cpu-plus-one' && typeof record.prPid === 'number'
      ? `  (pr_pid ${record.prPid} is the CPU number + 1, as QEMU writes it)`
      : '';
    return `CPU: ${String(record.cpu)}  PID: -${why}`;
  }
  return `CPU: ${String(record.cpu)}  PID: ${String(record.pid)}`;
}

function cpuBlock(record: AnyRecord, ctx: RenderContext): string[] {
  const regs = record.regs;
  if (typeof regs !== 'object' || regs === null || Array.isArray(regs)) return [jsonLine(record)];
  const values = regs as Record<string, unknown>;
  const lines = [header(record)];
  const arch = ctx.dumpInfo(record.dump).arch;
  // Without a source record, RIP alone tells x86_64 apart.
  const x86 = arch === 'x86_64' || (arch === undefined && 'rip' in values);
  if (x86) {
    const shown = new Set<string>();
    for (const row of X86_64_BLOCK) {
      const cells = row.map((c) => {
        const name = c.names.find((n) => n in values) ?? c.names[0]!;
        shown.add(name);
        return `${c.label}: ${digitsOf(values[name], c.digits)}`;
      });
      lines.push('    ' + cells.join('  '));
    }
    // fs_base, gs_base, ds, es, ...: not in crash's block, but worth seeing.
    lines.push(...genericLines(Object.entries(values).filter(([name]) => !shown.has(name))));
  } else {
    lines.push(...genericLines(Object.entries(values)));
  }
  const qemu = record.qemu;
  if (typeof qemu === 'object' && qemu !== null && !Array.isArray(qemu)) {
    // Titled after the note, since its names (cs, fs_base) repeat the registers'.
    lines.push('    QEMUCPUState:', ...genericLines(Object.entries(qemu as Record<string, unknown>)));
  }
  return lines;
}

export const cpuLayout: LayoutFactory = (ctx) => stateless(true, (record) => cpuBlock(record, ctx));
