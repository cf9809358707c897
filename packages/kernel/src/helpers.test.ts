/**
 * The typed kernel facts: on the real dump against crash's `sys` and `bt`
 * (fixtures/real/expected), and on a hand-built memory + type table for the
 * layouts the real dump does not have (pcpu_hot on 6.2+, a disagreeing log).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BufferMemory } from '@vmpipe/addrxlat';
import { SymbolTable } from '@vmpipe/symbols';
import type { CType, TypeTable } from '@vmpipe/types';
import { le, table } from './memkit.test-helper.js';
import { KernelImage } from './printk/oldkernel-testkit.js';
import { cpuOnline, currentTask, panicCpu, panicTask, Program, systemFacts, timekeeperSeconds, tkCoreTimekeeperOffset, typedFactsUnavailable } from './index.js';

const root = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const expected = (name: string) => readFileSync(root + 'expected/' + name, 'latin1');

/** crash bt's first line: `PID: 1        TASK: ffff8dce811f9800  CPU: 1    COMMAND: "sh"` */
function crashBt() {
  const m = /^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)\s+COMMAND: "(.*)"$/m.exec(expected('crash.vmcore.kdump-zlib.bt.txt'))!;
  return { pid: Number(m[1]), task: BigInt('0x' + m[2]), cpu: Number(m[3]), comm: m[4]! };
}

/** crash sys's `CPUS: 2 [OFFLINE: 1]` and `DATE: Wed Nov 25 01:52:57 UTC 2026` */
function crashSys() {
  const sys = expected('crash.vmcore.kdump-zlib.sys.txt');
  const cpus = /CPUS: (\d+)(?: \[OFFLINE: (\d+)\])?/.exec(sys)!;
  const date = /DATE: \w+ (\w+) +(\d+) (\d\d:\d\d:\d\d) UTC (\d+)/.exec(sys)!;
  return { cpus: Number(cpus[1]), offline: Number(cpus[2] ?? 0), date: Date.parse(`${date[1]} ${date[2]}, ${date[4]} ${date[3]} UTC`) / 1000 };
}

async function real(): Promise<{ k: Program; close(): void }> {
  const k = Program.open(root + 'vmcore.kdump-zlib');
  const why = typedFactsUnavailable(k);
  if (why) throw new Error(why);
  return { k, close: () => k.close() };
}

test('real dump: tk_core.timekeeper.xtime_sec is crash sys DATE', async (t) => {
  const { k, close } = await real();
  const want = crashSys().date;
  t.false(Number.isNaN(want));
  t.is(Number(timekeeperSeconds(k)), want);
  close();
});

test('real dump: the panic CPU current task is crash bt PID/TASK/COMMAND', async (t) => {
  const { k, close } = await real();
  const bt = crashBt();
  t.is(panicCpu(k), bt.cpu);
  const cur = currentTask(k, bt.cpu);
  t.like(cur, { cpu: bt.cpu, task: bt.task, pid: bt.pid, comm: bt.comm, via: 'current_task' });
  // The log's `CPU: 1 PID: 1 Comm: sh` agrees: kept as the log's, with the task address added.
  t.deepEqual(panicTask(k, { cpu: bt.cpu, pid: bt.pid, comm: bt.comm }), { cpu: bt.cpu, pid: bt.pid, comm: bt.comm, task: bt.task, taskSource: 'log' });
  // Without the log line: panic_cpu's current task.
  t.deepEqual(panicTask(k, { cpu: null, pid: null, comm: null }), { cpu: bt.cpu, pid: bt.pid, comm: bt.comm, task: bt.task, taskSource: 'current_task' });
  const wrong = panicTask(k, { cpu: bt.cpu, pid: bt.pid + 1, comm: bt.comm });
  t.is(wrong.pid, bt.pid + 1);
  t.regex(wrong.mismatch ?? '', /PID 2 \(log\) vs 1 \(current task\)/);
  close();
});

test('real dump: online CPUs give crash sys CPUS [OFFLINE: n]', async (t) => {
  const { k, close } = await real();
  const sys = crashSys();
  const c = cpuOnline(k);
  t.is(c.nrCpuIds, sys.cpus);
  t.is(c.offline.length, sys.offline);
  t.is(c.online.length + c.offline.length, sys.cpus);
  close();
});

const int = (name: string, size: number, signed: boolean, char = false): CType => ({ kind: 'int', name, size, signed, char, bool: false, bits: size * 8 });
const m = (name: string, type: number, byte: number) => ({ name, type, bitOffset: byte * 8, bitSize: 0 });

/** Layouts with offsets unlike the real kernel's, so a hard-coded offset would fail. */
function fakeTypes(withPcpuHot: boolean): TypeTable {
  return table([
    /* 1 */ int('int', 4, true),
    /* 2 */ int('long long int', 8, true),
    /* 3 */ int('char', 1, true, true),
    /* 4 */ int('long unsigned int', 8, false),
    /* 5 */ { kind: 'array', type: 3, count: 16 },
    /* 6 */ { kind: 'struct', name: 'task_struct', size: 64, members: [m('pid', 1, 20), m('comm', 5, 40)] },
    /* 7 */ { kind: 'pointer', type: 6, size: 8 },
    /* 8 */ { kind: 'struct', name: 'timekeeper', size: 48, members: [m('xtime_sec', 2, 32)] },
    /* 9 */ { kind: 'struct', name: 'seqcount_raw_spinlock', size: 12, members: [m('sequence', 1, 0)] },
    /* 10 */ { kind: 'typedef', name: 'seqcount_raw_spinlock_t', type: 9 },
    /* 11 (tk_core's type) */ { kind: 'struct', name: '', size: 64, members: [m('seq', 10, 0), m('timekeeper', 8, 16)] },
    /* 12 */ { kind: 'array', type: 4, count: 1 },
    /* 13 */ { kind: 'struct', name: 'cpumask', size: 8, members: [m('bits', 12, 0)] },
    /* 14 */ withPcpuHot ? { kind: 'struct', name: 'pcpu_hot', size: 64, members: [m('preempt_count', 1, 0), m('current_task', 7, 8)] } : int('unused', 4, false),
  ]);
}

function fakeKernel(withPcpuHot: boolean): Program {
  const syms = new Map<string, bigint>([
    ['tk_core', 0xffffffff81000000n],
    ['__per_cpu_offset', 0xffffffff81001000n],
    ['nr_cpu_ids', 0xffffffff81002000n],
    ['__cpu_online_mask', 0xffffffff81003000n],
    ['panic_cpu', 0xffffffff81004000n],
    [withPcpuHot ? 'pcpu_hot' : 'current_task', 0x20000n],
  ]);
  const mem = new BufferMemory();
  mem.add(0xffffffff81000000n + 16n + 32n, le(8, 1700000000n));
  const offsets = [0xffff888100000000n, 0xffff888200000000n, 0xffff888300000000n, 0xffff888400000000n];
  offsets.forEach((o, cpu) => mem.add(0xffffffff81001000n + BigInt(cpu * 8), le(8, o)));
  mem.add(0xffffffff81002000n, le(4, 4n));
  mem.add(0xffffffff81003000n, le(8, 0b1011n));
  mem.add(0xffffffff81004000n, le(4, 3n));
  const slot = 0x20000n + (withPcpuHot ? 8n : 0n);
  const task = 0xffff888400100000n;
  mem.add(offsets[3]! + slot, le(8, task));
  mem.add(task + 20n, le(4, 4242n));
  mem.add(task + 40n, new Uint8Array([...Buffer.from('kworker/3:1'), 0, 0x41, 0x41, 0x41, 0x41]));
  const symbols = new SymbolTable([...syms].map(([name, addr]) => ({ name, addr, type: 'D' })));
  return Program.fromParts({ types: fakeTypes(withPcpuHot), mem, symbols });
}

test('tk_core: timekeeper found by the anonymous struct\'s shape, xtime_sec read through it', (t) => {
  const k = fakeKernel(false);
  t.is(tkCoreTimekeeperOffset(k.types, k.types.lookup('struct', 'timekeeper')!), 16);
  t.is(timekeeperSeconds(k), 1700000000n);
});

test('current task: current_task (6.1) and pcpu_hot.current_task (6.2+) at __per_cpu_offset[cpu]', (t) => {
  for (const hot of [false, true]) {
    const k = fakeKernel(hot);
    t.is(panicCpu(k), 3);
    t.deepEqual(currentTask(k, 3), { cpu: 3, task: 0xffff888400100000n, pid: 4242, comm: 'kworker/3:1', via: hot ? 'pcpu_hot.current_task' : 'current_task' });
    t.deepEqual(panicTask(k, { cpu: null, pid: null, comm: null }), { cpu: 3, pid: 4242, comm: 'kworker/3:1', task: 0xffff888400100000n, taskSource: 'current_task' });
  }
});

test('current task: a CPU at or past nr_cpu_ids, or unreadable memory, is a problem, not a crash', (t) => {
  const k = fakeKernel(false);
  t.throws(() => currentTask(k, 4), { message: /not below nr_cpu_ids 4/ });
  // CPU 0's per-CPU area is not in memory: the log's values stay, with the problem.
  const p = panicTask(k, { cpu: 0, pid: 7, comm: 'x' });
  t.like(p, { cpu: 0, pid: 7, comm: 'x', taskSource: 'log' });
  t.is(p.task, undefined);
  t.truthy(p.problem);
});

test('current task disagreeing with the log: the log is kept and the mismatch said', (t) => {
  const p = panicTask(fakeKernel(false), { cpu: 3, pid: 4242, comm: 'bash' });
  t.like(p, { cpu: 3, pid: 4242, comm: 'bash', taskSource: 'log', task: 0xffff888400100000n });
  t.is(p.mismatch, 'CPU 3: comm "bash" (log) vs "kworker/3:1" (current task)');
});

test('online CPUs: bits of __cpu_online_mask below nr_cpu_ids', (t) => {
  t.deepEqual(cpuOnline(fakeKernel(false)), { nrCpuIds: 4, online: [0, 1, 3], offline: [2] });
});

test('without types: panicTask keeps the log and reads nothing', (t) => {
  t.deepEqual(panicTask(null, { cpu: 1, pid: 1, comm: 'sh' }), { cpu: 1, pid: 1, comm: 'sh', taskSource: 'log' });
  t.deepEqual(panicTask(null, { cpu: null, pid: null, comm: null }), { cpu: null, pid: null, comm: null });
});

test('a dump without kallsyms (4.19): no typed facts, one note, no failure', async (t) => {
  const k = Program.open(await new KernelImage().write(KernelImage.baseInfo('4.19.0-9-amd64')));
  t.true(k.tryTypes() instanceof Error);
  t.regex(typedFactsUnavailable(k) ?? '', /^no kernel symbols in the dump .*crash time, current task and online CPUs need them$/);
  k.close();
});

test('real dump: TASKS counts every task and each CPU\'s idle task, as drgn lists them (crash 8.0.2 sees 3 from its PID hash)', async (t) => {
  const { k, close } = await real();
  const drgnTasks = expected('drgn.vmcore.kdump-zlib.bt.txt').split('\n').filter((l) => l.startsWith('TASK ')).length;
  t.is(drgnTasks, 55);
  const f = systemFacts(k, []);
  t.is(f.tasks, drgnTasks);
  t.is(f.mhz, Number(/MACHINE: x86_64 {2}\((\d+) Mhz\)/.exec(expected('crash.vmcore.kdump-zlib.sys.txt'))![1]));
  t.deepEqual(f.loadAverage, [0, 0, 0], 'crash: LOAD AVERAGE: 0.00, 0.00, 0.00');
  t.deepEqual(f.problems, []);
  close();
});
