#!/usr/bin/env node
// Benchmark: kernel virtual address translation on the real dump.
//
//   node tools/bench/translate.mjs [--dump DUMP] [--vmlinux VMLINUX] [--n N]
//
// Picks N random mapped kernel addresses, half in the direct map and half in
// vmalloc (found by walking the dump's own page tables: the direct map is the
// lowest kernel-half mapping plus the machine's memory size, vmalloc the 4K
// mappings between it and vmemmap's large pages), then times the
// same addresses through:
//   vmpipe translate   X86_64Memory.translate(addr) (page-table walk + its cache)
//   vmpipe readU64     X86_64Memory.readU64(addr)   (translation + the dump's page read)
//   crash vtop         crash -s VMLINUX DUMP with an input file of N `vtop` commands,
//                      minus crash's start-up (the same session with no commands)
//   drgn prog.read     a loop of prog.read(addr, 8) inside drgn (timed in the script)
// and prints addresses/s and each tool's time relative to vmpipe's. Not a test.
// Needs `npm run build`; crash and drgn rows need the vmlinux with DWARF
// (default: the -dbg package's, see tools/recipes/real-dump/README.md).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDump } from '../../packages/dump/dist/index.js';
import { X86_64Memory, isTranslation } from '../../packages/addrxlat/dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const dumpPath = resolve(arg('dump', join(root, 'fixtures/real/vmcore.kdump-zlib')));
const vmlinux = arg('vmlinux', '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64');
const N = Number(arg('n', '20000'));
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const fmt = (v, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '-');
const hex = (v) => v.toString(16);

const dump = openDump(dumpPath);
const mem = new X86_64Memory(dump);

// Every leaf mapping of the kernel half, by walking the tables (4-level layout).
function leaves() {
  const out = [];
  const entry = (paddr) => {
    const c = dump.readPhysical(paddr, 8)[0];
    return 'bytes' in c ? Buffer.from(c.bytes).readBigUInt64LE(0) : 0n;
  };
  const frame = (e) => e & 0x000ffffffffff000n;
  const walk = (table, depth, base) => {
    const shift = [39n, 30n, 21n, 12n][depth];
    for (let i = depth === 0 ? 256 : 0; i < 512; i++) {
      const e = entry(table + BigInt(i) * 8n);
      if ((e & 1n) === 0n) continue;
      let va = base | (BigInt(i) << shift);
      if (depth === 0) va |= 0xffff000000000000n;
      if (depth === 3 || ((depth === 1 || depth === 2) && (e & 0x80n))) out.push({ va, size: 1n << shift });
      else walk(frame(e), depth + 1, va);
    }
  };
  walk(mem.setup.rootPaddr, 0, 0n);
  return out;
}

function pickAddresses() {
  // The direct map starts at the lowest kernel-half mapping (page_offset_base) and spans the
  // machine's memory; vmalloc is the run of 4K mappings after it, up to vmemmap's large pages.
  const all = leaves().filter((l) => l.va < 0xfffffe0000000000n);
  const ramEnd = dump.memoryRanges().reduce((m, r) => (r.end > m ? r.end : m), 0n);
  const directEnd = all[0].va + ramEnd;
  const direct = all.filter((l) => l.va < directEnd);
  const rest = all.filter((l) => l.va >= directEnd);
  const vmemmapStart = rest.find((l) => l.size > 4096n)?.va ?? 0xfffffe0000000000n;
  const vmalloc = rest.filter((l) => l.size === 4096n && l.va < vmemmapStart);
  let seed = 12345;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
  const addrs = [];
  for (let i = 0; i < N; i++) {
    const pool = i % 2 ? vmalloc : direct;
    const l = pool[rnd(pool.length)];
    addrs.push(l.va + (BigInt(rnd(Number(l.size / 8n))) * 8n));
  }
  return { addrs, direct: direct.length, vmalloc: vmalloc.length };
}

const { addrs, direct, vmalloc } = pickAddresses();

function vmpipe(fn) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const m = new X86_64Memory(dump); // cold caches each round
    const t0 = process.hrtime.bigint();
    for (const a of addrs) fn(m, a);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

let bad = 0;
const tTranslate = vmpipe((m, a) => {
  if (!isTranslation(m.translate(a))) bad++;
});
const tRead = vmpipe((m, a) => {
  try {
    m.readU64(a);
  } catch {
    // excluded pages count as done: drgn and crash fail on them too
  }
});

const work = mkdtempSync(join(tmpdir(), 'vmpipe-bench-translate-'));
function crashRun(commands) {
  const input = join(work, `crash-${commands.length}.in`);
  writeFileSync(input, [...commands, 'quit', ''].join('\n'));
  const t0 = process.hrtime.bigint();
  const r = spawnSync('crash', ['-s', vmlinux, dumpPath, '-i', input], { encoding: 'utf8', input: '', maxBuffer: 1 << 30 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { s, ok: r.status === 0 || r.stdout.length > 0 };
}
let tCrash;
if (has('crash') && existsSync(vmlinux)) {
  const empty = Math.min(crashRun([]).s, crashRun([]).s);
  const full = crashRun(addrs.map((a) => `vtop ${hex(a)}`)).s;
  tCrash = full - empty;
}

let tDrgn;
if (has('drgn') && existsSync(vmlinux)) {
  const list = join(work, 'addrs.txt');
  writeFileSync(list, addrs.map(hex).join('\n') + '\n');
  const script = join(work, 'bench.py');
  writeFileSync(
    script,
    [
      'import time',
      `addrs = [int(l, 16) for l in open(${JSON.stringify(list)})]`,
      'best = None',
      'for _ in range(3):',
      '    t0 = time.perf_counter()',
      '    for a in addrs:',
      '        try:',
      '            prog.read(a, 8)',
      '        except Exception:',
      '            pass',
      '    t = time.perf_counter() - t0',
      '    best = t if best is None else min(best, t)',
      'print(best)',
      '',
    ].join('\n'),
  );
  const r = spawnSync('drgn', ['-q', '-c', dumpPath, '-s', vmlinux, script], { encoding: 'utf8' });
  const v = Number.parseFloat(r.stdout.trim().split('\n').pop());
  if (Number.isFinite(v)) tDrgn = v;
  else console.error(`drgn: ${r.stderr.trim().split('\n').pop()}`);
}

console.log(`\n${dumpPath}: ${N} random mapped kernel addresses (${N / 2} direct map from ${direct} mappings, ${N / 2} vmalloc from ${vmalloc} 4K pages); ${bad} did not translate`);
console.log('| tool | work | seconds | addresses/s | time / vmpipe translate |');
console.log('|---|---|---|---|---|');
const row = (name, work, s) => console.log(`| ${name} | ${work} | ${s === undefined ? '-' : fmt(s, 4)} | ${s === undefined ? '-' : fmt(N / s)} | ${s === undefined ? 'not run' : fmt(s / tTranslate, 1) + 'x'} |`);
row('vmpipe', 'translate()', tTranslate);
row('vmpipe', 'readU64()', tRead);
row('crash 8.0.2', 'vtop (minus start-up)', tCrash);
row('drgn', 'prog.read(addr, 8)', tDrgn);
dump.close();
