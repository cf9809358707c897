/**
 * The kernel's objects on the real 6.1 dump (fixtures/real/vmcore.kdump-zlib)
 * against drgn 0.0.22 and crash 8.0.2 on the same dump with the DWARF vmlinux
 * (fixtures/real/expected/*.cmd say how each file was made).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addr_info, for_each_pid, for_each_runqueue, for_each_task, for_each_task_info, pid_task, for_each_vma, Program, si_meminfo, slab_object_info, taint_letters, task_state_letters, type TaskInfo } from './index.js';

const REAL = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const DUMP = REAL + 'vmcore.kdump-zlib';
const expected = (name: string) => readFileSync(REAL + 'expected/' + name, 'latin1');
const real = existsSync(DUMP) ? test : test.skip;

let prog: Program | undefined;
const open = () => (prog ??= Program.open(DUMP));

real('modules: state, refcount, taints and core layout as drgn reads struct module', (t) => {
  const want = expected('drgn.vmcore.kdump-zlib.modules.txt').trim().split('\n').map((l) => l.split(' '));
  t.is(want.length, 3);
  const mods = open().modules.modules;
  t.deepEqual(
    mods.map((m) => [m.name, `0x${m.addr.toString(16)}`, `MODULE_STATE_${m.state!.toUpperCase()}`, String(m.refcount), `0x${m.taints!.toString(16)}`, `0x${m.base.toString(16)}`, String(m.size)]),
    want,
  );
  t.deepEqual(mods.map((m) => m.regions.map((r) => r.name)), mods.map(() => ['core_layout', 'init_layout']));
  // crash mod -t on the same dump
  t.is(expected('crash.vmcore.kdump-zlib.mod-t.txt').trim(), 'no tainted modules');
  t.true(mods.every((m) => taint_letters(m.taints!) === ''));
});

test('taint letters in TAINT_* bit order (kernel/panic.c)', (t) => {
  t.is(taint_letters(0n), '');
  t.is(taint_letters((1n << 12n) | (1n << 13n)), 'OE'); // an unsigned out-of-tree module
  t.is(taint_letters(1n), 'P');
  t.is(taint_letters(1n << 40n), '?');
});

const drgnLetter: Record<string, string[]> = { R: ['RU'], S: ['IN'], D: ['UN'], I: ['ID'], T: ['ST'], t: ['TR'], Z: ['ZO'], X: ['DE'], P: ['PA'] };

real('tasks: every task drgn finds through the PID idr, the same pid, tgid, parent, comm, state and cpu; plus the idle tasks', (t) => {
  const want = expected('drgn.vmcore.kdump-zlib.tasks.txt').trim().split('\n').map((l) => l.split(' '));
  t.is(want.length, 53);
  const infos = [...for_each_task_info(open())].flatMap((s) => ('info' in s ? [s.info] : []));
  t.is([...for_each_task_info(open())].filter((s) => !('info' in s)).length, 0);
  const byAddr = new Map(infos.map((i) => [`0x${i.task.toString(16)}`, i]));
  for (const [addr, pid, tgid, ppid, comm, letter, state, cpu] of want) {
    const i = byAddr.get(addr!);
    if (!i) {
      t.fail(`task ${addr} (${comm}) not found`);
      continue;
    }
    t.deepEqual([i.pid, i.tgid, i.ppid, i.comm, `0x${i.stateValue.toString(16)}`, i.cpu], [Number(pid), Number(tgid), Number(ppid), comm, state, Number(cpu)], comm);
    t.true(drgnLetter[letter!]!.includes(i.state), `${comm}: ${letter} vs ${i.state}`);
  }
  // drgn's for_each_task walks the PID idr, which has no pid 0: init_task and swapper/1 are the two more.
  t.is(infos.length, want.length + 2);
  t.deepEqual(infos.filter((i) => i.pid === 0).map((i) => [i.comm, i.via]), [['swapper/0', 'tasks'], ['swapper/1', 'idle']]);
});

real('for_each_pid / pid_task: the PID table (init_pid_ns.idr) names drgn\'s tasks (drgn walks it), each under its own PID', (t) => {
  const want = expected('drgn.vmcore.kdump-zlib.tasks.txt').trim().split('\n').map((l) => l.split(' ')).map((f) => `${f[1]} ${f[0]}`);
  const got: string[] = [];
  for (const step of for_each_pid(open())) {
    if ('corrupt' in step) t.fail(step.corrupt.message);
    else {
      const task = pid_task(open(), step.pid);
      if (task !== 0n) got.push(`${step.nr} 0x${task.toString(16)}`);
    }
  }
  t.deepEqual(got.sort(), want.sort());
  // and for_each_task, whose lists are whole here, adds nothing from it
  t.is([...for_each_task(open())].filter((s) => 'via' in s && s.via === 'pid').length, 0);
});

real('tasks: crash ps -l and ps -t times (last_arrival, start_time, utime, stime) for the tasks crash sees', (t) => {
  const infos = new Map([...for_each_task_info(open())].flatMap((s) => ('info' in s ? [[`${s.info.task.toString(16)}`, s.info] as const] : [])));
  const lastRun = [...expected('crash.vmcore.kdump-zlib.ps-l.txt').matchAll(/^\[\s*(\d+)\] \[(\w\w)\]\s+PID: (\d+)\s+TASK: ([0-9a-f]+)/gm)];
  t.is(lastRun.length, 3);
  for (const m of lastRun) {
    const i = infos.get(m[4]!)!;
    t.is(i.lastArrival, BigInt(m[1]!));
    t.is(i.state, m[2]);
  }
  const times = [...expected('crash.vmcore.kdump-zlib.ps-t.txt').matchAll(/TASK: ([0-9a-f]+)[^\n]*\n[^\n]*\n\s+START TIME: (\d+)\n\s+UTIME: (\d+)\n\s+STIME: (\d+)/g)];
  t.is(times.length, 3);
  for (const m of times) {
    const i = infos.get(m[1]!)!;
    t.deepEqual([i.startTime, i.utime, i.stime], [BigInt(m[2]!), BigInt(m[3]!), BigInt(m[4]!)]);
  }
});

test('task state letters as crash ps prints them', (t) => {
  t.is(task_state_letters(0, 0), 'RU');
  t.is(task_state_letters(0x1, 0), 'IN');
  t.is(task_state_letters(0x2001, 0), 'IN'); // TASK_FREEZABLE | TASK_INTERRUPTIBLE (6.1)
  t.is(task_state_letters(0x2, 0), 'UN');
  t.is(task_state_letters(0x402, 0), 'ID');
  t.is(task_state_letters(0x80, 0x20), 'ZO');
  t.is(task_state_letters(0x80, 0x10), 'DE');
  t.is(task_state_letters(0x4, 0), 'ST');
  t.is(task_state_letters(0x8, 0), 'TR');
});

real('slab objects: drgn\'s allocated objects are allocated here, but for those on CPU 0\'s freelist, which drgn skips (CPU 0 offline) and crash counts free', (t) => {
  const lines = expected('drgn.vmcore.kdump-zlib.slab-objects.txt').trim().split('\n').map((l) => l.split(' '));
  const crashAllocated: Record<string, number> = { task_struct: 55, vm_area_struct: 10 }; // crash.vmcore.kdump-zlib.kmem-s.txt
  t.true(expected('crash.vmcore.kdump-zlib.kmem-s.txt').includes('ffff8dce811b7900     6144         55        65     13    32k  task_struct'));
  for (const [name, cache, count, ...objs] of lines) {
    t.is(objs.length, Number(count));
    const infos = objs.map((o) => ({ o: BigInt(o), i: slab_object_info(open(), BigInt(o))! }));
    t.true(infos.every(({ o, i }) => i.cacheName === name && i.cache === BigInt(cache!) && i.object === o), name);
    const onCpu0 = infos.filter(({ i }) => i.free);
    t.true(onCpu0.every(({ i }) => i.cpu === 0), name);
    t.is(objs.length - onCpu0.length, crashAllocated[name!]!, name);
  }
});

real('addresses: a slab object inside task_struct, a stack, a struct page, a free page, init_task, a module', (t) => {
  const p = open();
  const a = (x: bigint) => addr_info(p, x);
  const obj = a(0xffff8dce811f9900n);
  t.like(obj, { what: 'slab-object' });
  t.is(obj.slab!.object, 0xffff8dce811f9800n);
  t.is(obj.task!.comm, 'sh');
  t.like(obj.page!, { page: 0xfffffc93c0047e40n, head: 0xfffffc93c0047e00n, order: 3, tail: true });
  const stack = a(0xffffcf8400013a78n);
  t.is(stack.what, 'stack');
  t.like(stack.vmalloc!, { area: 0xffff8dce8104d9c0n, vm: 0xffff8dce811bdd00n, start: 0xffffcf8400010000n, end: 0xffffcf8400015000n, size: 20480 });
  t.is(a(0xfffffc93c0040000n).page!.phys, 0x1000000n);
  const free = a(0xffff8dce838ec000n);
  t.is(free.what, 'free-page');
  t.deepEqual(free.free, { page: 0xfffffc93c00e0000n, order: 10, index: 236 }); // crash: "is 237th of 1024 pages"
  const init = a(0xffffffff8ae1aa40n);
  t.like(init, { what: 'kernel-data' });
  t.deepEqual(init.page!.flagNames, ['reserved']);
  const mod = a(0xffffffffc058f2c0n);
  t.like(mod.symbol!, { name: '__this_module', module: 'qemu_fw_cfg' });
  t.is(mod.vmalloc!.start, 0xffffffffc058c000n);
  t.is(a(0n).what, 'unknown');
});

// The uncut 6.12 seed scenario (tools/recipes/scenarios; outside the repo for its size): mem[] modules,
// percpu rss counters, page types instead of PG_slab, task_structs that straddle excluded pages.
const DUMP612 = '/work/refs/scenarios/6.12.117+deb12-cloud-amd64/seed/vmcore.kdump';
const real612 = existsSync(DUMP612) ? test : test.skip;
if (!existsSync(DUMP612)) console.log(`objects.real.test: ${DUMP612} not here, the 6.12 checks are skipped`);

real612('6.12: modules and tasks as drgn 0.0.22 reads them; slab pages by page type', (t) => {
  const p = Program.open(DUMP612);
  const mods = expected('drgn.scenario-6.12-seed.modules.txt').trim().split('\n').map((l) => l.split(' '));
  t.deepEqual(
    p.modules.modules.map((m) => [m.name, `0x${m.addr.toString(16)}`, `MODULE_STATE_${m.state!.toUpperCase()}`, String(m.refcount), `0x${m.taints!.toString(16)}`, `0x${m.base.toString(16)}`, String(m.size)]),
    mods,
  );
  t.is(taint_letters(p.modules.modules[0]!.taints!), 'OE'); // crashmod: out of tree, unsigned
  const infos = new Map<string, TaskInfo>([...for_each_task_info(p)].flatMap((s) => ('info' in s ? [[`0x${s.info.task.toString(16)}`, s.info] as [string, TaskInfo]] : [])));
  const want = expected('drgn.scenario-6.12-seed.tasks.txt').trim().split('\n').map((l) => l.split(' '));
  for (const [addr, pid, tgid, ppid, comm, letter, state, cpu] of want) {
    const i = infos.get(addr!)!;
    t.truthy(i, comm);
    t.deepEqual([i.pid, i.tgid, i.ppid, i.comm, `0x${i.stateValue.toString(16)}`, i.cpu], [Number(pid), Number(tgid), Number(ppid), comm, state, Number(cpu)], comm);
    t.true(drgnLetter[letter!]!.includes(i.state), comm);
  }
  t.true(si_meminfo(p).slab > 0);
  p.close();
});

real('run queues: crash runq on the fixture (both CPUs idle but for their current task)', (t) => {
  const qs = [...for_each_runqueue(open())];
  const text = expected('crash.vmcore.kdump-zlib.runq.txt');
  for (const q of qs) {
    t.true(text.includes(`CPU ${q.cpu} RUNQUEUE: ${q.rq.toString(16)}\n  CURRENT: PID: ${String(q.curr.pid).padEnd(7)}TASK: ${q.curr.task.toString(16)}  COMMAND: "${q.curr.comm}"`));
    t.true(text.includes(`RT PRIO_ARRAY: ${q.rtArray.toString(16)}`) && text.includes(`CFS RB_ROOT: ${q.cfsRoot.toString(16)}`));
    t.deepEqual([q.rt, q.cfs], [[], []]);
  }
});

const SOFTLOCKUP = '/work/refs/scenarios/6.1.0-56-cloud-amd64/softlockup/vmcore.kdump';
(existsSync(SOFTLOCKUP) ? test : test.skip)('run queues: the softlockup scenario\'s CPU 1 has kworker/1:2 in its CFS tree, as drgn reads the tree (crash 8.0.2 says none)', (t) => {
  const drgn = expected('drgn.scenario-softlockup.runq.txt');
  const root = /^root (0x[0-9a-f]+)/m.exec(drgn)![1]!;
  const p = Program.open(SOFTLOCKUP);
  const cpu1 = [...for_each_runqueue(p)][1]!;
  t.is(cpu1.curr.comm, 'vmpipe-spin');
  t.deepEqual(cpu1.cfs.map((x) => [x.comm, x.pid, x.prio]), [['kworker/1:2', 50, 120]]);
  t.is(`0x${(cpu1.cfs[0]!.task + 0x90n).toString(16)}`, root); // its se.run_node is the tree's root
  t.true(expected('crash.scenario-softlockup.runq.txt').includes('CFS RB_ROOT: ffff8bd309731a30\n     [no tasks queued]'));
  p.close();
});

real('VMAs from the maple tree: sh\'s ten are exactly the vm_area_struct objects drgn finds allocated in the slab, by start address', (t) => {
  const p = open();
  const sh = [...for_each_task_info(p)].flatMap((s) => ('info' in s && s.info.pid === 1 ? [s.info] : []))[0]!;
  const vmas = for_each_vma(p, sh.mm);
  // drgn's allocated vm_area_structs (its list also has CPU 0's free ones, see the slab test): all of sh's
  const drgn = expected('drgn.vmcore.kdump-zlib.slab-objects.txt').split('\n').find((l) => l.startsWith('vm_area_struct '))!.split(' ').slice(3);
  const allocated = drgn.filter((o) => !slab_object_info(p, BigInt(o))!.free);
  t.deepEqual(vmas.map((v) => `0x${v.vma.toString(16)}`).sort(), allocated.sort());
  t.true(vmas.every((v, i) => i === 0 || v.start >= vmas[i - 1]!.end));
  t.deepEqual(vmas.slice(0, 5).map((v) => v.file), Array(5).fill('/bin/busybox'));
  t.is(vmas.reduce((n, v) => n + (v.end - v.start), 0n) / 4096n, BigInt(sh.vszPages)); // total_vm: 565 pages, crash's TOTAL_VM 2260k
});
