/**
 * The kernel's objects on the real arm64 dumps (Debian 6.1.0-56-cloud-arm64 under
 * qemu-system-aarch64; uncut, outside the repo: /work/refs/arm64/dumps or
 * VMPIPE_ARM64_DUMPS; the kernel's System.map from /work/refs/arm64 or
 * VMPIPE_ARM64_SYSTEM_MAP) against drgn built from source on the same dumps:
 * fixtures/arm64/6.1.0-56-cloud-arm64/<dump>/expected/drgn.arm64xlat.json
 * (the command is in the .cmd beside it). Skips with a log line when absent.
 */
import test from 'ava';
import { sizeOf } from '@vmpipe/types';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addr_info, currentTask, find_btf_in_image, for_each_runqueue, for_each_task_info, mem_map, page_to_pfn, panicCpu, panicTask, pfn_to_page, phys_to_virt, Program, si_meminfo, type TaskInfo } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const KERNEL = '6.1.0-56-cloud-arm64';
const dumps = process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`;
const systemMap = process.env['VMPIPE_ARM64_SYSTEM_MAP'] ?? [`/work/refs/arm64/${KERNEL}/System.map`, join(root, 'fixtures', 'arm64', KERNEL, 'System.map.gz')].find((f) => existsSync(f)) ?? `/work/refs/arm64/${KERNEL}/System.map`;

interface Expected {
  translate: { name: string; vaddr: string; paddr: string }[];
  phys_to_virt: Record<string, string>;
  pfn_to_page: Record<string, string>;
  page_flags: Record<string, string>;
  panic_cpu: number;
  crashed: { pid: number; comm: string; task: string };
  all_cpus: { cpu: number; entry_task: string; rq_curr: string }[];
  tasks: { task: string; pid: number; comm: string; state: string; cpu: number }[];
  modules: { name: string; base: string; size: number }[];
  btf: { start: string; stop: string };
  sizeof: Record<string, number>;
  totalram_pages: number;
  nr_free_pages: number;
}

const hex = (v: bigint) => '0x' + v.toString(16);
// drgn's task_state_to_char letters, as crash's ps writes them
const crashState: Record<string, string> = { R: 'RU', S: 'IN', D: 'UN', I: 'ID', T: 'ST', t: 'TR', Z: 'ZO', X: 'DE', P: 'PA' };

function setup(dump: string): { path: string; want: Expected } | string {
  const path = join(dumps, dump, 'qemu.kdump-zlib');
  const file = join(root, 'fixtures', 'arm64', KERNEL, dump, 'expected', 'drgn.arm64xlat.json');
  if (!existsSync(path)) return `${path} is not here (the uncut arm64 dumps live outside the repo)`;
  const want = JSON.parse(readFileSync(file, 'utf8')) as Expected;
  const p = Program.open(path);
  const swapper = want.translate.find((x) => x.name === 'swapper_pg_dir')!.vaddr;
  if (p.dump?.vmcoreinfo?.symbol('swapper_pg_dir') !== BigInt(swapper)) return `${path} was remade since ${file}; rerun the .cmd beside it`;
  return { path, want };
}

for (const dump of ['pauth', 'nopauth']) {
  test(`${dump}: from the dump alone: kallsyms, and BTF found by its header (no KALLSYMS_ALL, so no __start_BTF)`, (t) => {
    const s = setup(dump);
    if (typeof s === 'string') return void (t.log(`skipped: ${s}`), t.pass());
    const prog = Program.open(s.path);
    t.is(prog.kernelSymbols.source, 'kallsyms');
    t.is(prog.symbol('__start_BTF'), undefined, 'text symbols only in this kernel\'s kallsyms');
    const found = find_btf_in_image(prog)!;
    t.is(hex(found.start), s.want.btf.start);
    // drgn's __stop_BTF; the header's own length ends at the same byte
    t.is(hex(found.stop), s.want.btf.stop);
    t.is(prog.types.source, 'btf-dump');
    for (const [name, size] of Object.entries(s.want.sizeof)) t.is(sizeOf(prog.types, prog.types.lookup('struct', name)!), size, `sizeof(struct ${name})`);
  });

  test(`${dump}: with System.map: tasks, current per CPU (__entry_task), panic_cpu, modules, pages, memory as drgn reads them`, (t) => {
    const s = setup(dump);
    if (typeof s === 'string') return void (t.log(`skipped: ${s}`), t.pass());
    if (!existsSync(systemMap)) return void (t.log(`skipped: ${systemMap} is not here`), t.pass());
    const fresh = Program.open(s.path, { systemMap }).source();
    t.deepEqual([fresh.symbols, fresh.types], ['system-map', 'btf-dump'], 'the source record, before anything is loaded');
    const prog = Program.open(s.path, { systemMap });
    const w = s.want;
    t.is(prog.kernelSymbols.source, 'system-map', 'kallsyms lacks init_task: the given System.map is used');
    // The CPU that called panic(), and its current task: never QEMU's pr_pid.
    t.is(panicCpu(prog), w.panic_cpu);
    for (const c of w.all_cpus) t.is(hex(currentTask(prog, c.cpu).task), c.entry_task, `CPU ${c.cpu} current`);
    const cur = currentTask(prog, w.panic_cpu);
    t.deepEqual([hex(cur.task), cur.pid, cur.comm, cur.via], [w.crashed.task, w.crashed.pid, w.crashed.comm, '__entry_task']);
    const pt = panicTask(prog, { cpu: null, pid: null, comm: null });
    t.deepEqual([pt.cpu, pt.pid, pt.comm], [w.panic_cpu, w.crashed.pid, w.crashed.comm]);
    // Every task drgn lists, with the same address, comm, state and CPU; running = a CPU's current.
    const ours = new Map<bigint, TaskInfo>();
    for (const step of for_each_task_info(prog)) if ('info' in step) ours.set(step.info.task, step.info);
    for (const x of w.tasks) {
      const o = ours.get(BigInt(x.task));
      if (!o) {
        t.fail(`task ${x.pid} ${x.comm} at ${x.task} not listed`);
        continue;
      }
      t.deepEqual([o.pid, o.comm, o.state, o.cpu], [x.pid, x.comm, crashState[x.state], x.cpu], `task ${x.pid}`);
    }
    // crash's ps (crash 9.0.2 built for ARM64, pauth dump only): every line, `>` and all, RSS too: both
    // count what the kernel's get_mm_rss() counts, MM_SHMEMPAGES with file and anon (init's busybox sits
    // on the initramfs). Not %MEM: crash divides by high_memory's PFN, task-list by totalram_pages.
    const ps = join(root, 'fixtures', 'arm64', KERNEL, dump, 'expected', 'crash.session.txt');
    if (existsSync(ps)) {
      const lines = [...readFileSync(ps, 'utf8').matchAll(/^([> ]) +(\d+) +(\d+) +(\d+) +([0-9a-f]{16}) +([A-Z]{2}) +[\d.]+ +(\d+) +(\d+) +\[?(.*?)\]?$/gm)];
      t.is(lines.length, ours.size, 'crash ps lists every task we list');
      for (const m of lines) {
        const o = ours.get(BigInt('0x' + m[5]));
        t.deepEqual(
          o && [o.running ? '>' : ' ', o.pid, o.ppid, o.cpu, o.state, o.vszPages * 4, o.rssPages * 4, o.comm],
          [m[1], Number(m[2]), Number(m[3]), Number(m[4]), m[6], Number(m[7]), Number(m[8]), m[9]],
          `crash ps: ${m[0]}`,
        );
      }
    }
    const running = new Set(w.all_cpus.map((c) => c.entry_task));
    for (const o of ours.values()) t.is(o.running, running.has(hex(o.task)), `running ${o.pid} ${o.comm}`);
    // Modules: core layout base and size.
    t.deepEqual(prog.modules.modules.map((m) => ({ name: m.name, base: hex(m.base), size: m.size })), w.modules);
    // The memory map: vmemmap from VMEMMAP_START and memstart_addr, the linear map from PHYS_OFFSET.
    for (const [pfn, page] of Object.entries(w.pfn_to_page)) {
      t.is(hex(pfn_to_page(prog, BigInt(pfn))), page, `pfn_to_page(${pfn})`);
      t.is(page_to_pfn(prog, BigInt(page)), BigInt(pfn));
    }
    for (const [p, v] of Object.entries(w.phys_to_virt)) t.is(hex(phys_to_virt(prog, BigInt(p))), v, `phys_to_virt(${p})`);
    const m = mem_map(prog);
    for (const [page, flags] of Object.entries(w.page_flags)) t.is(hex(prog.mem.readU64(BigInt(page) + BigInt(m.page.offset('flags')))), flags);
    // run-queue: each CPU's rq.curr; addr-info: the crashed task is an object of the task_struct slab cache.
    t.deepEqual([...for_each_runqueue(prog)].map((q) => ({ cpu: q.cpu, curr: hex(q.curr.task) })), w.all_cpus.map((c) => ({ cpu: c.cpu, curr: c.rq_curr })));
    const info = addr_info(prog, BigInt(w.crashed.task));
    t.like(info, { what: 'slab-object', slab: { cacheName: 'task_struct', object: BigInt(w.crashed.task) }, task: { pid: w.crashed.pid, comm: w.crashed.comm } });
    const mi = si_meminfo(prog);
    t.is(mi.total, w.totalram_pages);
    t.is(mi.free, w.nr_free_pages);
  });
}
