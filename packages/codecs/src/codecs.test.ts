import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { CODECS, CodecError, MAX_PAGE_SIZE, compress, decompress, type Codec } from './index.js';
import { VECTOR_NAMES, prng, randomBytes, vector } from './testkit.js';

const PAGE = 4096;

function pages(): [string, Uint8Array][] {
  const text = new TextEncoder().encode('[    0.000000] Linux version 6.1.0 (gcc 12.2.0) #1 SMP\n'.repeat(80)).subarray(0, PAGE);
  const sparse = new Uint8Array(PAGE);
  for (let i = 0; i < PAGE; i += 64) sparse.set([0xff, 0xff, 0x88, 0x81, i & 0xff, i >> 8], i);
  const list: [string, Uint8Array][] = [
    ['zeros', new Uint8Array(PAGE)],
    ['ones', new Uint8Array(PAGE).fill(0xff)],
    ['random', randomBytes(PAGE, 1)],
    ['text', text],
    ['sparse', sparse],
    ['half-random', Uint8Array.from({ length: PAGE }, (_, i) => (i < 2048 ? (i * 2654435761) >>> 24 : 0))],
    ['64k-page', Uint8Array.from({ length: 65536 }, (_, i) => (i % 1000 < 40 ? i & 0xff : 0))],
  ];
  for (const n of [0, 1, 3, 4, 17, 18, 19, 239, 1000]) list.push([`random-${n}`, randomBytes(n, n + 7)]);
  for (const name of VECTOR_NAMES) list.push([`vector-${name}`, vector(name, 'raw')]);
  return list;
}

test('decodes the real-library vectors of every codec to the original bytes', (t) => {
  for (const name of VECTOR_NAMES) {
    const raw = vector(name, 'raw');
    for (const codec of CODECS) {
      const out = decompress(codec, vector(name, codec), raw.length);
      t.deepEqual(out, raw, `${codec} ${name}`);
      t.is(out.constructor, Uint8Array);
    }
  }
});

test('round-trips every codec on varied pages', async (t) => {
  for (const codec of CODECS) {
    for (const [name, page] of pages()) {
      const packed = await compress(codec, page);
      t.true(packed instanceof Uint8Array);
      t.deepEqual(decompress(codec, packed, page.length), page, `${codec} ${name}`);
    }
  }
});

test('compresses a zero page far below a page and random data not at all', async (t) => {
  for (const codec of CODECS) {
    const zeros = await compress(codec, new Uint8Array(PAGE));
    t.true(zeros.length < 200, `${codec} zero page -> ${zeros.length} bytes`);
    const rand = await compress(codec, randomBytes(PAGE, 99));
    t.true(rand.length >= PAGE, `${codec} random page -> ${rand.length} bytes`);
  }
});

const hasZstdCli = (() => {
  try {
    execFileSync('zstd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

(hasZstdCli ? test : test.skip)('fzstd decodes frames written by the zstd CLI at several levels', (t) => {
  const page = vector('dmesg-4096', 'raw');
  const dir = mkdtempSync(join(tmpdir(), 'codecs-'));
  const file = join(dir, 'page');
  writeFileSync(file, page);
  try {
    // From a file the CLI knows the size: single-segment frame with content size and a checksum.
    for (const level of [['-1'], ['-3'], ['-9'], ['-19'], ['--ultra', '-22'], ['--fast=3']]) {
      const frame = new Uint8Array(execFileSync('zstd', ['-q', '-c', ...level, file]));
      t.deepEqual(decompress('zstd', frame, page.length), page, `zstd ${level.join(' ')}`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
  // From a pipe it does not: no content size, a window descriptor instead.
  const piped = new Uint8Array(execFileSync('zstd', ['-q', '-c', '-3'], { input: page }));
  t.deepEqual(decompress('zstd', piped, page.length), page, 'zstd -3 from a pipe');
});

function throwsCodecError(t: import('ava').ExecutionContext, codec: Codec, input: Uint8Array, size: number, why: string) {
  const e = t.throws(() => decompress(codec, input, size), { instanceOf: CodecError }, why);
  if (e) t.is(e.codec, codec);
}

test('every strict prefix of a stream throws CodecError', (t) => {
  for (const name of ['zeros-4096', 'dmesg-4096', 'struct-4096', 'random-4096']) {
    const raw = vector(name, 'raw');
    for (const codec of CODECS) {
      const full = vector(name, codec);
      for (let n = 0; n < full.length; n++) throwsCodecError(t, codec, full.subarray(0, n), raw.length, `${codec} ${name} cut at ${n}`);
    }
  }
});

test('a wrong expectedSize throws CodecError', (t) => {
  for (const name of ['zeros-4096', 'dmesg-4096', 'random-4096']) {
    for (const codec of CODECS) {
      const input = vector(name, codec);
      for (const size of [0, 4095, 4097, 8192]) throwsCodecError(t, codec, input, size, `${codec} ${name} as ${size}`);
    }
  }
  for (const codec of CODECS) {
    for (const size of [-1, 1.5, Number.NaN, MAX_PAGE_SIZE + 1]) throwsCodecError(t, codec, vector('empty', codec), size, `size ${size}`);
  }
});

test('flipped bytes give CodecError or a whole page, never another error or a hang', (t) => {
  const raw = vector('dmesg-4096', 'raw');
  for (const codec of CODECS) {
    const good = vector('dmesg-4096', codec);
    const r = prng(0xc0dec + good.length);
    let rejected = 0;
    const tries = 3000;
    for (let i = 0; i < tries; i++) {
      const bad = good.slice();
      for (let k = 1 + (r() % 3); k > 0; k--) bad[r() % bad.length] ^= 1 << (r() % 8);
      try {
        t.is(decompress(codec, bad, raw.length).length, raw.length);
      } catch (e) {
        if (!(e instanceof CodecError)) t.fail(`${codec}: ${String(e)}`);
        rejected++;
      }
    }
    // zlib carries an Adler-32, so nearly every flip is caught (one here lands in
    // the unused padding bits after the last deflate block); the others have no
    // checksum and a flip inside literal bytes decodes to a different page.
    if (codec === 'zlib') t.true(rejected >= tries - 5, `zlib rejected ${rejected}/${tries}`);
    else t.true(rejected > tries / 10, `${codec} rejected ${rejected}/${tries}`);
  }
});

test('random garbage never decodes and never throws anything but CodecError', (t) => {
  const r = prng(42);
  for (const codec of CODECS) {
    for (let i = 0; i < 500; i++) {
      const junk = randomBytes(r() % 600, r());
      // zstd garbage needs the magic to get past the first check
      if (codec === 'zstd' && junk.length >= 4 && i % 2) junk.set([0x28, 0xb5, 0x2f, 0xfd]);
      t.throws(() => decompress(codec, junk, PAGE), { instanceOf: CodecError });
    }
  }
});

test('bytes after the stream are refused, except by zlib which ignores them like zlib uncompress()', (t) => {
  const raw = vector('struct-4096', 'raw');
  for (const codec of CODECS) {
    const padded = new Uint8Array([...vector('struct-4096', codec), 0, 1, 2]);
    if (codec === 'zlib') t.deepEqual(decompress(codec, padded, raw.length), raw);
    else throwsCodecError(t, codec, padded, raw.length, codec);
  }
});

test('decompression bombs are refused before they allocate', (t) => {
  // zlib: 64 MiB of zeros; inflating stops one page in.
  const zbomb = deflateSync(new Uint8Array(64 << 20));
  throwsCodecError(t, 'zlib', zbomb, PAGE, 'zlib bomb');
  // snappy: declares 2^32 - 1 bytes.
  throwsCodecError(t, 'snappy', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]), PAGE, 'snappy length');
  // zstd: single-segment frame declaring a 2 GiB content size, and a 100000-byte RLE block in an empty frame.
  throwsCodecError(t, 'zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0x80, 1, 0, 0]), PAGE, 'zstd fcs');
  const rle = 100000 * 8 + (1 << 1) + 1;
  throwsCodecError(t, 'zstd', new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, rle & 0xff, (rle >> 8) & 0xff, rle >> 16, 0]), 0, 'zstd rle');
  // zstd: a block claiming 65535 + 0x7f00 sequences (a long copy loop in fzstd) for a 4 KiB page.
  const seq = new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x0f, 0x2d, 0, 0, 0x00, 0xff, 0xff, 0xff, 0x00]);
  throwsCodecError(t, 'zstd', seq, PAGE, 'zstd sequences');
  // lzo: one long match repeated until the page overflows.
  const lbomb = new Uint8Array([18, 0x61, 0x20, ...new Array(100).fill(0), 1, 0, 0, 0x11, 0, 0]);
  throwsCodecError(t, 'lzo', lbomb, PAGE, 'lzo long match');
});

test('CodecError carries the codec, a message and the cause', (t) => {
  const e = t.throws(() => decompress('zlib', new Uint8Array([1, 2, 3]), PAGE), { instanceOf: CodecError });
  t.is(e?.codec, 'zlib');
  t.is(e?.name, 'CodecError');
  t.regex(e?.message ?? '', /^zlib: /);
  t.true(e?.cause instanceof Error);
  const u = t.throws(() => decompress('lz4' as Codec, new Uint8Array(3), PAGE), { instanceOf: CodecError });
  t.regex(u?.message ?? '', /unknown codec/);
});
