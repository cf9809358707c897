/**
 * `triage` end to end: the shipped real dump (fixtures/real, sysrq-c on Debian's 6.1 kernel)
 * against crash 8.0.2's `sys` and `bt` on the same dump (fixtures/real/expected), console logs
 * from the corpus (fixtures/triage), a dump whose log cannot be read, and bad input.
 */
import test from 'ava';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDump } from '@vmpipe/mkdump';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-triage-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
/** A corpus text by its slug (the file name without its number). */
const corpus = (slug: string) => join(root, 'fixtures/triage/corpus', readdirSync(join(root, 'fixtures/triage/corpus')).find((f) => f.slice(4) === `${slug}.txt`)!);

/** The bin run from the repository's root: the tests name fixtures by their path from there. */
const run = (name: string, args: string[], input?: string) => runBinSync(name, args, { input, cwd: root });

test('a dump: its signature, with the release, crash time and frames crash reports', (t) => {
  const r = run('triage', ['fixtures/real/vmcore.kdump-zlib']);
  t.is(r.code, 0, r.err);
  const sigs = r.records().filter((x) => x.kind === 'signature');
  t.is(sigs.length, 1);
  const s = sigs[0];
  t.like(s, { title: 'kernel panic: sysrq triggered crash', crashType: 'sysrq', guilty: 'sysrq_handle_crash', corrupted: false, dump: 'fixtures/real/vmcore.kdump-zlib', taint: 'Not tainted', pid: 1, comm: 'sh', cpu: 1 });
  // crash's sys on this dump: RELEASE and DATE.
  const sys = readFileSync(join(root, 'fixtures/real/expected/crash.vmcore.kdump-zlib.sys.txt'), 'utf8');
  t.is(s.release, /RELEASE: (\S+)/.exec(sys)![1]);
  t.is(new Date(s.crashTime).toUTCString().replace('GMT', 'UTC'), 'Wed, 25 Nov 2026 01:52:57 UTC');
  t.regex(sys, /DATE: Wed Nov 25 01:52:57 UTC 2026/);
  // The hashed frames are crash's bt frames after panic(), in order.
  const bt = [...readFileSync(join(root, 'fixtures/real/expected/crash.vmcore.kdump-zlib.bt.txt'), 'utf8').matchAll(/#\s*\d+ \[\w+\] (\S+) at/g)].map((m) => m[1]!.replace(/\.cold$/, ''));
  t.deepEqual(s.frames, bt.slice(1, 1 + s.frames.length));
});

test('as a filter on vmcore-extract --panic --sys: the same signature; other records pass through', (t) => {
  const extract = run('vmcore-extract', ['fixtures/real/vmcore.kdump-zlib', '--panic', '--sys']);
  const r = run('triage', [], extract.out);
  t.is(r.code, 0, r.err);
  t.deepEqual(r.records().map((x) => x.kind), ['source', 'system', 'signature']);
  const direct = run('triage', ['fixtures/real/vmcore.kdump-zlib']).records().find((x) => x.kind === 'signature');
  t.deepEqual(r.records()[2], direct);
});

test('console logs: one signature per report; --group buckets them; render prints the table', (t) => {
  const files = [corpus('kernel-bug-uksm'), corpus('warning-irq-handle-rt-arm'), corpus('warning-irq-handle-rt-arm-second-report')];
  const r = run('triage', ['--log', ...files]);
  t.is(r.code, 0, r.err);
  t.deepEqual(r.records().map((x) => x.title), ['kernel BUG in scan_vma_one_page', 'WARNING in __handle_irq_event_percpu', 'WARNING in __handle_irq_event_percpu']);
  t.deepEqual(r.records().map((x) => x.line), [2, 2, 2]);
  const g = run('triage', ['--log', '--group', ...files]);
  t.deepEqual(g.records().map((x) => [x.kind, x.count, x.title]), [
    ['bucket', 2, 'WARNING in __handle_irq_event_percpu'],
    ['bucket', 1, 'kernel BUG in scan_vma_one_page'],
  ]);
  const table = run('vmpipe-render', ['--color', 'never'], g.out).out.split('\n');
  t.regex(table[0]!, /^COUNT\s+CORRUPT\s+FIRST\s+LAST\s+HASH\s+TYPE\s+TITLE$/);
  t.regex(table[1]!, /^\s+2\s+-\s+-\s+[0-9a-f]{16}\s+WARNING\s+WARNING in __handle_irq_event_percpu$/);
});

test('--log - reads stdin; --report writes the HTML page beside the bucket records', (t) => {
  const report = join(tmp, 'report.html');
  const r = run('triage', ['--log', '-', '--report', report], readFileSync(corpus('null-deref-zap-leaf-lookup'), 'utf8'));
  t.is(r.code, 0, r.err);
  t.is(r.records()[0].kind, 'bucket');
  const html = readFileSync(report, 'utf8');
  t.true(html.includes('BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup'));
  t.true(html.includes('<table id="buckets">'));
});

test('a dump whose log cannot be read (no page tables to find it by): an error record and a marked signature, exit 0', async (t) => {
  const path = join(tmp, 'no-printk.kdump');
  writeFileSync(path, (await writeDump({ format: 'kdump', vmcoreinfo: 'OSRELEASE=6.1.0-test\nPAGESIZE=4096\n', utsname: { sysname: 'Linux', release: '6.1.0-test', machine: 'x86_64' }, cpus: [{ prstatusPid: 7, regs: { rip: 0xffffffff81000000n } }], ranges: [{ paddr: 0n, pages: 8 }] })).bytes);
  const r = run('triage', [path]);
  t.is(r.code, 0, r.err);
  t.like(r.records()[0], { kind: 'error', code: 'unsupported' });
  t.like(r.records()[1], { kind: 'signature', title: 'unreadable crash', corrupted: true, release: '6.1.0-test' });
  t.regex(r.records()[1].reason, /^the log could not be read/);
});

test('bad input: an error record per input, the rest still read, a documented exit code', (t) => {
  const missing = run('triage', ['no/such/vmcore', 'fixtures/real/vmcore.kdump-zlib']);
  t.is(missing.code, 3);
  t.deepEqual(missing.records().map((x) => x.kind), ['error', 'signature']);
  t.is(missing.err, 'triage: an input could not be read (see the error records)\n');
  const notDump = run('triage', ['README.md']);
  t.is(notDump.code, 4);
  t.is(notDump.records()[0].code, 'not-a-dump');
  const noLog = run('triage', ['--log', 'no/such.log']);
  t.is(noLog.code, 3);
  t.like(noLog.records()[0], { kind: 'error', code: 'no-input', log: 'no/such.log' });
  const flag = run('triage', ['--nope']);
  t.is(flag.code, 2);
  const report = run('triage', ['--log', corpus('kernel-bug-uksm'), '--report', 'no/such/dir/report.html']);
  t.is(report.code, 5);
  t.regex(report.err, /^triage: --report: cannot write no\/such\/dir\/report.html: ENOENT/);
});
