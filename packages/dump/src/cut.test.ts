/**
 * mkdump --cut (tools/mkdump/src/cut.ts) on the real makedumpfile dump of fixtures/real:
 * every kept page reads byte for byte as in the original, every other page the original
 * dumped reads as page-excluded, and the headers, notes and VMCOREINFO are the original's.
 * Also the recording mode (VMPIPE_RECORD_PAGES), in a child process since it is read at load.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cutKdump, parsePfnList } from '@vmpipe/mkdump';
import { KdumpDump, openDump } from './index.js';
import { realDump } from './testing/real.js';
import { tmp } from './test-helpers.js';

function dumpedPfns(d: KdumpDump): number[] {
  const out: number[] = [];
  for (const r of d.memoryRanges()) {
    for (let pfn = Number(r.start / 4096n); pfn < Number(r.end / 4096n); pfn++) {
      const s = d.storedPage(pfn);
      if ('data' in s) out.push(pfn);
    }
  }
  return out;
}

test('cut: kept pages read identical, the others are page-excluded, headers are the original\'s', (t) => {
  const orig = openDump(realDump.kdumpZlib) as KdumpDump;
  const all = dumpedPfns(orig);
  t.is(all.length, orig.pageCounts().present);
  // every 7th dumped page, and a run of 64 at the start of the kernel image's neighbourhood
  const keep = new Set(all.filter((_, i) => i % 7 === 0 || (i >= 1000 && i < 1064)));
  const input = readFileSync(realDump.kdumpZlib);
  const { bytes, result } = cutKdump(input, keep);
  t.is(result.dumped, all.length);
  t.is(result.kept, keep.size);
  const path = join(tmp, 'cut.kdump');
  writeFileSync(path, bytes);
  const cut = openDump(path) as KdumpDump;
  t.deepEqual(cut.utsname, orig.utsname);
  t.deepEqual(cut.notes, orig.notes);
  t.is(cut.vmcoreinfo?.raw, orig.vmcoreinfo?.raw);
  t.deepEqual(cut.memoryRanges(), orig.memoryRanges());
  t.is(cut.dumpLevel, orig.dumpLevel);
  t.deepEqual(cut.pageCounts(), { present: keep.size, excluded: orig.pageCounts().excluded + all.length - keep.size });
  // the header block is copied byte for byte; so is the 1st bitmap
  t.deepEqual(bytes.subarray(0, 4096), input.subarray(0, 4096));
  let same = 0;
  let excluded = 0;
  for (const pfn of all) {
    const a = orig.page(pfn);
    const b = cut.page(pfn);
    if (keep.has(pfn)) {
      t.true(b instanceof Uint8Array && a instanceof Uint8Array && Buffer.compare(a, b) === 0, `pfn ${pfn} differs`);
      same++;
    } else {
      t.true(!(b instanceof Uint8Array) && b.code === 'page-excluded', `pfn ${pfn} should be excluded`);
      excluded++;
    }
  }
  t.is(same, keep.size);
  t.is(excluded, all.length - keep.size);
  // pages makedumpfile stored as its one shared zero page still share it
  t.true(bytes.length < input.length / 3);
});

test('cut: pfn lists take decimal, hex, ranges and comments', (t) => {
  t.deepEqual([...parsePfnList('# kept\n5\n0x10\n7-9\n\n0x20 - 0x21\n')].sort((a, b) => a - b), [5, 7, 8, 9, 16, 32, 33]);
  t.throws(() => parsePfnList('five\n'), { message: /not a pfn/ });
});

test('cut: a split file or a non-kdump file is refused', (t) => {
  t.throws(() => cutKdump(readFileSync(realDump.kdumpLzoSplit1), new Set([1])), { message: /split/ });
  t.throws(() => cutKdump(new Uint8Array(4096), new Set([1])), { message: /not a kdump/ });
});

test('VMPIPE_RECORD_PAGES lists each page frame read, once', (t) => {
  const file = join(tmp, 'record.pfns');
  writeFileSync(file, '');
  const script = `import { openDump } from ${JSON.stringify(new URL('./index.js', import.meta.url).href)};
    const d = openDump(${JSON.stringify(realDump.kdumpZlib)});
    d.readPhysical(0x1000n * 0x230bn, 0x2000); d.readPhysical(0x1000n * 0x230bn + 8n, 16);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, VMPIPE_RECORD_PAGES: file } });
  t.is(r.status, 0, r.stderr.toString());
  t.deepEqual(readFileSync(file, 'utf8'), `${0x230b}\n${0x230c}\n`);
});
