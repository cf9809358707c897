#!/usr/bin/env node
// Issue 17's arm64 rows: opening a real arm64 dump and crash's `sys` block, whole commands,
// against drgn (built from source: crash's x86 build refuses arm64 dumps) on the same dump.
//
//   node tools/bench/arm64.mjs [DUMP [VMLINUX [SYSTEM_MAP]]]
//     default DUMP: /work/refs/arm64/dumps/6.1.0-56-cloud-arm64/pauth/qemu.elf (drgn cannot read QEMU's arm64
//       kdump: "kdump_get_string_attr(KDUMP_ATTR_ARCH_NAME): Key has no value", so the ELF is the common input)
//     default VMLINUX (drgn only) and SYSTEM_MAP: /work/refs/arm64/6.1.0-56-cloud-arm64/{vmlinux,System.map}
//     DRGN: the drgn command (default /work/refs/drgn-src/drgn-run, see /work/refs/README)
//
// Rows (best of RUNS runs; wall and CPU user+sys, since a loaded machine stretches wall time only):
//   open      `vmcore-extract DUMP` (source, vmcoreinfo, cpu and system records: translation set
//             up, kallsyms read) vs drgn's start-up with the vmlinux (`-e pass`)
//   --sys     `vmcore-extract DUMP --sys --system-map MAP` (types from the dump's BTF, found in the
//             image) vs drgn computing the same facts (release, CPUs, uptime, tasks, load average)
// The BTF cache is a fresh directory (VMPIPE_CACHE) so the first --sys run is cold; the best is warm.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'packages', 'cli');
const K = '/work/refs/arm64/6.1.0-56-cloud-arm64';
const dump = process.argv[2] ?? '/work/refs/arm64/dumps/6.1.0-56-cloud-arm64/pauth/qemu.elf';
const vmlinux = process.argv[3] ?? `${K}/vmlinux`;
const systemMap = process.argv[4] ?? `${K}/System.map`;
const drgn = process.env.DRGN ?? '/work/refs/drgn-src/drgn-run';
const RUNS = Number(process.env.RUNS ?? 5);
const cache = mkdtempSync(join(tmpdir(), 'vmpipe-bench-cache-'));
const env = { ...process.env, VMPIPE_CACHE: cache, XDG_CACHE_HOME: cache };
const haveTime = existsSync('/usr/bin/time');
if (!existsSync(dump)) {
  console.error(`arm64.mjs: ${dump} is not here (make it with tools/recipes/arm64/make.sh)`);
  process.exit(1);
}

function once(argv) {
  const cmd = haveTime ? ['/usr/bin/time', '-f', '@@cpu %U %S', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : NaN, out: r.stdout };
}

function best(argv, runs = RUNS) {
  let b = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < runs; i++) {
    const r = once(argv);
    b = { wall: Math.min(b.wall, r.wall), cpu: Math.min(b.cpu, r.cpu) };
  }
  return b;
}

const node = (bin, ...args) => [process.execPath, join(cli, 'bin', `${bin}.js`), ...args];
const fmt = (s) => (Number.isFinite(s) ? `${s.toFixed(3)} s` : '-');
const drgnOk = existsSync(drgn.split(' ')[0]) && existsSync(vmlinux);
const drgnRun = (code) => (drgnOk ? best([drgn, '-q', '-c', dump, '-s', vmlinux, '-e', code], Math.min(RUNS, 3)) : undefined);
const ratio = (t, ref) => (ref ? `${(t.wall / ref.wall).toFixed(3)}x (cpu ${(t.cpu / ref.cpu).toFixed(3)}x)` : 'no drgn');
const rows = [];

{
  const t = best(node('vmcore-extract', dump));
  const ref = drgnRun('pass');
  rows.push(['open (vmcore-extract DUMP)', `${fmt(t.wall)} (cpu ${fmt(t.cpu)})`, ref ? `drgn start-up ${fmt(ref.wall)} (cpu ${fmt(ref.cpu)})` : '-', ratio(t, ref)]);
}
{
  const cold = once(node('vmcore-extract', dump, '--sys', '--system-map', systemMap));
  const t = best(node('vmcore-extract', dump, '--sys', '--system-map', systemMap));
  const sys = [
    'from drgn.helpers.linux.pid import for_each_task',
    'from drgn.helpers.linux.cpumask import for_each_possible_cpu',
    "u = prog['init_uts_ns'].name",
    "print(u.release.string_(), len(list(for_each_possible_cpu(prog))), int(prog['jiffies_64']), len(list(for_each_task(prog))), [int(x) for x in prog['avenrun']])",
  ].join('\n');
  const ref = drgnRun(sys);
  rows.push(['--sys --system-map (warm BTF cache)', `${fmt(t.wall)} (cpu ${fmt(t.cpu)}); cold ${fmt(cold.wall)}`, ref ? `drgn start-up + the same facts ${fmt(ref.wall)} (cpu ${fmt(ref.cpu)})` : '-', ratio(t, ref)]);
}

rmSync(cache, { recursive: true, force: true });
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`# issue 17 arm64, ${dump}, best of ${RUNS} runs; load average ${load}${drgnOk ? '' : '; drgn or vmlinux missing'}\n`);
const head = ['job', 'vmpipe (wall, cpu)', 'drgn', 'ratio'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
