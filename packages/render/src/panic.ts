import type { AnyRecord } from '@vmpipe/records';
import { label, stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * A `panic` record as a short block: crash `sys`-style labels for what went
 * wrong and who, then the RIP, Code and register lines and the call trace as
 * the kernel printed them.
 */
function panicBlock(record: AnyRecord): string[] {
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
  const report: string[] = [];
  if (str(record.rip) !== null) report.push(str(record.rip)!);
  if (str(record.code) !== null) report.push(`Code: ${str(record.code)}`);
  if (Array.isArray(record.registers)) for (const r of record.registers) if (typeof r === 'string') report.push(r);
  if (Array.isArray(record.callTrace) && record.callTrace.length > 0) {
    report.push('Call Trace:');
    for (const f of record.callTrace as Array<Record<string, unknown>>) report.push(` ${String(f.line ?? f.function)}`);
  }
  if (report.length) lines.push('', ...report);
  return lines;
}

export const panicLayout: LayoutFactory = () => stateless(true, panicBlock);
