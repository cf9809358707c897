#!/usr/bin/env node
// Benchmark for issue 8's speed goals: start-up, `sys`, and a type layout, whole commands on one
// dump against crash on the same dump, printed as a table of times and ratios.
//
//   node tools/bench/startup.mjs [DUMP [VMLINUX]]
//     default DUMP: fixtures/real/vmcore.kdump-zlib
//     default VMLINUX (for crash only): /work/refs/6.1.0-56-cloud-amd64/vmlinux (see /work/refs/README)
//
// Rows (each the best of RUNS runs, wall clock; CPU user+sys beside it, since a loaded machine
// stretches wall time but not CPU time):
//   <cmd> --help             every installed bin, and `vmpipe help`        goal: each at most 0.25 s
//   vmcore-extract --sys     vs crash's start-up plus `sys` (echo sys | crash -s VMLINUX DUMP)  goal: at most 0.05x crash
//   struct-decode --layout task_struct, warm (the dump's BTF cache filled by a first run; its
//                            time is shown as "cold") vs crash `struct task_struct -o`  goal: at most 0.3 s warm
//   dump BTF, library        readDumpBtfCached warm vs cold (kallsyms + dump pages), in fresh processes
// The BTF cache is a fresh directory (VMPIPE_CACHE), so "cold" is really cold and the user's
// cache is untouched. Build first (`npm run build`). Without crash or the vmlinux, the crash
// rows are left out and the ratios say so.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = join(root, 'packages', 'cli');
const dump = process.argv[2] ?? join(root, 'fixtures/real/vmcore.kdump-zlib');
const vmlinux = process.argv[3] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const RUNS = Number(process.env.RUNS ?? 5);
const cache = mkdtempSync(join(tmpdir(), 'vmpipe-bench-cache-'));
const env = { ...process.env, VMPIPE_CACHE: cache, XDG_CACHE_HOME: cache };
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const haveTime = existsSync('/usr/bin/time');

/** One run: wall seconds and CPU seconds (user+sys of the child, from /usr/bin/time). */
function once(argv, input) {
  const cmd = haveTime ? ['/usr/bin/time', '-f', '@@cpu %U %S', ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { env, input, encoding: 'utf8', maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr);
  return { wall, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

function best(argv, { runs = RUNS, input } = {}) {
  let b = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < runs; i++) {
    const r = once(argv, input);
    b = { wall: Math.min(b.wall, r.wall), cpu: Math.min(b.cpu, r.cpu) };
  }
  return b;
}

const node = (bin, ...args) => [process.execPath, join(cli, 'bin', `${bin}.js`), ...args];
const fmt = (s) => (Number.isFinite(s) ? `${s.toFixed(3)} s` : '-');
const rows = [];
const row = (job, t, ref, goal, verdict) => rows.push([job, `${fmt(t.wall)} (cpu ${fmt(t.cpu)})`, ref, goal, verdict]);

// 1. Start-up: --help of every installed bin (package.json "bin"), and `vmpipe help`.
const bins = Object.keys(JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8')).bin);
once(node('vmpipe', '--help')); // the first run after a build pays the disk
const node0 = best([process.execPath, '-e', '0']);
for (const bin of bins) {
  const t = best(node(bin, '--help'));
  row(`${bin} --help`, t, `node -e 0: ${fmt(node0.wall)}`, '<= 0.25 s', t.wall <= 0.25 ? 'met' : t.cpu <= 0.25 ? 'met in CPU, not wall (load?)' : 'not met');
}
{
  const t = best(node('vmpipe', 'help'));
  row('vmpipe help', t, '', '<= 0.25 s', t.wall <= 0.25 ? 'met' : t.cpu <= 0.25 ? 'met in CPU, not wall (load?)' : 'not met');
}

// crash: start-up plus one command, as a user runs it.
const crashOk = has('crash') && existsSync(vmlinux);
const crash = (command) => (crashOk ? best(['crash', '-s', vmlinux, dump], { runs: Math.min(RUNS, 3), input: `${command}\nquit\n` }) : undefined);
const ratio = (t, ref) => (ref ? `${(t.wall / ref.wall).toFixed(3)}x (cpu ${(t.cpu / ref.cpu).toFixed(3)}x)` : 'no crash');

// 2. sys.
{
  const cold = once(node('vmcore-extract', dump, '--sys'));
  const t = best(node('vmcore-extract', dump, '--sys'));
  const ref = crash('sys');
  const r = ref ? t.wall / ref.wall : NaN;
  const rc = ref ? t.cpu / ref.cpu : NaN;
  row('vmcore-extract --sys', t, ref ? `crash sys ${fmt(ref.wall)} (cpu ${fmt(ref.cpu)}): ${ratio(t, ref)}; first run ${fmt(cold.wall)}` : `first run ${fmt(cold.wall)}`, '<= 0.05x crash',
    Number.isFinite(r) ? (r <= 0.05 ? 'met' : rc <= 0.05 ? 'met in CPU, not wall (load?)' : 'not met') : '-');
}

// 3. The type layout, warm.
{
  rmSync(cache, { recursive: true, force: true });
  const cold = once(node('struct-decode', dump, '--layout', 'task_struct'));
  const t = best(node('struct-decode', dump, '--layout', 'task_struct'));
  const ref = crash('struct task_struct -o');
  row('struct-decode --layout task_struct (warm)', t, `cold ${fmt(cold.wall)}${ref ? `; crash start-up + struct -o ${fmt(ref.wall)} (cpu ${fmt(ref.cpu)}): ${ratio(t, ref)}` : ''}`, '<= 0.3 s warm', t.wall <= 0.3 ? 'met' : t.cpu <= 0.3 ? 'met in CPU, not wall (load?)' : 'not met');
}

// 4. The library alone: the dump's BTF from the dump (kallsyms for __start_BTF, then ~1,300
// zlib pages) vs readDumpBtfCached on a warm cache (no kallsyms), each in a fresh process.
{
  rmSync(cache, { recursive: true, force: true });
  const pkg = (name) => JSON.stringify(join(root, 'packages', name, 'dist', 'index.js'));
  const script = (warmOnly) => `
    import { openDump } from ${pkg('dump')}; import { kernelMemory } from ${pkg('addrxlat')};
    import { symbolsFor } from ${pkg('symbols')}; import { readDumpBtfCached, findType, layoutOf } from ${pkg('types')};
    const dump = openDump(${JSON.stringify(dump)}); const mem = kernelMemory(dump);
    const locate = () => { if (${warmOnly}) throw new Error('cache miss'); const t = symbolsFor(dump, { memory: mem }).table;
      return { start: t.lookup('__start_BTF')[0].addr, stop: t.lookup('__stop_BTF')[0].addr }; };
    const tb = readDumpBtfCached(mem, { buildId: dump.vmcoreinfo?.get('BUILD-ID'), kernelOffset: dump.vmcoreinfo?.kernelOffset ?? 0n, locate });
    layoutOf(tb, findType(tb, 'task_struct'));`;
  const run = (warmOnly) => [process.execPath, '--input-type=module', '-e', script(warmOnly)];
  const cold = once(run(false));
  const warm = best(run(true));
  row('dump BTF + task_struct layout, library (warm cache)', warm, `cold (kallsyms + dump pages) ${fmt(cold.wall)} (cpu ${fmt(cold.cpu)})`, '', `${(cold.cpu / warm.cpu).toFixed(1)}x less CPU`);
}

rmSync(cache, { recursive: true, force: true });
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`# issue 8 speed, ${dump}, best of ${RUNS} runs; load average ${load}${crashOk ? '' : '; crash or vmlinux missing'}\n`);
const head = ['job', 'vmpipe (wall, cpu)', 'reference', 'goal', 'verdict'];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
