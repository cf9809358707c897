#!/usr/bin/env node
// Benchmark: symbolize 1,000,000 memory words, like crash's `rd -s`.
//
//   node tools/bench/sym-resolve.mjs [DUMP [VMLINUX]]
//     default DUMP: fixtures/real/vmcore.kdump-zlib
//     default VMLINUX (for crash and drgn only): /tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64
//
// Two workloads of 1,000,000 words each:
// 1. memory: the kernel text's first 8 MiB from _stext (present in every dump level; most words
//    are code bytes, so this mostly measures how fast non-addresses are turned away), generated once as a stream with `vmcore-extract --read` (mem records of
// two words each, 500,000 records). Rows, each doing the same work over the same words:
//   sym-resolve   `sym-resolve < stream > /dev/null`: parse, resolve every word, write
//   crash         `rd -s <_stext> 1048576` in one crash session, output to /dev/null
//   drgn          a Python loop of prog.read_word() + prog.symbol() over the same words
// Each is timed twice: the whole run, and minus its own start-up (the same run over one word),
// so the ratios compare the work and not the start-up (crash: ~6 s to load the vmlinux).
// Goal (issue 3): at least 10x crash and faster than drgn.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = (name) => join(root, 'packages', 'cli', 'bin', `${name}.js`);
const dump = process.argv[2] ?? join(root, 'fixtures/real/vmcore.kdump-zlib');
const vmlinux = process.argv[3] ?? '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64';
const WORDS = 1_000_000;
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-sym-'));

function seconds(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function best(n, fn) {
  let b = Infinity;
  for (let i = 0; i < n; i++) b = Math.min(b, seconds(fn));
  return b;
}

// _stext and _etext, from the dump's own kallsyms.
const [stext, etext] = execFileSync(process.execPath, [bin('sym-resolve'), dump, '_stext', '_etext'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)
  .map((l) => BigInt(JSON.parse(l).addr));
const start = stext;
const startHex = '0x' + start.toString(16);

const stream = join(tmp, 'words.ndjson');
const one = join(tmp, 'one.ndjson');
{
  const fd = openSync(stream, 'w');
  execFileSync(process.execPath, [bin('vmcore-extract'), dump, '--read', startHex, '--length', String(WORDS * 8)], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const fd1 = openSync(one, 'w');
  execFileSync(process.execPath, [bin('vmcore-extract'), dump, '--read', startHex, '--length', '8'], { stdio: ['ignore', fd1, 'inherit'] });
  closeSync(fd1);
}
const records = Number(execFileSync('sh', ['-c', `grep -c '"kind":"mem"' ${stream}`], { encoding: 'utf8' }).trim());
const resolved = Number(execFileSync('sh', ['-c', `${process.execPath} ${bin('sym-resolve')} < ${stream} | grep -o '"wordsSym":\\[[^]]*' | grep -o '"[^",]*"' | grep -vc '^"wordsSym"$' || true`], { encoding: 'utf8' }).trim());

const symResolve = (file) => () => execFileSync('sh', ['-c', `${process.execPath} ${bin('sym-resolve')} < ${file} > /dev/null`]);
const rows = [];
const vm = { name: 'sym-resolve', total: best(3, symResolve(stream)), startup: best(3, symResolve(one)) };
rows.push(vm);

if (has('crash') && existsSync(vmlinux)) {
  // crash's start-up (~6-10 s, loading the vmlinux) varies by more than its rd -s takes: one
  // session runs the rd -s REPS times, another none, and the work is the difference / REPS.
  const REPS = 5;
  const crashRun = (reps) => {
    const cmds = join(tmp, `crash-${reps}.in`);
    writeFileSync(cmds, `${`rd -s ${start.toString(16)} ${WORDS} > /dev/null\n`.repeat(reps)}quit\n`);
    return seconds(() => execFileSync('sh', ['-c', `crash -s ${vmlinux} ${dump} < ${cmds} > /dev/null 2>&1`]));
  };
  const none = Math.min(crashRun(0), crashRun(0));
  const five = crashRun(REPS);
  rows.push({ name: 'crash rd -s', total: none + (five - none) / REPS, startup: none });
} else rows.push({ name: 'crash rd -s', skipped: 'crash or the vmlinux is missing' });

if (has('drgn') && existsSync(vmlinux)) {
  const script = join(tmp, 'drgn-words.py');
  writeFileSync(
    script,
    [
      'import sys',
      'start, count = int(sys.argv[1], 16), int(sys.argv[2])',
      'n = 0',
      'for i in range(count):',
      '    w = prog.read_word(start + 8 * i)',
      '    try:',
      '        prog.symbol(w)',
      '        n += 1',
      '    except LookupError:',
      '        pass',
      '',
    ].join('\n'),
  );
  const drgnRun = (count) => () => execFileSync('sh', ['-c', `drgn -q -c ${dump} -s ${vmlinux} ${script} ${startHex} ${count} > /dev/null 2>&1`]);
  rows.push({ name: 'drgn read_word+symbol', total: best(1, drgnRun(WORDS)), startup: best(1, drgnRun(1)) });
} else rows.push({ name: 'drgn read_word+symbol', skipped: 'drgn or the vmlinux is missing' });

console.log(`sym-resolve benchmark: ${WORDS} words (${records} mem records, ${resolved} words name a symbol) from ${startHex} (_stext), ${dump}\n`);
console.log('| tool | total s | start-up s | work s | words/s (work) | records/s (work) | work time / sym-resolve |');
console.log('|---|---|---|---|---|---|---|');
const vmWork = Math.max(vm.total - vm.startup, 1e-9);
for (const r of rows) {
  if (r.skipped) {
    console.log(`| ${r.name} | - | - | - | - | - | skipped: ${r.skipped} |`);
    continue;
  }
  const work = Math.max(r.total - r.startup, 1e-9);
  console.log(`| ${r.name} | ${r.total.toFixed(2)} | ${r.startup.toFixed(2)} | ${work.toFixed(2)} | ${Math.round(WORDS / work)} | ${Math.round(records / work)} | ${(work / vmWork).toFixed(2)} |`);
}

// 2. lookups: 1,000,000 pseudo-random addresses inside the kernel text (every one resolves),
//    as mem records of two words; crash has no batch form of `sym`, so sym-resolve vs drgn only.
{
  const addrsFile = join(tmp, 'addrs.txt');
  const lookups = join(tmp, 'lookups.ndjson');
  let x = 0x2545f491n;
  const span = etext - stext;
  const addrs = [];
  for (let i = 0; i < WORDS; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    addrs.push('0x' + (stext + ((x >> 11n) % span)).toString(16));
  }
  writeFileSync(addrsFile, addrs.join('\n') + '\n');
  const lines = [];
  for (let i = 0; i < WORDS; i += 2) lines.push(JSON.stringify({ kind: 'mem', dump, space: 'virtual', addr: '0x' + (0xffffcf8400000000n + BigInt(i * 8)).toString(16), width: 8, words: addrs.slice(i, i + 2) }));
  writeFileSync(lookups, lines.join('\n') + '\n');
  const rows2 = [{ name: 'sym-resolve', n: WORDS, total: best(3, symResolve(lookups)), startup: vm.startup }];
  if (has('drgn') && existsSync(vmlinux)) {
    // drgn takes ~3 ms per text lookup here (0.0.22): a million would take most of an hour, so it
    // looks up the first DRGN_LOOKUPS of the same addresses and the rate is compared.
    const DRGN_LOOKUPS = 20_000;
    const some = join(tmp, 'addrs-some.txt');
    writeFileSync(some, addrs.slice(0, DRGN_LOOKUPS).join('\n') + '\n');
    const script = join(tmp, 'drgn-lookups.py');
    writeFileSync(script, ['import sys', 'n = 0', 'for line in open(sys.argv[1]):', '    try:', '        prog.symbol(int(line, 16))', '        n += 1', '    except LookupError:', '        pass  # drgn honours symtab sizes: padding between functions resolves to nothing', ''].join('\n'));
    const empty = join(tmp, 'empty.txt');
    writeFileSync(empty, '');
    const run = (file) => () => execFileSync('sh', ['-c', `drgn -q -c ${dump} -s ${vmlinux} ${script} ${file} > /dev/null 2>&1`]);
    rows2.push({ name: 'drgn prog.symbol', n: DRGN_LOOKUPS, total: best(1, run(some)), startup: best(1, run(empty)) });
  }
  console.log(`\nlookups: pseudo-random kernel text addresses (sym-resolve: ${WORDS} in ${lines.length} mem records), all resolving\n`);
  console.log('| tool | lookups | total s | start-up s | work s | lookups/s (work) | sym-resolve rate / this rate |');
  console.log('|---|---|---|---|---|---|---|');
  const rate = (r) => r.n / Math.max(r.total - r.startup, 1e-9);
  for (const r of rows2) {
    console.log(`| ${r.name} | ${r.n} | ${r.total.toFixed(2)} | ${r.startup.toFixed(2)} | ${(r.total - r.startup).toFixed(2)} | ${Math.round(rate(r))} | ${(rate(rows2[0]) / rate(r)).toFixed(1)} |`);
  }
}
rmSync(tmp, { recursive: true, force: true });
