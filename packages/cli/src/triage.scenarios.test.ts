/**
 * triage on the real crashes of the scenario fixtures (fixtures/scenarios: crashmod crashing
 * Debian's 5.10, 6.1 and 6.12 kernels under QEMU). Each title is the one syzkaller's report rules
 * (pkg/report/linux.go, read as facts) give the report in the dump's own log: the format for the
 * crash type with the first frame that is not reporting machinery, clone suffixes taken off
 * (`vmpipe_walk_queue.constprop.0` is `vmpipe_walk_queue`). The guilty function is checked against
 * the console log the recipe saved, which the dump never saw. The same bug on three kernels
 * (other KASLR offsets, PIDs, builds) has one hash; different bugs have different ones.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..', 'fixtures', 'scenarios');

/** scenario -> [crash type, title] as syzkaller's formats spell them. */
const WANT: Record<string, [string, string]> = {
  seed: ['GPF', 'general protection fault in vmpipe_walk_queue'],
  bugirq: ['BUG', 'kernel BUG in vmpipe_timer_fn'],
  hardlockup: ['RCU stall', 'INFO: rcu detected stall in vmpipe_spin_thread'], // TCG has no PMU: the RCU stall detector catches it
  hung: ['hung task', 'INFO: task hung in vmpipe_waiter_thread'],
  listdel: ['list corruption', 'BUG: corrupted list in vmpipe_listdel_thread'],
  null: ['NULL dereference', 'BUG: unable to handle kernel NULL pointer dereference in vmpipe_first_seq'],
  softlockup: ['soft lockup', 'BUG: soft lockup in vmpipe_spin_thread'],
  warn: ['WARNING', 'WARNING in vmpipe_warn_thread'],
  longlist: ['panic message', 'kernel panic: crashmod: longlist'],
  manytasks: ['panic message', 'kernel panic: crashmod: panic'],
};

const dumps = existsSync(root)
  ? readdirSync(root).flatMap((kernel) => (statSync(join(root, kernel)).isDirectory() ? readdirSync(join(root, kernel)).map((s) => join(root, kernel, s, 'vmcore.kdump')) : [])).filter((d) => existsSync(d))
  : [];
const scenarioOf = (d: string) => d.split('/').at(-2)!;
const kernelOf = (d: string) => d.split('/').at(-3)!;

function signature(dump: string): Record<string, unknown> {
  const r = runBinSync('triage', [dump]);
  const sig = r.records().find((x) => x.kind === 'signature');
  if (!sig) throw new Error(`${dump}: no signature (exit ${r.code}): ${r.err}`);
  return sig;
}

(dumps.length ? test : test.skip)('every scenario: the title and crash type syzkaller\'s rules give, the guilty function the console log shows, one hash per bug across kernels', (t) => {
  const hashes = new Map<string, Set<string>>();
  for (const dump of dumps) {
    const name = scenarioOf(dump);
    const want = WANT[name];
    if (!want) continue;
    const s = signature(dump);
    t.is(s['title'], want[1], `${kernelOf(dump)}/${name}`);
    t.is(s['crashType'], want[0], `${kernelOf(dump)}/${name}`);
    t.false(s['corrupted'], `${kernelOf(dump)}/${name}`);
    const consoleLog = readFileSync(join(dirname(dump), 'console.log'), 'latin1');
    if (s['guilty']) t.true(consoleLog.includes(String(s['guilty'])), `${kernelOf(dump)}/${name}: ${String(s['guilty'])} is in the console log`);
    let set = hashes.get(name);
    if (!set) hashes.set(name, (set = new Set()));
    set.add(String(s['hash']));
  }
  // The seed's bug on 5.10, 6.1 and 6.12: one hash.
  t.is(hashes.get('seed')?.size, 1);
  t.true(dumps.filter((d) => scenarioOf(d) === 'seed').length >= 3);
  // Different bugs, different hashes (the seed's against every other scenario's).
  const seed = [...hashes.get('seed')!][0];
  for (const [name, set] of hashes) if (name !== 'seed') t.false(set.has(seed!), name);
});
