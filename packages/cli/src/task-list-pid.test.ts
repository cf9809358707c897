/**
 * A task list broken on purpose, completed from the PID table: list-walk-broken.kdump is the
 * shipped fixture with `init_task.tasks` deleted with list_del at its 6th entry (and four other
 * lists broken: list-walk.test-helper.ts), rewritten by the project's dump writer. crash 9.0.2++'s
 * ps on it (fixtures/real/expected/crash-9.0.2++.list-walk-broken.kdump.ps.txt) reads the PID table
 * and lists every task; task-list, backtrace --all-tasks and vmcore-extract --sys must too, and say
 * where the list broke. Runs wherever the fixture is (CI).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokenCopyForTests } from './broken-dump.test-helper.js';
import { runBin as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const REAL = join(here, '..', '..', '..', 'fixtures', 'real');
const dump = join(REAL, 'vmcore.kdump-zlib');
const expected = (name: string) => readFileSync(join(REAL, 'expected', name), 'latin1');


/** crash ps task lines, %MEM left out (crash divides by a different total: fixtures/real/PS-NOTES.md). */
const psLines = (text: string) => text.split('\n').filter((l) => /^[> ]\s+\d+\s/.test(l)).map((l) => l.replace(/^(.{44})\s+\S+/, '$1'));

const { path: broken, broke: b } = brokenCopyForTests(dump, 'vmpipe-task-list-pid-');

test('task-list on a task list deleted at its 6th entry: crash 9 ps\'s tasks, the rest from the PID table, and a task-list-broken record saying where', async (t) => {
  const theirs = psLines(expected('crash-9.0.2++.list-walk-broken.kdump.ps.txt'));
  // crash reads the PID table: on the broken copy it lists what it lists on the clean dump
  t.deepEqual(theirs, psLines(expected('crash-9.0.2++.vmcore.kdump-zlib.ps.txt')));
  const text = await run('task-list', [broken, '--format', 'crash', '--sort', 'pid']);
  t.is(text.code, 0, text.err);
  t.deepEqual(psLines(text.out), theirs);
  const r = await run('task-list', [broken]);
  const rs = r.records();
  const tasks = rs.filter((x) => x.kind === 'task');
  // the list walk: init_task and the 5 entries up to the deleted one (it is still reached, its links are poison)
  const viaList = tasks.filter((x) => x['via'] === 'tasks');
  t.deepEqual(viaList.map((x) => x['task']), b.tasks!.entries.slice(0, 6).map((e) => `0x${e.toString(16)}`));
  const fromPid = tasks.filter((x) => x['via'] === 'pid');
  t.is(fromPid.length, theirs.length - viaList.length - tasks.filter((x) => x['via'] === 'idle').length);
  t.true(fromPid.length > 40);
  // where it broke: the deleted entry's task_struct.tasks (pahole's offset of the member)
  const offTasks = BigInt(/struct list_head\s+tasks;\s+\/\*\s+(\d+)/.exec(expected('pahole.vmlinux.C-task_struct.txt'))![1]!);
  const brokenRec = rs.filter((x) => x.kind === 'error' && x['code'] === 'task-list-broken');
  t.is(brokenRec.length, 1);
  t.like(brokenRec[0], { reason: 'poison', link: 'next', pointer: '0xdead000000000100', walked: 5, fromPidTable: fromPid.length, unreadableFromPidTable: 0 });
  t.is(brokenRec[0]!['addr'], `0x${(b.tasks!.freed + offTasks).toString(16)}`);
  t.regex(String(brokenRec[0]!['message']), /^init_task\.tasks broke at 0x[0-9a-f]+ \(next of 0x[0-9a-f]+ is LIST_POISON1 .*\); \d+ more tasks found through the PID table \(init_pid_ns\.idr\)$/);
});

test('backtrace --all-tasks and vmcore-extract --sys on the broken copy get the same tasks (crash ps\'s, and crash sys\'s TASKS on the clean dump)', async (t) => {
  const bt = await run('backtrace', [broken, '--all-tasks']);
  t.is(bt.code, 0, bt.err);
  const traced = new Set(bt.records().filter((x) => x.kind === 'frame').map((x) => String(x['task']).slice(2)));
  const theirs = psLines(expected('crash-9.0.2++.list-walk-broken.kdump.ps.txt')).map((l) => l.slice(1).trim().split(/\s+/)[3]!);
  t.deepEqual([...traced].sort(), [...theirs].sort());
  const sys = await run('vmcore-extract', [broken, '--sys']);
  const rec = sys.records().find((x) => x.kind === 'system')!;
  t.is(rec['tasks'], theirs.length);
});

test('a clean dump: no task-list-broken record, and no task from the PID table alone', async (t) => {
  const rs = (await run('task-list', [dump])).records();
  t.is(rs.filter((x) => x.kind === 'error').length, 0);
  t.is(rs.filter((x) => x['via'] === 'pid').length, 0);
  t.is(rs.filter((x) => x.kind === 'task').length, psLines(expected('crash-9.0.2++.vmcore.kdump-zlib.ps.txt')).length);
});
