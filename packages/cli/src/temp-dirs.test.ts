/**
 * Tests clean up after themselves: a directory a test file makes under the system's temp
 * directory is removed when the file's tests end (`test.after.always` for one made at load,
 * `t.teardown` for one made in a test), pass or fail. Before, every run of the suite left its
 * `vmpipe-struct-decode-*`, `vmpipe-cli-test-*`, ... directories in /tmp.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const src = join(pkg, 'src');
const ava = join(dirname(createRequire(import.meta.url).resolve('ava')), 'cli.mjs'); // ava's bin, beside its main

test('struct-decode\'s tests, run with a temp directory of their own, leave it empty', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-temp-dirs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [ava, 'dist/struct-decode.test.js'], { cwd: pkg, encoding: 'utf8', env: { ...process.env, TMPDIR: dir } });
  t.is(r.status, 0, r.stdout + r.stderr);
  t.regex(r.stdout + r.stderr, /\d+ tests? passed/);
  t.deepEqual(readdirSync(dir), []);
});

test('every cli test file that makes a directory under the temp directory removes as many', (t) => {
  const files = readdirSync(src).filter((f) => f.endsWith('.test.ts'));
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(join(src, file), 'utf8');
    const made = text.match(/mkdtemp(?:Sync)?\(join\(tmpdir\(\)/g)?.length ?? 0;
    if (made === 0) continue;
    checked++;
    const removed = text.match(/(?:test\.after\.always|t\.teardown)\(\(\) => rmSync\(/g)?.length ?? 0;
    t.true(removed >= made, `${file}: ${made} made, ${removed} removed`);
  }
  t.true(checked >= 10, `${checked} files make temp dirs`);
});
