/**
 * list-walk end to end: on the shipped 6.1 dump against crash 8.0.2's `list`
 * and `tree` (fixtures/real/expected/crash.vmcore.kdump-zlib.{list,tree}-*),
 * through struct-decode and sym-resolve, and on a copy of that dump with five
 * lists broken five ways (list-walk.test-helper.ts) against crash on the same
 * copy (crash.list-walk-broken.kdump.*): the same entries up to the damage,
 * then one list-corrupt record that names it.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokenCopyForTests } from './broken-dump.test-helper.js';
import { type Rec, runBin } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const dump = join(real, 'vmcore.kdump-zlib');
const crash = (f: string) => readFileSync(join(real, 'expected', f), 'latin1');
const hexLines = (text: string) => text.split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l));

const entries = (rs: Rec[]) => rs.filter((r) => r.kind === 'list-entry').map((r) => r.entry as string);
const bare = (a: string[]) => a.map((x) => BigInt(x).toString(16).padStart(16, '0'));

for (const [args, file] of [
  [['--start', 'init_task.tasks', '-o', 'task_struct.tasks'], 'list-o-task_struct.tasks-h-init_task'],
  [['--start', 'init_task.tasks', '-o', 'task_struct.tasks', '--reverse'], 'list-r-o-task_struct.tasks-h-init_task'],
  [['--head', 'modules', '--type', 'module', '--member', 'list'], 'list-H-modules-o-module.list'],
  [['--head', 'slab_caches', '-o', 'kmem_cache.list'], 'list-H-slab_caches-o-kmem_cache.list'],
  [['--head', 'super_blocks', '-o', 'super_block.s_list'], 'list-H-super_blocks-o-super_block.s_list'],
  [['--rbtree', 'vmap_area_root', '-o', 'vmap_area.rb_node', '--preorder'], 'tree-t-rbtree-o-vmap_area.rb_node-vmap_area_root'],
  [['--rbtree', 'vmap_area_root', '-o', 'vmap_area.rb_node'], 'tree-t-rbtree-l-o-vmap_area.rb_node-vmap_area_root'],
] as const) {
  test(`--format crash prints what crash ${file.replace(/-/g, ' ')} prints`, async (t) => {
    const r = await runBin('list-walk', [dump, ...args, '--format', 'crash']);
    t.is(r.code, 0, r.err);
    t.is(r.out, crash(`crash.vmcore.kdump-zlib.${file}.txt`));
  });
}

test('--fields pid,comm: crash list -s task_struct.pid,comm, char arrays up to their NUL', async (t) => {
  const r = await runBin('list-walk', [dump, '--start', 'init_task.tasks', '-o', 'task_struct.tasks', '--fields', 'pid,comm', '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, crash('crash.vmcore.kdump-zlib.list-o-task_struct.tasks-s-pid,comm-h-init_task.txt').replace(/(\\000)+"/g, '"'));
});

test('--xarray init_pid_ns.idr.idr_rt: crash tree -t xarray -p, entries and indices', async (t) => {
  const r = await runBin('list-walk', [dump, '--xarray', 'init_pid_ns.idr.idr_rt', '--type', 'pid']);
  t.is(r.code, 0, r.err);
  const want = [...crash('crash.vmcore.kdump-zlib.tree-t-xarray-p-ffffffff8ae59420.txt').matchAll(/^([0-9a-f]+)\n  index: (\d+)/gm)].map((m) => [m[1], Number(m[2])]);
  t.deepEqual(r.records().map((x) => [BigInt(x.entry as string).toString(16), Number(BigInt(x.key as string))]), want);
  t.true(r.records().every((x) => x.type === 'struct pid'));
});

test('--maple mm->mm_mt: the shell\'s ten VMAs (crash struct mm_struct.map_count), vm_start/vm_end = key/last + 1', async (t) => {
  const r = await runBin('list-walk', [dump, '--maple', '0xffff8dce82311b00', '--type', 'vm_area_struct', '--fields', 'vm_start,vm_end']);
  t.is(r.code, 0, r.err);
  const rs = r.records();
  t.is(rs.length, Number(/map_count = (\d+)/.exec(crash('crash.vmcore.kdump-zlib.struct-mm_struct.map_count+total_vm-ffff8dce82311b00.txt'))![1]));
  for (const x of rs) {
    const v = x.value as { vm_start: number; vm_end: number };
    t.is(BigInt(v.vm_start), BigInt(x.key as string));
    t.is(BigInt(v.vm_end) - 1n, BigInt(x.last as string));
  }
});

test('| struct-decode --fields decodes each entry in place, | sym-resolve names it: the modules crash mod lists', async (t) => {
  const walked = await runBin('list-walk', [dump, '--head', 'modules', '-o', 'module.list']);
  const decoded = await runBin('struct-decode', ['--fields', 'name'], { input: walked.out });
  t.is(decoded.code, 0, decoded.err);
  const named = await runBin('sym-resolve', [], { input: decoded.out });
  const rs = named.records();
  const mod = new Map([...crash('crash.vmcore.kdump-zlib.mod.txt').matchAll(/^([0-9a-f]{16})  (\S+)/gm)].map((m) => [m[1], m[2]]));
  t.is(rs.length, 3);
  for (const x of rs) {
    const name = mod.get(BigInt(x.entry as string).toString(16));
    t.deepEqual(x.value, { name });
    t.is(x.entrySym, `__this_module [${name}]`);
    t.like(x, { kind: 'list-entry', type: 'struct module', index: rs.indexOf(x) });
  }
});

test('--count (the number crash list prints lines for), --max (the bound reported), and render of both', async (t) => {
  t.like((await runBin('list-walk', [dump, '--head', 'slab_caches', '--count'])).records()[0], { kind: 'list-count', count: hexLines(crash('crash.vmcore.kdump-zlib.list-H-slab_caches-o-kmem_cache.list.txt')).length, complete: true });
  const capped = (await runBin('list-walk', [dump, '--head', 'slab_caches', '-o', 'kmem_cache.list', '--max', '5'])).records();
  t.is(entries(capped).length, 5);
  t.like(capped[5], { kind: 'error', code: 'list-corrupt', reason: 'max', walked: 5 });
  t.is((await runBin('list-walk', [dump, '--head', 'slab_caches', '--count', '--format', 'crash'])).out, '153\n');
});

test('bad usage: one line on stderr, exit 2, nothing on stdout; a missing dump exits 3', async (t) => {
  for (const [args, msg] of [
    [['--type', 'task_struct'], /give one of --head/],
    [['--head', 'modules', '--type', 'module'], /needs --member/],
    [['--head', 'modules', '-o', 'module.lst'], /did you mean "list"/],
    [['--head', 'no_such_symbol'], /no_such_symbol/],
    [['--rbtree', 'vmap_area_root', '--both-ways'], /--both-ways is for circular lists/],
  ] as const) {
    const r = await runBin('list-walk', [dump, ...args]);
    t.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    t.is(r.out, '');
    t.regex(r.err, /^list-walk: /);
    t.regex(r.err, msg);
    t.is(r.err.trim().split('\n').length, 1);
  }
  t.is((await runBin('list-walk', ['/nonexistent/vmcore', '--head', 'modules'])).code, 3);
});

// ---- the broken copy ----
const { path: broken, broke: b } = brokenCopyForTests(dump, 'vmpipe-list-walk-');
const brokenCrash = (name: string) => crash(`crash.list-walk-broken.kdump.${name}.txt`);
const corruptOf = (rs: Rec[]) => rs.find((r) => r.kind === 'error' && r.code === 'list-corrupt');

test('poison (the seed\'s damage): crash\'s entries up to the freed task, then LIST_POISON1 named with the freed entry decoded', async (t) => {
  const r = await runBin('list-walk', [broken, '--start', 'init_task.tasks', '-o', 'task_struct.tasks', '--fields', 'pid,comm']);
  t.is(r.code, 0, r.err);
  const rs = r.records();
  const text = brokenCrash('list-o-task_struct.tasks-h-init_task');
  // crash prints the entries, then the poison minus the offset as if it were one, then its error.
  const crashed = hexLines(text);
  t.regex(text, /invalid kernel virtual address: dead000000000100/);
  t.deepEqual(bare(entries(rs)), crashed.slice(0, -1));
  t.is(BigInt(entries(rs).at(-1)!), b.tasks!.freed);
  const c = corruptOf(rs)!;
  t.like(c, { reason: 'poison', poison: 'LIST_POISON1', pointer: '0xdead000000000100', entry: `0x${b.tasks!.freed.toString(16)}`, type: 'struct task_struct', walked: 5 });
  t.regex(c.message as string, /^next of 0x[0-9a-f]+ is LIST_POISON1 \(0xdead000000000100\): the entry was deleted with list_del but is still reached \(in the entry 0x[0-9a-f]+, struct task_struct\)$/);
  // What the freed entry holds: its pid and comm, read as the entries before it.
  t.deepEqual(Object.keys(c.value as object), ['pid', 'comm']);
  t.is(rs.at(-1), c);
});

test('--both-ways on the poisoned list: forward and back from the head both end at the freed entry', async (t) => {
  const rs = (await runBin('list-walk', [broken, '--start', 'init_task.tasks', '-o', 'task_struct.tasks', '--both-ways'])).records();
  const fwd = rs.filter((r) => r.kind === 'list-entry' && r.direction === 'forward');
  const back = rs.filter((r) => r.kind === 'list-entry' && r.direction === 'backward');
  const freed = `0x${b.tasks!.freed.toString(16)}`;
  t.is(fwd.length, 6);
  t.is(fwd.at(-1)!.entry, freed);
  t.is(back[0]!.entry, `0x${b.tasks!.entries[0]!.toString(16)}`, 'the walk back starts at init_task');
  t.is(back.at(-1)!.entry, freed);
  const errors = rs.filter((r) => r.code === 'list-corrupt');
  t.like(errors[0], { direction: 'forward', poison: 'LIST_POISON1' });
  t.like(errors[1], { direction: 'backward', link: 'prev', poison: 'LIST_POISON2' });
  t.like(rs.at(-1), { kind: 'list-bracket', forward: { entries: 6, lastGoodEntry: freed, reason: 'poison' }, backward: { entries: back.length, lastGoodEntry: freed, reason: 'poison' } });
  // Every task is reached from one side or the other.
  const total = hexLines(crash('crash.vmcore.kdump-zlib.list-o-task_struct.tasks-h-init_task.txt')).length;
  t.is(new Set([...fwd, ...back].map((r) => r.entry)).size, total);
});

test('next->prev mismatch: found where crash walks on; with --no-prev-check the same entries as crash', async (t) => {
  const rs = (await runBin('list-walk', [broken, '--head', 'slab_caches', '-o', 'kmem_cache.list'])).records();
  const c = corruptOf(rs)!;
  // entries[9]'s next is entries[10], whose prev was pointed elsewhere: the walk ends at entries[9].
  t.deepEqual(entries(rs).map(BigInt), b.slab!.entries.slice(0, 10));
  t.like(c, { reason: 'prev-mismatch', entry: `0x${b.slab!.entries[9]!.toString(16)}`, pointeePrev: `0x${b.slab!.stray.toString(16)}` });
  t.regex(c.message as string, /^next of 0x[0-9a-f]+ is 0x[0-9a-f]+, but prev of 0x[0-9a-f]+ is 0x[0-9a-f]+, not 0x[0-9a-f]+/);
  const loose = (await runBin('list-walk', [broken, '--head', 'slab_caches', '-o', 'kmem_cache.list', '--no-prev-check'])).records();
  t.deepEqual(bare(entries(loose)), hexLines(brokenCrash('list-H-slab_caches-o-kmem_cache.list')));
  t.is(corruptOf(loose), undefined);
});

test('a loop not back to the head: where it closes and where it starts; crash\'s distinct entries first', async (t) => {
  const rs = (await runBin('list-walk', [broken, '--head', 'super_blocks', '-o', 'super_block.s_list', '--no-prev-check'])).records();
  const c = corruptOf(rs)!;
  t.like(c, { reason: 'cycle', loopAt: 3, loopLength: 10, loopStart: `0x${b.supers!.entries[3]!.toString(16)}`, addr: `0x${b.supers!.entries[12]!.toString(16)}` });
  const text = brokenCrash('list-H-super_blocks-o-super_block.s_list');
  t.regex(text, /duplicate list entry/);
  const distinct = hexLines(text).slice(0, -1); // crash prints the repeated entry, then says so
  t.deepEqual(bare(entries(rs)).slice(0, distinct.length), distinct);
  // With the check on, the same damage is met at the closing node, as a mismatch.
  t.like(corruptOf((await runBin('list-walk', [broken, '--head', 'super_blocks', '-o', 'super_block.s_list'])).records()), { reason: 'prev-mismatch', addr: `0x${b.supers!.entries[12]!.toString(16)}` });
});

test('a pointer into an excluded page and a non-canonical one: named, after crash\'s entries', async (t) => {
  const mods = (await runBin('list-walk', [broken, '--head', 'modules', '-o', 'module.list'])).records();
  t.deepEqual(bare(entries(mods)), hexLines(brokenCrash('list-H-modules-o-module.list')).slice(0, -1));
  t.like(corruptOf(mods), { reason: 'unreadable', memoryCode: 'page-excluded', pointer: `0x${b.modules!.excluded.toString(16)}` });
  t.regex(brokenCrash('list-H-modules-o-module.list'), /page excluded/);
  const vmap = (await runBin('list-walk', [broken, '--head', 'vmap_area_list', '-o', 'vmap_area.list'])).records();
  t.deepEqual(bare(entries(vmap)), hexLines(brokenCrash('list-H-vmap_area_list-o-vmap_area.list')).slice(0, -1));
  t.like(corruptOf(vmap), { reason: 'non-canonical', pointer: '0x4141414141414140' });
  const text = (await runBin('list-walk', [broken, '--head', 'vmap_area_list', '-o', 'vmap_area.list', '--format', 'crash'])).out;
  t.regex(text.trim().split('\n').at(-1)!, /^error: list-corrupt: next of 0x[0-9a-f]+ is 0x4141414141414140, not a canonical kernel address/);
});
