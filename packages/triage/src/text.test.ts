/**
 * Console text: several oopses in one log, two CPUs' reports interleaved, cut-off and garbled
 * text, bytes that are not UTF-8, a log with nothing wrong in it, and a 100 MB log that must
 * stream. The reports are the corpus's public texts (fixtures/triage/corpus).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { consoleLine, consoleLines, signaturesOfText, textSignatures } from './index.js';

const dir = fileURLToPath(new URL('../../../fixtures/triage/corpus/', import.meta.url));
const text = (slug: string) => readFileSync(dir + readdirSync(dir).find((f) => f.slice(4) === `${slug}.txt`)!, 'utf8');

test('prefixes come off and say what they know: level, time, caller, syslog, dmesg -T', (t) => {
  t.deepEqual(consoleLine('<4>[ 1021.259391][    C1] BUG: KASAN: x', 7), { text: 'BUG: KASAN: x', line: 7, caller: 'C1' });
  t.deepEqual(consoleLine('[1502.527398][T14140] BUG: x', 1), { text: 'BUG: x', line: 1, caller: 'T14140' });
  t.deepEqual(consoleLine('Aug 18 08:54:42 TR kernel: Oops: 0002 [#1] SMP NOPTI', 1), { text: 'Oops: 0002 [#1] SMP NOPTI', line: 1 });
  t.deepEqual(consoleLine('May  4 14:08:51   do_raw_spin_lock+0xac/0xb0', 1).text, 'May  4 14:08:51   do_raw_spin_lock+0xac/0xb0');
  t.deepEqual(consoleLine('[Fri Feb  3 15:17:22 2023] RIP: 0010:x+0x7/0xb0 [i40e]', 1), { text: 'RIP: 0010:x+0x7/0xb0 [i40e]', line: 1, time: '2023-02-03T15:17:22.000Z' });
  t.deepEqual(consoleLine('2023-01-28T13:02:16.434346+01:00   [    6.159190] BUG: unable', 1), { text: 'BUG: unable', line: 1, time: '2023-01-28T12:02:16.434Z' });
  t.is(consoleLine('panic: runtime e[43204.878510] Kernel panic - not syncing: x', 1).text, 'Kernel panic - not syncing: x');
  t.is(consoleLine('[  +0.000008]  uksm_do_scan+0x145/0x2b00\r', 1).text, ' uksm_do_scan+0x145/0x2b00');
});

test('several oopses in one log: one signature each, in log order, with their lines', async (t) => {
  const log = [text('kernel-bug-uksm'), '[  999.000000] systemd[1]: something unrelated', text('null-deref-zap-leaf-lookup'), text('gpf-kutrace-module')].join('\n');
  const sigs = await signaturesOfText(log, 'console.log');
  t.deepEqual(
    sigs.map((s) => [s.title, s.line]),
    [
      ['kernel BUG in scan_vma_one_page', 2],
      ['BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup', 12],
      ['general protection fault in ku_setup_inst_retired', 29],
    ],
  );
  t.true(sigs.every((s) => s.log === 'console.log'));
});

test('an oops and the panic it ends in are one report; a second oops after them is another', async (t) => {
  const log = `${text('null-deref-zap-leaf-lookup')}Kernel panic - not syncing: Fatal exception\n${text('divide-error-oops-prefix-6.10')}`;
  const sigs = await signaturesOfText(log);
  t.deepEqual(sigs.map((s) => s.title), ['BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup', 'divide error in tcp_tso_segs']);
});

test('two CPUs oopsing at once (printk caller ids): the lines are sorted per caller', async (t) => {
  const a = text('kasan-slab-uaf-kernfs-caller-id').trimEnd().split('\n');
  const b = text('page-fault-caller-id-clear-page').trimEnd().split('\n');
  const mixed: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (i < a.length) mixed.push(a[i]!);
    if (i < b.length) mixed.push(b[i]!);
  }
  const sigs = await signaturesOfText(mixed.join('\n'));
  t.deepEqual(sigs.map((s) => s.title).sort(), ['BUG: unable to handle kernel paging request in clear_page_orig', 'KASAN: slab-use-after-free Read in kernfs_test_super']);
  t.deepEqual(sigs.map((s) => s.pid).sort(), [14140, 650]);
});

test('a log cut off inside the report: marked corrupted with the reason', async (t) => {
  const whole = text('null-deref-zap-leaf-lookup');
  const cut = whole.slice(0, whole.indexOf('RIP:'));
  const [s] = await signaturesOfText(cut);
  t.is(s!.crashType, 'NULL dereference');
  t.true(s!.corrupted);
  t.regex(s!.reason!, /no call trace/);
  const [only] = await signaturesOfText('[  300.1] Kernel panic - not syncing: Fatal exception\n');
  t.true(only!.corrupted);
  t.regex(only!.reason!, /log cut off/);
});

test('a log with nothing wrong: one signature that says so', async (t) => {
  const sigs = await signaturesOfText('[    0.000000] Linux version 6.1.0\n[    2.000000] Run /init as init process\n', 'boot.log');
  t.is(sigs.length, 1);
  t.like(sigs[0]!, { title: 'no crash report', crashType: 'none', corrupted: true, log: 'boot.log' });
});

test('bytes that are not UTF-8 (latin1 comm, binary noise) neither stop nor shift the reading', async (t) => {
  const bad = Buffer.concat([
    Buffer.from('\x00\xff\xfe garbage \x80\x81\n', 'latin1'),
    Buffer.from(text('kernel-bug-uksm').replace('Comm: uksmd', 'Comm: uks\xe9md'), 'latin1'),
  ]);
  const [s] = await signaturesOfText(bad);
  t.is(s!.title, 'kernel BUG in scan_vma_one_page');
  t.is(s!.comm, 'uks\u00e9md');
  t.is(s!.line, 3);
});

test('UTF-8 text (a localised syslog month) is read as UTF-8', async (t) => {
  const [s] = await signaturesOfText(Buffer.from(text('list-del-bug-fedora-russian-syslog'), 'utf8'));
  t.is(s!.title, 'BUG: corrupted list in __dentry_kill');
});

test('a 100 MB log streams: reports found, memory bounded', async (t) => {
  const noise = Buffer.from('[ 1234.567890] usb 1-3: new high-speed USB device number 2 using xhci_hcd\n'.repeat(2000));
  const oops = Buffer.from(text('null-deref-zap-leaf-lookup'));
  const total = 100 << 20;
  function* log() {
    for (let n = 0, i = 0; n < total; n += noise.length, i++) {
      yield noise;
      if (i % 64 === 63) yield oops;
    }
  }
  const before = process.memoryUsage().rss;
  let count = 0;
  let peak = 0;
  for await (const s of textSignatures(consoleLines(Readable.from(log())), 'big.log')) {
    t.is(s.title, 'BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup');
    count++;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  t.is(count, Math.floor(Math.ceil(total / noise.length) / 64));
  t.true(peak - before < 64 << 20, `rss grew by ${((peak - before) / 1e6).toFixed(0)} MB`);
});

test('the whole corpus as one log: every report found with its title', async (t) => {
  // The texts that start after their report's opening lines (crash type none) are left out:
  // in one log their lines join the report before them, as they would in the console.
  const corpus = (JSON.parse(readFileSync(dir + '../corpus.json', 'utf8')) as { file: string; title: string; crashType: string; also?: string[] }[]).filter((e) => e.crashType !== 'none');
  const log = corpus.map((e) => readFileSync(dir + '../' + e.file, 'utf8')).join('\n');
  const got = (await signaturesOfText(log)).map((s) => s.title).sort();
  t.deepEqual(got, corpus.flatMap((e) => [e.title, ...(e.also ?? [])]).sort());
});
