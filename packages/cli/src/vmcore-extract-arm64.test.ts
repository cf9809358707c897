/**
 * vmcore-extract on a real arm64 dump (Debian 6.1.0-56-cloud-arm64, QEMU virt, PAC on;
 * uncut, outside the repo: /work/refs/arm64/dumps or VMPIPE_ARM64_DUMPS), against drgn
 * built from source on the same dump (fixtures/arm64/.../pauth/expected/drgn.arm64xlat.json):
 * `--vtop` gives drgn's follow_phys() addresses, a PAC-signed address translates as the
 * kernel uses it, `--read` reads the same bytes as `--physical` at drgn's address, and
 * `--sys` counts crash's TASKS (drgn's tasks plus one idle task per CPU).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const KERNEL = '6.1.0-56-cloud-arm64';
const dump = join(process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`, 'pauth', 'qemu.kdump-zlib');
const fixtures = join(here, '..', '..', '..', 'fixtures', 'arm64', KERNEL);
const systemMap = process.env['VMPIPE_ARM64_SYSTEM_MAP'] ?? [`/work/refs/arm64/${KERNEL}/System.map`, join(fixtures, 'System.map.gz')].find((f) => existsSync(f)) ?? `/work/refs/arm64/${KERNEL}/System.map`;
const expectedFile = join(fixtures, 'pauth', 'expected', 'drgn.arm64xlat.json');

interface Expected {
  translate: { name: string; vaddr: string; paddr: string }[];
  tasks: unknown[];
  crashed: { task: string };
}

function ready(t: { log: (s: string) => void; pass: () => void }): Expected | undefined {
  if (!existsSync(dump)) {
    t.log(`skipped: ${dump} is not here (the uncut arm64 dumps live outside the repo)`);
    t.pass();
    return undefined;
  }
  const want = JSON.parse(readFileSync(expectedFile, 'utf8')) as Expected;
  const swapper = want.translate.find((x) => x.name === 'swapper_pg_dir')!.vaddr;
  if (!readFileSync(dump).includes(`SYMBOL(swapper_pg_dir)=${swapper.slice(2)}`)) {
    t.log(`skipped: ${dump} was remade since ${expectedFile}`);
    t.pass();
    return undefined;
  }
  return want;
}

test('arm64 --vtop: drgn\'s addresses; crash arm64 vtop\'s entry addresses (PGD in swapper_pg_dir, the rest linear); PAC-signed and poison addresses', (t) => {
  const want = ready(t);
  if (!want) return;
  const task = BigInt(want.crashed.task);
  // The crashed task's address with a pointer-authentication code in bits 63..56 and 54..48.
  const signed = '0x' + ((task & ((1n << 48n) - 1n)) | 0x9a8fn << 48n).toString(16);
  const r = runBinSync('vmcore-extract', [dump, '--vtop', ...want.translate.map((x) => x.vaddr), signed, '0xdead000000000100']);
  t.is(r.code, 0, r.err);
  const body = r.records().filter((x) => x['kind'] === 'translation' || (x['kind'] === 'error' && x['addr']));
  want.translate.forEach((x, i) => {
    t.like(body[i], { kind: 'translation', arch: 'arm64', vaddr: x.vaddr, paddr: x.paddr });
    const levels = body[i]!['levels'] as { level: string; vaddr: string }[];
    t.is(levels[0]!.level, 'pgd');
    t.is(BigInt(levels[0]!.vaddr) & ~0xfffn, BigInt(body[i]!['root'] as string), 'the PGD entry lies in swapper_pg_dir');
  });
  const n = want.translate.length;
  t.like(body[n], { kind: 'translation', vaddr: want.crashed.task, signed });
  const unsigned = runBinSync('vmcore-extract', [dump, '--vtop', want.crashed.task]).records().find((r) => r['kind'] === 'translation')!;
  t.is(body[n]!['paddr'], unsigned['paddr']);
  t.like(body[n + 1], { kind: 'error', code: 'non-canonical', addr: '0xdead000000000100' });
});

test('arm64 --read: the bytes at drgn\'s physical address; --sys: crash\'s TASKS', (t) => {
  const want = ready(t);
  if (!want) return;
  const x = want.translate.find((e) => e.name === 'crashed_stack')!;
  const virt = runBinSync('vmcore-extract', [dump, '--read', x.vaddr, '--count', '8']).records().filter((r) => r['kind'] === 'mem');
  const phys = runBinSync('vmcore-extract', [dump, '--read', x.paddr, '--physical', '--count', '8']).records().filter((r) => r['kind'] === 'mem');
  t.true(virt.length > 0);
  t.deepEqual(virt.map((r) => r['words']), phys.map((r) => r['words']));
  if (!existsSync(systemMap)) return void t.log(`--sys skipped: ${systemMap} is not here`);
  const sys = runBinSync('vmcore-extract', [dump, '--sys', '--system-map', systemMap]).records().find((r) => r['kind'] === 'system')!;
  t.like(sys, { machine: 'aarch64', cpus: 2, panic: 'Kernel panic - not syncing: sysrq triggered crash', tasks: want.tasks.length + 2 });
  // crash 9.0.2 (target=ARM64) sys on the same dump: CPUS 2 [OFFLINE: 1], DATE, LOAD AVERAGE, TASKS, MEMORY, PANIC.
  // Its UPTIME (00:00:18, from jiffies) is not compared: the timekeeper, as /proc/uptime, says 20 s, and so
  // does the log's own panic timestamp ([   20.047366]).
  const crash = readFileSync(join(fixtures, 'pauth', 'expected', 'crash.session.txt'), 'utf8');
  const field = (name: string) => new RegExp(`^ *${name}: (.*)$`, 'm').exec(crash)![1]!;
  t.is(`${sys['cpus']} [OFFLINE: ${sys['cpusOffline']}]`, field('CPUS'));
  t.is(new Date(sys['crashTime'] as string).toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 UTC $4'), field('DATE'));
  t.is((sys['loadAverage'] as number[]).map((x) => x.toFixed(2)).join(', '), field('LOAD AVERAGE'));
  t.is(String(sys['tasks']), field('TASKS'));
  t.is(`${Number(sys['memoryBytes']) / (1 << 20)} MB`, field('MEMORY'));
  t.is(`"${sys['panic']}"`, field('PANIC'));
});

test('arm64 --vtop | render is crash\'s arm64 vtop (crash 9.0.2 built for ARM64), byte for byte up to its struct page table', (t) => {
  const want = ready(t);
  if (!want) return;
  const crashFile = join(fixtures, 'pauth', 'expected', 'crash.vtop.txt');
  // One block per address: from its VIRTUAL header to the blank line before crash's `kmem -p` table (which needs the types).
  const theirs = readFileSync(crashFile, 'utf8').split(/^(?=VIRTUAL )/m).filter((b) => b.startsWith('VIRTUAL'));
  const addrs = theirs.map((b) => b.split('\n')[1]!.split(/\s+/)[0]!);
  t.is(addrs.length, want.translate.length);
  const r = runBinSync('vmcore-extract', [dump, '--vtop', ...addrs]);
  t.is(r.code, 0, r.err);
  const records = r.records().filter((x) => x['kind'] === 'translation');
  t.is(records.length, addrs.length);
  records.forEach((rec, i) => {
    const rendered = runBinSync('vmpipe-render', [], { input: JSON.stringify(rec) + '\n' }).out;
    const block = theirs[i]!;
    const upToPageTable = block.slice(0, block.indexOf('\n\n      PAGE       PHYSICAL') + 1);
    t.is(rendered, upToPageTable, addrs[i]);
  });
});
