#!/usr/bin/env node
// Benchmark: crash signatures, vmpipe `triage` against what a user would run instead.
//
//   node tools/bench/triage.mjs [DUMP...]          (default: fixtures/real/vmcore.kdump-zlib)
//   env: VMLINUX (crash and drgn need it; default /work/refs/6.1.0-56-cloud-amd64/vmlinux), RUNS (default 5),
//        COPIES (times the 100-text corpus is repeated into one console log; default 200 = 20,000 reports)
//
// Rows:
//   text, in process     textSignatures over one log holding the corpus (fixtures/triage/corpus) COPIES times:
//                        reports/s and MB/s (goal: at least 1,000 reports/s)
//   text, whole command  `triage --log LOG > /dev/null` on that log
//   dump, in process     dumpRecords(DUMP) per dump, after warm-up: read the log, analyse, sign (the batch case:
//                        one process, many dumps)
//   dump, whole command  `triage DUMP > /dev/null`
//   crash log + bt       `crash -s VMLINUX DUMP` running `log` and `bt` (what a user starts per dump instead)
//   drgn trace           `drgn -c DUMP -s VMLINUX` printing the crashed thread's stack trace
// Times are medians of RUNS runs; the ratio column is the reference's time over vmpipe's (goal: 20x crash per dump).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'packages/cli/bin/triage.js');
const RUNS = Number(process.env.RUNS ?? 5);
const COPIES = Number(process.env.COPIES ?? 200);
const VMLINUX = process.env.VMLINUX ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const dumps = process.argv.length > 2 ? process.argv.slice(2) : [join(root, 'fixtures/real/vmcore.kdump-zlib')];

const { consoleLines, textSignatures } = await import(join(root, 'packages/triage/dist/index.js'));
const { dumpRecords } = await import(join(root, 'packages/cli/dist/commands/triage.js'));

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const median = (ts) => ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
function time(cmd, argv, input) {
  const ts = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'], maxBuffer: 1 << 30 });
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0 && r.status !== null && cmd !== 'crash') return null;
  }
  return median(ts);
}
async function timeAsync(fn) {
  await fn(); // warm-up
  const ts = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ts);
}

const rows = [];
const row = (job, tool, ms, extra = '', base = null) => rows.push({ job, tool, ms, extra, ratio: base && ms ? (ms / base).toFixed(1) + 'x' : '' });

// Text: the corpus, many times over, as one console log.
const corpusDir = join(root, 'fixtures/triage/corpus');
const one = Buffer.concat(readdirSync(corpusDir).sort().map((f) => Buffer.concat([readFileSync(join(corpusDir, f)), Buffer.from('\n')])));
const log = Buffer.concat(Array.from({ length: COPIES }, () => one));
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-triage-'));
const logFile = join(tmp, 'console.log');
writeFileSync(logFile, log);
let reports = 0;
const textMs = await timeAsync(async () => {
  reports = 0;
  for await (const s of textSignatures(consoleLines([log]), 'console.log')) reports++;
});
row(`text: ${reports} reports, ${(log.length / 1e6).toFixed(1)} MB`, 'vmpipe, in process', textMs, `${Math.round(reports / (textMs / 1000))} reports/s, ${(log.length / 1e6 / (textMs / 1000)).toFixed(1)} MB/s`);
const textCmd = time(process.execPath, [bin, '--log', logFile]);
row(`text: ${reports} reports`, 'triage --log (whole command)', textCmd, textCmd ? `${Math.round(reports / (textCmd / 1000))} reports/s` : '');

// Dumps: per dump, in process and as a command, against crash and drgn started on the same dump.
for (const dump of dumps) {
  if (!existsSync(dump)) {
    console.error(`triage bench: ${dump}: no such dump, skipped`);
    continue;
  }
  const name = `dump: ${dump.replace(root + '/', '')} (${(statSync(dump).size / 1e6).toFixed(0)} MB)`;
  const inProc = await timeAsync(() => dumpRecords(dump));
  row(name, 'vmpipe, in process (batch)', inProc);
  const cmd = time(process.execPath, [bin, dump]);
  row(name, 'triage DUMP (whole command)', cmd);
  if (have('crash') && existsSync(VMLINUX)) {
    row(name, 'crash log + bt (whole command)', time('crash', ['-s', VMLINUX, dump], 'log\nbt\nquit\n'), '', null);
  } else row(name, 'crash log + bt', null, `skipped: ${have('crash') ? `no vmlinux at ${VMLINUX}` : 'crash not installed'}`);
  if (have('drgn') && existsSync(VMLINUX)) {
    const script = join(tmp, 'bt.py');
    writeFileSync(script, 'print(prog.crashed_thread().stack_trace())\n');
    row(name, 'drgn crashed thread (whole command)', time('drgn', ['-q', '-c', dump, '-s', VMLINUX, script]), '', null);
  }
}
rmSync(tmp, { recursive: true, force: true });

// Ratios: each reference over vmpipe's in-process time for its job (and over the whole command in brackets).
for (const r of rows) {
  if (!/crash|drgn/.test(r.tool) || !r.ms) continue;
  const mine = rows.find((x) => x.job === r.job && x.tool.startsWith('vmpipe'));
  const cmd = rows.find((x) => x.job === r.job && x.tool.startsWith('triage DUMP'));
  r.ratio = `${(r.ms / mine.ms).toFixed(1)}x (${cmd?.ms ? (r.ms / cmd.ms).toFixed(1) : '-'}x)`;
}
const fmt = (ms) => (ms === null ? 'failed' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const table = [['job', 'tool', 'time', 'ref / vmpipe (batch, (command))', 'notes'], ...rows.map((r) => [r.job, r.tool, fmt(r.ms), r.ratio, r.extra])];
const widths = table[0].map((_, i) => Math.max(...table.map((l) => l[i].length)));
for (const l of table) console.log(l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd());
