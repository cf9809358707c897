/**
 * A real arm64 oops end to end (tools/recipes/README.md#oops): crashmod's seed, null and listdel
 * modes on Debian 6.1.0-56-cloud-arm64 under qemu-system-aarch64, panic_on_oops=1. The console
 * logs are committed (fixtures/arm64/6.1.0-56-cloud-arm64/{seed,null,listdel}/console.log) and
 * triage reads them on any machine; the uncut seed dump stays in /work/refs (VMPIPE_ARM64_DUMPS),
 * and the tests that need it skip with a log line without it. On the dump, `vmcore-extract
 * --panic` must give the committed record (expected/vmpipe.panic.json) and its registers must be
 * the fault's registers `backtrace` recovers from the exception frame; `triage` on the dump must
 * give what it gives on the console text.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const KERNEL = '6.1.0-56-cloud-arm64';
const fixtures = join(here, '..', '..', '..', 'fixtures', 'arm64', KERNEL);
const seed = join(fixtures, 'seed');
const x86 = join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64');
const dump = join(process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`, 'seed', 'qemu.kdump-zlib');
const systemMap = join(fixtures, 'System.map.gz');

type Rec = Record<string, unknown>;

const expected = (file: string) => JSON.parse(readFileSync(join(seed, 'expected', file), 'utf8')) as Rec;
const withoutDump = ({ dump: _d, log: _l, line: _n, crashTime: _c, ...rest }: Rec) => rest;

function haveDump(t: { log: (s: string) => void; pass: () => void }): boolean {
  if (existsSync(dump)) return true;
  t.log(`skipped: ${dump} is not here (the uncut arm64 oops dump lives outside the repo: tools/recipes/arm64/make.sh seed)`);
  t.pass();
  return false;
}

test('arm64 oops console: one report, titled as syzkaller titles it, with lr naming the caller the trace left out', (t) => {
  const r = run('triage', ['--log', join(seed, 'console.log')]);
  t.is(r.code, 0, r.err);
  // the `Kernel panic - not syncing: Oops: Fatal exception` after `---[ end trace ]---` is this oops's, not a report of its own
  t.is(r.records().length, 1);
  const s = r.records()[0]!;
  t.like(s, {
    title: 'BUG: unable to handle kernel paging request in vmpipe_walk_queue',
    crashType: 'paging request',
    guilty: 'vmpipe_walk_queue',
    module: 'crashmod',
    corrupted: false,
    headline: 'Unable to handle kernel paging request at virtual address dead000000000100',
    cpu: 1,
    pid: 105,
    comm: 'vmpipe-walker',
    release: KERNEL,
  });
  t.deepEqual(s.frames, ['vmpipe_walk_queue', 'vmpipe_seed_thread']);
});

test('the same bug on x86 and arm64: the same guilty function and frames (the crash types differ: GPF, paging request)', (t) => {
  const arm = run('triage', ['--log', join(seed, 'console.log')]).records()[0]!;
  const amd = run('triage', ['--log', join(x86, 'seed', 'console.log')]).records()[0]!;
  t.is(amd.title, 'general protection fault in vmpipe_walk_queue');
  t.deepEqual([arm.guilty, arm.frames], [amd.guilty, amd.frames]);
  const armNull = run('triage', ['--log', join(fixtures, 'null', 'console.log')]).records();
  const amdNull = run('triage', ['--log', join(x86, 'null', 'console.log')]).records()[0]!;
  t.is(armNull.length, 1);
  t.like(armNull[0], { title: 'BUG: unable to handle kernel NULL pointer dereference in vmpipe_first_seq', crashType: 'NULL dereference', comm: 'vmpipe-null' });
  t.deepEqual([armNull[0]!.title, armNull[0]!.frames, armNull[0]!.hash], [amdNull.title, amdNull.frames, amdNull.hash]);
});

test('arm64 BUG(): kernel BUG at lib/list_debug.c and `Internal error: Oops - BUG` are one report, a corrupted list', (t) => {
  const r = run('triage', ['--log', join(fixtures, 'listdel', 'console.log')]);
  t.is(r.code, 0, r.err);
  t.is(r.records().length, 1);
  const amd = run('triage', ['--log', join(x86, 'listdel', 'console.log')]).records()[0]!;
  t.like(r.records()[0], { crashType: 'list corruption', comm: 'vmpipe-listdel', corrupted: false });
  t.deepEqual([r.records()[0]!.title, r.records()[0]!.hash], [amd.title, amd.hash]);
  t.is(r.records()[0]!.headline, 'list_del corruption. prev->next should be ffff0000080bffc0, but was ffff0000080bfe00. (prev=ffff0000080bfa80)');
});

test('arm64 oops dump: vmcore-extract --panic gives the committed record, from the dump ELF and kdump alike', (t) => {
  if (!haveDump(t)) return;
  for (const file of [dump, dump.replace(/qemu\.kdump-zlib$/, 'qemu.elf')]) {
    const r = run('vmcore-extract', [file, '--panic', '--system-map', systemMap]);
    t.is(r.code, 0, r.err);
    const panic = r.records().find((x) => x.kind === 'panic')!;
    t.deepEqual(withoutDump(panic), withoutDump(expected('vmpipe.panic.json')), file);
    t.false(r.records().some((x) => x.kind === 'error'), 'the log task is the CPU\'s current task');
  }
});

test('arm64 oops dump: the panic record\'s registers are those backtrace recovers from the exception frame', (t) => {
  if (!haveDump(t)) return;
  const panic = expected('vmpipe.panic.json');
  const bt = run('backtrace', [dump, '--system-map', systemMap]);
  t.is(bt.code, 0, bt.err);
  const frames = bt.records().filter((x) => x.kind === 'frame');
  const faulting = frames.find((f) => f.method === 'exception')!;
  t.truthy(faulting, 'an exception frame');
  t.is(faulting.function, 'vmpipe_walk_queue.constprop.0');
  t.is(faulting.task, panic.task);
  const printed = panic.regs as Record<string, string>;
  const saved = faulting.regs as Record<string, string>;
  for (const name of ['sp', ...Array.from({ length: 30 }, (_, i) => `x${i}`)]) t.is(BigInt(saved[name]!), BigInt(printed[name]!), name);
  // the frame after it: lr's function, the caller the printed trace leaves out
  const next = frames[frames.indexOf(faulting) + 1]!;
  t.is(next.function, 'vmpipe_seed_thread');
  t.regex(String(panic.lr), /^lr : vmpipe_seed_thread\+0x60\//);
});

test('arm64 oops dump: triage on the dump gives the committed signature, and the console text\'s', (t) => {
  if (!haveDump(t)) return;
  const r = run('triage', [dump, '--system-map', systemMap]);
  t.is(r.code, 0, r.err);
  const s = r.records().find((x) => x.kind === 'signature')!;
  t.deepEqual(withoutDump(s), withoutDump(expected('vmpipe.triage.json')));
  const text = run('triage', ['--log', join(seed, 'console.log')]).records()[0]!;
  t.deepEqual([s.title, s.hash, s.frames, s.guilty], [text.title, text.hash, text.frames, text.guilty]);
});

test('arm64 oops dump: --sys agrees with crash 9 sys; crash names only the panic, vmpipe the oops before it', (t) => {
  if (!haveDump(t)) return;
  const crash = readFileSync(join(seed, 'expected', 'crash-9.0.2++.sys.txt'), 'latin1');
  const field = (name: string) => new RegExp(`^ *${name}: (.*)$`, 'm').exec(crash)![1]!.trim();
  const r = run('vmcore-extract', [dump.replace(/qemu\.kdump-zlib$/, 'qemu.elf'), '--sys', '--panic', '--system-map', systemMap]);
  t.is(r.code, 0, r.err);
  const sys = r.records().find((x) => x.kind === 'system')!;
  const panic = r.records().find((x) => x.kind === 'panic')!;
  t.is(`${String(sys.cpus)} [OFFLINE: ${String(sys.cpusOffline)}]`, field('CPUS'));
  t.is(String(sys.tasks), field('TASKS'));
  t.is(sys.release, field('RELEASE'));
  t.is(sys.version, field('VERSION'));
  t.is(`${Number(sys.memoryBytes) >> 20} MB`, field('MEMORY'));
  t.is((sys.loadAverage as number[]).map((x) => x.toFixed(2)).join(', '), field('LOAD AVERAGE'));
  t.is(new Date(String(sys.crashTime)).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 UTC $4'), field('DATE'));
  t.is(field('PANIC'), `"${String(panic.message)}" (check log for details)`);
  t.is(sys.panic, panic.headline);
  t.is(panic.headline, 'Unable to handle kernel paging request at virtual address dead000000000100');
});

test('arm64 oops dump: disasm --diff --from-module relocates crashmod.ko as the module loader did; only the ftrace entry differs', (t) => {
  if (!haveDump(t)) return;
  const ko = join(dirname(dump), 'crashmod.ko');
  // its text functions (`aarch64-linux-gnu-nm crashmod.ko | grep ' [tT] '`), less the init ones the kernel freed after loading
  const functions = ['vmpipe_fill', 'vmpipe_first_seq', 'vmpipe_holder_thread', 'vmpipe_item_ctor', 'vmpipe_listdel_thread', 'vmpipe_null_thread', 'vmpipe_panic_thread',
    'vmpipe_retire_racy', 'vmpipe_seed_thread', 'vmpipe_spin_thread', 'vmpipe_timer_fn', 'vmpipe_waiter_thread', 'vmpipe_warn_thread', 'vmpipe_walk_queue.constprop.0'];
  let relocated = 0;
  for (const fn of functions) {
    const r = run('disasm', [dump, fn, '--system-map', systemMap, '--diff', '--from-module', ko]);
    t.is(r.code, 0, r.err);
    const insns = r.records().filter((x) => x.kind === 'insn');
    // DYNAMIC_FTRACE_WITH_REGS: the first of the two patchable-entry nops became `mov x9, x30` when the module was loaded
    t.like(insns[0], { same: false, reason: 'ftrace', text: 'mov x9, x30' }, fn);
    t.is(insns[0]!.file[0].text, 'nop', fn);
    // a relocation not applied, or applied wrong, is an instruction that differs (`module-relocation`, or `patched`)
    t.deepEqual(insns.slice(1).filter((x) => !x.same).map((x) => `${x.symbol} ${x.reason}: ${x.text}`), [], fn);
    relocated += insns.filter((x) => x.relocated).length;
  }
  // every relocation of .rela.text (59) and .rela.text.unlikely (8) (`aarch64-linux-gnu-readelf -r crashmod.ko`) changed its
  // instruction: adrp/add and ldr of the module's .data and .bss (placed from struct module.sect_attrs: this kernel's
  // kallsyms has no data symbols), and every bl to the kernel, out of reach and so through the module's PLT
  t.is(relocated, 67);
});

test('arm64 oops dump: disasm --from-module reads the function from crashmod.ko and says so', (t) => {
  if (!haveDump(t)) return;
  const ko = join(dirname(dump), 'crashmod.ko');
  const fn = 'vmpipe_walk_queue.constprop.0';
  const file = run('disasm', [dump, fn, '--system-map', systemMap, '--from-module', ko]);
  t.is(file.code, 0, file.err);
  const insns = file.records().filter((x) => x.kind === 'insn');
  t.deepEqual([...new Set(insns.map((x) => x.bytesFrom))], ['module']);
  const memory = run('disasm', [dump, fn, '--system-map', systemMap]).records().filter((x) => x.kind === 'insn');
  t.deepEqual([...new Set(memory.map((x) => x.bytesFrom))], ['memory']);
  t.is(insns.length, memory.length);
  // the faulting load the console's `pc : vmpipe_walk_queue.constprop.0+0x30/0x50 [crashmod]` names: no relocation in it
  const at = (list: Rec[]) => list.find((x) => x.symbol === `${fn}+0x30 [crashmod]`);
  t.is(at(insns)?.mnemonic, 'ldr');
  t.is(at(insns)?.text, at(memory)?.text);
});
