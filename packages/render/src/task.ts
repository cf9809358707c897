import type { AnyRecord } from '@vmpipe/records';
import { parseHex, hexDigits, type LayoutFactory, table } from './layout.js';

// crash's `ps` (task.c: show_ps_data): `>` for a task running on a CPU at the
// crash, PID, PPID, CPU, TASK, ST, %MEM (%.1f of total RAM), VSZ and RSS in
// KiB, and COMM, in brackets for kernel threads. Rows in the order they come
// (task-list --sort pid gives crash's order).

const HEADER = '      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM';

function psLine(r: AnyRecord): string {
  const mark = r.running === true ? '>' : ' ';
  const task = hexDigits(parseHex(r.task) ?? 0n, 16);
  const kib = (v: unknown) => String(typeof v === 'number' ? Math.floor(v / 1024) : 0);
  const mem = typeof r.memPercent === 'number' ? r.memPercent.toFixed(1) : '0.0';
  const comm = r.kernelThread === true ? `[${String(r.comm)}]` : String(r.comm);
  return `${mark}${String(r.pid).padStart(8)} ${String(r.ppid).padStart(7)} ${String(r.cpu).padStart(3)}  ${task}  ${String(r.state).padEnd(2)}${mem.padStart(6)}${kib(r.vsz).padStart(9)}${kib(r.rss).padStart(9)}  ${comm}`;
}

export const taskLayout: LayoutFactory = () => table(HEADER, psLine);
