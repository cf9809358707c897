/**
 * Records in, records out: `panic` (+ `source`/`system`) and `frame` records become one
 * signature per dump; signatures become buckets. The panic record is the one vmcore-extract
 * --panic --sys writes for the shipped dump (fixtures/real/vmcore.kdump-zlib, sysrq-c on
 * Debian's 6.1 kernel; crash's `bt` on it shows the same frames, fixtures/real/expected).
 */
import test from 'ava';
import type { AnyRecord, SignatureRecord } from '@vmpipe/records';
import { Buckets, RecordTriage } from './index.js';

const DUMP = 'fixtures/real/vmcore.kdump-zlib';
const frame = (f: string, reliable = true) => ({ function: f, offset: 0, size: 0, reliable, line: `${reliable ? '' : '? '}${f}+0x0/0x0` });
const stream: AnyRecord[] = [
  { kind: 'source', dump: DUMP, release: '6.1.0-56-cloud-amd64' },
  {
    kind: 'panic', dump: DUMP, headline: 'Kernel panic - not syncing: sysrq triggered crash', message: 'Kernel panic - not syncing: sysrq triggered crash',
    cpu: 1, pid: 1, comm: 'sh', event: 'sysrq-crash', taint: 'Not tainted', rip: 'RIP: 0033:0x47b7a0', registers: [],
    callTrace: [frame('dump_stack_lvl'), frame('panic'), frame('_printk', false), frame('sysrq_handle_crash'), frame('__handle_sysrq.cold'), frame('write_sysrq_trigger'), frame('proc_reg_write'), frame('vfs_write')],
  },
  { kind: 'system', dump: DUMP, release: '6.1.0-56-cloud-amd64', crashTime: '2026-11-25T01:52:57.000Z' },
];

function run(records: AnyRecord[]): SignatureRecord[] {
  const triage = new RecordTriage();
  const out = records.flatMap((r) => triage.push(r));
  return [...out, ...triage.end()];
}

test('a panic record with its dump\'s source and system records: one signature', (t) => {
  const [s, ...rest] = run(stream);
  t.is(rest.length, 0);
  t.like(s!, {
    title: 'kernel panic: sysrq triggered crash',
    crashType: 'sysrq',
    guilty: 'sysrq_handle_crash',
    release: '6.1.0-56-cloud-amd64',
    taint: 'Not tainted',
    crashTime: '2026-11-25T01:52:57.000Z',
    corrupted: false,
    dump: DUMP,
    comm: 'sh',
  });
  t.deepEqual(s!.frames, ['sysrq_handle_crash', '__handle_sysrq', 'write_sysrq_trigger', 'proc_reg_write']);
});

test('several dumps in one stream: one signature each, as soon as the next dump starts', (t) => {
  const other = stream.map((r) => ({ ...r, dump: 'other/vmcore' }));
  const triage = new RecordTriage();
  const early = [...stream, other[0]!].flatMap((r) => triage.push(r));
  t.deepEqual(early.map((s) => s.dump), [DUMP]);
  const later = [...other.slice(1).flatMap((r) => triage.push(r)), ...triage.end()];
  t.deepEqual(later.map((s) => s.dump), ['other/vmcore']);
  t.is(early[0]!.hash, later[0]!.hash);
});

test('frame records stand in for a call trace the log did not keep; without a panic the title is marked', (t) => {
  const unwound = ['sysrq_handle_crash', '__handle_sysrq', 'write_sysrq_trigger'].map((f, level) => ({ kind: 'frame', dump: DUMP, pid: 1, level, function: f, reliable: true, method: 'orc' }));
  const noTrace = stream.map((r) => (r.kind === 'panic' ? { ...r, callTrace: [] } : r));
  const [a] = run([...noTrace, ...unwound]);
  t.is(a!.guilty, 'sysrq_handle_crash');
  t.false(a!.corrupted);
  t.regex(a!.note!, /unwound stack/);
  const [b] = run([stream[0]!, ...unwound]);
  t.true(b!.corrupted);
  t.regex(b!.reason!, /no panic record/);
  t.is(b!.guilty, 'sysrq_handle_crash');
  t.is(b!.title, 'crash in sysrq_handle_crash');
});

test('an unwound stack is read from below panic(): its notifiers (QEMU pvpanic) are not the bug', (t) => {
  // backtrace on the shipped dump: QEMU paused the guest inside the pvpanic notifier.
  const unwound = ['pvpanic_panic_notify', 'atomic_notifier_call_chain', 'panic', 'sysrq_handle_crash', '__handle_sysrq'].map((f, level) => ({ kind: 'frame', dump: DUMP, pid: 1, level, function: f, reliable: true, method: 'orc' }));
  const [s] = run([stream[0]!, ...unwound, { kind: 'frame', dump: DUMP, pid: 2, level: 0, function: 'other_task_frame', reliable: true }]);
  t.deepEqual(s!.frames, ['sysrq_handle_crash', '__handle_sysrq']);
});

test('buckets: one per hash, counted, dated, most frequent first', (t) => {
  const sig = (hash: string, title: string, crashTime: string | null, where: Partial<SignatureRecord>, release = '6.1.0'): SignatureRecord => ({
    kind: 'signature', title, crashType: 'GPF', guilty: 'f', hash, release, taint: null, crashTime, corrupted: false, headline: title, frames: ['f'], trace: [title], ...where,
  });
  const b = new Buckets();
  b.add(sig('aaaa', 'general protection fault in f', '2026-11-02T10:00:00.000Z', { dump: 'd1' }));
  b.add(sig('bbbb', 'WARNING in g', '2026-11-01T10:00:00.000Z', { log: 'c.log', line: 7 }));
  b.add(sig('aaaa', 'general protection fault in f', '2026-11-01T09:00:00.000Z', { dump: 'd2' }, '6.12.0'));
  b.add(sig('aaaa', 'general protection fault in f', null, { dump: 'd3' }));
  const [first, second] = b.records();
  t.like(first!, { kind: 'bucket', hash: 'aaaa', count: 3, firstSeen: '2026-11-01T09:00:00.000Z', lastSeen: '2026-11-02T10:00:00.000Z', releases: ['6.1.0', '6.12.0'], examples: ['d1', 'd2', 'd3'], corrupted: 0 });
  t.deepEqual(first!.days, { '2026-11-02': 1, '2026-11-01': 1 });
  t.like(second!, { hash: 'bbbb', count: 1, examples: ['c.log:7'] });
});
