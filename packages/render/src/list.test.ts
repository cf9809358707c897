import test from 'ava';
import { Renderer } from './renderer.js';

const render = (records: Record<string, unknown>[]) => {
  const r = new Renderer({ color: false });
  return [...records.flatMap((x) => r.render({ kind: 'x', ...x })), ...r.flush()];
};
const entry = (extra: Record<string, unknown>) => ({ kind: 'list-entry', dump: 'd', index: 0, node: '0xffffffff8ae1b2d0', ...extra });

test('list-entry: the entry as crash list prints it (16 hex digits), members below as crash list -s', (t) => {
  // crash 8.0.2: fixtures/real/expected/crash.vmcore.kdump-zlib.list-o-task_struct.tasks-s-pid,comm-h-init_task.txt (comm without its NUL padding)
  t.deepEqual(render([entry({ entry: '0xffffffff8ae1aa40', type: 'struct task_struct', fields: ['pid', 'comm'], value: { pid: 0, comm: 'swapper/0' } })]), [
    'ffffffff8ae1aa40',
    '  pid = 0,',
    '  comm = "swapper/0",',
  ]);
  t.deepEqual(render([entry({ entry: '0xc0594100' })]), ['00000000c0594100']);
});

test('trees: an xarray index as crash tree -p, a maple range; the backward walk under its own line', (t) => {
  t.deepEqual(render([entry({ entry: '0xffff8dce811ec180', key: '0x1' })]), ['ffff8dce811ec180', '  index: 1']);
  t.deepEqual(render([entry({ entry: '0xffff8dce823005f0', key: '0x400000', last: '0x400fff' })]), ['ffff8dce823005f0', '  range: 400000-400fff']);
  t.deepEqual(render([entry({ entry: '0x10', direction: 'forward' }), entry({ entry: '0x20', direction: 'backward' }), entry({ entry: '0x30', direction: 'backward' })]), [
    '0000000000000010',
    '(backward from the head, through prev)',
    '0000000000000020',
    '0000000000000030',
  ]);
});

test('list-count is the number; list-bracket names each side; list-corrupt is an error line', (t) => {
  t.deepEqual(render([{ kind: 'list-count', dump: 'd', head: '0x1', count: 153, complete: true }]), ['153']);
  t.deepEqual(render([{
    kind: 'list-bracket', dump: 'd', head: '0xffffffff8ae1b2d0',
    forward: { entries: 6, lastGood: '0xffff8dce811fd090', lastGoodEntry: '0xffff8dce811fc800', reason: 'poison' },
    backward: { entries: 49, lastGood: '0xffff8dce811fd090', lastGoodEntry: '0xffff8dce811fc800', reason: 'poison' },
  }]), [
    'LIST HEAD ffffffff8ae1b2d0 bracketed from both sides:',
    ' forward: 6 entries, last good node ffff8dce811fd090 (entry ffff8dce811fc800), then poison',
    'backward: 49 entries, last good node ffff8dce811fd090 (entry ffff8dce811fc800), then poison',
  ]);
  const [line] = render([{ kind: 'error', code: 'list-corrupt', message: 'next of 0x10 is LIST_POISON1 (0xdead000000000100)', dump: 'd', reason: 'poison' }]);
  t.is(line, 'error: list-corrupt: next of 0x10 is LIST_POISON1 (0xdead000000000100)  (dump=d reason=poison)');
});
