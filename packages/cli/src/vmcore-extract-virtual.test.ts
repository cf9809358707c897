/**
 * vmcore-extract with kernel virtual addresses, end to end on the real dump:
 * `--vtop ADDR | render` prints what crash 8.0.2's `vtop` printed
 * (fixtures/real/expected/crash.vmcore.kdump-zlib.vtop-*.txt) byte for byte,
 * up to the struct page line (which needs the kernel's types); `--read`
 * gives crash's `rd -64` words.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const dump = join(real, 'vmcore.kdump-zlib');
const expected = join(real, 'expected');

const vtopFiles = existsSync(expected) ? readdirSync(expected).filter((f) => /^crash\.vmcore\.kdump-zlib\.vtop-[0-9a-f]+\.txt$/.test(f)) : [];

test('--vtop ADDR... | render is crash vtop, byte for byte up to the struct page table', (t) => {
  if (!existsSync(dump) || vtopFiles.length === 0) return t.pass('fixture missing');
  const addrs = vtopFiles.map((f) => /vtop-([0-9a-f]+)\.txt$/.exec(f)![1]!);
  const r = run('vmcore-extract', [dump, '--vtop', ...addrs]);
  t.is(r.code, 0, r.err);
  const body = r.records().filter((x) => x.kind !== 'source');
  t.is(body.length, addrs.length, 'one record per address');
  body.forEach((rec, i) => {
    const crash = readFileSync(join(expected, vtopFiles[i]!), 'utf8');
    if (crash.includes('(not mapped)')) {
      t.like(rec, { kind: 'error', code: 'not-mapped', addr: '0x' + addrs[i] });
      const stopped = /^ {3}(PUD|PMD|PTE): [0-9a-f]+ => 0$/m.exec(crash);
      t.is(rec['level'], stopped![1]!.toLowerCase(), `${vtopFiles[i]}: level where the walk stopped`);
      return;
    }
    const rendered = run('vmpipe-render', [], { input: JSON.stringify(rec) + '\n' }).out;
    // crash's fixmap header line uses a formula, not the page tables (see addrxlat's real test): compare after it.
    const ours = rendered.split('\n');
    const theirs = crash.split('\n').slice(0, ours.length - 1);
    const from = /^ffffffffff/.test(addrs[i]!) ? 2 : 0;
    t.deepEqual(ours.slice(from, theirs.length), theirs.slice(from), vtopFiles[i]);
    t.is(theirs[theirs.length - 1], ours[theirs.length - 1]);
  });
});

test('--read of a kernel virtual address gives crash rd -64 words, across pages and mappings', (t) => {
  if (!existsSync(dump)) return t.pass('fixture missing');
  const rdFiles = readdirSync(expected).filter((f) => /^crash\.vmcore\.kdump-zlib\.rd-64-[0-9a-f]+-\d+\.txt$/.test(f));
  t.true(rdFiles.length > 0);
  for (const f of rdFiles) {
    const [, addr, count] = /rd-64-([0-9a-f]+)-(\d+)\.txt$/.exec(f)!;
    const crash = readFileSync(join(expected, f), 'utf8');
    const r = run('vmcore-extract', [dump, '--read', addr!, '--length', String(Number(count) * 8)]);
    t.is(r.code, 0, r.err);
    const words = r.records().filter((x) => x.kind === 'mem').flatMap((x) => (x['words'] as string[]).map((w) => BigInt(w)));
    const theirs = [...crash.matchAll(/^[0-9a-f]+:((?: +[0-9a-f]{16})+)/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).map((w) => BigInt('0x' + w)));
    t.deepEqual(words, theirs, f);
    t.true(r.records().filter((x) => x.kind === 'mem').every((x) => x['space'] === 'virtual'));
    const err = r.records().find((x) => x.kind === 'error');
    if (/page excluded/.test(crash)) t.like(err, { code: 'page-excluded', addr: '0x' + addr, space: 'virtual' }, f);
    else if (/invalid kernel virtual address: ([0-9a-f]+)/.test(crash)) {
      t.like(err, { code: 'not-mapped', addr: '0x' + /invalid kernel virtual address: ([0-9a-f]+)/.exec(crash)![1], level: 'pte' }, f);
    } else t.is(err, undefined, f);
  }
});

test('bad addresses: --vtop gives an error record per address and goes on; --read exits 2', (t) => {
  if (!existsSync(dump)) return t.pass('fixture missing');
  const r = run('vmcore-extract', [dump, '--vtop', 'zz', '0x0000800000000000', '0xffff800000000000']);
  t.is(r.code, 0, r.err);
  t.deepEqual(r.records().slice(1).map((x) => x['code']), ['bad-address', 'non-canonical', 'not-mapped']);
  t.like(r.records()[3], { level: 'pgd' });
  for (const bad of ['zz', '0x0000800000000000']) {
    const e = run('vmcore-extract', [dump, '--read', bad]);
    t.is(e.code, 2);
    t.is(e.out, '');
    t.regex(e.err, /^vmcore-extract: --read: .*(not a hex address|not canonical).*\n$/);
  }
  t.is(run('vmcore-extract', [dump, '--read', '0x1000', '--physical', '--length', '8']).code, 0, '--physical takes what is not a kernel address');
});
