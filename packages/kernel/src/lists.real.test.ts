/**
 * The walkers on the shipped 6.1 dump against crash 8.0.2 on the same dump
 * (fixtures/real/expected/crash.vmcore.kdump-zlib.{list,tree}-*, made with the
 * -dbg vmlinux; commands in the .cmd files): the same entries in the same
 * order. crash 8.0.2 cannot walk maple trees (no `tree -t maple`, and `vm`
 * fails on 6.1), so mm->mm_mt is checked against the kernel's own counts
 * (mm_struct.map_count, total_vm, as crash `struct` prints them) and each
 * entry against the VMA it must be.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findType, memberAt } from '@vmpipe/types';
import { hlist_for_each, list_for_each, list_for_each_entry, mt_for_each, offsetOf, Program, rbtree_for_each, xa_for_each, type TreeStep } from './index.js';

const root = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const crash = (name: string) => readFileSync(`${root}expected/crash.vmcore.kdump-zlib.${name}.txt`, 'latin1');
/** crash prints one bare hex address per line for `list` and `tree`. */
const addresses = (text: string) => text.split('\n').filter((l) => /^[0-9a-f]+$/.test(l)).map((l) => BigInt('0x' + l));

const prog = Program.open(root + 'vmcore.kdump-zlib');
test.after.always(() => prog.close());

const entries = (head: bigint, type: string, member: string, opts = {}) =>
  [...list_for_each_entry(prog, head, type, member, opts)].map((s) => {
    if ('corrupt' in s) throw new Error(s.corrupt.message);
    return s.entry;
  });

test('init_task.tasks (crash list -o task_struct.tasks -h init_task): every task, init_task first, forward and reverse', (t) => {
  const want = addresses(crash('list-o-task_struct.tasks-h-init_task'));
  t.is(want.length, 54);
  const init = prog.symbol('init_task')!;
  const off = BigInt(offsetOf(prog, 'task_struct', 'tasks'));
  t.deepEqual(entries(init + off, 'task_struct', 'tasks', { includeHead: true }), want);
  t.deepEqual(entries(init + off, 'task_struct', 'tasks', { includeHead: true, reverse: true }), addresses(crash('list-r-o-task_struct.tasks-h-init_task')));
});

for (const [sym, type, member, file] of [
  ['modules', 'module', 'list', 'list-H-modules-o-module.list'],
  ['slab_caches', 'kmem_cache', 'list', 'list-H-slab_caches-o-kmem_cache.list'],
  ['super_blocks', 'super_block', 's_list', 'list-H-super_blocks-o-super_block.s_list'],
] as const) {
  test(`${sym} (crash list -H ${sym} -o ${type}.${member}): the same entries in the same order, no damage`, (t) => {
    const want = addresses(crash(file));
    t.true(want.length > 0);
    t.deepEqual(entries(prog.symbol(sym)!, type, member), want);
  });
}

const nodesOf = (steps: TreeStep[]) =>
  steps.map((s) => {
    if ('corrupt' in s) throw new Error(s.corrupt.message);
    return s;
  });

test('vmap_area_root (crash tree -t rbtree -o vmap_area.rb_node): pre-order as crash prints by default, in order as tree -l', (t) => {
  const off = BigInt(offsetOf(prog, 'vmap_area', 'rb_node'));
  const rootAddr = prog.symbol('vmap_area_root')!;
  const pre = nodesOf([...rbtree_for_each(prog, rootAddr, { preorder: true })]).map((s) => s.node - off);
  t.deepEqual(pre, addresses(crash('tree-t-rbtree-o-vmap_area.rb_node-vmap_area_root')));
  const inorder = nodesOf([...rbtree_for_each(prog, rootAddr)]).map((s) => s.node - off);
  t.deepEqual(inorder, addresses(crash('tree-t-rbtree-l-o-vmap_area.rb_node-vmap_area_root')));
  // In order means by va_start: the tree's key.
  const start = BigInt(memberAt(prog.types, findType(prog.types, 'vmap_area'), 'va_start').offset);
  const keys = inorder.map((va) => prog.mem.readU64(va + start));
  t.deepEqual(keys, [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
});

test('init_pid_ns.idr (crash tree -t xarray -p): the same struct pid pointers at the same indices', (t) => {
  const text = crash('tree-t-xarray-p-ffffffff8ae59420');
  const want = [...text.matchAll(/^([0-9a-f]+)\n  index: (\d+)/gm)].map((m) => ({ entry: BigInt('0x' + m[1]), key: BigInt(m[2]!) }));
  t.is(want.length, 53);
  const idr = prog.symbol('init_pid_ns')! + BigInt(memberAt(prog.types, findType(prog.types, 'pid_namespace'), 'idr.idr_rt').offset);
  t.is(idr, 0xffffffff8ae59420n, 'the address crash was given (p &init_pid_ns.idr.idr_rt)');
  t.deepEqual(nodesOf([...xa_for_each(prog, idr)]).map((s) => ({ entry: s.entry, key: s.key })), want);
});

test('the shell\'s mm->mm_mt (maple tree): map_count VMAs in address order, each covering [vm_start, vm_end - 1], total_vm pages', (t) => {
  const mm = 0xffff8dce82311b00n; // crash `struct task_struct.mm ffff8dce811f9800` (PID 1, sh; crash bt)
  const counts = crash('struct-mm_struct.map_count+total_vm-ffff8dce82311b00');
  const mapCount = Number(/map_count = (\d+)/.exec(counts)![1]);
  const totalVm = BigInt(/total_vm = (\d+)/.exec(counts)![1]!);
  const mt = mm + BigInt(offsetOf(prog, 'mm_struct', 'mm_mt'));
  const vmas = nodesOf([...mt_for_each(prog, mt)]);
  t.is(vmas.length, mapCount);
  const vma = findType(prog.types, 'vm_area_struct');
  const at = (m: string) => BigInt(memberAt(prog.types, vma, m).offset);
  let pages = 0n;
  let prevEnd = 0n;
  for (const v of vmas) {
    const start = prog.mem.readU64(v.entry! + at('vm_start'));
    const end = prog.mem.readU64(v.entry! + at('vm_end'));
    t.is(v.key, start);
    t.is(v.last, end - 1n);
    t.is(prog.mem.readU64(v.entry! + at('vm_mm')), mm);
    t.true(start >= prevEnd);
    prevEnd = end;
    pages += (end - start) / 4096n;
  }
  t.is(pages, totalVm);
  // init_mm has no VMAs: an empty tree, no damage.
  t.deepEqual([...mt_for_each(prog, prog.symbol('init_mm')! + BigInt(offsetOf(prog, 'mm_struct', 'mm_mt')))], []);
});

test('the real lists with every check on: not one false alarm (next->prev, parent links)', (t) => {
  for (const sym of ['modules', 'slab_caches', 'super_blocks']) {
    t.false([...list_for_each(prog, prog.symbol(sym)!)].some((s) => 'corrupt' in s), sym);
  }
});

test('hlists: every task of init_task.tasks (crash list) is on its own struct pid\'s tasks[PIDTYPE_PID] hlist, pprev checked', (t) => {
  const tasks = addresses(crash('list-o-task_struct.tasks-h-init_task'));
  const task = findType(prog.types, 'task_struct');
  const threadPid = BigInt(memberAt(prog.types, task, 'thread_pid').offset);
  const link = BigInt(memberAt(prog.types, task, 'pid_links[0]').offset);
  const pidTasks = BigInt(memberAt(prog.types, findType(prog.types, 'pid'), 'tasks').offset);
  let checked = 0;
  for (const tk of tasks) {
    const pid = prog.mem.readU64(tk + threadPid);
    if (pid === prog.symbol('init_struct_pid')) continue; // the idle tasks point at init_struct_pid without being on it
    const steps = [...hlist_for_each(prog, pid + pidTasks)];
    t.false(steps.some((s) => 'corrupt' in s));
    t.deepEqual(steps.map((s) => ('node' in s ? s.node - link : 0n)), [tk]);
    checked++;
  }
  t.true(checked >= 50);
});
