/**
 * task-list --last-run / --times as crash 8.0.2's `ps -l` and `ps -t` on the
 * same dumps: the real fixture (fixtures/real/expected/crash.vmcore.kdump-zlib.ps-l/-t)
 * and every 6.1 scenario (fixtures/scenarios/6.1.0-56-cloud-amd64/SCENARIO/expected/crash.ps-l/-t,
 * with their .cmd). crash lists only the tasks its PID hash gives it (3 of 55
 * on the real fixture); where it has them all the text is compared byte for
 * byte, else crash's tasks are picked out of ours, in our order.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

/** `task-list DUMP FLAG --format crash EXTRA`: crash's ps text. */
const taskList = (dump: string, flag: string, extra: string[]) => runBinSync('task-list', [dump, flag, '--format', 'crash', ...extra]);

/** ps -l lines or ps -t blocks, each with the TASK address it is about. */
function units(text: string, blocks: boolean): { task: string; text: string }[] {
  const parts = blocks ? text.split(/\n\n/).filter((b) => b.trim() !== '').map((b) => `${b}\n\n`) : text.split('\n').filter(Boolean).map((l) => `${l}\n`);
  return parts.map((p) => ({ task: /TASK: ([0-9a-f]+)/.exec(p)?.[1] ?? '?', text: p }));
}

/** Our output cut down to crash's tasks; the ps -l bracket re-padded to crash's width when crash lacks our newest task. */
function compare(ours: string, crash: string, blocks: boolean): { got: string; want: string; all: boolean } {
  const want = units(crash, blocks);
  const got = units(ours, blocks);
  const theirs = new Set(want.map((u) => u.task));
  const all = got.length === want.length;
  let picked = got.filter((u) => theirs.has(u.task)).map((u) => u.text);
  if (!blocks && !all) picked = picked.map((l) => l.replace(/^\[ *(\d+)\]/, (_m, v: string) => `[${v.padStart(/^\[( *\d+)\]/.exec(crash)![1]!.length)}]`));
  return { got: picked.join(''), want: crash, all };
}

const cases: { name: string; dump: string; l: string; t: string; extra: string[]; need?: string }[] = [];
const REAL = join(root, 'fixtures', 'real');
cases.push({ name: 'real fixture', dump: join(REAL, 'vmcore.kdump-zlib'), l: join(REAL, 'expected', 'crash.vmcore.kdump-zlib.ps-l.txt'), t: join(REAL, 'expected', 'crash.vmcore.kdump-zlib.ps-t.txt'), extra: [] });
// The lean scenario cuts keep no kallsyms: the same 6.1 build's System.map and BTF from fixtures/real stand in
// (as backtrace's pages were recorded). The 5.10 seed's cut lacks the thread lists (signal->thread_head): not compared.
const lean61 = ['--system-map', join(REAL, 'System.map.gz'), '--btf', join(REAL, 'vmlinux.btf.zst')];
for (const kernel of ['6.1.0-56-cloud-amd64']) {
  const dir = join(root, 'fixtures', 'scenarios', kernel);
  if (!existsSync(dir)) continue;
  for (const s of readdirSync(dir)) {
    const e = join(dir, s, 'expected');
    if (!existsSync(join(e, 'crash.ps-l.txt'))) continue;
    cases.push({ name: `${kernel}/${s}`, dump: join(dir, s, 'vmcore.kdump'), l: join(e, 'crash.ps-l.txt'), t: join(e, 'crash.ps-t.txt'), extra: s === 'seed' ? [] : lean61 });
  }
}

for (const c of cases) {
  const have = existsSync(c.dump) && existsSync(c.l) && (c.need === undefined || existsSync(c.need));
  if (!have) console.log(`task-times ${c.name} skipped: no ${c.dump}, ${c.l}${c.need ? ` or ${c.need}` : ''}`);
  // serial: each case runs two task-list processes; eleven at once starve a 2-core machine
  (have ? test.serial : test.skip)(`${c.name}: --last-run is crash ps -l, --times is crash ps -t`, (t) => {
    for (const [flag, file, blocks] of [['--last-run', c.l, false], ['--times', c.t, true]] as const) {
      const r = taskList(c.dump, flag, c.extra);
      t.is(r.code, 0, r.err);
      // The lean cuts keep the task_structs crash read, not every thread list head (signal->thread_head):
      // those are error records, and only those.
      const errors = r.out.split('\n').filter((l) => l.startsWith('error: '));
      t.true(errors.every((l) => /^error: task-list-corrupt: .* cannot be read: .* excluded by the dump level/.test(l)), errors.join('\n'));
      const text = r.out.split('\n').filter((l) => !l.startsWith('error: ')).join('\n');
      const { got, want, all } = compare(text, readFileSync(file, 'latin1'), blocks);
      t.true(want.length > 0);
      t.is(got, want, `${flag}${all ? '' : ' (crash sees only some tasks)'}`);
      if (all) t.is(text, want);
    }
  });
}
