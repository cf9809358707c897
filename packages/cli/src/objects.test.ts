/**
 * The object commands on the real 6.1 dump, against crash 8.0.2's text on the
 * same dump (fixtures/real/expected/crash.vmcore.kdump-zlib.*, with .cmd), and crash 9.0.2++'s
 * ps (crash-9.0.2++.vmcore.kdump-zlib.ps.*: all 55 tasks, RSS as get_mm_rss()).
 * The records are made in-process by the commands' own record functions from
 * one Program and rendered as `--format crash`/`render` do; two runs of the
 * bins check what only a process shows (arguments, exit codes).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addr_info, module_btf, for_each_runqueue, for_each_slab_cache, for_each_task_info, for_each_vmap_area, mem_map, panicCpu, Program, read_variable, search_physical, search_virtual,
  si_meminfo, slab_cache_info, task_files, totalram_pages, type TaskInfo,
} from '@vmpipe/kernel';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from '@vmpipe/render';
import { addrInfoRecord } from './commands/addr-info.js';
import { matchRecord } from './commands/mem-search.js';
import { memorySummaryRecord, slabCacheRecord } from './commands/mem-info.js';
import { moduleRecord, moduleTypeRecords } from './commands/module-list.js';
import { runqueueRecord } from './commands/run-queue.js';
import { taskRecord } from './commands/task-list.js';
import { variableRecord } from './commands/var-read.js';
import { taskFilesRecord } from './commands/file-list.js';
import { taskVmRecord } from './commands/vma-list.js';
import { runBin as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const REAL = join(here, '..', '..', '..', 'fixtures', 'real');
const DUMP = join(REAL, 'vmcore.kdump-zlib');
const expected = (name: string) => readFileSync(join(REAL, 'expected', name), 'latin1');
const real = existsSync(DUMP) ? test : test.skip;

let prog: Program | undefined;
const open = () => (prog ??= Program.open(DUMP));
let taskCache: TaskInfo[] | undefined;
const tasks = () => (taskCache ??= [...for_each_task_info(open())].flatMap((s) => ('info' in s ? [s.info] : [])));

/** What `render` (and --format crash) prints for these records. */
function text(records: AnyRecord[]): string {
  const r = new Renderer({ color: false });
  const lines = [...records.flatMap((x) => r.render(x)), ...r.flush()];
  return lines.length ? lines.join('\n') + '\n' : '';
}

real('module-list as crash mod, byte for byte; the records carry state, taints, refcount', (t) => {
  const recs = open().modules.modules.map((m) => moduleRecord(DUMP, m));
  t.is(text(recs as unknown as AnyRecord[]), expected('crash.vmcore.kdump-zlib.mod.txt'));
  t.like(recs.find((m) => m.name === 'pvpanic'), { addr: '0xffffffffc05990c0', base: '0xffffffffc0597000', size: 16384, state: 'live', taints: '', refcount: 1, type: 'struct module' });
});

real('module-list --types: a module\'s own structs from its split BTF in memory, as pahole -C prints them from the module\'s DWARF', (t) => {
  const m = open().modules.modules.find((x) => x.name === 'qemu_fw_cfg')!;
  const recs = moduleTypeRecords(DUMP, m.name, module_btf(open(), m.addr), 'pahole');
  t.deepEqual(recs.map((r) => r.name), ['struct fw_cfg_dma_access', 'struct fw_cfg_file', 'struct fw_cfg_sysfs_attribute', 'struct fw_cfg_sysfs_entry', 'struct fw_cfg_vmcoreinfo']);
  // render sets each layout off with a blank line; pahole -C run five times does not
  t.is(text(recs).replace(/};\n\n/g, '};\n'), expected('pahole.qemu_fw_cfg.ko.structs.txt'));
});

/**
 * crash ps's %MEM (characters 43-48 of a line): crash 9 divides by high_memory's PFN (40928 pages here,
 * with reserved memory and holes), task-list by totalram_pages (31271, /proc/meminfo's MemTotal) as
 * procps ps(1) does; every other column is the same (fixtures/real/PS-NOTES.md).
 */
const memAside = (line: string) => line.slice(0, 43) + line.slice(49);
const memOf = (line: string) => line.slice(43, 49).trim();

real('task-list --sort pid as crash 9 ps, all 55 tasks: every line to the byte but sh\'s %MEM; RSS is get_mm_rss() (crash 8.0.2 said 60 KB)', (t) => {
  const total = totalram_pages(open());
  const recs = [...tasks()].sort((a, b) => a.pid - b.pid).map((x) => taskRecord(DUMP, x, 4096, total));
  const ours = text(recs as unknown as AnyRecord[]).split('\n').filter(Boolean);
  const crash = expected('crash-9.0.2++.vmcore.kdump-zlib.ps.txt').split('\n').filter(Boolean);
  t.is(ours.length, 1 + 55);
  t.deepEqual(ours.map(memAside), crash.map(memAside));
  // sh: MM_FILEPAGES 0 + 1 and MM_ANONPAGES 1 + 13 (mm->rss_stat plus its task_struct's SPLIT_RSS_COUNTING
  // cache), MM_SHMEMPAGES 0 + 395 (busybox on the initramfs): 410 pages; crash 8.0.2 left shmem out (15 pages)
  const sh = recs.find((r) => r.pid === 1)!;
  t.deepEqual([sh.rssPages, sh.rss / 1024, sh.vsz / 1024], [410, 1640, 2260]);
  const crashSh = crash.find((l) => l.endsWith(' sh'))!;
  t.deepEqual([memOf(ours.find((l) => l.endsWith(' sh'))!), memOf(crashSh)], [(410 * 100 / 31271).toFixed(1), (410 * 100 / 40928).toFixed(1)]);
  t.is(total, 31271);
});

real('mem-info as crash kmem -i and kmem -s, byte for byte (all 153 SLUB caches); both slab counts in the record', (t) => {
  const m = memorySummaryRecord(DUMP, si_meminfo(open()));
  t.is(text([m as unknown as AnyRecord]), expected('crash.vmcore.kdump-zlib.kmem-i.txt'));
  // crash counts PG_slab (head) pages; the kernel's NR_SLAB_*_B count every slab page (crash kmem -V: 2280 + 1597).
  t.deepEqual([m.slab.pages, (m.slabVmstat as { pages: number }).pages], [2195, 2280 + 1597]);
  const caches = [...for_each_slab_cache(open())].map((s) => slabCacheRecord(DUMP, slab_cache_info(open(), (s as { cache: bigint }).cache)));
  t.is(text(caches as unknown as AnyRecord[]), expected('crash.vmcore.kdump-zlib.kmem-s.txt'));
});

real('addr-info as crash kmem ADDR, byte for byte: a slab object, a stack, a struct page, init_task; a free page and a module as crash but for what the docs say', (t) => {
  const cpu = panicCpu(open());
  const rec = (a: string) => {
    const info = addr_info(open(), BigInt('0x' + a), tasks());
    const r = addrInfoRecord(DUMP, info, cpu);
    if (r.task) {
      const same = tasks().filter((x) => x.pid === r.task!.pid);
      if (same.length > 1) r.task.of = [same.findIndex((x) => x.task === info.task!.task) + 1, same.length];
    }
    if (info.slab && r.slab) {
      const c = slab_cache_info(open(), info.slab.cache);
      Object.assign(r.slab, { allocated: c.allocated, total: c.total, slabs: c.slabs, slabSize: c.slabSize });
    }
    return r as unknown as AnyRecord;
  };
  for (const a of ['ffff8dce811f9800', 'ffffcf8400013a78', 'fffffc93c0040000', 'ffffffff8ae1aa40']) t.is(text([rec(a)]), expected(`crash.vmcore.kdump-zlib.kmem-${a}.txt`), a);
  t.true(expected('crash.vmcore.kdump-zlib.kmem-ffff8dce838ec000.txt').endsWith(text([rec('ffff8dce838ec000')])));
  t.is(text([rec('ffffffffc058f2c0')]).replace(' (D) ', ' (?) '), expected('crash.vmcore.kdump-zlib.kmem-ffffffffc058f2c0.txt'));
});

real('mem-search: crash search -p, and crash search (kernel virtual) less the kernel-image aliases of the same pages, byte for byte', (t) => {
  const p = open();
  const value = 0xffffffff8ae1aa40n;
  t.is(text([...search_physical(p, { value })].map((m) => matchRecord(DUMP, 'physical', m, 8)) as AnyRecord[]), expected('crash.vmcore.kdump-zlib.search-p-init_task.txt'));
  const noAliases = (s: string) => s.split('\n').filter((l) => !l.startsWith('ffffffff')).join('\n');
  const kernel = (o: { value: bigint; mask?: bigint }) => {
    const base = mem_map(p).pageOffset;
    const recs = [...search_physical(p, o)].map((m) => matchRecord(DUMP, 'virtual', m, 8, base));
    for (const area of for_each_vmap_area(p)) recs.push(...[...search_virtual(p, o, area.start, area.end)].map((m) => matchRecord(DUMP, 'virtual', m, 8)));
    return recs as AnyRecord[];
  };
  const k = kernel({ value });
  t.is(text(k), noAliases(expected('crash.vmcore.kdump-zlib.search-init_task.txt')));
  t.like(k[0], { space: 'virtual', addr: '0xffff8dce810570a0', paddr: '0x10570a0', value: '0xffffffff8ae1aa40' });
  t.is(text(kernel({ value: 0xffff8dce811f0000n, mask: 0xffffn })), noAliases(expected('crash.vmcore.kdump-zlib.search-m.txt')));
});

real('run-queue as crash runq, byte for byte', (t) => {
  const recs = [...for_each_runqueue(open())].map((q) => runqueueRecord(DUMP, q));
  t.is(text(recs as AnyRecord[]), expected('crash.vmcore.kdump-zlib.runq.txt').replace(/\n$/, '') + '\n');
});

real('var-read as crash p: jiffies with the user\'s type; per-CPU values by CPU', (t) => {
  const p = open();
  const jiffies = read_variable(p, 'jiffies', { type: 'unsigned long' }).map((v) => variableRecord(DUMP, v));
  t.is(text(jiffies as AnyRecord[]), expected('crash.vmcore.kdump-zlib.p-jiffies.txt'));
  t.throws(() => read_variable(p, 'jiffies'), { message: /give --type/ });
  const rq = read_variable(p, 'runqueues');
  t.deepEqual(rq.map((v) => [v.cpu, v.addr]), [[0, 0xffff8dce89631980n], [1, 0xffff8dce89731980n]]); // crash runq's RUNQUEUE addresses
  t.is((rq[1]!.value as { curr: string }).curr, '0xffff8dce811f9800');
  // crash's gdb numbers values across its session ($2, $3, ...); a stream starts at $1.
  const noHistory = (s: string) => s.replace(/ = \$\d+ = /g, ' = $ = ');
  t.is(noHistory(text(read_variable(p, 'cpu_number').map((v) => variableRecord(DUMP, v)) as AnyRecord[])), noHistory(expected('crash.vmcore.kdump-zlib.p-cpu_number-a.txt')));
  t.is(noHistory(text(read_variable(p, 'this_cpu_off', { cpus: [1] }).map((v) => variableRecord(DUMP, v)) as AnyRecord[])), noHistory(expected('crash.vmcore.kdump-zlib.p-this_cpu_off-1.txt')));
});

real('file-list as crash files: sh\'s descriptors with their paths across mounts (/dev/console, /proc/sysrq-trigger); the idle tasks have none', (t) => {
  const of = (pid: number) => text(tasks().filter((x) => x.pid === pid).map((x) => taskFilesRecord(DUMP, x, task_files(open(), x.task))) as AnyRecord[]);
  // crash ends each task with a blank line; render separates them
  t.is(of(1) + '\n', expected('crash.vmcore.kdump-zlib.files-1.txt'));
  t.is(of(0) + '\n', expected('crash.vmcore.kdump-zlib.files-0.txt'));
});

real('vma-list: crash 9 vm, byte for byte: the mm line (RSS 1640k, get_mm_rss()) and the ten VMAs of the maple tree', (t) => {
  const sh = tasks().find((x) => x.pid === 1)!;
  const out = text([taskVmRecord(open(), DUMP, sh) as AnyRecord]);
  t.is(out, expected('crash-9.0.2++.vmcore.kdump-zlib.vm-1.txt'));
  // (crash 8.0.2's crash.vmcore.kdump-zlib.vm-1.txt: the same mm line with file + anon pages only, 60k, and no VMAs on 6.1)
});

real('the bins: task-list --format crash prints the ps table; bad input is one line and the documented exit code', async (t) => {
  const ps = await run('task-list', [DUMP, '--format', 'crash', '--sort', 'pid', '--parents', '1']);
  t.is(ps.code, 0, ps.err);
  const want = expected('crash-9.0.2++.vmcore.kdump-zlib.ps.txt').split('\n').filter((l, i) => i === 0 || / \[?(swapper\/0|sh)\]?$/.test(l));
  t.deepEqual(ps.out.split('\n').filter(Boolean).map(memAside), want.map(memAside));
  t.is(memOf(ps.out.split('\n')[2]!), '1.3');
  const missing = await run('module-list', ['/nonexistent/vmcore']);
  t.is(missing.code, 3);
  t.regex(missing.err, /^module-list: .*no such file/);
  const badAddr = await run('addr-info', [DUMP, 'zz']);
  t.is(badAddr.code, 2);
  t.regex(badAddr.err, /^addr-info: "zz" is not a hex address, nor a symbol/);
});
