/**
 * backtrace end to end on the shipped 6.1 dump: `backtrace DUMP | render`
 * reads like crash 8.0.2's `bt` (fixtures/real/expected/crash.vmcore.kdump-zlib.bt.txt)
 * for every frame that is live (crash's stale frames are explained in
 * fixtures/real/BACKTRACE-NOTES.md), the exception register block is crash's
 * byte for byte; --all-cpus, --task, --all-tasks, --frames; bad input.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BinRun, runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const REAL = join(here, '..', '..', '..', 'fixtures', 'real');
const DUMP = join(REAL, 'vmcore.kdump-zlib');
const real = existsSync(DUMP) ? test : test.skip;
const crashBt = () => readFileSync(join(REAL, 'expected', 'crash.vmcore.kdump-zlib.bt.txt'), 'latin1');

let defaultRun: BinRun | undefined;
/** `backtrace DUMP`, run once for the tests that read it */
const defaultBt = () => (defaultRun ??= run('backtrace', [DUMP]));

real('backtrace DUMP | render: crash bt\'s header, its live frames and its register block', (t) => {
  const bt = defaultBt();
  t.is(bt.code, 0, bt.err);
  const recs = bt.records();
  t.deepEqual(recs.slice(0, 2).map((r) => r['kind']), ['source', 'cpu']);
  t.is(recs[1]!['cpu'], 1, 'the CPU that panicked (panic_cpu), not the one whose pr_pid is 1');
  const text = run('vmpipe-render', ['--color', 'never'], { input: bt.out }).out;
  const crash = crashBt();
  const lines = text.split('\n');
  t.true(lines.includes(crash.split('\n')[0]!), 'PID/TASK/CPU/COMMAND line');
  const frame = (l: string) => / \[[0-9a-f]{16}\] .*/.exec(l)?.[0];
  const ours = new Set(lines.map(frame).filter(Boolean));
  const crashFrames = crash.split('\n').filter((l) => /^\s*#\d+ /.test(l));
  for (const l of [...crashFrames.slice(0, 8), crashFrames[crashFrames.length - 1]!]) t.true(ours.has(frame(l)!), l);
  const block = (s: string) => s.split('\n').filter((l) => /^ {4}(RIP|RAX|RDX|RBP|R10|R13|ORIG_RAX):/.test(l));
  t.deepEqual(block(text).slice(-7), block(crash));
});

real('frame records: the RECORDS.md fields, kernel-style text, and sym-resolve names every pc', (t) => {
  const recs = defaultBt().records().filter((r) => r['kind'] === 'frame');
  const panic = recs.find((r) => r['function'] === 'panic')!;
  t.like(panic, { pid: 1, task: '0xffff8dce811f9800', cpu: 1, pc: '0xffffffff89dcd0a8', slot: '0xffffcf8400013a78', offset: 375, reliable: true, method: 'orc', text: 'panic+0x177/0x2f4' });
  t.like(recs[0], { level: 0, method: 'regs', function: 'pvpanic_panic_notify', module: 'pvpanic' });
  const resolved = run('sym-resolve', [], { input: recs.map((r) => JSON.stringify(r)).join('\n') + '\n' }).records();
  t.is(resolved.find((r) => r['function'] === 'panic')!['pcSym'], 'panic+0x177');
});

real('--all-cpus: both CPUs, CPU 0 (which crash cannot unwind) through its IRQ stack to the idle loop', (t) => {
  const recs = run('backtrace', [DUMP, '--all-cpus']).records();
  t.deepEqual(recs.filter((r) => r['kind'] === 'cpu').map((r) => r['cpu']), [0, 1]);
  const cpu0 = recs.filter((r) => r['kind'] === 'frame' && r['cpu'] === 0);
  t.is(cpu0[0]!['stack'], 'irq');
  t.is(cpu0.find((r) => r['method'] === 'exception')!['regs']['rip'], '0xffffffff89e17a0b');
  t.is(cpu0[cpu0.length - 1]!['function'], 'secondary_startup_64_no_verify');
  t.false(recs.some((r) => r['kind'] === 'error'));
});

real('--task PID and --all-tasks: sleeping tasks from thread.sp; --frames gives the stack words', (t) => {
  const one = run('backtrace', [DUMP, '--task', '2', '--frames']).records().filter((r) => r['kind'] === 'frame');
  t.is(one[0]!['function'], '__schedule');
  t.is(one[one.length - 1]!['function'], 'ret_from_fork');
  t.true(one.slice(0, -1).every((r) => Array.isArray(r['words']) && r['words'].length > 0));
  // the second frame's return address is the last word of the first frame's words
  t.is(one[0]!['words'][one[0]!['words'].length - 1], one[1]!['pc']);
  const all = run('backtrace', [DUMP, '--all-tasks']).records();
  const tasks = new Set(all.filter((r) => r['kind'] === 'frame').map((r) => r['task']));
  t.is(tasks.size, 55);
  t.false(all.some((r) => r['kind'] === 'error'));
});

real('as a filter: a panic record gets crash bt\'s trace, cpu records bt -a\'s, task records each task\'s (task-list | backtrace)', (t) => {
  const strip = (recs: Record<string, any>[]) => recs.filter((r) => r['kind'] === 'frame').map((r) => JSON.stringify(r));
  const panic = run('vmcore-extract', [DUMP, '--panic']);
  const viaPanic = run('backtrace', [], { input: panic.out });
  t.is(viaPanic.code, 0, viaPanic.err);
  const recs = viaPanic.records();
  t.deepEqual(recs.map((r) => r['kind']).slice(0, 2), ['source', 'panic'], 'the records on stdin come first, in order');
  t.deepEqual(strip(recs), strip(defaultBt().records()), 'the same frames as backtrace DUMP (crash bt)');
  const cpus = run('vmcore-extract', [DUMP]).records().filter((r) => r['kind'] === 'cpu');
  t.is(cpus.length, 2);
  const viaCpus = run('backtrace', [], { input: cpus.map((r) => JSON.stringify(r)).join('\n') + '\n' });
  t.deepEqual(strip(viaCpus.records()), strip(run('backtrace', [DUMP, '--all-cpus']).records()), 'cpu records: bt -a');
  const tasks = run('task-list', [DUMP]).records().filter((r) => r['kind'] === 'task' && (r['pid'] === 1 || r['pid'] === 2));
  t.is(tasks.length, 2);
  const viaTasks = run('backtrace', [], { input: tasks.map((r) => JSON.stringify(r)).join('\n') + '\n' }).records();
  const byPid = (recs: Record<string, any>[], pid: number) => strip(recs.filter((r) => r['pid'] === pid));
  t.deepEqual(byPid(viaTasks, 2), strip(run('backtrace', [DUMP, '--task', '2']).records()));
  t.deepEqual(byPid(viaTasks, 1), strip(run('backtrace', [DUMP, '--task', '1']).records()));
  const bad = run('backtrace', ['--all-cpus'], { input: '' });
  t.is(bad.code, 2);
  t.regex(bad.err, /^backtrace: --all-cpus needs a DUMP/);
});

real('bad input: an unknown PID, a task address that is no task, a missing file', (t) => {
  const pid = run('backtrace', [DUMP, '--task', '99999']);
  t.is(pid.code, 2);
  t.regex(pid.err, /^backtrace: --task 99999: no task with that PID/);
  const addr = run('backtrace', [DUMP, '--task', '0xffffffff00000000']);
  t.is(addr.code, 0);
  t.is(addr.records().find((r) => r['kind'] === 'error')!['code'], 'task-unreadable');
  const both = run('backtrace', [DUMP, '--all-cpus', '--task', '1']);
  t.is(both.code, 2);
  t.is(both.err, 'backtrace: --all-cpus and --task: give one of them\n');
  const lines = run('backtrace', [DUMP, '--lines']);
  t.is(lines.code, 2);
  t.regex(lines.err, /^backtrace: --lines reads the line tables of a vmlinux with DWARF: give --vmlinux FILE\n$/);
  const none = run('backtrace', ['/nonexistent']);
  t.is(none.code, 3);
  t.is(none.err.split('\n').length, 2);
});

const VMLINUX = '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
(existsSync(DUMP) && existsSync(VMLINUX) ? test : test.skip)('--lines --vmlinux: each kernel frame\'s call site, as addr2line names it (the -dbg vmlinux; skipped without it)', (t) => {
  const recs = run('backtrace', [DUMP, '--lines', '--vmlinux', VMLINUX]).records().filter((r) => r['kind'] === 'frame' && r['function'] !== null);
  const calls = readFileSync(join(REAL, 'expected', 'addr2line.vmlinux.bt-call-sites.txt'), 'latin1').trim().split('\n');
  // addr2line's first eight lines are crash bt's #0-#7: panic .. do_syscall_64, our frames 2-9.
  const ours = recs.filter((r) => r['module'] === undefined).slice(1, 9);
  t.deepEqual(ours.map((r) => `${r['file']}:${r['line']}`), calls.slice(0, 8).map((l) => l.replace(/ \(discriminator \d+\)$/, '')));
  t.is(recs.find((r) => r['module'] === 'pvpanic')!['file'], undefined, 'module frames have no line');
});
