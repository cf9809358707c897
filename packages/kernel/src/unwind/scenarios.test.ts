/**
 * The unwinder on the scenario dumps (fixtures/scenarios/<release>/<name>/:
 * oopses made by the project's crash module, with crash 8.0.2's `bt` and
 * `bt -a` and the kernel's console log). For each dump that has them:
 *
 * - every frame crash prints is one of ours, at the same stack slot with the
 *   same return address, except the frames crash itself flags as a "possibly
 *   bogus exception frame" (there the kernel's printed registers decide);
 * - every exception frame crash prints has our registers, all of them;
 * - the kernel's own call trace (its reliable lines, as printed in the
 *   console log) is a subsequence of ours, symbol+0xoff/0xsize alike.
 *
 * Skips (with a log line) where the scenario fixtures are not present.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analysePanic, logLines } from '../panic.js';
import { panicCpu } from '../panic-task.js';
import { Program } from '../program.js';
import { cpu_stack_trace, Unwinder, type Frame, type TaskTrace } from './index.js';

// VMPIPE_SCENARIOS: another tree of the same shape (e.g. the uncut dumps the fixtures were cut from).
const ROOT = (process.env['VMPIPE_SCENARIOS'] ?? fileURLToPath(new URL('../../../../fixtures/scenarios/', import.meta.url))).replace(/\/?$/, '/');

interface CrashFrame {
  slot: bigint;
  fn: string;
  pc: bigint;
  /** crash's own warning follows this frame's exception block, or its RIP is invalid */
  bogus: boolean;
  /** the first frame after a bogus block: crash's slot there is a guess */
  afterBogus: boolean;
  exception?: Record<string, bigint>;
}

interface CrashTask {
  pid: number;
  task: bigint;
  cpu: number;
  frames: CrashFrame[];
}

/** crash `bt`/`bt -a` text: tasks, frames, exception blocks, bogus-frame warnings. */
function parseCrashBt(text: string): CrashTask[] {
  const tasks: CrashTask[] = [];
  let cur: CrashTask | undefined;
  let last: CrashFrame | undefined;
  let bogusPending = false;
  for (const line of text.split('\n')) {
    const head = /^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)/.exec(line);
    if (head) {
      cur = { pid: Number(head[1]), task: BigInt('0x' + head[2]), cpu: Number(head[3]), frames: [] };
      tasks.push(cur);
      last = undefined;
      bogusPending = false;
      continue;
    }
    const f = /^\s*#\d+ \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)/.exec(line);
    if (f && cur) {
      last = { slot: BigInt('0x' + f[1]), fn: f[2]!, pc: BigInt('0x' + f[3]), bogus: false, afterBogus: bogusPending };
      bogusPending = false;
      cur.frames.push(last);
      continue;
    }
    if (!last) continue;
    if (/exception RIP: unknown or invalid address/.test(line) || /WARNING: possibly bogus exception frame/.test(line)) {
      last.bogus = true;
      bogusPending = true;
      continue;
    }
    for (const m of line.matchAll(/\b(R[A-Z0-9]+|ORIG_RAX|CS|SS|RFLAGS):\s+([0-9a-f]+)/g)) {
      last.exception ??= {};
      last.exception[m[1] === 'RFLAGS' ? 'eflags' : m[1]!.toLowerCase()] = BigInt('0x' + m[2]);
    }
  }
  return tasks;
}

const text = (f: Frame) => `${f.function}+0x${f.offset!.toString(16)}/0x${f.size!.toString(16)}`;

function compareWithCrash(t: import('ava').ExecutionContext, name: string, crash: CrashTask, ours: TaskTrace): void {
  t.is(ours.task, crash.task, `${name}: crash's TASK`);
  const exceptions = ours.frames.filter((f) => f.method === 'exception');
  for (const c of crash.frames) {
    if (c.bogus) continue;
    if (c.afterBogus) {
      t.true(ours.frames.some((f) => f.function === c.fn), `${name}: ${c.fn} (after crash's bogus frame) is on our stack`);
      continue;
    }
    const f = ours.frames.find((x) => x.slot === c.slot && x.method !== 'exception');
    t.truthy(f, `${name}: crash's [${c.slot.toString(16)}] ${c.fn} is one of our frames`);
    if (!f) continue;
    t.is(f.pc, c.pc, `${name}: ${c.fn} pc`);
    t.is(f.function, c.fn, `${name}: [${c.slot.toString(16)}] function`);
    if (c.exception) {
      const e = exceptions.find((x) => x.regs?.rip === c.exception!['rip']);
      t.truthy(e, `${name}: an exception frame at RIP ${c.exception['rip']!.toString(16)}`);
      for (const [k, v] of Object.entries(c.exception)) t.is((e?.regs as Record<string, bigint> | undefined)?.[k], v, `${name}: exception ${k}`);
    }
  }
}

const scenarios: { release: string; name: string; dir: string }[] = [];
if (existsSync(ROOT)) {
  for (const release of readdirSync(ROOT)) {
    if (!existsSync(ROOT + release) || release.includes('.md')) continue;
    for (const name of readdirSync(ROOT + release)) {
      const dir = `${ROOT}${release}/${name}/`;
      if (existsSync(dir + 'vmcore.kdump') && existsSync(dir + 'expected/crash.bt.txt')) scenarios.push({ release, name, dir });
    }
  }
}

if (scenarios.length === 0) {
  test('scenario dumps', (t) => {
    t.log(`no scenario dumps with crash references under ${ROOT}: skipped`);
    t.pass();
  });
}

for (const s of scenarios) {
  test(`${s.release}/${s.name}: crash bt and bt -a frames, exception registers, and the kernel's printed call trace`, (t) => {
    const prog = Program.open(s.dir + 'vmcore.kdump');
    const u = new Unwinder(prog);
    if (u.orc instanceof Error) {
      // A dump cut to the pages other commands read may lack the ORC tables: then it tests the scan, not this.
      t.log(`${s.name}: ${u.orc.message}: the cut dump lacks the ORC tables, skipped (record backtrace's pages when cutting)`);
      t.pass();
      prog.close();
      return;
    }
    const bt = parseCrashBt(readFileSync(s.dir + 'expected/crash.bt.txt', 'latin1'));
    t.is(bt.length, 1);
    const cpu = panicCpu(prog) ?? bt[0]!.cpu;
    t.is(cpu, bt[0]!.cpu, 'panic_cpu is the CPU crash names');
    const trace = cpu_stack_trace(u, cpu);
    compareWithCrash(t, 'bt', bt[0]!, trace);
    if (existsSync(s.dir + 'expected/crash.bt-a.txt')) {
      for (const task of parseCrashBt(readFileSync(s.dir + 'expected/crash.bt-a.txt', 'latin1'))) {
        if (task.frames.length === 0) continue; // crash could not unwind it ("read of stack ... failed")
        compareWithCrash(t, `bt -a CPU ${task.cpu}`, task, cpu_stack_trace(u, task.cpu));
      }
    }
    if (existsSync(s.dir + 'console.log')) {
      const lines = readFileSync(s.dir + 'console.log', 'latin1').split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, ''));
      // The trace panic() printed (dump_stack), when it printed one after its message; else the oops's.
      const asLog = (from: number) => logLines(lines.slice(from).map((l, i) => ({ text: l, seq: BigInt(i), tsNsec: null })));
      const panicAt = lines.findIndex((l) => l.startsWith('Kernel panic - not syncing'));
      let trace0 = panicAt >= 0 ? analysePanic(asLog(panicAt)).callTrace : [];
      if (trace0.length === 0) trace0 = analysePanic(asLog(0)).callTrace;
      // Frames above panic() were printed from another call in it (dump_stack) than the one we stop in.
      const inPanic = trace0.findIndex((f) => f.function === 'panic');
      const printed = trace0.slice(inPanic + 1).filter((f) => f.reliable).map((f) => `${f.function}+0x${f.offset.toString(16)}/0x${f.size.toString(16)}`);
      t.true(printed.length > 0, 'the console has a call trace');
      const ours = trace.frames.filter((f) => f.function !== undefined && f.size !== undefined).map(text);
      let i = 0;
      for (const p of ours) if (p === printed[i]) i++;
      t.is(i, printed.length, `the kernel's trace ${JSON.stringify(printed)} is a subsequence of ours ${JSON.stringify(ours)}`);
    }
    prog.close();
  });
}
