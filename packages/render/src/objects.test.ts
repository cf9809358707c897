import test from 'ava';
import { crashSize } from './memory.js';
import { Renderer } from './renderer.js';

test('sizes as crash kmem -i prints them (memory.c pages_to_size: one decimal, ".0" dropped)', (t) => {
  t.is(crashSize(0), '0');
  t.is(crashSize(31271 * 4096), '122.2 MB');
  t.is(crashSize(501 * 4096), '2 MB');
  t.is(crashSize(2048), '2 KB');
  t.is(crashSize(3 * 1024 ** 3), '3 GB');
});

test('module rows by base address under one header, names padded to the longest (crash mod)', (t) => {
  const r = new Renderer({ color: false });
  const mod = (name: string, addr: string, base: string, size: number) => ({ kind: 'module', dump: 'd', name, addr, base, size });
  const lines = [...r.render(mod('b_long_name', '0xffffffffc0002000', '0xffffffffc0001000', 8192)), ...r.render(mod('a', '0xffffffffc0000100', '0xffffffffc0000000', 16384)), ...r.flush()];
  t.deepEqual(lines, [
    '     MODULE       NAME               BASE         SIZE  OBJECT FILE',
    'ffffffffc0000100  a            ffffffffc0000000  16384  (not loaded)  [CONFIG_KALLSYMS]',
    'ffffffffc0002000  b_long_name  ffffffffc0001000   8192  (not loaded)  [CONFIG_KALLSYMS]',
  ]);
});
