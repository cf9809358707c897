import test from 'ava';
import { lzo1xCompress } from './lzo1x-compress.js';
import { LzoError, lzo1xDecompress } from './lzo1x-decompress.js';
import { randomBytes, vector } from './testkit.js';

const EOS = [0x11, 0, 0];
const dec = (bytes: number[], size: number) => lzo1xDecompress(Uint8Array.from(bytes), size);

// Hand-built streams; each was checked against liblzo2's lzo1x_decompress_safe.
test('decodes every instruction form, including the state-dependent M1 matches liblzo writes', (t) => {
  t.deepEqual(dec(EOS, 0), new Uint8Array(0));
  t.deepEqual(dec([20, 0x61, 0x62, 0x63, ...EOS], 3), new TextEncoder().encode('abc')); // first-byte literal run
  t.deepEqual(dec([18, 0x61, 0x00, 0x00, ...EOS], 3), new TextEncoder().encode('aaa')); // 2-byte M1 after 1 literal
  // 2100-literal run (0000LLLL with 8 zero length bytes), then a 3-byte M1 at distance 2049.
  const lit = Array.from({ length: 2100 }, (_, i) => (i * 7 + (i >> 5)) & 0xff);
  const out = dec([0, 0, 0, 0, 0, 0, 0, 0, 0, 42, ...lit, 0x00, 0x00, ...EOS], 2103);
  t.deepEqual([...out.subarray(0, 2100)], lit);
  t.deepEqual([...out.subarray(2100)], lit.slice(51, 54));
  // M3 with an extended length: 4 literals, then 293 bytes at distance 4.
  const m3 = dec([21, 1, 2, 3, 4, 0x20, 0, 5, 0x0c, 0x00, ...EOS], 297);
  t.deepEqual([...m3.subarray(290)], [3, 4, 1, 2, 3, 4, 1]);
});

test('refuses malformed streams with LzoError', (t) => {
  const bad: [string, number[], number, RegExp][] = [
    ['lookbehind', [18, 0x61, 0x44, 0x00, ...EOS], 4, /lookbehind/],
    ['trailing byte', [...EOS, 0], 0, /after the end marker/],
    ['end marker with length bits 5', [18, 0x61, 0x15, 0, 0], 1, /end marker/],
    ['only zero length bytes', new Array(1000).fill(0), 4096, /input overrun/],
    ['literals past the page', [20, 1, 2, 3, ...EOS], 2, /output overrun/],
    ['short output', [20, 1, 2, 3, ...EOS], 4, /decoded 3 bytes, expected 4/],
    ['too short', [0x11, 0], 0, /shorter than the end marker/],
  ];
  for (const [why, bytes, size, msg] of bad) t.throws(() => dec(bytes, size), { instanceOf: LzoError, message: msg }, why);
});

test('decodes liblzo output that uses M4 (distance over 16 KiB)', (t) => {
  t.deepEqual(lzo1xDecompress(vector('far-17600', 'lzo'), 17600), vector('far-17600', 'raw'));
});

test('the compressor emits M2, M3, M4 and long runs that decode back', (t) => {
  const block = randomBytes(20000, 5);
  const input = new Uint8Array(60000);
  input.set(block, 0); // M4: distance 40000
  input.set(block, 40000);
  input.set(block.subarray(0, 3000), 20000); // M3 at 20000 > 16 KiB -> M4 too; then a short-distance M2 run
  input.fill(7, 23000, 23100);
  for (let i = 23100; i < 40000; i++) input[i] = block[i % 300]!; // period-300 repeats: M2/M3 matches
  const packed = lzo1xCompress(input);
  t.deepEqual(lzo1xDecompress(packed, input.length), input);
  t.true(packed.length < 25000, `${packed.length} bytes`);
  t.deepEqual([...packed.subarray(-3)], EOS);
});

test('the compressor stays within liblzo\'s worst-case bound', (t) => {
  for (const n of [0, 1, 238, 239, 4096, 65536]) {
    const packed = lzo1xCompress(randomBytes(n, n + 1));
    t.true(packed.length <= n + (n >> 4) + 64 + 3, `${n} -> ${packed.length}`);
    t.deepEqual(lzo1xDecompress(packed, n), randomBytes(n, n + 1));
  }
  t.deepEqual([...lzo1xCompress(new Uint8Array(0))], EOS);
});
