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
 *   console log) is a subsequence of ours, symbol+0xoff/0xsize alike;
 * - drgn's trace of every task (expected/drgn.scenario.txt; drgn prints
 *   inlined functions as frames too) holds ours as a subsequence, first and
 *   last frames alike: for every task when drgn is current (0.2+), for the
 *   sleeping tasks with drgn 0.0.22 (which takes QEMU's pr_pid for a PID).
 *
 * Skips (with a log line) where the scenario fixtures are not present.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analysePanic, logLines } from '../panic.js';
import { panicCpu } from '../panic-task.js';
import { Program } from '../program.js';
import { intMember, struct } from '../read.js';
import { for_each_task } from '../tasks.js';
import { cpu_stack_trace, stack_trace, Unwinder, type Frame, type TaskTrace } from './index.js';

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

/**
 * symbol+0xoff/0xsize as the kernel prints it; for module functions without the size: the kernel
 * sizes a module symbol up to the next named symbol of the module's whole symtab, which the
 * module's kallsyms we read do not reproduce (docs/backtrace.md, "Known differences").
 */
const text = (f: { function?: string; offset?: number; size?: number; module?: string }) =>
  `${f.function}+0x${f.offset!.toString(16)}${f.module ? '' : `/0x${f.size!.toString(16)}`}`;

/**
 * A genuine kdump capture (pr_pid is a PID, not QEMU's CPU + 1) saved each CPU's registers where
 * the capture began: the oops's pt_regs (crash_kexec(regs)) or the pt_regs an NMI interrupted
 * (crash_nmi_callback). crash prints the capture path too, found by searching the stack
 * (machine_kexec .. asm_exc_*, or crash_nmi_callback .. end_repeat_nmi on the NMI stack) and ending
 * in an exception block with those registers; the unwinder, like drgn, starts at the registers.
 * Those frames are logged, the block's registers must be the NT_PRSTATUS ones, the rest is compared.
 */
function captureFrames(t: import('ava').ExecutionContext, name: string, crash: CrashTask, prstatus: Record<string, bigint> | undefined): CrashFrame[] {
  if (!prstatus) return crash.frames;
  const k = crash.frames.findIndex((c) => c.exception?.['rip'] === prstatus['rip'] && c.exception?.['rsp'] === prstatus['rsp']);
  if (k < 0) return crash.frames;
  t.log(`${name}: crash's capture path (not unwound: the registers start after it): ${crash.frames.slice(0, k + 1).map((c) => c.fn).join(' ')}`);
  for (const [r, v] of Object.entries(crash.frames[k]!.exception!)) t.is(prstatus[r], v, `${name}: crash's exception block ${r} is NT_PRSTATUS's`);
  return crash.frames.slice(k + 1);
}

function compareWithCrash(t: import('ava').ExecutionContext, name: string, crash: CrashTask, ours: TaskTrace, prstatus?: Record<string, bigint>): void {
  t.is(ours.task, crash.task, `${name}: crash's TASK`);
  const exceptions = ours.frames.filter((f) => f.method === 'exception');
  for (const c of captureFrames(t, name, crash, prstatus)) {
    if (c.bogus) continue;
    if (c.afterBogus) {
      t.true(ours.frames.some((f) => f.function === c.fn), `${name}: ${c.fn} (after crash's bogus frame) is on our stack`);
      continue;
    }
    // crash sometimes prints the interrupted function of an exception frame as a frame of its own
    // (slot = its RSP - 8); ours is the exception frame, same pc.
    // So does a capture's interrupted function (slot = its RSP): ours is the frame of the registers.
    const f = ours.frames.find((x) => x.slot === c.slot && x.method !== 'exception' && (x.function === c.fn || !prstatus))
      ?? [...exceptions, ...(prstatus ? ours.frames.filter((x) => x.method === 'regs') : [])].find((x) => x.pc === c.pc && x.function === c.fn);
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

/** A function name as both sides spell it: no GCC clone suffix (.constprop.0, .isra.0, .part.0, .cold). */
const bare = (name: string) => name.replace(/(\.(constprop|isra|part|cold|llvm)(\.\d+)?)+$/, '');

interface DrgnFrame {
  /** the function, or null where drgn printed only a pc */
  name: string | null;
  /** `name+0xoff/0xsize` (assembly): the offset, to compare addresses */
  off?: bigint;
  pc?: bigint;
}

/** One drgn frame line: `#3  schedule (kernel/sched/core.c:6842:2)`, `#13 ret_from_fork_asm+0x1a/0x1f (...)`, `#0  0xffffffffc0406212`. */
function drgnFrame(token: string): DrgnFrame {
  if (/^0x[0-9a-f]+$/.test(token)) return { name: null, pc: BigInt(token) };
  const m = /^(.*)\+(0x[0-9a-f]+)\/0x[0-9a-f]+$/.exec(token);
  return m ? { name: m[1]!, off: BigInt(m[2]!) } : { name: token };
}

/** drgn-scenario.py's output: the crashed thread's trace, and every task's (pid → frames; null when drgn failed). */
function parseDrgn(text: string): { crashed: DrgnFrame[]; tasks: Map<number, DrgnFrame[] | null> } {
  const crashed: DrgnFrame[] = [];
  const tasks = new Map<number, DrgnFrame[] | null>();
  let cur: DrgnFrame[] | undefined;
  let section: 'crashed' | 'tasks' | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('crashed_thread.stack_trace:')) section = 'crashed';
    else if (line.startsWith("every task's stack trace:")) section = 'tasks';
    else if (section === 'crashed' && !line.startsWith('#')) section = undefined;
    const p = /^pid (\d+) /.exec(line);
    if (section === 'tasks' && p) {
      cur = [];
      tasks.set(Number(p[1]), cur);
      continue;
    }
    const f = /^#\d+\s+(\S+)/.exec(line);
    if (f && section === 'crashed') crashed.push(drgnFrame(f[1]!));
    else if (f && section === 'tasks' && cur) cur.push(drgnFrame(f[1]!));
    else if (section === 'tasks' && /^ERROR/.test(line) && cur) tasks.set([...tasks.keys()].pop()!, null);
  }
  return { crashed, tasks };
}

/**
 * Ours within drgn's: drgn adds inlined functions as frames and ends a user
 * task with its user pc; every one of our frames must be there, in order, the
 * first and the last (kernel) ones included.
 */
function withinDrgn(t: import('ava').ExecutionContext, prog: Program, what: string, ours: Frame[], theirs: DrgnFrame[]): void {
  const frames = ours.filter((f) => !f.user);
  const same = (d: DrgnFrame, f: Frame | undefined) => {
    if (!f) return false;
    if (d.pc !== undefined) return d.pc === f.pc;
    if (d.off !== undefined) return prog.symbol(d.name!) !== undefined && prog.symbol(d.name!)! + d.off === f.pc;
    return f.function !== undefined && bare(d.name!) === bare(f.function);
  };
  let i = 0;
  for (const d of theirs) if (same(d, frames[i])) i++;
  const show = (x: DrgnFrame[]) => x.map((d) => d.name ?? `0x${d.pc!.toString(16)}`);
  t.is(i, frames.length, `${what}: ours ${JSON.stringify(frames.map((f) => f.function ?? f.pc.toString(16)))} within drgn's ${JSON.stringify(show(theirs))}`);
  const kernelTheirs = theirs.filter((d) => d.pc === undefined || d.pc >= 0xffff800000000000n);
  t.true(same(kernelTheirs[kernelTheirs.length - 1]!, frames[frames.length - 1]), `${what}: the last kernel frame`);
}

function compareWithDrgn(t: import('ava').ExecutionContext, prog: Program, u: Unwinder, trace: TaskTrace, text: string, cmd: string): void {
  // drgn 0.0.22 maps NT_PRSTATUS to tasks by pr_pid, which QEMU sets to the CPU + 1: the tasks with
  // those PIDs get another CPU's registers, and its crashed thread is one of them.
  const old = /drgn 0\.0\./.test(cmd);
  const wrongPids = new Set(old ? (prog.dump?.cpus ?? []).filter((c) => c.prPidMeaning === 'cpu-plus-one').map((c) => c.prPid) : []);
  const drgn = parseDrgn(text);
  if (!old) withinDrgn(t, prog, 'crashed thread', trace.frames, drgn.crashed);
  if (drgn.tasks.size === 0 || [...drgn.tasks.values()].every((v) => v === null)) {
    t.log('drgn traced no task (its script stopped): only its crashed thread is compared');
    return;
  }
  let compared = 0;
  const ts = struct(prog, 'task_struct');
  for (const step of for_each_task(prog)) {
    if (!('task' in step)) continue;
    const pid = Number(intMember(prog, step.task, ts, 'pid'));
    const theirs = drgn.tasks.get(pid);
    if (!theirs || pid === 0 || wrongPids.has(pid)) continue; // pid 0: drgn lists one idle task
    const ours = stack_trace(u, step.task);
    if (ours.start === 'cpu-registers' && old) continue;
    withinDrgn(t, prog, `pid ${pid}`, ours.frames, theirs);
    compared++;
  }
  t.true(compared > 0, 'some tasks compared with drgn');
}

const scenarios: { release: string; name: string; dir: string }[] = [];
if (existsSync(ROOT)) {
  for (const release of readdirSync(ROOT)) {
    if (!existsSync(ROOT + release) || release.includes('.md')) continue;
    for (const name of readdirSync(ROOT + release)) {
      const dir = `${ROOT}${release}/${name}/`;
      const refs = ['expected/crash.bt.txt', 'expected/drgn.scenario.txt', 'console.log'].some((f) => existsSync(dir + f));
      if (existsSync(dir + 'vmcore.kdump') && refs) scenarios.push({ release, name, dir });
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
  test(`${s.release}/${s.name}: crash bt and bt -a frames, exception registers, drgn's traces, and the kernel's printed call trace`, (t) => {
    const prog = Program.open(s.dir + 'vmcore.kdump');
    const u = new Unwinder(prog);
    if (u.orc instanceof Error) {
      // A dump cut to the pages other commands read may lack the ORC tables: then it tests the scan, not this.
      t.log(`${s.name}: ${u.orc.message}: the cut dump lacks the ORC tables, skipped (record backtrace's pages when cutting)`);
      t.pass();
      prog.close();
      return;
    }
    const haveCrash = existsSync(s.dir + 'expected/crash.bt.txt');
    const bt = haveCrash ? parseCrashBt(readFileSync(s.dir + 'expected/crash.bt.txt', 'latin1')) : [];
    if (haveCrash) t.is(bt.length, 1);
    const cpu = panicCpu(prog) ?? bt[0]?.cpu;
    if (cpu === undefined) {
      t.fail('no panic_cpu and no crash bt to name the crashing CPU');
      return;
    }
    if (haveCrash) t.is(cpu, bt[0]!.cpu, 'panic_cpu is the CPU crash names');
    const trace = cpu_stack_trace(u, cpu);
    // a genuine kdump capture's registers (see captureFrames); QEMU's are the CPU's live state
    const kdumpRegs = (c: number) => prog.dump?.cpus.find((x) => x.cpu === c && x.prPidMeaning === 'pid')?.regs;
    if (haveCrash) compareWithCrash(t, 'bt', bt[0]!, trace, kdumpRegs(cpu));
    if (existsSync(s.dir + 'expected/crash.bt-a.txt')) {
      for (const task of parseCrashBt(readFileSync(s.dir + 'expected/crash.bt-a.txt', 'latin1'))) {
        if (task.frames.length === 0) continue; // crash could not unwind it ("read of stack ... failed")
        compareWithCrash(t, `bt -a CPU ${task.cpu}`, task, cpu_stack_trace(u, task.cpu), kdumpRegs(task.cpu));
      }
    }
    if (existsSync(s.dir + 'expected/drgn.scenario.txt')) compareWithDrgn(t, prog, u, trace, readFileSync(s.dir + 'expected/drgn.scenario.txt', 'latin1'), readFileSync(s.dir + 'expected/drgn.scenario.cmd', 'latin1'));
    if (existsSync(s.dir + 'console.log')) {
      const lines = readFileSync(s.dir + 'console.log', 'latin1').split('\n').map((l) => l.replace(/^\[\s*\d+\.\d+\]\s?/, ''));
      // The trace panic() printed (dump_stack), when it printed one after its message; else the oops's.
      const asLog = (from: number) => logLines(lines.slice(from).map((l, i) => ({ text: l, seq: BigInt(i), tsNsec: null })));
      const panicAt = lines.findIndex((l) => l.startsWith('Kernel panic - not syncing'));
      let trace0 = panicAt >= 0 ? analysePanic(asLog(panicAt)).callTrace : [];
      if (trace0.length === 0) trace0 = analysePanic(asLog(0)).callTrace;
      // Frames above panic() were printed from another call in it (dump_stack) than the one we stop in.
      const inPanic = trace0.findIndex((f) => f.function === 'panic');
      const printed = trace0.slice(inPanic + 1).filter((f) => f.reliable).map(text);
      t.true(printed.length > 0, 'the console has a call trace');
      const ours = trace.frames.filter((f) => f.function !== undefined && f.size !== undefined).map(text);
      let i = 0;
      for (const p of ours) if (p === printed[i]) i++;
      t.is(i, printed.length, `the kernel's trace ${JSON.stringify(printed)} is a subsequence of ours ${JSON.stringify(ours)}`);
    }
    prog.close();
  });
}
