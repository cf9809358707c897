#!/usr/bin/env node
// Benchmark: the kernel's objects, vmpipe against crash 8.0.2 and drgn (a build from source when
// /work/refs/drgn-src has one, else Debian's 0.0.22; VMPIPE_BENCH_DRGN=CMD picks), start-up included.
//
//   node tools/bench/objects.mjs [DUMP [VMLINUX [MANYTASKS_DUMP]]]
//     default DUMP: fixtures/real/vmcore.kdump-zlib
//     default VMLINUX (crash and drgn only): /work/refs/6.1.0-56-cloud-amd64/vmlinux
//     default MANYTASKS_DUMP: /work/refs/scenarios/6.1.0-56-cloud-amd64/manytasks/vmcore.kdump (~2,000 tasks)
//
// Rows (each the whole run of one command, as a user types it; best of 2 for vmpipe, 1 for crash):
//   module-list        vs crash `mod`
//   task-list          vs crash `ps` (crash lists 3 tasks here, vmpipe 55) and drgn for_each_task
//   task-list (2,000)  on the manytasks scenario: tasks per second, vs drgn for_each_task
//   mem-info           vs crash `kmem -i`
//   mem-info --slabs   vs crash `kmem -s` and drgn's for_each_slab_cache
//   addr-info          vs crash `kmem ADDR` (a slab object)
//   mem-search         every present page, vs crash `search -p` (pages/s)
//   run-queue, file-list vs crash `runq`, `files 1`
// crash and drgn each pay their start-up (crash ~6 s loading the DWARF vmlinux); so does vmpipe
// (node, the dump's BTF and kallsyms). Ratios are reference time / vmpipe time: above 1, vmpipe is faster.
// Goal (issue 12): faster than crash (start-up included) and than drgn's helpers.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = (name) => join(root, 'packages', 'cli', 'bin', `${name}.js`);
const dump = process.argv[2] ?? join(root, 'fixtures/real/vmcore.kdump-zlib');
const vmlinux = process.argv[3] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const many = process.argv[4] ?? '/work/refs/scenarios/6.1.0-56-cloud-amd64/manytasks/vmcore.kdump';
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-objects-'));
const haveCrash = has('crash') && existsSync(vmlinux);
// drgn: a current build from source when /work/refs has one (its C core is far faster than Debian's 0.0.22), else `drgn`.
const DRGN = process.env.VMPIPE_BENCH_DRGN ?? (existsSync('/work/refs/drgn-src/drgn-run') ? '/work/refs/drgn-src/drgn-run' : 'drgn');
const haveDrgn = (DRGN.includes('/') ? existsSync(DRGN) : has(DRGN)) && existsSync(vmlinux);

function time(cmd, args, input) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  // crash ends with status 1 when its commands come from a pipe: its output says whether it worked.
  if (r.status !== 0 && !(cmd === 'crash' && r.stdout)) process.stderr.write(`bench: ${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr ?? '').slice(0, 200)}\n`);
  return { s, out: r.stdout ?? '' };
}
const best = (n, f) => Math.min(...Array.from({ length: n }, () => f().s));
const vmpipe = (name, args) => best(2, () => time(process.execPath, [bin(name), ...args]));
const crash = (command, on = dump) => (haveCrash ? time('crash', ['-s', vmlinux, on], `${command}\n`).s : null);
function drgn(script, on = dump) {
  if (!haveDrgn) return null;
  const f = join(tmp, `s${Math.random().toString(36).slice(2)}.py`);
  writeFileSync(f, script);
  return time(DRGN, ['-q', '-c', on, '-s', vmlinux, f]).s;
}
const ratio = (ref, ours) => (ref === null ? '-' : (ref / ours).toFixed(1) + 'x');
const secs = (v) => (v === null ? '-' : v.toFixed(2));

const rows = [];
function row(what, ours, crashS, drgnS, extra = {}) {
  rows.push({ command: what, 'vmpipe s': secs(ours), 'crash s': secs(crashS), 'vs crash': ratio(crashS, ours), 'drgn s': secs(drgnS), 'vs drgn': ratio(drgnS, ours), ...extra });
  process.stderr.write(`bench: ${what} done\n`);
}

const TASKS_PY = 'from drgn.helpers.linux.pid import for_each_task\nn = 0\nfor t in for_each_task(prog):\n    n += 1; t.comm.string_(); t.pid.value_()\nprint(n)\n';
const SLAB_PY = 'from drgn.helpers.linux.slab import for_each_slab_cache\nfor c in for_each_slab_cache(prog):\n    c.name.string_(); c.object_size.value_()\n';
const MODS_PY = 'from drgn.helpers.linux.list import list_for_each_entry\nfor m in list_for_each_entry("struct module", prog["modules"].address_of_(), "list"):\n    m.name.string_()\n';

row('module-list (mod)', vmpipe('module-list', [dump]), crash('mod'), drgn(MODS_PY));
row('task-list (ps)', vmpipe('task-list', [dump]), crash('ps'), drgn(TASKS_PY));
if (existsSync(many)) {
  const n = time(process.execPath, [bin('task-list'), many]).out.split('\n').filter((l) => l.includes('"kind":"task"')).length;
  const ours = vmpipe('task-list', [many]);
  row(`task-list (${n} tasks)`, ours, crash('ps', many), drgn(TASKS_PY, many), { 'tasks/s': Math.round(n / ours) });
}
row('mem-info (kmem -i)', vmpipe('mem-info', [dump]), crash('kmem -i'), null);
row('mem-info --slabs (kmem -s)', vmpipe('mem-info', [dump, '--slabs']), crash('kmem -s'), drgn(SLAB_PY));
row('addr-info (kmem ADDR)', vmpipe('addr-info', [dump, 'ffff8dce811f9900']), crash('kmem ffff8dce811f9900'), null);
{
  // every present page of the dump, physical addresses: crash search -p
  const pages = Number(JSON.parse(time(process.execPath, [bin('mem-search'), dump, 'init_task', '--physical', '--max', '1']).out.split('\n')[0]).pagesPresent);
  const ours = vmpipe('mem-search', [dump, 'init_task', '--physical']);
  row('mem-search --physical (search -p)', ours, crash('search -p ffffffff8ae1aa40'), null, { 'pages/s': Math.round(pages / ours) });
}
row('run-queue (runq)', vmpipe('run-queue', [dump]), crash('runq'), null);
row('file-list 1 (files 1)', vmpipe('file-list', [dump, '1']), crash('files 1'), null);
console.table(rows);
