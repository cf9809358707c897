/**
 * VMCOREINFO printk entries that cannot describe the structures they name
 * (kernel/printk/printk_ringbuffer.h): refused before a byte is read, naming
 * the keys, instead of reading past a buffer ("offset is out of range").
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDump } from '@vmpipe/dump';
import { dropUnfitOptional, printkLayout, printkLayoutProblems, requirePrintkLayout, PrintkUnavailable, type PrintkLayout } from './index.js';

const fixture = fileURLToPath(new URL('../../../../fixtures/real/vmcore.kdump-zlib', import.meta.url));

function entries(): Record<string, string> | undefined {
  if (!existsSync(fixture)) return undefined;
  const d = openDump(fixture);
  const e = { ...d.vmcoreinfo!.entries };
  d.close();
  return e;
}

test('the real 6.1 entries fit their structures', (t) => {
  const e = entries();
  if (!e) return t.pass('fixture not here');
  const layout = printkLayout(e);
  t.is(layout.kind, 'lockless');
  t.deepEqual(printkLayoutProblems(layout as never), []);
});

test('an OFFSET inside its SIZE whose member runs past it, a SIZE of 0: printk-unavailable naming them', (t) => {
  const e = entries();
  if (!e) return t.pass('fixture not here');
  const err = t.throws(() => requirePrintkLayout({ ...e, 'SIZE(prb_desc)': '0' }), { instanceOf: PrintkUnavailable });
  t.is(err.code, 'printk-unavailable');
  t.regex(err.message, /SIZE\(prb_desc\) is 0/);
  t.throws(() => requirePrintkLayout({ ...e, 'OFFSET(prb_desc_ring.tail_id)': '84' }), { message: /prb_desc_ring\.tail_id\) ends at byte 92, past SIZE\(printk_ringbuffer\)=88/ });
});

test('an optional member that does not fit (caller_id) is left out by name; the log is still read without it', (t) => {
  const e = entries();
  if (!e) return t.pass('fixture not here');
  // SIZE(printk_info)=88: caller_id is a u32, so 86 passes the format check and still does not fit.
  const { layout, dropped } = dropUnfitOptional(printkLayout({ ...e, 'OFFSET(printk_info.caller_id)': '86' }) as PrintkLayout);
  t.deepEqual(dropped, ['OFFSET(printk_info.caller_id)=86 ends past SIZE(printk_info)=88']);
  t.is(layout.kind === 'lockless' ? layout.printk_info.caller_id : 'x', null);
  t.deepEqual(printkLayoutProblems(layout), []);
});
