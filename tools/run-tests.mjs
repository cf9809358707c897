#!/usr/bin/env node
// `npm test`: builds and tests every package through nx, then prints one closing line
// `tests: N passed, N failed` summed over every package's ava run, so CI and people see
// the whole suite's count in one place. Exits with nx's status.
import { spawn } from 'node:child_process';

const args = ['nx', 'run-many', '-t', 'build', 'test', '--outputStyle=stream', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } });
let passed = 0;
let failed = 0;
let rest = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (rest + chunk.toString()).split('\n');
  rest = lines.pop() ?? '';
  for (const line of lines) count(line);
});
child.on('close', (code) => {
  count(rest);
  console.log(`\ntests: ${passed} passed, ${failed} failed`);
  process.exit(code ?? 1);
});

function count(line) {
  // ava's summary lines: "  40 tests passed", "  1 test failed", "  2 tests failed", "  1 uncaught exception"
  const m = /\b(\d+) (?:tests?|known failures?) (passed|failed)\b/.exec(line);
  if (m) (m[2] === 'passed' ? (passed += Number(m[1])) : (failed += Number(m[1])));
  const u = /\b(\d+) (?:uncaught exceptions?|unhandled rejections?)\b/.exec(line);
  if (u) failed += Number(u[1]);
}
