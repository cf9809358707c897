import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BufferMemory, kernelMemory } from '@vmpipe/addrxlat';
import { openDump } from '@vmpipe/dump';
import { BtfWriter } from './writer.js';
import { btfCachePath, readDumpBtfCached } from './cache.js';
import { findType, layoutOf } from '../layout.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'vmpipe-btf-cache-'));
const BUILD_ID = '3b43fad5034874490492495d552c0af6a5fab235';

/** A tiny kernel: its BTF at `__start_BTF` (+ a KASLR offset), in BufferMemory. */
function kernel(offset: bigint, name = 'task_struct') {
  const w = new BtfWriter();
  const int = w.int('int', 4, { signed: true });
  w.struct(name, 8, [{ name: 'pid', type: int, bitOffset: 0 }, { name: 'tgid', type: int, bitOffset: 32 }]);
  const bytes = w.bytes();
  const start = 0xffffffff82000000n + offset;
  let located = 0;
  const mem = new BufferMemory().add(start, bytes);
  const opts = (dir: string, more: object = {}) => ({
    buildId: BUILD_ID, kernelOffset: offset, cacheDir: dir, ...more,
    locate: () => {
      located++;
      return { start, stop: start + BigInt(bytes.length) };
    },
  });
  return { mem, bytes, opts, located: () => located };
}

test('the first run reads the dump and keeps the BTF by build-id; the next needs no symbols', (t) => {
  const dir = fresh();
  const k = kernel(0x8400000n);
  const first = readDumpBtfCached(k.mem, k.opts(dir));
  t.is(k.located(), 1);
  t.deepEqual(readdirSync(dir), [`btf-${BUILD_ID}.bin`]);
  const again = readDumpBtfCached(k.mem, k.opts(dir));
  t.is(k.located(), 1, 'a hit does not look up __start_BTF');
  t.is(again.source, 'btf-dump');
  t.deepEqual(layoutOf(again, findType(again, 'task_struct')), layoutOf(first, findType(first, 'task_struct')));
});

test('another boot of the same build (another KASLR offset) hits; a wrong offset or other bytes miss', (t) => {
  const dir = fresh();
  readDumpBtfCached(kernel(0x8400000n).mem, kernel(0x8400000n).opts(dir));
  const reboot = kernel(0x1c00000n);
  readDumpBtfCached(reboot.mem, reboot.opts(dir));
  t.is(reboot.located(), 0);
  // Same build-id, different BTF in memory (a reused build-id): read from the dump, and the cache rewritten.
  const other = kernel(0x1c00000n, 'mm_struct');
  const table = readDumpBtfCached(other.mem, other.opts(dir));
  t.is(other.located(), 1);
  t.is(findType(table, 'mm_struct').name, 'struct mm_struct');
  t.is(readFileSync(btfCachePath(BUILD_ID, dir)).subarray(-other.bytes.length).compare(Buffer.from(other.bytes)), 0);
});

test('a damaged cache file is ignored and rewritten; no build-id or cache: false keeps nothing', (t) => {
  const dir = fresh();
  const k = kernel(0n);
  readDumpBtfCached(k.mem, k.opts(dir));
  const path = btfCachePath(BUILD_ID, dir);
  const good = readFileSync(path);
  for (const damage of [good.subarray(0, good.length - 9), Buffer.concat([good.subarray(0, good.length - 1), Buffer.from([good[good.length - 1]! ^ 1])]), Buffer.from('vmpipe-btf/1\n{not json\n')]) {
    writeFileSync(path, damage);
    const before = k.located();
    const table = readDumpBtfCached(k.mem, k.opts(dir));
    t.is(k.located(), before + 1);
    t.is(findType(table, 'task_struct').name, 'struct task_struct');
    t.true(readFileSync(path).equals(good), 'rewritten whole');
  }
  const none = fresh();
  readDumpBtfCached(k.mem, k.opts(none, { buildId: undefined }));
  readDumpBtfCached(k.mem, k.opts(none, { cache: false }));
  t.deepEqual(readdirSync(none), []);
});

// The shipped dump: the cached BTF equals the dump's, and nothing is written beside the dump.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const dumpPath = `${root}fixtures/real/vmcore.kdump-zlib`;
const crashSym = (name: string) => BigInt('0x' + readFileSync(`${root}fixtures/real/expected/crash.vmcore.kdump-zlib.sym-${name}.txt`, 'latin1').trim().split(/\s+/)[0]);
(existsSync(dumpPath) ? test : test.skip)('the shipped dump: a warm read gives the same table without kallsyms', (t) => {
  const dump = openDump(dumpPath);
  try {
    const dir = fresh();
    const beside = readdirSync(`${root}fixtures/real`);
    const mem = kernelMemory(dump);
    const opts = { buildId: dump.vmcoreinfo!.get('BUILD-ID'), kernelOffset: dump.vmcoreinfo!.kernelOffset ?? 0n, cacheDir: dir };
    // crash 8.0.2 `sym __start_BTF` / `sym __stop_BTF` on this dump (fixtures/real/expected).
    const cold = readDumpBtfCached(mem, { ...opts, locate: () => ({ start: crashSym('__start_BTF'), stop: crashSym('__stop_BTF') }) });
    const warm = readDumpBtfCached(mem, { ...opts, locate: () => t.fail('kallsyms looked up on a warm cache') as never });
    t.deepEqual(warm.header, cold.header);
    t.is(warm.count, cold.count);
    t.deepEqual(layoutOf(warm, findType(warm, 'task_struct')), layoutOf(cold, findType(cold, 'task_struct')));
    t.deepEqual(readdirSync(`${root}fixtures/real`), beside);
  } finally {
    dump.close();
  }
});
