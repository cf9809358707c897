/**
 * The cut scenario dumps of fixtures/scenarios (tools/recipes/scenarios): each opens, names its
 * kernel, holds exactly the pages the recipe kept (VERSIONS), and where crash 8.0.2 printed the
 * victim entry (`kmem ADDR` gives its page's physical address, `rd -64 ADDR 8` its bytes), the
 * reader gives the same bytes at that physical address.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDump } from './index.js';
import { repoRoot } from './testing/real.js';

const root = join(repoRoot, 'fixtures', 'scenarios');
const scenarios = existsSync(root)
  ? readdirSync(root).flatMap((k) =>
      readdirSync(join(root, k), { withFileTypes: true })
        .filter((e) => e.isDirectory()) // beside the scenarios: the kernel's System.map.gz
        .map((e) => ({ kernel: k, scenario: e.name, dir: join(root, k, e.name) })),
    )
  : [];

for (const { kernel, scenario, dir } of scenarios) {
  test(`scenario ${kernel}/${scenario}: opens, names its kernel, holds the pages the recipe kept`, (t) => {
    const d = openDump(join(dir, 'vmcore.kdump'));
    t.is(d.format, 'kdump-compressed');
    t.is(d.vmcoreinfo?.entries['OSRELEASE'], kernel);
    t.is(d.cpus.length, 2);
    const kept = /^cut: (\d+) pages kept/m.exec(readFileSync(join(dir, 'VERSIONS'), 'utf8'));
    t.truthy(kept, 'VERSIONS names the pages kept');
    t.is(d.pageCounts().present, Number(kept![1]));
    d.close();
  });

  const exp = join(dir, 'expected');
  const kmem = existsSync(exp) ? readdirSync(exp).find((f) => /^crash\.kmem-0x[0-9a-f]+\.txt$/.test(f)) : undefined;
  if (!kmem) continue;
  test(`scenario ${kernel}/${scenario}: the victim entry's bytes are crash's rd -64`, (t) => {
    const vaddr = BigInt(/0x[0-9a-f]+/.exec(kmem)![0]);
    // crash `kmem ADDR`: "PAGE PHYSICAL MAPPING ..." then the page's line
    const page = /^\s*[0-9a-f]+\s+([0-9a-f]+)\s/m.exec(readFileSync(join(exp, kmem), 'utf8').split(/PAGE\s+PHYSICAL/)[1]!);
    const paddr = BigInt('0x' + page![1]) + (vaddr & 0xfffn);
    const rd = readFileSync(join(exp, `crash.rd-64-0x${vaddr.toString(16)}-8.txt`), 'utf8');
    const words = rd.split('\n').filter((l) => /^[0-9a-f]+:/.test(l)).flatMap((l) => l.split(':')[1]!.trim().split(/\s+/).slice(0, 2));
    t.is(words.length, 8);
    const want = Buffer.alloc(64);
    words.forEach((w, i) => want.writeBigUInt64LE(BigInt('0x' + w), i * 8));
    const d = openDump(join(dir, 'vmcore.kdump'));
    const chunks = d.readPhysical(paddr, 64);
    t.is(chunks.length, 1);
    t.true('bytes' in chunks[0]! && Buffer.compare(Buffer.from(chunks[0].bytes), want) === 0);
    d.close();
  });
}
