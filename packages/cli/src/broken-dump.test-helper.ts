/**
 * The shipped fixture with the list-walk breakages (list-walk.test-helper.ts) written into a
 * temporary copy, made before a test file's tests and removed after them: what list-walk's and
 * task-list's tests on a broken kernel read. Its own file because it registers ava hooks, which
 * list-walk.test-helper.ts (also imported by tools/bench) must not.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { breakages, patchedDump, type Broken } from './list-walk.test-helper.js';

/** The copy's path, and what was broken where (filled in before the tests run). */
export function brokenCopyForTests(dump: string, tmpPrefix: string): { path: string; broke: Partial<Broken> } {
  const tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
  const path = join(tmp, 'list-walk-broken.kdump');
  const broke: Partial<Broken> = {};
  test.before(async () => {
    await patchedDump(dump, path, breakages(broke));
  });
  test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
  return { path, broke };
}
