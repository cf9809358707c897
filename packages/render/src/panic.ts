import type { AnyRecord } from '@vmpipe/records';
import { label, stateless, type LayoutFactory, type RenderContext } from './layout.js';
import { jsonLine } from './fallback.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * A `panic` record as a short block: crash `sys`-style labels for what went
 * wrong and who, then the report's lines in the order and spelling the
 * kernel printed them (x86 and arm64 print theirs differently).
 */
function panicBlock(ctx: RenderContext, record: AnyRecord): string[] {
  if (typeof record.headline !== 'string') return [jsonLine(record)];
  const lines = [label('PANIC', record.headline)];
  const message = str(record.message);
  if (message !== null && message !== record.headline) lines.push(label('MESSAGE', message));
  lines.push(label('EVENT', String(record.event ?? 'unknown')));
  if (typeof record.pid === 'number' || typeof record.cpu === 'number') {
    const comm = str(record.comm);
    // crash's bt header order: PID, TASK (the task_struct, when types found it), CPU, COMMAND.
    const task = typeof record.task === 'string' ? `  TASK: ${record.task.replace(/^0x/, '')}` : '';
    lines.push(label('TASK', `PID: ${record.pid ?? '-'}${task}  CPU: ${record.cpu ?? '-'}  COMMAND: ${comm === null ? '-' : `"${comm}"`}`));
  }
  if (str(record.taint) !== null) lines.push(label('TAINT', str(record.taint)!));
  if (str(record.oops) !== null) lines.push(label('OOPS', str(record.oops)!));
  if (str(record.timestamp) !== null) lines.push(label('AT', `${str(record.timestamp)}${typeof record.seq === 'number' ? ` (log seq ${record.seq})` : ''}`));
  const report = ctx.dumpInfo(record.dump).arch === 'arm64' || isArm64Report(record) ? arm64Report(record) : x86Report(record);
  if (report.length) lines.push('', ...report);
  return lines;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** An arm64 report when no source record said so: its `pc :` line (`rip`) or its fault decoding (`abort`), which x86 reports never have. */
function isArm64Report(record: AnyRecord): boolean {
  return str(record.rip)?.startsWith('pc : ') === true || Array.isArray(record.abort);
}

/** x86 (arch/x86/kernel/dumpstack.c `__die()`, `show_regs()`): RIP, Code, the registers, the trace. */
function x86Report(record: AnyRecord): string[] {
  const report: string[] = [];
  if (str(record.rip) !== null) report.push(str(record.rip)!);
  if (str(record.code) !== null) report.push(`Code: ${str(record.code)}`);
  if (Array.isArray(record.registers)) for (const r of record.registers) if (typeof r === 'string') report.push(r);
  if (Array.isArray(record.callTrace) && record.callTrace.length > 0) {
    report.push('Call Trace:');
    for (const f of record.callTrace as Array<Record<string, unknown>>) report.push(` ${String(f.line ?? f.function)}`);
  }
  return report;
}

/**
 * arm64, in the order the kernel prints it: arch/arm64/mm/fault.c `die_kernel_fault()` (the
 * headline, then `mem_abort_decode()` and `show_pte()`: `abort`), or the line that says what
 * went wrong and the `kernel BUG at` line (`bugLine`); arch/arm64/kernel/traps.c `__die()`:
 * `Internal error:` (`oops`), `Modules linked in:`, lib/dump_stack.c's `CPU:` and `Hardware name:`
 * lines; arch/arm64/kernel/process.c `__show_regs()`: `pstate:`, `pc :`, `lr :`, `sp :`,
 * `x29: ... x0 :`; `dump_backtrace()`: `Call trace:`; `dump_kernel_instr()`: `Code:` last.
 */
function arm64Report(record: AnyRecord): string[] {
  const report: string[] = [];
  const headline = str(record.headline)!;
  // a headline nothing in the report printed (`no panic message in the log: ...`) is ours, not the kernel's
  if (str(record.oops) !== null || Array.isArray(record.abort)) report.push(headline);
  report.push(...strings(record.abort));
  if (str(record.bugLine) !== null) report.push(str(record.bugLine)!);
  if (str(record.oops) !== null) report.push(str(record.oops)!);
  const modules = str(record.modules);
  if (modules !== null) report.push(modules === '' ? 'Modules linked in:' : `Modules linked in: ${modules}`);
  if (str(record.cpuLine) !== null) report.push(str(record.cpuLine)!);
  if (str(record.hardware) !== null) report.push(`Hardware name: ${str(record.hardware)!}`);
  const registers = strings(record.registers);
  const pstate = registers.filter((r) => r.startsWith('pstate: '));
  report.push(...pstate);
  if (str(record.rip) !== null) report.push(str(record.rip)!);
  report.push(...registers.filter((r) => !r.startsWith('pstate: ')));
  if (Array.isArray(record.callTrace) && record.callTrace.length > 0) {
    report.push('Call trace:');
    for (const f of record.callTrace as Array<Record<string, unknown>>) report.push(` ${String(f.line ?? f.function)}`);
  }
  if (str(record.code) !== null) report.push(`Code: ${str(record.code)}`);
  return report;
}

export const panicLayout: LayoutFactory = (ctx) => stateless(true, (record) => panicBlock(ctx, record));
