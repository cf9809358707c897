#!/usr/bin/env node
// Micro benchmark of the page codecs: decompress N pages per codec.
// Usage: node tools/bench/codecs.mjs [pages=2000]   (build packages/codecs first)
// Pages are 4 KiB chunks of /usr/bin binaries (kernel-ish: code, tables, zeros),
// falling back to synthetic pages where /usr/bin is not readable.
import { readdirSync, readFileSync } from 'node:fs';
import { CODECS, compress, decompress } from '../../packages/codecs/dist/index.js';

const PAGE = 4096;
const N = Number(process.argv[2] ?? 2000);

function samplePages() {
  const pages = [];
  try {
    for (const f of readdirSync('/usr/bin').sort()) {
      let b;
      try { b = readFileSync('/usr/bin/' + f); } catch { continue; }
      for (let o = 0; o + PAGE <= b.length && pages.length < N; o += PAGE * 3) pages.push(b.subarray(o, o + PAGE));
      if (pages.length >= N) break;
    }
  } catch { /* no /usr/bin */ }
  for (let i = pages.length; i < N; i++) pages.push(Uint8Array.from({ length: PAGE }, (_, j) => (j % 64 < 16 ? (i * j) & 0xff : 0)));
  return pages;
}

const pages = samplePages();
const rows = [];
for (const codec of CODECS) {
  const packed = await Promise.all(pages.map((p) => compress(codec, p)));
  const inBytes = packed.reduce((a, p) => a + p.length, 0);
  for (let i = 0; i < Math.min(200, N); i++) decompress(codec, packed[i], PAGE); // warm up
  const t0 = process.hrtime.bigint();
  for (const p of packed) decompress(codec, p, PAGE);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rows.push({ codec, pages: N, ratio: (inBytes / (N * PAGE)).toFixed(3), 'pages/s': Math.round(N / s), 'MB/s': ((N * PAGE) / s / 1e6).toFixed(1) });
}
console.table(rows);
