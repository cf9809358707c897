import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const bucket = (hash: string, count: number, title: string, extra: Partial<AnyRecord> = {}): AnyRecord => ({
  kind: 'bucket', title, hash, count, firstSeen: '2026-11-01T10:00:00.000Z', lastSeen: '2026-11-03T12:00:00.000Z', releases: ['6.1.0'], examples: [], crashType: 'GPF', guilty: null, corrupted: 0, days: {}, trace: [], ...extra,
});

test('bucket records: one table, sorted by count, printed when the stream moves on', (t) => {
  const r = new Renderer({ color: false });
  t.deepEqual(r.render(bucket('1111111111111111', 1, 'WARNING in do_exit', { crashType: 'WARNING', firstSeen: null, lastSeen: null })), []);
  t.deepEqual(r.render(bucket('2222222222222222', 7, 'general protection fault in strcmp', { corrupted: 2 })), []);
  t.deepEqual(r.flush(), [
    'COUNT  CORRUPT  FIRST       LAST        HASH              TYPE     TITLE',
    '    7        2  2026-11-01  2026-11-03  2222222222222222  GPF      general protection fault in strcmp',
    '    1           -           -           1111111111111111  WARNING  WARNING in do_exit',
  ]);
});

test('signature records: hash, title, where, and why when corrupted', (t) => {
  const r = new Renderer({ color: false });
  t.deepEqual(r.render({ kind: 'signature', hash: 'e92f31ab320a428f', title: 'kernel panic: sysrq triggered crash', dump: 'vmcore', corrupted: false }), [
    'e92f31ab320a428f  kernel panic: sysrq triggered crash  [vmcore]',
  ]);
  t.deepEqual(r.render({ kind: 'signature', hash: '0123456789abcdef', title: 'general protection fault in strcmp', log: 'console.log', line: 12, corrupted: true, reason: 'no call trace' }), [
    '0123456789abcdef  general protection fault in strcmp  [console.log:12] (corrupted: no call trace)',
  ]);
});
