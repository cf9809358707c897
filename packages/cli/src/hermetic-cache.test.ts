/**
 * The suite is hermetic about the vmpipe cache and the temp directory: each ava run has its own
 * empty cache directory in VMPIPE_CACHE and its own TMPDIR (tools/ava-config.mjs, every
 * package's ava.config.mjs), removed after the run, and the commands the tests spawn write there, never into the user's ~/.cache/vmpipe that other worktrees and runs
 * share (where a test could pass on an entry another run left).
 */
import test from 'ava';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, '..', '..', '..', 'fixtures', 'real', 'vmcore.kdump-zlib');

test('the tests\' VMPIPE_CACHE is this run\'s own directory, not the user\'s cache', (t) => {
  const dir = process.env['VMPIPE_CACHE'];
  t.truthy(dir, 'VMPIPE_CACHE is set for the test run');
  // where the cache is without VMPIPE_CACHE (packages/cache cacheDir())
  const user = process.env['XDG_CACHE_HOME'] ? join(process.env['XDG_CACHE_HOME'], 'vmpipe') : join(homedir(), '.cache', 'vmpipe');
  t.not(dir, user);
  // tools/ava-config.mjs: <system temp>/vmpipe-test-run-*/cache, beside the run's own TMPDIR (…/tmp), all removed after the run
  t.regex(basename(dirname(dir!)), /^vmpipe-test-run-/, `${dir} is in a run's directory`);
  t.is(join(dirname(dir!), 'tmp'), tmpdir(), 'the run\'s TMPDIR is beside its cache');
  t.true(statSync(dir!).isDirectory());
});

test('a spawned command keeps the dump\'s BTF in the run\'s cache', (t) => {
  const dir = process.env['VMPIPE_CACHE']!;
  t.truthy(dir);
  // --panic reads the crashing task, which needs the dump's own BTF: the first command to load it writes btf-<build-id>.bin
  const r = runBinSync('vmcore-extract', [fixture, '--panic']);
  t.is(r.code, 0, r.err);
  t.true(existsSync(dir) && readdirSync(dir).some((f) => /^btf-[0-9a-f]+\.bin$/.test(f)), `a btf entry in ${dir}`);
});
