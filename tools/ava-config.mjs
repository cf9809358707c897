// Every package's ava config (its ava.config.mjs calls this): one fresh, empty vmpipe cache
// directory per ava run, in $VMPIPE_CACHE for the test files and every command they spawn, and
// removed when the run ends. Without it the tests read and write the user's ~/.cache/vmpipe,
// which every worktree and every earlier run share: a test could pass only on a cache entry
// another run left there, and runs in different worktrees overwrite each other's entries.
// Tests of the cache itself give their own directory (cacheDir option, VMPIPE_CACHE in the env
// they pass) and are not affected. This file runs in ava's main process only, once per run.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * ava options of a package (`files`, `timeout`, `serial`): the same, with the run's own cache
 * and the run's own temporary directory. TMPDIR points the test files and every command they
 * spawn (os.tmpdir(), mkdtempSync) into a directory removed when the run ends, so the dumps and
 * directories a test makes never pile up in /tmp, whether or not that test cleans up after
 * itself (a failed or interrupted test does not).
 */
export default function avaConfig(options) {
  const run = mkdtempSync(join(tmpdir(), 'vmpipe-test-run-'));
  const cache = join(run, 'cache');
  const tmp = join(run, 'tmp');
  mkdirSync(cache);
  mkdirSync(tmp);
  process.on('exit', () => rmSync(run, { recursive: true, force: true }));
  return {
    files: ['dist/**/*.test.js'],
    ...options,
    environmentVariables: { ...options?.environmentVariables, VMPIPE_CACHE: cache, TMPDIR: tmp },
  };
}
