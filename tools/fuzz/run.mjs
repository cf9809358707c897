#!/usr/bin/env node
// The long run of vmpipe's fuzzing harness (docs/reliability.md):
//   node tools/fuzz/run.mjs --cases 5000 --seed N     (seed defaults to the time; it is printed)
//   node tools/fuzz/run.mjs --seed N --only I          replays case I of that run
//   --bases real-sys-raw,elf                          only these bases (see tools/fuzz/src/bases.ts)
//   --json                                              the whole report as JSON on stdout
// Build first: npx nx run-many -t build. Exit 1 when any case fails.
import { fuzz } from '@vmpipe/fuzz';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const seed = Number(opt('seed', String(Date.now() % 2 ** 31)));
const cases = Number(opt('cases', '500'));
const only = opt('only', undefined);
const bases = opt('bases', undefined)?.split(',');
process.stderr.write(`fuzz: seed ${seed}, ${cases} cases${only !== undefined ? `, only case ${only}` : ''} (replay: node tools/fuzz/run.mjs --seed ${seed} --cases ${cases} --only I)\n`);
let last = 0;
const report = await fuzz({
  seed,
  cases,
  only: only === undefined ? undefined : Number(only),
  bases,
  progress: (done, total, failures) => {
    const now = Date.now();
    if (now - last > 2000 || done === total) {
      last = now;
      process.stderr.write(`\rfuzz: ${done}/${total} cases, ${failures} failures   `);
    }
  },
});
process.stderr.write('\n');
if (args.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
else {
  const mib = (b) => `${Math.round(b / 2 ** 20)} MiB`;
  console.log(`seed ${report.seed}: ${report.cases} cases, ${report.commands} command runs, ${(report.ms / 1000).toFixed(1)} s, peak rss ${mib(report.peakRssBytes)}, slowest case ${report.slowest.index} (${report.slowest.ms} ms)`);
  console.log(`failures: ${report.failures.length}${Object.keys(report.byClass).length ? ' — ' + Object.entries(report.byClass).map(([k, v]) => `${k} ${v}`).join(', ') : ''}`);
  console.log(`pages read wrong after damage no reader can detect (bitmap bits, descriptor/p_offset moves, lzo/snappy pages): ${report.undetectable}`);
  const shown = new Map();
  for (const f of report.failures) {
    const key = `${f.class}|${f.command ?? ''}|${f.detail.replace(/0x[0-9a-f]+|\d+/g, 'N')}`;
    if (shown.has(key)) continue;
    shown.set(key, true);
    console.log(`\n[${f.class}] case ${f.index}${f.command ? ` (${f.command})` : ''}: ${f.detail}\n  ${f.case}`);
  }
}
process.exit(report.failures.length ? 1 : 0);
