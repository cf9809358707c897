import test from 'ava';
import { renderObject } from './object.js';
import { Renderer } from './index.js';
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

test('scalars print as crash\'s p does: NAME = $N = value for a plain symbol, $N = value otherwise', (t) => {
  // crash 8.0.2 on the fixture: `p jiffies` -> `jiffies = $1 = 4294892995`, `p init_task.pid` -> `$3 = 0`,
  // `p max_pfn` -> `max_pfn = $9 = 40928` (echo 'p jiffies' ... | crash -s vmlinux vmcore.kdump-zlib).
  const r = new Renderer({ color: false });
  const obj = (type: string, value: unknown, symbol?: string) => ({ kind: 'object', dump: 'vmcore', type, addr: '0xffffffff8ae079c0', value, ...(symbol ? { symbol } : {}) });
  t.deepEqual(r.render(obj('long unsigned int', 4294892995, 'jiffies')), ['jiffies = $1 = 4294892995']);
  t.deepEqual(r.render(obj('pid_t', 0, 'init_task.pid')), ['$2 = 0']);
  // 64-bit values come as hex in the record; gdb prints integers in decimal, pointers with their type.
  t.deepEqual(r.render(obj('u64', '0xfffffffffffedd3c', 'jiffies_64')), ['jiffies_64 = $3 = 18446744073709477180']);
  t.deepEqual(r.render(obj('s64', '-0x10')), ['$4 = -16']);
  t.deepEqual(r.render(obj('struct task_struct *', '0xffffffff8ae1aa40')), ['$5 = (struct task_struct *) 0xffffffff8ae1aa40']);
  t.deepEqual(r.render(obj('int [3]', [1, 2, 3])), ['$6 = {1, 2, 3}']);
});
