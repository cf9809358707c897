#!/usr/bin/env node
// Benchmark: read every present page of a kdump-compressed dump.
//
//   node tools/bench/dump-read.mjs [DUMP ...]     (default: fixtures/real/vmcore.kdump-zlib)
//
// Prints one table per dump, each row against the same pages:
//   vmpipe          @vmpipe/dump reading every present page (open, bitmaps, descriptors, decode, page cache)
//   bare codec      only the decompressor over the same stored page blobs, read into memory beforehand:
//                   the physical limit of this job
//   makedumpfile    `makedumpfile -d <level>` rewriting the dump uncompressed (decode + its own
//                   filtering + writing), when makedumpfile is installed
// and the ratio of each time to vmpipe's. Goal (issue 2): vmpipe within 1.5x of the bare codec,
// peak RSS under 200 MB whatever the dump's size. A larger dump: make one with
// `MEM_MB=2048 tools/recipes/real-dump/make.sh /tmp/vmpipe-big` (see its README), then pass its kdump file here.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from '../../packages/codecs/dist/index.js';
import { KdumpDump, openDump } from '../../packages/dump/dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dumps = process.argv.slice(2);
if (dumps.length === 0) dumps.push(join(root, 'fixtures/real/vmcore.kdump-zlib'));

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function vmpipeRun(path) {
  const best = [];
  for (let i = 0; i < 3; i++) {
    const out = execFileSync(process.execPath, [join(here, 'read-all.mjs'), path], { encoding: 'utf8' });
    best.push(JSON.parse(out));
  }
  best.sort((a, b) => a.seconds - b.seconds);
  return best[0];
}

function bareCodec(path) {
  const dump = openDump(path);
  if (!(dump instanceof KdumpDump)) throw new Error(`${path}: the bare-codec row needs a kdump-compressed dump`);
  const blobs = [];
  const pageSize = dump.pageSize;
  for (const r of dump.memoryRanges()) {
    for (let a = r.start; a < r.end; a += BigInt(pageSize)) {
      const stored = dump.storedPage(Number(a / BigInt(pageSize)));
      if ('data' in stored) blobs.push(stored);
    }
  }
  dump.close();
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    for (const b of blobs) if (b.codec) decompress(b.codec, b.data, pageSize);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { pages: blobs.length, seconds: best };
}

function makedumpfileRun(path, dumpLevel) {
  if (!has('makedumpfile')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-bench-'));
  let best = Infinity;
  let rss = null;
  try {
    for (let i = 0; i < 3; i++) {
      const out = join(dir, `out${i}`);
      const timed = has('/usr/bin/time');
      const t0 = process.hrtime.bigint();
      const r = timed
        ? spawnSync('/usr/bin/time', ['-f', '%M', 'makedumpfile', '-d', String(dumpLevel), path, out], { encoding: 'utf8' })
        : spawnSync('makedumpfile', ['-d', String(dumpLevel), path, out], { encoding: 'utf8' });
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      if (r.status !== 0) return { failed: (r.stderr || '').trim().split('\n').pop() };
      if (timed) rss = Number(r.stderr.trim().split('\n').pop()) / 1024;
      rmSync(out, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { seconds: best, maxRssMB: rss };
}

const fmt = (n, d = 1) => (n === null || n === undefined ? '-' : n.toFixed(d));
for (const path of dumps) {
  if (!existsSync(path)) {
    console.log(`${path}: missing (run tools/recipes/real-dump/make.sh)`);
    continue;
  }
  const probe = openDump(path);
  const level = probe.dumpLevel ?? 31;
  const pageSize = probe.pageSize;
  probe.close();
  const v = vmpipeRun(path);
  const bare = bareCodec(path);
  const mdf = makedumpfileRun(path, level);
  const mb = (v.pages * pageSize) / 1e6;
  const rows = [
    ['vmpipe (@vmpipe/dump)', v.seconds, v.maxRssMB],
    ['bare codec, same blobs', bare.seconds, null],
    mdf && !mdf.failed ? [`makedumpfile -d ${level} (uncompressed out)`, mdf.seconds, mdf.maxRssMB] : null,
  ].filter(Boolean);
  console.log(`\n${path}: ${v.pages} present pages (${fmt(mb)} MB)`);
  console.log('| reader | seconds | pages/s | MB/s | time / vmpipe | peak RSS MB |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, s, rss] of rows) {
    console.log(`| ${name} | ${fmt(s, 3)} | ${fmt(v.pages / s, 0)} | ${fmt(mb / s)} | ${fmt(s / v.seconds, 2)} | ${fmt(rss)} |`);
  }
  console.log(`vmpipe / bare codec: ${fmt(v.seconds / bare.seconds, 2)}x (goal <= 1.5x); vmpipe peak RSS ${fmt(v.maxRssMB)} MB (goal < 200 MB)`);
  if (mdf?.failed) console.log(`makedumpfile: ${mdf.failed}`);
}
