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

test('task records with style ps-l: crash ps -l lines, the bracket as wide as the first (newest) value', (t) => {
  const r = new Renderer({ color: false });
  const task = (pid: number, addr: string, cpu: number, comm: string, state: string, lastArrival: number) => ({ kind: 'task', dump: 'd', style: 'ps-l', task: addr, pid, cpu, comm, state, lastArrival });
  const lines = [...r.render(task(1, '0xffff8dce811f9800', 1, 'sh', 'RU', 2743427691)), ...r.render(task(0, '0xffffffff8ae1aa40', 0, 'swapper/0', 'RU', 0)), ...r.flush()];
  // fixtures/real/expected/crash.vmcore.kdump-zlib.ps-l.txt's first two lines
  t.deepEqual(lines, [
    '[2743427691] [RU]  PID: 1        TASK: ffff8dce811f9800  CPU: 1    COMMAND: "sh"',
    '[         0] [RU]  PID: 0        TASK: ffffffff8ae1aa40  CPU: 0    COMMAND: "swapper/0"',
  ]);
});

test('task records with style ps-t: crash ps -t blocks; RUN TIME as convert_time() prints it past a day ("1 days")', (t) => {
  const r = new Renderer({ color: false });
  const block = (runTime: number) => [...r.render({ kind: 'task', dump: 'd', style: 'ps-t', task: '0xffff8dce811f9800', pid: 1, cpu: 1, comm: 'sh', runTime, startTime: 384000000, utime: 44000000, stime: 1252000000 }), ...r.flush()];
  t.deepEqual(block(2), ['PID: 1        TASK: ffff8dce811f9800  CPU: 1    COMMAND: "sh"', '    RUN TIME: 00:00:02', '  START TIME: 384000000', '       UTIME: 44000000', '       STIME: 1252000000', '']);
  t.is(block(86400 + 3723)[1], '    RUN TIME: 1 days, 01:02:03');
});
