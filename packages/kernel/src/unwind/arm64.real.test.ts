/**
 * The arm64 unwinder on the real arm64 dumps (Debian 6.1.0-56-cloud-arm64
 * under qemu-system-aarch64, tools/recipes/arm64: `pauth` with -cpu max,
 * `nopauth` with cortex-a57), against
 * - the kernel's own call trace (fixtures/arm64/<kernel>/<dump>/expected/console.calltrace.txt):
 *   from `panic` down to el0t_64_sync, the same functions and offsets, printed
 *   as the kernel prints them (its %pS names the return address past
 *   sysrq_handle_crash's noreturn `bl panic` as sysrq_reset_seq_param_set+0x0);
 * - drgn built from source (expected/drgn.backtrace.json): every task's
 *   reliable frames, pc and symbol+offset alike (drgn's inlined frames, which
 *   repeat a pc, counted once).
 * The dumps: the uncut ones outside the repo (/work/refs/arm64/dumps or
 * VMPIPE_ARM64_DUMPS) when present, else the cut fixture if it kept the pages
 * backtrace reads (/work/refs/arm64/pages/FOR-CUT);
 * the System.map (per-CPU data symbols: kallsyms has no data symbols on this
 * kernel) beside them or VMPIPE_ARM64_SYSTEM_MAP. Skips with a log line when absent.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { panicCpu } from '../panic-task.js';
import { Program } from '../program.js';
import { for_each_task, idle_task } from '../tasks.js';
import { ptrauth_strip_kernel_insn_pac } from '../ptrauth.js';
import { cpu_stack_trace, stack_trace, Unwinder, type Arm64Frame } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const KERNEL = '6.1.0-56-cloud-arm64';
const fixtures = join(root, 'fixtures', 'arm64', KERNEL);
const dumps = process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`;
const maps = [process.env['VMPIPE_ARM64_SYSTEM_MAP'], join(fixtures, 'System.map.gz'), join(fixtures, 'System.map'), `/work/refs/arm64/${KERNEL}/System.map`];

interface DrgnFrame {
  pc: string;
  symbol?: string;
  offset?: string;
  interrupted: boolean;
}
interface DrgnTrace {
  task: string;
  pid: number;
  frames?: DrgnFrame[];
  error?: string;
}
interface Drgn {
  panic_cpu: number;
  cpus: (DrgnTrace & { cpu: number })[];
  tasks: (DrgnTrace & { comm: string })[];
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

function setup(dump: string): { prog: Program; drgn: Drgn; console: string[] } | string {
  const expected = join(fixtures, dump, 'expected');
  // The uncut dump when it is here (every page), else the cut fixture, if it kept the pages backtrace reads.
  const uncut = join(dumps, dump, 'qemu.kdump-zlib');
  const path = existsSync(uncut) ? uncut : ['vmcore.kdump', 'qemu.kdump-zlib'].map((n) => join(fixtures, dump, n)).find(existsSync);
  if (!path) return `neither ${uncut} nor a cut dump in ${join(fixtures, dump)} is here`;
  const systemMap = maps.find((m) => m !== undefined && existsSync(m));
  if (!systemMap) return `no System.map of ${KERNEL} (per-CPU data symbols are not in its kallsyms)`;
  const drgn = JSON.parse(readFileSync(join(expected, 'drgn.backtrace.json'), 'utf8')) as Drgn;
  const prog = Program.open(path, { systemMap });
  // A dump remade since the references (a new KASLR offset) is another crash.
  const cur = drgn.cpus.find((c) => c.cpu === drgn.panic_cpu)!;
  const panicFrame = cur.frames!.find((f) => f.symbol === 'panic')!;
  if (prog.symbols.lookup('panic')[0]!.addr !== BigInt(panicFrame.pc) - BigInt(panicFrame.offset!)) return `${path} was remade since ${expected}; rerun the .cmd files there`;
  if (path !== uncut) {
    const end = cpu_stack_trace(new Unwinder(prog), drgn.panic_cpu).end;
    if (end.reason === 'error') return `the cut ${path} lacks pages backtrace reads (${end.message}): see /work/refs/arm64/pages/FOR-CUT`;
  }
  const console = readFileSync(join(expected, 'console.calltrace.txt'), 'latin1')
    .split('\n')
    .map((l) => /^\[[ \d.]+\]\s+(\S+\+0x[0-9a-f]+\/0x[0-9a-f]+)/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
  return { prog, drgn, console };
}

/** drgn's frames as [pc, symbol+offset], a pc repeated by inlining counted once. */
function drgnFrames(t: DrgnTrace): string[] {
  const out: string[] = [];
  let last = '';
  for (const f of t.frames ?? []) {
    if (f.pc === last) continue;
    last = f.pc;
    out.push(`${f.pc} ${f.symbol ?? '?'}+${f.offset ?? '?'}`);
  }
  return out;
}
const ourFrames = (frames: Arm64Frame[]) => frames.filter((f) => f.reliable && !f.user).map((f) => `${hex(f.pc)} ${f.function ?? '?'}+${f.offset !== undefined ? hex(BigInt(f.offset)) : '?'}`);

for (const dump of ['pauth', 'nopauth']) {
  test(`${dump}: the crashing CPU is panic_cpu; its trace from panic() down is the kernel's own call trace`, (t) => {
    const s = setup(dump);
    if (typeof s === 'string') return void (t.log(`skipped: ${s}`), t.pass());
    const cpu = panicCpu(s.prog);
    t.is(cpu, s.drgn.panic_cpu);
    // QEMU's pr_pid is vCPU + 1: never the crashing task's PID (101).
    t.not(s.prog.dump!.cpus.find((c) => c.cpu === cpu)!.prPid, 101);
    const trace = cpu_stack_trace(new Unwinder(s.prog), cpu!);
    const frames = trace.frames as Arm64Frame[];
    t.is(trace.end.reason, 'user-mode');
    const text = (f: Arm64Frame) => {
      const p = f.printedAs;
      return p ? `${p.function}+0x${p.offset.toString(16)}/0x${p.size!.toString(16)}` : `${f.function}+0x${f.offset!.toString(16)}/0x${f.size!.toString(16)}`;
    };
    // The console trace starts in dump_stack() called from panic(); the dump's registers were saved later, still in panic().
    const fromPanic = s.console.slice(s.console.findIndex((l) => l.startsWith('panic+')) + 1);
    const i = frames.findIndex((f) => f.function === 'panic');
    t.true(i > 0);
    t.deepEqual(frames.slice(i + 1).filter((f) => !f.user).map(text), fromPanic);
    // The noreturn call: named by pc - 4, the raw address kept.
    const crash = frames[i + 1]!;
    t.is(crash.function, 'sysrq_handle_crash');
    t.is(crash.offset, crash.size);
    t.is(crash.pc, s.prog.symbols.lookup('sysrq_reset_seq_param_set')[0]!.addr);
    t.deepEqual(crash.printedAs, { function: 'sysrq_reset_seq_param_set', offset: 0, size: 0xa0 });
    // An EL1 exception frame (the timer IRQ that interrupted panic's delay loop) with its pt_regs, and the user-mode pt_regs at the end.
    const exc = frames.filter((f) => f.method === 'exception');
    t.true(exc.length >= 1);
    for (const e of exc) t.is((e.regs as Record<string, bigint>)['pc'], e.pc);
    const user = frames[frames.length - 1]!;
    t.true(user.user);
    t.true(user.pc < 0x0001000000000000n);
  });

  test(`${dump}: every task's reliable frames are drgn's (from source), pc and symbol+offset`, (t) => {
    const s = setup(dump);
    if (typeof s === 'string') return void (t.log(`skipped: ${s}`), t.pass());
    const u = new Unwinder(s.prog);
    const byTask = new Map(s.drgn.tasks.map((x) => [x.task, x]));
    const tasks = [...for_each_task(s.prog)].flatMap((st) => ('task' in st ? [st.task] : []));
    for (const c of s.prog.dump!.cpus) if (c.cpu > 0) tasks.push(idle_task(s.prog, c.cpu));
    let n = 0;
    for (const task of new Set(tasks)) {
      const want = byTask.get(hex(task));
      if (!want) continue;
      const tr = stack_trace(u, task);
      t.deepEqual(ourFrames(tr.frames as Arm64Frame[]), drgnFrames(want), `task ${hex(task)} (PID ${want.pid} ${want.comm})`);
      n++;
    }
    t.is(n, s.drgn.tasks.length);
    t.log(`${n} tasks, each the same frames as drgn's`);
  });

  test(`${dump}: return addresses signed with pointer authentication only with -cpu max, stripped by KERNELPACMASK`, (t) => {
    const s = setup(dump);
    if (typeof s === 'string') return void (t.log(`skipped: ${s}`), t.pass());
    const mask = s.prog.dump!.vmcoreinfo!.numberOf('KERNELPACMASK')!;
    const frames = cpu_stack_trace(new Unwinder(s.prog), s.drgn.panic_cpu).frames as Arm64Frame[];
    const signed = frames.filter((f) => f.signedPc !== undefined);
    if (dump === 'pauth') {
      t.is(mask, 0xffff000000000000n);
      t.true(signed.length > 5);
      for (const f of signed) {
        t.not(f.signedPc, f.pc);
        t.is(f.signedPc! | mask, f.pc);
        t.is(ptrauth_strip_kernel_insn_pac(s.prog, f.signedPc!), f.pc);
      }
    } else {
      t.is(mask, 0n);
      t.is(signed.length, 0);
    }
  });
}
