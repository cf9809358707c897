/**
 * The seeded short run of the harness (docs/reliability.md), in `npm test`:
 * a few hundred cases of damaged dumps and hostile streams through every
 * command, none may fail. The long run is `node tools/fuzz/run.mjs`.
 */
import test from 'ava';
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { readRecords } from '@vmpipe/records';
import { classify, damage, fuzz, haveFixture, MK_BASES, type Base } from './index.js';

const SEED = 20261130;

test.serial('seeded short run: damaged dumps (writer-made and cut from the real fixture) and hostile streams through every command', async (t) => {
  const bases = [...MK_BASES, ...(haveFixture() ? (['real-log'] as const) : [])];
  if (!haveFixture()) t.log('fixtures/real/vmcore.kdump-zlib not here: writer-made dumps only');
  const report = await fuzz({ seed: SEED, cases: 250, bases });
  t.log(`seed ${report.seed}: ${report.cases} cases, ${report.commands} command runs, ${(report.ms / 1000).toFixed(1)} s, peak rss ${Math.round(report.peakRssBytes / 2 ** 20)} MiB; undetectable wrong pages ${report.undetectable}`);
  for (const f of report.failures.slice(0, 10)) t.log(`[${f.class}] case ${f.index} ${f.command ?? ''}: ${f.detail}\n  ${f.case}`);
  t.is(report.cases, 250);
  t.deepEqual(report.byClass, {}, `replay with: node tools/fuzz/run.mjs --seed ${SEED} --only I`);
});

test.serial('seeded short run over the real fixture\'s kernel memory stored raw: damage reaches printk, kallsyms, BTF, page tables', async (t) => {
  if (!haveFixture()) return t.pass('fixtures/real/vmcore.kdump-zlib not here');
  const report = await fuzz({ seed: SEED + 1, cases: 8, bases: ['real-sys-raw'] });
  for (const f of report.failures.slice(0, 10)) t.log(`[${f.class}] case ${f.index} ${f.command ?? ''}: ${f.detail}\n  ${f.case}`);
  t.deepEqual(report.byClass, {});
});

test('the checker sees what it must: internal errors, stack traces, undocumented exit codes, slowness', (t) => {
  const run = (code: number, stderr: string, ms = 5) => ({ code, stdout: '', stderr, ms });
  t.deepEqual(classify(run(0, ''), 'x'), []);
  t.deepEqual(classify(run(4, 'vmcore-extract: truncated dump: ...\n'), 'x'), []);
  t.deepEqual(classify(run(5, 'vmcore-extract: internal error: Division by zero\n'), 'x').map((f) => f.class), ['internal-error']);
  t.deepEqual(classify(run(1, 'x\n    at foo (file:///a.js:1:2)\n'), 'x').map((f) => f.class), ['exit-code', 'stack-trace']);
  t.deepEqual(classify(run(0, '', 10 ** 6), 'x').map((f) => f.class), ['slow']);
  t.deepEqual(classify(run(-1, 'UNCAUGHT: RangeError'), 'x').map((f) => f.class), ['internal-error']);
});

test('damage() changes only the copy, and truncation cuts where it says', (t) => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  const base: Base = { name: 'elf', bytes, regions: { header: { offset: 10, size: 10 } }, pages: [], pageSize: 4096, path: '' };
  const flipped = damage(base, [{ kind: 'flip', region: 'header', at: 0, width: 2, how: 'set', value: 0xffffn }]);
  t.deepEqual([...flipped.subarray(9, 13)], [9, 0xff, 0xff, 12]);
  t.is(bytes[10], 10);
  t.is(damage(base, [{ kind: 'truncate', at: 0.5 }]).length, 50);
});

test('property: readRecords never throws on any bytes, gives one record or bad-record per non-empty line, in order', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1'))), { maxLength: 20 }), fc.integer({ min: 1, max: 64 }), async (lines, chunk) => {
      const text = Buffer.from(lines.map((l) => l.replace(/[\n]/g, ' ')).join('\n') + '\n', 'utf8');
      const input = new PassThrough();
      const out: { kind: string; line?: number }[] = [];
      const reading = (async () => {
        for await (const r of readRecords(input, { maxLine: 256, maxDepth: 8 })) out.push(r as { kind: string; line?: number });
      })();
      for (let i = 0; i < text.length; i += chunk) input.write(text.subarray(i, i + chunk));
      input.end();
      await reading;
      const nonEmpty = lines.filter((l) => l.replace(/[\n]/g, ' ').replace(/\r$/, '') !== '').length;
      if (out.length !== nonEmpty) return false;
      const errorLines = out.filter((r) => r.kind === 'error').map((r) => r.line!);
      return errorLines.every((l, i) => i === 0 || l > errorLines[i - 1]!);
    }),
    { seed: SEED, numRuns: 300 },
  );
  t.pass();
});
