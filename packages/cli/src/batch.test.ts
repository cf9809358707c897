/**
 * Batches for real: `vmpipe batch` on this machine, and the BullMQ queue on a
 * real redis-server (Debian's; .ci/run installs it) started on a free loopback
 * port: 3 workers on 60 jobs, one worker killed with SIGKILL mid-job, the
 * server restarted once (append-only file on): every result arrives exactly
 * once and equals what a one-machine batch of the same jobs gives.
 */
import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { queueStatus } from '@vmpipe/batch';
import { writeDump } from '@vmpipe/mkdump';
import { binPath, type RunOptions, runBinSync } from './run-bin.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-batch-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** `vmpipe ARGS`, killed after 4 minutes (a batch that hangs fails its test, not ava's run). */
const run = (args: string[], opts: RunOptions = {}) => runBinSync('vmpipe', args, { timeout: 240_000, ...opts });

/** A small dump of the project's writer, and `n` distinct paths to it (symlinks: distinct jobs, same bytes). */
async function dumps(n: number, tag: string): Promise<string[]> {
  const file = join(tmp, `${tag}.kdump`);
  writeFileSync(file, (await writeDump({ format: 'kdump', vmcoreinfo: 'OSRELEASE=6.1.0-batch\nPAGESIZE=4096\n', utsname: { sysname: 'Linux', release: '6.1.0-batch', machine: 'x86_64' }, cpus: [{ prstatusPid: 7, regs: { rip: 0xffffffff81000000n } }], ranges: [{ paddr: 0n, pages: 4 }] })).bytes);
  return Array.from({ length: n }, (_, i) => {
    const p = join(tmp, `${tag}-${String(i).padStart(3, '0')}.kdump`);
    symlinkSync(file, p);
    return p;
  });
}

/** The records of a stream without the per-run facts of job records (who ran it, how long). */
function stable(records: Record<string, unknown>[]): string[] {
  return records.map((r) => {
    if (r['kind'] !== 'job') return JSON.stringify(r);
    const { worker: _w, durationMs: _d, ...rest } = r;
    return JSON.stringify(rest);
  }).sort();
}

test('batch: one job per dump, a broken dump and a hung job become error records, --resume skips what is done', async (t) => {
  const [a, b] = await dumps(2, 'local');
  const broken = join(tmp, 'not-a-dump');
  writeFileSync(broken, 'hello, not a dump\n');
  const r = run(['batch', '--jobs', '2', '--', 'vmcore-extract', '{}', ':::', a!, broken, b!]);
  t.is(r.code, 0, r.err);
  const recs = r.records();
  const jobs = recs.filter((x) => x.kind === 'job');
  t.is(jobs.length, 3);
  t.deepEqual(jobs.map((j) => [j.dump, j.status]).sort(), [[a, 'done'], [b, 'done'], [broken, 'failed']].sort());
  t.like(recs.find((x) => x.kind === 'error' && x.dump === broken), { code: 'job-failed', exitCode: 4 });
  // Each job's records stay together and end with its job record.
  for (const d of [a, b]) {
    const mine = recs.map((x, i) => [x, i] as const).filter(([x]) => x.dump === d);
    t.is(mine[0]![0].kind, 'source');
    t.is(mine.at(-1)![0].kind, 'job');
    t.is(mine.at(-1)![1] - mine[0]![1], mine.length - 1, 'contiguous');
  }
  const hung = run(['batch', '--timeout', '1', '--', 'sleep', '{}', ':::', '30']);
  t.like(hung.records().find((x) => x.kind === 'error'), { code: 'job-timeout', dump: '30' });
  const out = join(tmp, 'first.ndjson');
  writeFileSync(out, r.out);
  const again = run(['batch', '--resume', out, '--', 'vmcore-extract', '{}', ':::', a!, broken, b!]);
  t.regex(again.err, /2 of 3 jobs already done/);
  t.deepEqual(again.records().filter((x) => x.kind === 'job').map((j) => j.dump), [broken]);
  // Inputs one per line on stdin.
  const piped = run(['batch', '--', 'vmcore-extract', '{}'], { input: `${a}\n${b}\n` });
  t.is(piped.records().filter((x) => x.kind === 'job' && x.status === 'done').length, 2);
});

const haveRedis = spawnSync('redis-server', ['--version']).status === 0;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    p.stdout!.on('data', (c: Buffer) => {
      seen += c.toString();
      if (/Ready to accept connections/.test(seen)) resolve(p);
    });
    p.on('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${seen.slice(-500)}`)));
  });
}

const stopped = (p: ChildProcess) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));

(haveRedis ? test : test.skip)('queue: 3 workers, 60 jobs, a worker killed mid-job and Redis restarted: every result once, equal to a one-machine batch', async (t) => {
  t.timeout(600_000); // generous for a loaded machine; about 30 s on an idle 2-core one
  const port = await freePort();
  const dir = mkdtempSync(join(tmp, 'redis-'));
  let server = await startRedis(port, dir);
  const url = `redis://127.0.0.1:${port}`;
  const env = { VMPIPE_REDIS_URL: url };
  const paths = await dumps(60, 'queued');
  const workers: ChildProcess[] = [];
  try {
    // The jobs are triage's, the first batch job users run (any vmpipe command line would do).
    const add = run(['queue', 'add', '--', 'triage', '{}', ':::', ...paths], { env });
    t.is(add.code, 0, add.err);
    t.regex(add.err, /60 job\(s\)/);
    // Adding the same jobs again adds nothing.
    run(['queue', 'add', '--', 'triage', '{}', ':::', ...paths.slice(0, 5)], { env });
    const worker = () => spawn(process.execPath, [binPath('vmpipe'), 'worker', '--concurrency', '2', '--lock', '2'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    workers.push(worker(), worker(), worker());
    // In process: a node start every poll would cost more than the jobs.
    const status = async () => (await queueStatus({ url, name: 'vmpipe' }).catch(() => ({}))) as Record<string, number>;
    const until = async (cond: (s: Record<string, number>) => boolean) => {
      for (let i = 0; i < 1200; i++) {
        const s = await status();
        if (cond(s)) return s;
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error(`timed out waiting; last status ${JSON.stringify(await status())}`);
    };
    // Kill one worker while it holds jobs.
    await until((s) => s.active > 0 && s.results >= 5);
    workers[0]!.kill('SIGKILL');
    await until((s) => s.results >= 25);
    // Restart Redis: the append-only file keeps the queue; workers reconnect.
    spawnSync('redis-cli', ['-p', String(port), 'shutdown']);
    await stopped(server);
    server = await startRedis(port, dir);
    const end = await until((s) => s.results >= 60 && s.waiting + s.active + s.delayed === 0);
    t.is(end.results, 60);
    const results = run(['queue', 'results', '--follow'], { env });
    t.is(results.code, 0, results.err);
    const recs = results.records();
    const jobs = recs.filter((x) => x.kind === 'job');
    t.is(jobs.length, 60, 'one result per job');
    t.is(new Set(jobs.map((j) => j.job)).size, 60);
    t.true(jobs.every((j) => j.status === 'done'));
    // The 60 paths are one dump's bytes: each job's records are the one-machine batch's for one path, renamed.
    const one = run(['batch', '--', 'triage', '{}', ':::', paths[0]!]).records();
    const rename = (v: unknown, from: string, to: string): unknown => (typeof v === 'string' ? v.replaceAll(from, to) : Array.isArray(v) ? v.map((x) => rename(x, from, to)) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rename(x, from, to)])) : v);
    const want = paths.flatMap((p) => one.map((r) => (r.kind === 'job' ? { ...r, dump: p, job: jobs.find((j) => j.dump === p)!.job, command: ['triage', p] } : rename(r, paths[0]!, p) as Record<string, unknown>)));
    t.deepEqual(stable(recs), stable(want), 'the same records as a one-machine batch');
    // triage --group turns both streams into the same buckets.
    const buckets = (ndjson: string) => run(['triage', '--group'], { input: ndjson }).records().filter((r) => r.kind === 'bucket').map((b) => ({ title: b.title, hash: b.hash, count: b.count, releases: b.releases }));
    const fromQueue = buckets(results.out);
    t.is(fromQueue[0]?.count, 60);
    t.deepEqual(fromQueue, buckets(want.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  } finally {
    // Workers end with the test, passed or not (SIGTERM lets them close their connections).
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map(stopped));
    server.kill('SIGKILL');
    await stopped(server);
  }
});

(haveRedis ? test : test.skip)('queue: an unreachable Redis is one line and exit 5, not a hang', (t) => {
  const r = run(['queue', 'status', '--redis', 'redis://127.0.0.1:1']);
  t.is(r.code, 5);
  t.regex(r.err, /^queue status: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
});

test('queue: no Redis URL is a usage error', (t) => {
  const r = run(['queue', 'status'], { env: { VMPIPE_REDIS_URL: '' } });
  t.is(r.code, 2);
  t.regex(r.err, /give --redis URL/);
});
