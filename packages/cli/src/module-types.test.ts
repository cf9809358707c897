/**
 * A module's own types with no .ko at hand: `Program.findType` looks in the
 * kernel's BTF, then in each module's split BTF in memory (btf_modules), so
 * struct-decode and list-walk take a module's struct by name (`TYPE`, or
 * `TYPE [module]`). Against crash 8.0.2 after `mod -s MODULE MODULE.ko` (the
 * Debian -dbg package's DWARF .ko) and pahole -C on the same .ko, on the real
 * fixture (qemu_fw_cfg) and the scenarios' 6.1 seed (pvpanic); commands in
 * the .cmd files beside each expected file. With `--modules DIR` (crash
 * `mod -S`), a module without BTF (crashmod) gets its .ko's DWARF, and
 * module-list names each module's .ko, checked by build-id.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const REAL = join(root, 'fixtures', 'real');
const SEED = join(root, 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'seed');
const realDump = join(REAL, 'vmcore.kdump-zlib');
const seedDump = join(SEED, 'vmcore.kdump');
const real = existsSync(realDump) ? test : test.skip;
const seed = existsSync(seedDump) ? test : test.skip;
if (!existsSync(seedDump)) console.log(`module-types seed tests skipped: no ${seedDump}`);

/** crash's `list -s TYPE.a,b` text as [address, { member: value text }] (char arrays without crash's trailing \000s). */
function crashEntries(text: string): [string, Record<string, string>][] {
  const out: [string, Record<string, string>][] = [];
  for (const line of text.split('\n')) {
    if (/^[0-9a-f]{16}$/.test(line)) out.push([`0x${line}`, {}]);
    const m = /^ {2}(\w+) = (.*),$/.exec(line);
    if (m && out.length) out.at(-1)![1][m[1]!] = m[2]!.replace(/(\\000)+"$/, '"');
  }
  return out;
}

real('struct-decode --layout of a module\'s struct (qemu_fw_cfg\'s split BTF): crash struct -o after mod -s, byte for byte', (t) => {
  const r = run('struct-decode', [realDump, '--layout', 'fw_cfg_sysfs_entry', '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, readFileSync(join(REAL, 'expected', 'crash.struct-fw_cfg_sysfs_entry-o.txt'), 'latin1'));
  const rec = run('struct-decode', [realDump, '--layout', 'fw_cfg_sysfs_entry [qemu_fw_cfg]']).records().find((x) => x.kind === 'type');
  t.like(rec, { name: 'struct fw_cfg_sysfs_entry', module: 'qemu_fw_cfg', size: 144, types: 'btf-dump' });
  // a kernel type keeps no module field
  t.false('module' in run('struct-decode', [realDump, '--layout', 'list_head']).records().find((x) => x.kind === 'type')!);
});

real('list-walk -o a module\'s TYPE.member --fields: crash list -H -o -s\'s entries and values (fw_cfg_entry_cache)', (t) => {
  const want = crashEntries(readFileSync(join(REAL, 'expected', 'crash.list-H-fw_cfg_entry_cache-o-fw_cfg_sysfs_entry.list-s-size-select-name.txt'), 'latin1'));
  t.is(want.length, 15);
  const r = run('list-walk', [realDump, '--head', 'fw_cfg_entry_cache', '-o', 'fw_cfg_sysfs_entry.list', '--fields', 'size,select,name']);
  t.is(r.code, 0, r.err);
  const got = r.records().filter((x) => x.kind === 'list-entry');
  t.deepEqual(got.map((x) => x.entry), want.map((w) => w[0]));
  t.deepEqual(
    got.map((x) => { const v = x.value as { size: number; select: number; name: string }; return { size: String(v.size), select: String(v.select), name: JSON.stringify(v.name) }; }),
    want.map((w) => w[1]),
  );
  t.is(got[0]!.type, 'struct fw_cfg_sysfs_entry');
});

seed('seed: pvpanic_instance from pvpanic\'s split BTF: crash struct -o and pahole -C of the DWARF pvpanic.ko', (t) => {
  const crash = run('struct-decode', [seedDump, '--layout', 'pvpanic_instance', '--format', 'crash']);
  t.is(crash.code, 0, crash.err);
  t.is(crash.out, readFileSync(join(SEED, 'expected', 'crash.struct-pvpanic_instance-o.txt'), 'latin1'));
  const pahole = run('struct-decode', [seedDump, '--layout', 'struct pvpanic_instance [pvpanic]', '--format', 'pahole']);
  t.is(pahole.out, readFileSync(join(SEED, 'expected', 'pahole.pvpanic.ko.C-pvpanic_instance.txt'), 'latin1'));
  const off = run('struct-decode', [seedDump, '--offset', 'pvpanic_instance.list [pvpanic]']).records().find((x) => x.kind === 'offset');
  t.like(off, { type: 'struct pvpanic_instance', member: 'list', offset: 16, size: 16, typeSize: 32, module: 'pvpanic' });
});

seed('seed: the entry on pvpanic_list decoded by list-walk | struct-decode and by TYPE ADDR, as crash list -s shows it', (t) => {
  const text = readFileSync(join(SEED, 'expected', 'crash.list-H-pvpanic_list-o-pvpanic_instance.list-s-pvpanic_instance.txt'), 'latin1');
  const addr = `0x${/^([0-9a-f]{16})$/m.exec(text)![1]}`;
  const walk = run('list-walk', [seedDump, '--head', 'pvpanic_list', '-o', 'pvpanic_instance.list']);
  t.is(walk.code, 0, walk.err);
  t.deepEqual(walk.records().filter((x) => x.kind === 'list-entry').map((x) => x.entry), [addr]);
  const piped = run('struct-decode', [], { input: walk.out }).records().filter((x) => x.kind === 'list-entry');
  const direct = run('struct-decode', [seedDump, 'pvpanic_instance', addr]).records().find((x) => x.kind === 'object')!;
  t.like(direct, { type: 'struct pvpanic_instance', module: 'pvpanic', addr });
  for (const v of [piped[0]!.value, direct.value] as { base: string; capability: number; events: number; list: { next: string; prev: string } }[]) {
    t.is(v.base, /base = (0x[0-9a-f]+),/.exec(text)![1]);
    t.is(v.capability, Number(/capability = (\d+),/.exec(text)![1]));
    t.is(v.events, Number(/events = (\d+),/.exec(text)![1]));
    t.is(v.list.next, /next = (0x[0-9a-f]+) <pvpanic_list>/.exec(text)![1]);
  }
});

seed('seed: a module named in TYPE [module] that is not loaded is a usage error; crashmod carries no BTF, so vmpipe_item is not in memory', (t) => {
  const r = run('struct-decode', [seedDump, '--layout', 'pvpanic_instance [nosuch]']);
  t.is(r.code, 2);
  t.regex(r.err, /no module nosuch is loaded/);
  const c = run('struct-decode', [seedDump, '--layout', 'vmpipe_item [crashmod]']);
  t.is(c.code, 2);
  t.regex(c.err, /module crashmod has no BTF.*give --modules DIR/);
  const bare = run('struct-decode', [seedDump, '--layout', 'vmpipe_item']);
  t.is(bare.code, 2);
  t.regex(bare.err, /no type named "vmpipe_item".*not searched: crashmod \(no BTF; give --modules DIR/);
});

const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-ko-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** A directory holding the fixture's crashmod.ko (kept zstd-compressed), under a kernel-like path. */
function koDir(fixture: string): string {
  const dir = mkdtempSync(join(tmp, 'ko-'));
  mkdirSync(join(dir, 'extra'));
  writeFileSync(join(dir, 'extra', 'crashmod.ko'), decompress(readFileSync(join(fixture, 'crashmod.ko.zst'))));
  return dir;
}

seed('--modules DIR: crashmod\'s types from its .ko\'s DWARF (crash mod -s): struct -o, pahole -C, the seed\'s queue and its freed entry', (t) => {
  const dir = koDir(SEED);
  const exp = (f: string) => readFileSync(join(SEED, 'expected', f), 'latin1');
  const lay = run('struct-decode', [seedDump, '--layout', 'vmpipe_item', '--modules', dir, '--format', 'crash']);
  t.is(lay.code, 0, lay.err);
  t.is(lay.out, exp('crash.struct-vmpipe_item-o.txt'));
  t.is(run('struct-decode', [seedDump, '--layout', 'vmpipe_item [crashmod]', '--modules', dir, '--format', 'pahole']).out, exp('pahole.crashmod.ko.C-vmpipe_item.txt'));
  // list-walk -o TYPE.MEMBER: crash list -H vmpipe_queue's nodes, as entries of the module's type
  const crashNodes = exp('crash.list-H-vmpipe_queue-s-vmpipe_item.txt').split('\n').filter((l) => /^[0-9a-f]{16}$/.test(l)).slice(0, -1);
  const walk = run('list-walk', [seedDump, '--head', 'vmpipe_queue', '-o', 'vmpipe_item.node', '--fields', 'seq,flags', '--modules', dir]);
  t.is(walk.code, 0, walk.err);
  const entries = walk.records().filter((x) => x.kind === 'list-entry');
  t.deepEqual(entries.map((x) => (x.entry as string).slice(2)), crashNodes);
  t.deepEqual(entries.map((x) => (x.value as { seq: number }).seq), crashNodes.map((_, i) => i));
  // the freed entry, as crash struct vmpipe_item ADDR shows it
  const victim = /\(struct vmpipe_item \*\) (0x[0-9a-f]+)/.exec(exp('crash.p-vmpipe_victim.txt'))![1]!;
  const shown = exp(`crash.struct-vmpipe_item-${victim}.txt`);
  const obj = run('struct-decode', [seedDump, 'vmpipe_item', victim, '--modules', dir]).records().find((x) => x.kind === 'object')!;
  t.like(obj, { type: 'struct vmpipe_item', module: 'crashmod', addr: victim });
  const v = obj.value as { magic: string | number; seq: number; flags: number; node: { next: string; prev: string } };
  t.is(BigInt(v.magic).toString(), /magic = (\d+),/.exec(shown)![1]);
  t.is(v.seq, Number(/seq = (\d+),/.exec(shown)![1]));
  t.is(v.flags, Number(/flags = (\d+),/.exec(shown)![1]));
  t.is(v.node.next, /next = (0x[0-9a-f]+),/.exec(shown)![1]);
});

seed('module-list --modules DIR: crashmod.ko matched by the build-id in memory; another kernel\'s crashmod.ko is refused', (t) => {
  const dir = koDir(SEED);
  const mods = run('module-list', [seedDump, '--modules', dir]).records().filter((x) => x.kind === 'module');
  const buildId = /Build ID: ([0-9a-f]+)/.exec(readFileSync(join(SEED, 'expected', 'readelf.crashmod.ko.n.txt'), 'latin1'))![1];
  t.like(mods.find((m) => m.name === 'crashmod'), { ko: join(dir, 'extra', 'crashmod.ko'), koMatch: 'build-id' });
  t.like(mods.find((m) => m.name === 'pvpanic'), { ko: null, koProblem: 'no pvpanic.ko' });
  const other = koDir(join(root, 'fixtures', 'scenarios', '6.12.117+deb12-cloud-amd64', 'seed'));
  const m = run('module-list', [seedDump, '--modules', other]).records().find((x) => x.name === 'crashmod')!;
  t.is(m.ko, null);
  t.regex(m.koProblem as string, new RegExp(`build-id [0-9a-f]{40}, the module's is ${buildId}`));
});

const DEBIAN = '/work/refs/6.1.0-56-cloud-amd64/root/lib/modules/6.1.0-56-cloud-amd64';
if (!existsSync(DEBIAN)) console.log(`module-list --modules Debian test skipped: no ${DEBIAN} (linux-image-6.1.0-56-cloud-amd64-unsigned unpacked)`);
(existsSync(DEBIAN) && existsSync(realDump) ? test : test.skip)('module-list --modules on Debian\'s lib/modules: each module\'s .ko, matched by the build-id in memory', (t) => {
  const r = run('module-list', [realDump, '--modules', DEBIAN]);
  t.is(r.code, 0, r.err);
  const mods = r.records().filter((x) => x.kind === 'module');
  t.deepEqual(mods.map((m) => [m.name, (m.ko as string).slice(DEBIAN.length), m.koMatch]), [
    ['pvpanic_mmio', '/kernel/drivers/misc/pvpanic/pvpanic-mmio.ko', 'build-id'],
    ['pvpanic', '/kernel/drivers/misc/pvpanic/pvpanic.ko', 'build-id'],
    ['qemu_fw_cfg', '/kernel/drivers/firmware/qemu_fw_cfg.ko', 'build-id'],
  ]);
});

const DEBIAN_DBG = '/work/refs/6.1.0-56-cloud-amd64/root/usr/lib/debug/lib/modules/6.1.0-56-cloud-amd64';
if (!existsSync(DEBIAN_DBG)) console.log(`module-list --modules crash mod -S test skipped: no ${DEBIAN_DBG} (linux-image-6.1.0-56-cloud-amd64-dbg unpacked)`);
(existsSync(DEBIAN_DBG) && existsSync(realDump) ? test : test.skip)('module-list --modules DIR --format crash: crash mod after mod -S DIR, byte for byte (the OBJECT FILE paths)', (t) => {
  const r = run('module-list', [realDump, '--modules', DEBIAN_DBG, '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, readFileSync(join(REAL, 'expected', 'crash.vmcore.kdump-zlib.mod-S.txt'), 'latin1'));
});
