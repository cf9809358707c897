/**
 * The object commands on the real 6.1 dump, against crash 8.0.2's text on the
 * same dump (fixtures/real/expected/crash.vmcore.kdump-zlib.*, with .cmd).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const bin = (name: string) => join(here, '..', 'bin', `${name}.js`);
const REAL = join(here, '..', '..', '..', 'fixtures', 'real');
const DUMP = join(REAL, 'vmcore.kdump-zlib');
const expected = (name: string) => readFileSync(join(REAL, 'expected', name), 'latin1');
const real = existsSync(DUMP) ? test : test.skip;

function run(name: string, args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bin(name), ...args], { input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr, records: () => r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

real('module-list --format crash prints crash mod, byte for byte', (t) => {
  const r = run('module-list', [DUMP, '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, expected('crash.vmcore.kdump-zlib.mod.txt'));
});

real('module-list: a source record, then one module record per module; render prints them as crash mod', (t) => {
  const r = run('module-list', [DUMP]);
  t.is(r.code, 0, r.err);
  const recs = r.records();
  t.is(recs[0]!.kind, 'source');
  const mods = recs.filter((x) => x.kind === 'module');
  t.deepEqual(mods.map((m) => m.name).sort(), ['pvpanic', 'pvpanic_mmio', 'qemu_fw_cfg']);
  t.like(mods.find((m) => m.name === 'pvpanic'), { addr: '0xffffffffc05990c0', base: '0xffffffffc0597000', size: 16384, state: 'live', taints: '', refcount: 1, type: 'struct module' });
  const text = run('render', [], r.out);
  t.true(text.out.endsWith(expected('crash.vmcore.kdump-zlib.mod.txt')));
});

test('module-list: a missing dump is one line and exit 3', (t) => {
  const r = run('module-list', ['/nonexistent/vmcore']);
  t.is(r.code, 3);
  t.regex(r.err, /^module-list: .*no such file/);
});

real('task-list --format crash --sort pid: crash ps\'s lines for the three tasks crash 8.0.2 finds in its PID hash', (t) => {
  const r = run('task-list', [DUMP, '--format', 'crash', '--sort', 'pid']);
  t.is(r.code, 0, r.err);
  const ours = r.out.split('\n');
  const crash = expected('crash.vmcore.kdump-zlib.ps.txt').split('\n').filter(Boolean);
  t.is(ours[0], crash[0]);
  for (const line of crash.slice(1)) t.true(ours.includes(line), line);
  t.is(ours.filter(Boolean).length, 1 + 55); // the header and every task: crash sees 3
});

real('task-list selections: --children 2 are the kernel threads, --parents 1 is init_task then sh, --leaders drops no one here', (t) => {
  const pick = (args: string[]) => run('task-list', [DUMP, ...args]).records().filter((x) => x.kind === 'task');
  const all = pick([]);
  const kthreads = pick(['--children', '2']);
  t.is(kthreads.length, all.filter((x) => x.ppid === 2).length);
  t.true(kthreads.every((x) => x.kernelThread === true));
  t.deepEqual(pick(['--parents', '1']).map((x) => x.comm), ['swapper/0', 'sh']);
  t.is(pick(['--leaders']).length, all.length);
  const bad = run('task-list', [DUMP, '--children', '99999']);
  t.is(bad.code, 2);
});

real('mem-info --format crash prints crash kmem -i, byte for byte', (t) => {
  const r = run('mem-info', [DUMP, '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, expected('crash.vmcore.kdump-zlib.kmem-i.txt'));
});

real('mem-info --slabs --format crash prints crash kmem -s, byte for byte (153 SLUB caches)', (t) => {
  const r = run('mem-info', [DUMP, '--slabs', '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, expected('crash.vmcore.kdump-zlib.kmem-s.txt'));
});

real('mem-info records: memory-summary pages and bytes; where crash and the kernel\'s counters differ, both', (t) => {
  const m = run('mem-info', [DUMP]).records().find((x) => x.kind === 'memory-summary')!;
  t.deepEqual(m.total, { pages: 31271, bytes: 31271 * 4096 });
  t.deepEqual(m.slab, { pages: 2195, bytes: 2195 * 4096 });
  // crash counts PG_slab (head) pages; the kernel's NR_SLAB_*_B count every slab page (crash kmem -V: 2280 + 1597).
  t.is((m.slabVmstat as { pages: number }).pages, 2280 + 1597);
  const s = run('mem-info', [DUMP, '--slab', 'task_struct']).records().filter((x) => x.kind === 'slab-cache');
  t.deepEqual(s.map((x) => [x.cache, x.objectSize, x.allocated, x.total, x.slabs, x.slabSize]), [['0xffff8dce811b7900', 6144, 55, 65, 13, 32768]]);
});

real('addr-info ADDR... --format crash prints crash kmem ADDR for each, byte for byte (a slab object, a stack, a struct page, init_task)', (t) => {
  const addrs = ['ffff8dce811f9800', 'ffffcf8400013a78', 'fffffc93c0040000', 'ffffffff8ae1aa40'];
  const r = run('addr-info', [DUMP, ...addrs, '--format', 'crash']);
  t.is(r.code, 0, r.err);
  // render sets each block off with one blank line
  t.is(r.out, addrs.map((a) => expected(`crash.vmcore.kdump-zlib.kmem-${a}.txt`)).join('\n'));
});

real('addr-info: a free page ends as crash kmem\'s (without its zone tables), a module address as crash\'s but for the symbol type crash does not know', (t) => {
  const free = run('addr-info', [DUMP, 'ffff8dce838ec000', '--format', 'crash']).out;
  t.true(expected('crash.vmcore.kdump-zlib.kmem-ffff8dce838ec000.txt').endsWith(free));
  const mod = run('addr-info', [DUMP, 'ffffffffc058f2c0', '--format', 'crash']).out;
  t.is(mod.replace(' (D) ', ' (?) '), expected('crash.vmcore.kdump-zlib.kmem-ffffffffc058f2c0.txt'));
  const bad = run('addr-info', [DUMP, 'zz']);
  t.is(bad.code, 2);
  t.regex(bad.err, /^addr-info: zz: not a hex address or a kernel symbol/);
});

real('mem-search: crash search -p, and crash search (kernel virtual) less the kernel-image aliases of the same pages, byte for byte', (t) => {
  const p = run('mem-search', [DUMP, 'ffffffff8ae1aa40', '--physical', '--format', 'crash']);
  t.is(p.code, 0, p.err);
  t.is(p.out, expected('crash.vmcore.kdump-zlib.search-p-init_task.txt'));
  const noAliases = (text: string) => text.split('\n').filter((l) => !l.startsWith('ffffffff')).join('\n');
  const k = run('mem-search', [DUMP, 'init_task', '--format', 'crash']);
  t.is(k.out, noAliases(expected('crash.vmcore.kdump-zlib.search-init_task.txt')));
  const m = run('mem-search', [DUMP, 'ffff8dce811f0000', '--mask', 'ffff', '--format', 'crash']);
  t.is(m.out, noAliases(expected('crash.vmcore.kdump-zlib.search-m.txt')));
  const recs = run('mem-search', [DUMP, 'ffffffff8ae1aa40', '--max', '2']).records().filter((r) => r.kind === 'mem-match');
  t.deepEqual(recs.map((r) => [r.space, r.addr, r.paddr, r.value]), [['virtual', '0xffff8dce810570a0', '0x10570a0', '0xffffffff8ae1aa40'], ['virtual', '0xffff8dce811fa180', '0x11fa180', '0xffffffff8ae1aa40']]);
});
