#!/usr/bin/env node
// Benchmark for issue 13: dumps per minute for `triage` over N dump paths (the shipped fixture
// repeated through symlinks: distinct jobs, the same bytes), on one machine with 1 job at a time
// and with every core, and through the BullMQ queue on a local redis-server with 2 workers; the
// queue's overhead per job against the one-machine batch of the same jobs. One run each, printed
// as a table. Goals: near-linear in cores on one machine; queue overhead under 20 ms per job.
//
//   node tools/bench/batch.mjs [N]          (default N=200; build first: npm run build)
//
// The queue rows need redis-server (Debian's package); without it they are left out.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vmpipe = join(root, 'packages/cli/bin/vmpipe.js');
const N = Number(process.argv[2] ?? 200);
const fixture = join(root, 'fixtures/real/vmcore.kdump-zlib');
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-batch-'));
const paths = Array.from({ length: N }, (_, i) => {
  const p = join(tmp, `dump-${i}.kdump`);
  symlinkSync(fixture, p);
  return p;
});
const cores = cpus().length;

function timed(args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [vmpipe, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, ...env } });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr.slice(-500)}`);
  return { s, jobs: r.stdout.split('\n').filter((l) => l.includes('"kind":"job"')).length };
}

const rows = [];
const one = timed(['batch', '--jobs', '1', '--', 'triage', '{}', ':::', ...paths]);
rows.push(['batch --jobs 1', one]);
const all = timed(['batch', '--jobs', String(cores), '--', 'triage', '{}', ':::', ...paths]);
rows.push([`batch --jobs ${cores} (all cores)`, all]);

if (spawnSync('redis-server', ['--version']).status === 0) {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  const env = { VMPIPE_REDIS_URL: `redis://127.0.0.1:${port}`, VMPIPE_REDIS_PASSWORD: '' };
  const t0 = process.hrtime.bigint();
  timed(['queue', 'add', '--', 'triage', '{}', ':::', ...paths], env);
  const workers = [0, 1].map(() => spawn(process.execPath, [vmpipe, 'worker', '--concurrency', String(Math.max(1, cores / 2))], { env: { ...process.env, ...env }, stdio: 'ignore' }));
  const res = timed(['queue', 'results', '--follow'], env);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const w of workers) w.kill('SIGTERM');
  server.kill('SIGTERM');
  rows.push([`queue, 2 workers x ${Math.max(1, cores / 2)}`, { s, jobs: res.jobs }]);
}

const perMin = (r) => (r.jobs / r.s) * 60;
console.log(`triage over ${N} dump paths (the shipped fixture), ${cores} cores`);
console.log('| run | seconds | dumps/min | vs --jobs 1 |');
console.log('|---|---|---|---|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.s.toFixed(1)} | ${perMin(r).toFixed(0)} | ${(perMin(r) / perMin(one)).toFixed(2)}x |`);
const q = rows.find(([n]) => n.startsWith('queue'));
if (q) console.log(`\nqueue overhead per job against the one-machine batch on all cores: ${(((q[1].s - all.s) / N) * 1000).toFixed(1)} ms (goal: under 20 ms)`);
