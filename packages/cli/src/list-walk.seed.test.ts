/**
 * The seed's damage on a real dump: the scenarios' 6.1 `seed` (crashmod walks
 * vmpipe_queue while an entry was list_del-poisoned and freed behind its back;
 * GPF on 0xdead000000000100). Against crash 8.0.2's `list -H vmpipe_queue -s
 * vmpipe_item` on the same dump (fixtures/scenarios/.../seed/expected): the
 * same nodes up to the poisoned one, then one list-corrupt record naming the
 * poison and the freed entry (crash `p vmpipe_victim`), whose flags the module
 * set to 0xdead when it retired it. vmpipe_item's layout is crashmod.ko's DWARF.
 * Skips, saying so, until the scenario fixture is in the tree (VMPIPE_SEED_DIR
 * points at another copy).
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { runBinSync } from './run-bin.test-helper.js';

const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-crashmod-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** The fixture keeps crashmod.ko zstd-compressed (crashmod.ko.zst): unpacked once into a temp dir. */
function crashmodKo(dir: string): string {
  const out = join(mkdtempSync(join(tmp, 'ko-')), 'crashmod.ko');
  writeFileSync(out, decompress(readFileSync(join(dir, 'crashmod.ko.zst'))));
  return out;
}

const here = dirname(fileURLToPath(import.meta.url));
const seed = process.env['VMPIPE_SEED_DIR'] ?? join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'seed');
const dump = join(seed, 'vmcore.kdump');
const crash = (f: string) => readFileSync(join(seed, 'expected', f), 'latin1');
const have = existsSync(dump) && existsSync(join(seed, 'expected', 'crash.list-H-vmpipe_queue-s-vmpipe_item.txt'));
const seedTest = have ? test : test.skip;
if (!have) console.log(`list-walk seed tests skipped: no ${dump} (the scenarios' seed fixture)`);

/** `list-walk DUMP ARGS` on the seed dump. */
const walk = (args: string[]) => runBinSync('list-walk', [dump, ...args]);

seedTest('vmpipe_queue: crash list -H\'s nodes up to the poisoned one, then LIST_POISON1 and the freed entry', (t) => {
  const text = crash('crash.list-H-vmpipe_queue-s-vmpipe_item.txt');
  const crashNodes = text.split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l));
  // crash's last "entry" is the poison itself; then its error.
  t.is(crashNodes.at(-1), 'dead000000000100');
  t.regex(text, /invalid kernel virtual address: dead000000000100/);
  const r = walk(['--head', 'vmpipe_queue']);
  t.is(r.code, 0, r.err);
  const nodes = r.records().filter((x) => x.kind === 'list-entry').map((x) => BigInt(x.node as string).toString(16).padStart(16, '0'));
  t.deepEqual(nodes, crashNodes.slice(0, -1));
  const victim = /\(struct vmpipe_item \*\) (0x[0-9a-f]+)/.exec(crash('crash.p-vmpipe_victim.txt'))![1]!;
  const c = r.records().at(-1)!;
  t.like(c, { kind: 'error', code: 'list-corrupt', reason: 'poison', poison: 'LIST_POISON1', pointer: '0xdead000000000100', addr: victim, walked: nodes.length });
  t.regex(c.message as string, new RegExp(`^next of ${victim} is LIST_POISON1 \\(0xdead000000000100\\)`));
});

seedTest('--type vmpipe_item --fields seq,flags (crashmod.ko DWARF): what the freed entry holds, as crash struct vmpipe_item shows it', (t) => {
  const victim = /\(struct vmpipe_item \*\) (0x[0-9a-f]+)/.exec(crash('crash.p-vmpipe_victim.txt'))![1]!;
  const queue = /vmpipe_queue = (0x[0-9a-f]+)|"vmpipe_queue": "(0x[0-9a-f]+)"/.exec(readFileSync(join(seed, 'expected', 'facts.json'), 'utf8'))!;
  // The module's symbols resolve with the kernel's; its types come from its own DWARF (a hex head, as the
  // .ko's symtab is not the dump's).
  const r = walk(['--head', (queue[1] ?? queue[2])!, '--type', 'vmpipe_item', '--member', 'node', '--fields', 'seq,flags', '--vmlinux', crashmodKo(seed), '--dwarf', '--force']);
  t.is(r.code, 0, r.err);
  const entries = r.records().filter((x) => x.kind === 'list-entry');
  t.deepEqual(entries.map((x) => (x.value as { seq: number }).seq), entries.map((_, i) => i));
  t.true(entries.slice(0, -1).every((x) => (x.value as { flags: number }).flags === 0));
  const c = r.records().at(-1)!;
  t.like(c, { code: 'list-corrupt', entry: victim, type: 'struct vmpipe_item', value: { seq: entries.length - 1, flags: 0xdead } });
  const shown = crash(`crash.struct-vmpipe_item-${victim}.txt`);
  t.regex(shown, /flags = 57005,/);
  t.regex(shown, new RegExp(`seq = ${entries.length - 1},`));
});

// The same pattern on 6.12, against drgn 0.2.0+197 (crash 8.0.2 cannot read 6.12): its
// list_for_each_entry(struct vmpipe_item, &vmpipe_queue, node) lists six entries with seq and
// flags, then faults on 0xdead000000000100.
const seed612 = process.env['VMPIPE_SEED612_DIR'] ?? join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.12.117+deb12-cloud-amd64', 'seed');
const have612 = existsSync(join(seed612, 'vmcore.kdump')) && existsSync(join(seed612, 'expected', 'drgn.scenario.txt'));
if (!have612) console.log(`list-walk 6.12 seed test skipped: no ${seed612}/vmcore.kdump (the scenarios' 6.12 seed fixture)`);
(have612 ? test : test.skip)('6.12 seed: drgn list_for_each_entry\'s entries, seq and flags, then the poison drgn faults on', (t) => {
  const drgn = readFileSync(join(seed612, 'expected', 'drgn.scenario.txt'), 'utf8');
  const want = [...drgn.matchAll(/^(0x[0-9a-f]+) seq=(\d+) flags=(0x[0-9a-f]+) next=(0x[0-9a-f]+)$/gm)].map((m) => ({ entry: m[1], seq: Number(m[2]), flags: Number(m[3]), next: m[4] }));
  t.is(want.length, 6);
  t.regex(drgn, /FaultError: .*0xdead000000000100/);
  const r = runBinSync('list-walk', [join(seed612, 'vmcore.kdump'), '--head', 'vmpipe_queue', '--type', 'vmpipe_item', '--member', 'node', '--fields', 'seq,flags',
    '--vmlinux', crashmodKo(seed612), '--dwarf', '--force']);
  t.is(r.code, 0, r.err);
  const rs = r.records();
  // vmpipe_queue resolves through the dump's kallsyms (which come before --vmlinux's symtab); the types are the module's DWARF.
  const entries = rs.filter((x) => x.kind === 'list-entry');
  t.deepEqual(entries.map((x) => ({ entry: x.entry, ...(x.value as object), next: x.next })), want);
  t.like(rs.at(-1), { code: 'list-corrupt', reason: 'poison', entry: want.at(-1)!.entry, value: { seq: 5, flags: 0xdead } });
});
