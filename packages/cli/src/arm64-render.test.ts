/**
 * `vmpipe-render` shows an arm64 panic record as the arm64 kernel printed its report: the fault
 * and its `Mem abort info:` block (or the `kernel BUG at` line), `Internal error:`, `Modules linked
 * in:`, `CPU:`, `Hardware name:`, `pstate:`, `pc :`, `lr :`, `sp :`, `x29: ... x0 :`, `Call trace:`,
 * and `Code:` last (x86 prints RIP, Code, then the registers: render's kernel-layouts.test.ts).
 * The records are `vmcore-extract --panic` on the real arm64 oops dumps of crashmod's seed, null
 * and listdel modes (expected/vmpipe.panic.json, made as its .cmd says; checked against the dumps
 * when they are here), the kernel's text the committed console logs.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const KERNEL = '6.1.0-56-cloud-arm64';
const fixtures = join(here, '..', '..', '..', 'fixtures', 'arm64', KERNEL);
const dumps = process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`;
const systemMap = join(fixtures, 'System.map.gz');
const SCENARIOS = ['seed', 'null', 'listdel'] as const;

type Rec = Record<string, unknown>;

const committed = (scenario: string) => readFileSync(join(fixtures, scenario, 'expected', 'vmpipe.panic.json'), 'utf8');

/** The console text's oops report: from its first line to `Code:`, stamps and CRs off. */
function consoleReport(scenario: string, first: string): string[] {
  const lines = readFileSync(join(fixtures, scenario, 'console.log'), 'latin1')
    .split('\n')
    .map((l) => l.replace(/\r$/, '').replace(/^\[ *\d+\.\d+\] ?/, ''));
  const from = lines.indexOf(first);
  const to = lines.findIndex((l, i) => i > from && l.startsWith('Code: '));
  return lines.slice(from, to + 1);
}

for (const scenario of SCENARIOS) {
  test(`arm64 ${scenario}: vmpipe-render prints the panic record's report line for line as the console shows it`, (t) => {
    const record = JSON.parse(committed(scenario)) as Rec;
    const r = run('vmpipe-render', ['--color', 'never'], { input: committed(scenario) });
    t.is(r.code, 0, r.err);
    const out = r.out.replace(/\n$/, '').split('\n');
    // the summary block first (as on x86), then a blank line, then the report
    t.is(out[0], `       PANIC: ${String(record.headline)}`);
    const report = out.slice(out.indexOf('') + 1);
    // `------------[ cut here ]------------` before `kernel BUG at` is not part of any record field
    const printed = consoleReport(scenario, String(record.headline)).filter((l) => !/^-+\[ cut here \]-+$/.test(l));
    t.deepEqual(report, printed);
    t.true(printed.length >= 26, `${printed.length} lines: the whole report, not a piece`);
  });

  // the seed's record is checked against its dump by arm64-oops.test.ts
  if (scenario === 'seed') continue;
  test(`arm64 ${scenario}: the committed panic record is vmcore-extract --panic's on the dump`, (t) => {
    const dump = join(dumps, scenario, 'qemu.kdump-zlib');
    if (!existsSync(dump)) {
      t.log(`skipped: ${dump} is not here (the uncut arm64 oops dumps live outside the repo: tools/recipes/arm64/make.sh ${scenario})`);
      t.pass();
      return;
    }
    const r = run('vmcore-extract', [dump, '--panic', '--system-map', systemMap]);
    t.is(r.code, 0, r.err);
    const panic = r.out.split('\n').find((l) => l.includes('"kind":"panic"'))!;
    const { dump: _a, ...got } = JSON.parse(panic) as Rec;
    const { dump: _b, ...want } = JSON.parse(committed(scenario)) as Rec;
    t.deepEqual(got, want);
  });
}

test('an x86 panic record still renders RIP, Code, the registers, then Call Trace:', (t) => {
  const record = {
    kind: 'panic', dump: 'd', headline: 'BUG: kernel NULL pointer dereference, address: 0000000000000018', event: 'null-deref', cpu: 1, pid: 2, comm: 'c',
    oops: 'Oops: 0000 [#1] PREEMPT SMP NOPTI', modules: 'crashmod(OE)', cpuLine: 'CPU: 1 PID: 2 Comm: c Tainted: G           OE      6.1.0-56-cloud-amd64 #1 Debian 6.1.192-2',
    rip: 'RIP: 0010:vmpipe_first_seq+0x4/0x20 [crashmod]', code: '48 8b 47 <18>', registers: ['RSP: 0018:ffffc2b380b2fd90 EFLAGS: 00010286'],
    callTrace: [{ function: 'kthread', offset: 0xe0, size: 0xe4, reliable: true, line: 'kthread+0xe0/0xe4' }],
  };
  const r = run('vmpipe-render', ['--color', 'never'], { input: JSON.stringify(record) + '\n' });
  t.is(r.code, 0, r.err);
  const out = r.out.replace(/\n$/, '').split('\n');
  t.deepEqual(out.slice(out.indexOf('') + 1), ['RIP: 0010:vmpipe_first_seq+0x4/0x20 [crashmod]', 'Code: 48 8b 47 <18>', 'RSP: 0018:ffffc2b380b2fd90 EFLAGS: 00010286', 'Call Trace:', ' kthread+0xe0/0xe4']);
});
