import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory } from './layout.js';

// crash's `runq` (task.c: dump_on_rq_tasks/dump_CFS_runqueues): per CPU the
// rq address, the current task, the RT priority array and the CFS tree, each
// queued task as `[prio] PID: ... TASK: ... COMMAND: "..."`.

type T = { task?: unknown; pid?: unknown; comm?: unknown; prio?: unknown };
const hx = (v: unknown) => hexDigits(parseHex(v) ?? 0n, 0);
const who = (t: T) => `PID: ${String(t.pid).padEnd(7)}TASK: ${hx(t.task)}  COMMAND: "${String(t.comm)}"`;

function runq(r: AnyRecord): string[] {
  const lines = [`CPU ${String(r.cpu)} RUNQUEUE: ${hx(r.rq)}`, `  CURRENT: ${who((r.curr ?? {}) as T)}`];
  const queued = (list: unknown) => {
    const ts = Array.isArray(list) ? (list as T[]) : [];
    if (ts.length === 0) lines.push('     [no tasks queued]');
    for (const t of ts) lines.push(`     [${String(t.prio).padStart(3)}] ${who(t)}`);
  };
  lines.push(`  RT PRIO_ARRAY: ${hx(r.rtArray)}`);
  queued(r.rt);
  lines.push(`  CFS RB_ROOT: ${hx(r.cfsRoot)}`);
  queued(r.cfs);
  return lines;
}

export const runqueueLayout: LayoutFactory = () => stateless(true, runq);
