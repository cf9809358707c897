// Spec: the dump-spec rules of docs/mkdump.md (page patterns, JSON form).

import test from 'ava';
import { createHash } from 'node:crypto';
import { compress } from '@vmpipe/codecs';
import { pagePattern, incompressiblePattern, specFromJson, writeDump } from './index.js';

test('pagePattern: deterministic, right size, distinct per pfn', (t) => {
  for (const ps of [4096, 16384, 65536]) {
    t.is(pagePattern(7, ps).length, ps);
    t.deepEqual(pagePattern(7, ps), pagePattern(7, ps));
  }
  const seen = new Set<string>();
  const pfns = [...Array.from({ length: 3000 }, (_, i) => i), 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 5];
  for (const pfn of pfns) seen.add(createHash('sha256').update(pagePattern(pfn, 4096)).digest('hex'));
  t.is(seen.size, pfns.length);
});

for (const codec of ['zlib', 'lzo', 'snappy', 'zstd'] as const) {
  test(`pagePattern compresses with ${codec}, but not trivially; incompressiblePattern does not`, async (t) => {
    for (const pfn of [0, 1, 12345, 2 ** 33]) {
      const c = await compress(codec, pagePattern(pfn, 4096));
      t.true(c.length < 4096 * 0.6, `${codec} pfn ${pfn}: ${c.length}`);
      t.true(c.length > 4096 / 16, `${codec} pfn ${pfn}: ${c.length} is too small to be interesting`);
      t.true((await compress(codec, incompressiblePattern(pfn, 4096))).length >= 4096);
    }
  });
}

test('specFromJson: hex strings to bigints, content patterns', async (t) => {
  const s = specFromJson({
    format: 'kdump',
    ranges: [{ paddr: '0x100000', pages: 4, vaddr: '0xffff888000100000' }],
    cpus: [{ prstatusPid: 3, regs: { rip: '0xffffffff81000000', rsp: 4096 } }],
    physBase: '0x1000000',
    content: { default: 'pattern', pages: { '257': 'incompressible', '258': 'zero' } },
  });
  t.deepEqual(s.ranges, [{ paddr: 0x100000n, pages: 4, vaddr: 0xffff888000100000n }]);
  t.deepEqual(s.cpus, [{ prstatusPid: 3, regs: { rip: 0xffffffff81000000n, rsp: 4096n } }]);
  t.is(s.physBase, 0x1000000n);
  t.deepEqual(s.content!(256, 4096), pagePattern(256, 4096));
  t.deepEqual(s.content!(257, 4096), incompressiblePattern(257, 4096));
  t.deepEqual(s.content!(258, 4096), new Uint8Array(4096));
  t.throws(() => specFromJson({ format: 'elf', ranges: [{ paddr: 'nope', pages: 1 }] }), { message: /ranges\[0\]\.paddr/ });
  t.throws(() => specFromJson({ format: 'elf', ranges: [], content: 'random' }), { message: /unknown content pattern/ });
});

test('physBase lands in the sub header', async (t) => {
  const { bytes } = await writeDump({ format: 'kdump', physBase: 0x2a00000n, ranges: [{ paddr: 0n, pages: 1 }] });
  t.is(new DataView(bytes.buffer).getBigUint64(4096, true), 0x2a00000n);
});
