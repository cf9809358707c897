#!/usr/bin/env node
// Time and peak memory of a filter reading a large NDJSON stream, per MB of input:
//   node tools/fuzz/stream-bench.mjs [MB=1024] [command=sym-resolve] [args...]
// The stream is `mem` records naming the shipped fixture, written into the filter's stdin as it
// reads (nothing is stored); peak memory is the child's VmHWM. Run after `npx nx run-many -t build`.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [mbArg = '1024', command = 'sym-resolve', ...rest] = process.argv.slice(2);
const mb = Number(mbArg);
const args = rest.length ? rest : command === 'sym-resolve' ? ['--field', 'nothing'] : [];
const bin = fileURLToPath(new URL(`../../packages/cli/bin/${command}.js`, import.meta.url));
const dump = fileURLToPath(new URL('../../fixtures/real/vmcore.kdump-zlib', import.meta.url));
const line = JSON.stringify({ kind: 'mem', dump, space: 'virtual', addr: '0xffffffff8ae1aa40', width: 8, words: ['0x1', '0xffffffff8ae1aa40'] }) + '\n';
const chunk = Buffer.from(line.repeat(Math.ceil((1 << 20) / line.length)));
const start = performance.now();
const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
let peak = 0;
const poll = setInterval(() => {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    if (m) peak = Math.max(peak, Number(m[1]) * 1024);
  } catch {}
}, 200);
let written = 0;
const total = mb * (1 << 20);
const pump = () => {
  while (written < total) {
    written += chunk.length;
    if (!child.stdin.write(chunk)) return child.stdin.once('drain', pump);
  }
  child.stdin.end();
};
pump();
child.on('close', (code) => {
  clearInterval(poll);
  const s = (performance.now() - start) / 1000;
  const inMb = written / (1 << 20);
  console.log(`${command} ${args.join(' ')}: ${inMb.toFixed(0)} MB in ${s.toFixed(1)} s (${((s * 1000) / inMb).toFixed(1)} ms/MB, ${(inMb / s).toFixed(1)} MB/s), peak RSS ${Math.round(peak / 2 ** 20)} MiB, exit ${code}`);
});
