/**
 * The README's "seed investigation as one pipeline", run exactly as the README
 * prints it (the sh block is read out of README.md), on the 6.1 seed scenario
 * (fixtures/scenarios/6.1.0-56-cloud-amd64/seed). Each step's text is checked
 * against crash 8.0.2 on the same dump (that fixture's expected/crash.*): bt's
 * exception frame, dis of the faulting instruction, struct -o, rd, kmem ADDR and
 * list -H up to the poisoned entry.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const seed = join(root, 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'seed');
const crash = (f: string) => readFileSync(join(seed, 'expected', f), 'latin1');
const haveZstd = spawnSync('zstd', ['--version']).status === 0;
const have = existsSync(join(seed, 'vmcore.kdump')) && haveZstd;
if (!have) console.log(`seed pipeline test skipped: ${haveZstd ? 'no seed fixture' : 'no zstd command (.ci/run installs it)'}`);

/** The README section's sh block. */
function readmePipeline(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split('\n## ').find((s) => s.startsWith('The seed investigation as one pipeline'));
  const block = section && /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no "The seed investigation as one pipeline" sh block');
  return block[1]!;
}

(have ? test : test.skip)('the README\'s seed pipeline: panic, bt, dis, struct -o, rd, kmem and the broken list in one stream, each as crash prints it', (t) => {
  const bin = join(root, 'node_modules', '.bin');
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', readmePipeline()], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FORCE_COLOR: '0' }, maxBuffer: 64 << 20 });
  t.is(r.status, 0, r.stderr);
  const out = r.stdout;
  const lines = out.split('\n');
  // bt: crash's exception frame, line for line
  const bt = crash('crash.bt.txt').split('\n');
  const from = bt.findIndex((l) => l.includes('[exception RIP:'));
  for (const l of bt.slice(from, from + 8)) t.true(lines.includes(l), `crash bt: ${l}`);
  // dis: the faulting instruction as crash dis prints it, marked, with its operand's address and member
  const faulting = crash('crash.dis-vmpipe_walk_queue.constprop.0.txt').split('\n').find((l) => l.startsWith('0xffffffffc03932b2 '))!;
  const at = lines.indexOf(`=> ${faulting}`);
  t.true(at > 0, `=> ${faulting}`);
  t.regex(lines[at + 1]!, /; \(%rdx\) = 0xdead000000000100 {2}vmpipe_item\.node$/);
  // struct -o: crash's layout, block for block
  t.true(out.includes(crash('crash.struct-vmpipe_item-o.txt').trimEnd()), 'crash struct vmpipe_item -o');
  // rd: the freed entry's words (LIST_POISON1/2, magic, seq and flags 0xdead, the tag)
  for (const l of crash('crash.rd-64-0xffff8e15029b5700-8.txt').split('\n').slice(0, 3)) t.true(lines.includes(l.slice(0, 52)), `crash rd: ${l}`);
  // kmem ADDR: the free object of the vmpipe_item cache, crash's block whole
  t.true(out.includes(crash('crash.kmem-0xffff8e15029b5700.txt').trimEnd()), 'crash kmem 0xffff8e15029b5700');
  // list -H: crash's nodes in order up to the poisoned one, then the corruption named
  const crashNodes = crash('crash.list-H-vmpipe_queue-s-vmpipe_item.txt').split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l)).slice(0, -1);
  const ours = lines.filter((l) => /^[0-9a-f]{16}$/.test(l));
  t.deepEqual(ours, crashNodes);
  t.regex(out, /error: list-corrupt: next of 0xffff8e15029b5700 is LIST_POISON1 \(0xdead000000000100\)/);
});
