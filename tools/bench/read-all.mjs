#!/usr/bin/env node
// Child process of dump-read.mjs: reads every present page of a dump through
// @vmpipe/dump, the way vmcore-extract does, and prints one JSON line:
// {pages, bytes, seconds, maxRssMB}. Run separately so its peak RSS is its own.
import { openDump } from '../../packages/dump/dist/index.js';

const path = process.argv[2];
const t0 = process.hrtime.bigint();
const dump = openDump(path);
const size = BigInt(dump.pageSize);
let pages = 0;
let bytes = 0;
const STEP = 64 * dump.pageSize; // read 64 pages per call, as a long --read would
for (const range of dump.memoryRanges()) {
  for (let addr = range.start; addr < range.end; addr += BigInt(STEP)) {
    const left = range.end - addr;
    const len = Number(left < BigInt(STEP) ? left : BigInt(STEP));
    for (const chunk of dump.readPhysical(addr, len)) {
      if ('bytes' in chunk) {
        bytes += chunk.bytes.length;
        pages += Math.ceil(chunk.bytes.length / dump.pageSize);
      }
    }
  }
}
dump.close();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
void size;
console.log(JSON.stringify({ pages, bytes, seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
