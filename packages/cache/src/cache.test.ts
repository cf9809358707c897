import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir, isBuildId, readCacheEntry, writeCacheEntry } from './index.js';

const dir = () => mkdtempSync(join(tmpdir(), 'vmpipe-cache-'));

test('an entry reads back as written', (t) => {
  const path = join(dir(), 'sub', 'x-0123456789abcdef.bin');
  t.true(writeCacheEntry(path, 'test/1', { buildId: '0123456789abcdef', n: 3 }, Buffer.from('payload')));
  const e = readCacheEntry<{ buildId: string; n: number }>(path, 'test/1');
  t.deepEqual(e?.head.n, 3);
  t.is(e?.payload.toString(), 'payload');
});

test('another format, a changed byte or a cut file is a miss', (t) => {
  const path = join(dir(), 'x.bin');
  writeCacheEntry(path, 'test/1', {}, Buffer.from('payload'));
  t.is(readCacheEntry(path, 'test/2'), undefined);
  const bytes = readFileSync(path);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 1] ^= 1;
  writeFileSync(path, flipped);
  t.is(readCacheEntry(path, 'test/1'), undefined);
  writeFileSync(path, bytes.subarray(0, bytes.length - 2));
  t.is(readCacheEntry(path, 'test/1'), undefined);
  t.is(readCacheEntry(join(dir(), 'absent.bin'), 'test/1'), undefined);
});

test('a cache that cannot be written only says so', (t) => {
  const file = join(dir(), 'plain-file');
  writeFileSync(file, '');
  t.false(writeCacheEntry(join(file, 'below-a-file.bin'), 'test/1', {}, Buffer.from('x')));
});

test('where the cache lives, and what names a file', (t) => {
  t.is(cacheDir({ VMPIPE_CACHE: '/c' }), '/c');
  t.is(cacheDir({ XDG_CACHE_HOME: '/x' }), join('/x', 'vmpipe'));
  t.true(isBuildId('8c0e8f3a1b2c3d4e'));
  t.false(isBuildId('../etc/passwd'));
  t.false(isBuildId(undefined));
});
