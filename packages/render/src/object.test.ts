import test from 'ava';
import { renderObject } from './object.js';
import { gdbSpelling, placeName } from './type.js';

test('object records print as crash `struct task_struct.pid,comm ADDR` does', (t) => {
  // crash 8.0.2 on the fixture (fixtures/real/expected/crash.vmcore.kdump-zlib.struct-task_struct.pid+comm-ffffffff8ae1aa40.txt)
  // prints `comm = "swapper/0\000\000..."`: the record's string stops at the NUL.
  const lines = renderObject({ kind: 'object', type: 'struct task_struct', addr: '0xffffffff8ae1aa40', value: { pid: 0, comm: 'swapper/0' }, fields: ['pid', 'comm'] });
  t.deepEqual(lines, ['  pid = 0,', '  comm = "swapper/0",']);
});

test('whole objects nest two spaces a level; errors and arrays are readable', (t) => {
  const lines = renderObject({ kind: 'object', type: 'struct x', addr: '0x1', value: { a: { counter: -1 }, p: '0xdead000000000122', arr: [1, 2], bad: { error: 'page-excluded', message: 'm' } } });
  t.deepEqual(lines, ['struct x {', '  a = {', '    counter = -1', '  },', '  p = 0xdead000000000122,', '  arr = {1, 2},', '  bad = <error: page-excluded>', '}']);
});

test('names go where C declarators want them; gdb spells base types short', (t) => {
  t.deepEqual(placeName('char [16]', 'comm'), { base: 'char', declarator: 'comm[16]' });
  t.deepEqual(placeName('void (*)(struct callback_head *)', 'func'), { base: 'void', declarator: '(*func)(struct callback_head *)' });
  t.deepEqual(placeName('struct page *[4]', 'pages'), { base: 'struct page', declarator: '*pages[4]' });
  t.is(gdbSpelling('long unsigned int (*)(long int, short unsigned int)'), 'unsigned long (*)(long, unsigned short)');
});
