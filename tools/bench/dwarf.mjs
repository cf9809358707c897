#!/usr/bin/env node
// Benchmark: struct layouts from a distribution vmlinux's DWARF (issue 5).
//
//   node tools/bench/dwarf.mjs [--vmlinux VMLINUX] [--type task_struct] [--runs 5]
//
// Each row is a fresh process, timed from spawn to exit (start-up included),
// the median of --runs runs, with peak RSS from /usr/bin/time when present:
//   node start-up        `node -e 0`, the floor under every vmpipe row
//   vmpipe first run     readDwarfTypes + lookup + layout of TYPE with an empty
//                        index cache (VMPIPE_CACHE = a new temporary directory)
//   vmpipe cached run    the same with the cache the first run left
//   vmpipe full index    an empty cache, then names('struct'): the whole
//                        .debug_info scanned (what a miss or a suggestion costs)
//   pahole -F dwarf -C   pahole 1.x reading DWARF (stops at the first unit with TYPE)
//   pahole -F btf -C     pahole reading the vmlinux's .BTF
//   drgn                 drgn.Program().load_debug_info([VMLINUX]); prog.type("struct TYPE")
// Goals (issue 5): first run faster than drgn, cached run under 200 ms.
// Not a test. Needs `npm run build`. Without the vmlinux it says how to get it and exits 0.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const vmlinux = arg('vmlinux', '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64');
const type = arg('type', 'task_struct');
const runs = Number(arg('runs', '5'));
if (!existsSync(vmlinux)) {
  console.log(`skipped: ${vmlinux} not found. Get it with:
  mkdir -p /tmp/dbg && cd /tmp/dbg && apt-get download linux-image-6.1.0-56-cloud-amd64-dbg && dpkg-deb -x linux-image-6.1.0-56-cloud-amd64-dbg_*.deb x`);
  process.exit(0);
}
const dist = join(root, 'packages/types/dist/dwarf');
if (!existsSync(join(dist, 'index.js'))) {
  console.error('build first: npm run build');
  process.exit(1);
}
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const work = mkdtempSync(join(tmpdir(), 'vmpipe-bench-dwarf-'));
const layoutScript = join(work, 'layout.mjs');
writeFileSync(
  layoutScript,
  `import { readDwarfTypes } from ${JSON.stringify(join(dist, 'index.js'))};
import { layoutOf } from ${JSON.stringify(join(dist, 'pahole-text.js'))};
const t = readDwarfTypes(process.argv[2]);
if (process.argv[4] === 'names') { let n = 0; for (const _ of t.names('struct')) n++; if (!n) process.exit(2); }
const id = t.lookup('struct', process.argv[3]);
if (id === undefined) process.exit(3);
const l = layoutOf(t, id);
if (!l.members.length) process.exit(4);
`,
);
const drgnScript = join(work, 'drgn_type.py');
writeFileSync(drgnScript, `import sys, drgn\nprog = drgn.Program()\nprog.load_debug_info([sys.argv[1]])\nprint(prog.type("struct " + sys.argv[2]).size)\n`);
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function once(cmd, args, env) {
  const full = timeBin ? [timeBin, ['-f', '%M', cmd, ...args]] : [cmd, args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0], full[1], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr || '').split('\n').slice(-3).join(' ')}`);
  const rss = timeBin ? Number((r.stderr.trim().split('\n').pop() || '').trim()) / 1024 : NaN;
  return { s, rss };
}

function row(name, make) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const { cmd, args, env, before } = make();
    before?.();
    results.push(once(cmd, args, env));
  }
  results.sort((a, b) => a.s - b.s);
  const mid = results[Math.floor(results.length / 2)];
  return { name, s: mid.s, rss: Math.max(...results.map((r) => r.rss)) };
}

const rows = [];
rows.push(row('node start-up', () => ({ cmd: process.execPath, args: ['-e', '0'] })));
const first = () => {
  const dir = join(work, `cache-${Math.random().toString(36).slice(2)}`);
  return { cmd: process.execPath, args: [layoutScript, vmlinux, type], env: { VMPIPE_CACHE: dir }, before: () => rmSync(dir, { recursive: true, force: true }) };
};
rows.push(row(`vmpipe first run (${type})`, first));
const warm = join(work, 'cache-warm');
once(process.execPath, [layoutScript, vmlinux, type], { VMPIPE_CACHE: warm });
rows.push(row(`vmpipe cached run (${type})`, () => ({ cmd: process.execPath, args: [layoutScript, vmlinux, type], env: { VMPIPE_CACHE: warm } })));
rows.push(
  row('vmpipe full index (names)', () => {
    const f = first();
    return { ...f, args: [...f.args, 'names'] };
  }),
);
if (has('pahole')) {
  rows.push(row(`pahole -F dwarf -C ${type}`, () => ({ cmd: 'pahole', args: ['-F', 'dwarf', '-C', type, vmlinux] })));
  rows.push(row(`pahole -F btf -C ${type}`, () => ({ cmd: 'pahole', args: ['-F', 'btf', '-C', type, vmlinux] })));
}
const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
if (spawnSync(python, ['-c', 'import drgn']).status === 0) {
  rows.push(row(`drgn prog.type("struct ${type}")`, () => ({ cmd: python, args: [drgnScript, vmlinux, type] })));
}
rmSync(work, { recursive: true, force: true });

const base = rows.find((r) => r.name.startsWith('vmpipe first')).s;
const drgn = rows.find((r) => r.name.startsWith('drgn'));
console.log(`${vmlinux}, median of ${runs} runs, wall time including start-up\n`);
console.log('| run | seconds | time / vmpipe first run | peak RSS MB |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.s.toFixed(3)} | ${(r.s / base).toFixed(2)} | ${Number.isFinite(r.rss) ? r.rss.toFixed(0) : '-'} |`);
const cached = rows.find((r) => r.name.startsWith('vmpipe cached')).s;
console.log(`\ngoals: first run faster than drgn: ${drgn ? (base < drgn.s ? 'yes' : 'no') + ` (${base.toFixed(3)} s vs ${drgn.s.toFixed(3)} s)` : 'drgn not installed'}; cached run under 200 ms: ${cached < 0.2 ? 'yes' : 'no'} (${(cached * 1000).toFixed(0)} ms)`);
