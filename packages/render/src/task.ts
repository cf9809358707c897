import type { AnyRecord } from '@vmpipe/records';
import { parseHex, hexDigits, type LayoutFactory, table } from './layout.js';
import { taskHeader } from './frame.js';

// crash's `ps` (task.c: show_ps_data): `>` for a task running on a CPU at the
// crash, PID, PPID, CPU, TASK, ST, %MEM (%.1f of total RAM), VSZ and RSS in
// KiB, and COMM, in brackets for kernel threads. Rows in the order they come
// (task-list --sort pid gives crash's order).
// A record with style `ps-l` is crash's `ps -l` line (show_last_run(): the
// last_arrival right-aligned to the width of the first one, which crash's
// newest-first order makes the widest, the state, the task header); `ps-t`
// is crash's `ps -t` block (show_task_times(): RUN TIME as convert_time()
// prints it, START TIME, UTIME, STIME, then a blank line).

const HEADER = '      PID    PPID  CPU       TASK        ST  %MEM      VSZ      RSS  COMM';

function psLine(r: AnyRecord): string {
  const mark = r.running === true ? '>' : ' ';
  const task = hexDigits(parseHex(r.task) ?? 0n, 16);
  const kib = (v: unknown) => String(typeof v === 'number' ? Math.floor(v / 1024) : 0);
  const mem = typeof r.memPercent === 'number' ? r.memPercent.toFixed(1) : '0.0';
  const comm = r.kernelThread === true ? `[${String(r.comm)}]` : String(r.comm);
  return `${mark}${String(r.pid).padStart(8)} ${String(r.ppid).padStart(7)} ${String(r.cpu).padStart(3)}  ${task}  ${String(r.state).padEnd(2)}${mem.padStart(6)}${kib(r.vsz).padStart(9)}${kib(r.rss).padStart(9)}  ${comm}`;
}

/** A task record's count (a number, or a hex string past 2^53) in decimal. */
function decimal(v: unknown): string {
  if (typeof v === 'number') return String(v);
  const h = parseHex(v);
  return h === null ? '0' : h.toString();
}

/** crash's convert_time() of whole seconds: `HH:MM:SS`, `N days, ` in front past a day (crash says "1 days"). */
function runTimeText(seconds: unknown): string {
  if (typeof seconds !== 'number') return '(unknown)';
  const days = Math.floor(seconds / 86400);
  const rest = seconds % 86400;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days ? `${days} days, ` : ''}${two(Math.floor(rest / 3600))}:${two(Math.floor((rest % 3600) / 60))}:${two(rest % 60)}`;
}

export const taskLayout: LayoutFactory = () => {
  const ps = table(HEADER, psLine);
  let width: number | undefined;
  return {
    block: false,
    render(r) {
      if (r.style === 'ps-l') {
        const v = decimal(r.lastArrival);
        width ??= v.length;
        return [`[${v.padStart(width)}] [${String(r.state)}]  ${taskHeader(r)}`];
      }
      if (r.style === 'ps-t') {
        return [taskHeader(r), `    RUN TIME: ${runTimeText(r.runTime)}`, `  START TIME: ${decimal(r.startTime)}`, `       UTIME: ${decimal(r.utime)}`, `       STIME: ${decimal(r.stime)}`, ''];
      }
      return ps.render(r);
    },
    flush() {
      width = undefined;
      return ps.flush();
    },
  };
};
