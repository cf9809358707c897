import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer, type RenderOptions } from './index.js';
import { crashDate, loadAverage, memorySize } from './source.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MB = 1n << 20n;
const GB = 1n << 30n;

test('MEMORY is in crash\'s units: one decimal, .0 dropped, near-GB totals rounded up', (t) => {
  t.is(memorySize(511n * MB + 512n * 1024n, 4096), '511.5 MB');
  t.is(memorySize(2n * GB - 32n * MB, 4096), '2 GB'); // within 64 MB of 2 GB
  t.is(memorySize(2n * GB - 65n * MB, 4096), '1.9 GB');
  t.is(memorySize(GB + GB / 4n, 4096), '1.2 GB'); // 1.25: printf rounds half to even
  t.is(memorySize(512n * 1024n, 4096), '512 KB');
  t.is(memorySize(0n, 4096), '0');
});

test('DATE reads like crash\'s strftime, in UTC', (t) => {
  t.is(crashDate('2026-11-14T10:11:12Z'), 'Sat Nov 14 10:11:12 UTC 2026');
  t.is(crashDate('2026-03-05T01:02:03.5+01:00'), 'Thu Mar  5 00:02:03 UTC 2026');
  t.is(crashDate('not a date'), 'not a date');
});

const source: AnyRecord = {
  kind: 'source', dump: 'fixtures/real/vmcore.kdump-zlib', format: 'kdump-compressed', producer: 'makedumpfile',
  arch: 'x86_64', endian: 'little', pageSize: 4096, release: '6.1.0-56-cloud-amd64',
  utsname: {
    sysname: 'Linux', nodename: '(none)', release: '6.1.0-56-cloud-amd64',
    version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)', machine: 'x86_64', domainname: '(none)',
  },
  crashTime: '2026-11-14T10:11:12Z', cpus: 2, dumpLevel: 31, compression: ['zlib'], headerVersion: 6,
  memoryRanges: [
    { start: '0x0', end: '0x9fc00', pages: 159 },
    { start: '0x100000', end: '0x1ffe0000', pages: 130784 },
  ],
  pagesPresent: 4017, pagesExcluded: 126926, symbols: 'kallsyms', types: 'btf-dump',
};

/** Everything a renderer prints for these records, flush included. */
function shown(records: AnyRecord[], opts: Partial<RenderOptions> = {}): string[] {
  const r = new Renderer({ color: false, ...opts });
  return [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
}

test('source prints as crash\'s sys block, then vmpipe\'s facts about the file', (t) => {
  t.deepEqual(shown([source]), [
    '      KERNEL: (none)',
    '    DUMPFILE: fixtures/real/vmcore.kdump-zlib  [PARTIAL DUMP]',
    '        CPUS: 2',
    '        DATE: Sat Nov 14 10:11:12 UTC 2026',
    '    NODENAME: (none)',
    '     RELEASE: 6.1.0-56-cloud-amd64',
    '     VERSION: #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)',
    '     MACHINE: x86_64  (unknown Mhz)',
    '      MEMORY: 511.5 MB',
    '      FORMAT: kdump-compressed (header version 6)',
    '    PRODUCER: makedumpfile',
    '   PAGE SIZE: 4096',
    '  DUMP LEVEL: 31',
    ' COMPRESSION: zlib',
    '       PAGES: 4017 present, 126926 excluded',
    '     SYMBOLS: kallsyms',
    '       TYPES: btf-dump',
  ]);
});

test('a whole ELF dump is not PARTIAL and shows only what it knows', (t) => {
  const elf: AnyRecord = {
    kind: 'source', dump: 'vmcore.elf', format: 'elf', producer: 'qemu', arch: 'x86_64', endian: 'little',
    pageSize: 4096, release: null, cpus: 1, memoryRanges: [{ start: '0x0', end: '0x80000000', pages: 524288 }],
    pagesPresent: 524288, pagesExcluded: 0, symbols: 'none', types: 'none',
  };
  t.deepEqual(shown([elf]), [
    '      KERNEL: (none)',
    '    DUMPFILE: vmcore.elf',
    '        CPUS: 1',
    '     RELEASE: (unknown)',
    '     MACHINE: x86_64  (unknown Mhz)',
    '      MEMORY: 2 GB',
    '      FORMAT: elf',
    '    PRODUCER: qemu',
    '   PAGE SIZE: 4096',
    '       PAGES: 524288 present, 0 excluded',
    '     SYMBOLS: none',
    '       TYPES: none',
  ]);
});

test('system prints crash\'s sys lines, PANIC quoted', (t) => {
  t.deepEqual(new Renderer({ color: false }).render({
    kind: 'system', dump: 'vmcore', release: '6.1.0-56-cloud-amd64', version: '#1 SMP', machine: 'x86_64',
    nodename: 'guest', cpus: 2, memoryBytes: 536346624, panic: 'Oops: 0000 [#1] PREEMPT SMP NOPTI',
  }), [
    '    DUMPFILE: vmcore',
    '        CPUS: 2',
    '    NODENAME: guest',
    '     RELEASE: 6.1.0-56-cloud-amd64',
    '     VERSION: #1 SMP',
    '     MACHINE: x86_64  (unknown Mhz)',
    '      MEMORY: 511.5 MB',
    '       PANIC: "Oops: 0000 [#1] PREEMPT SMP NOPTI" (check log for details)',
  ]);
});

test('vmcoreinfo prints its raw note text, line for line', (t) => {
  const raw = 'OSRELEASE=6.1.0-56-cloud-amd64\nPAGESIZE=4096\nSYMBOL(init_uts_ns)=ffffffff82c13fe0\n';
  t.deepEqual(new Renderer({ color: false, vmcoreinfo: true }).render({ kind: 'vmcoreinfo', dump: 'vmcore', entries: {}, raw }), [
    'OSRELEASE=6.1.0-56-cloud-amd64',
    'PAGESIZE=4096',
    'SYMBOL(init_uts_ns)=ffffffff82c13fe0',
  ]);
});

test('LOAD AVERAGE prints the kernel-rounded values with two decimals, as crash\'s %d.%02d', (t) => {
  t.is(loadAverage([0, 0, 0]), '0.00, 0.00, 0.00');
  // as kernel/system.ts computes them: int + frac / 100 (1.07 is 1.0700000000000001 in a double)
  t.is(loadAverage([1 + 7 / 100, 0 + 50 / 100, 12 + 5 / 100]), '1.07, 0.50, 12.05');
});

// The fixture's `source` and `system` records as `vmcore-extract --sys` writes them, with the
// crash-sys fields the Program reads (loadAverage, tasks, mhz) as crash 8.0.2 printed them.
const fixtureSource: AnyRecord = {
  kind: 'source', dump: 'vmcore.kdump-zlib', vmlinux: 'vmlinux', format: 'kdump-compressed', producer: 'makedumpfile',
  arch: 'x86_64', endian: 'little', pageSize: 4096, release: '6.1.0-56-cloud-amd64', cpus: 2,
  memoryRanges: [{ start: '0x0', end: '0xa000000', pages: 40960 }], pagesPresent: 15674, pagesExcluded: 25286,
  symbols: 'kallsyms', types: 'btf-dump', headerVersion: 6, dumpLevel: 31, compression: ['zlib'],
};
const fixtureSystem: AnyRecord = {
  kind: 'system', dump: 'vmcore.kdump-zlib', release: '6.1.0-56-cloud-amd64',
  version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)', machine: 'x86_64', nodename: '(none)', cpus: 2,
  memoryBytes: 167246848, memorySource: 'e820', panic: 'Kernel panic - not syncing: sysrq triggered crash',
  uptime: '00:00:02', crashTime: '2026-11-25T01:52:57.000Z', cpusOffline: 1, loadAverage: [0, 0, 0], tasks: 3, mhz: 2300,
};
const vmcoreinfo: AnyRecord = { kind: 'vmcoreinfo', dump: 'vmcore.kdump-zlib', entries: {}, raw: 'PAGESIZE=4096\n' };
const cpu: AnyRecord = { kind: 'cpu', dump: 'vmcore.kdump-zlib', cpu: 0, pid: 1, regs: { rip: '0x1' } };

test('source, vmcoreinfo, cpus and system render as crash\'s sys, byte for byte', (t) => {
  // crash 8.0.2 `sys` on the fixture (fixtures/real/expected/crash.vmcore.kdump-zlib.sys.cmd)
  const crash = readFileSync(fileURLToPath(new URL('../../../fixtures/real/expected/crash.vmcore.kdump-zlib.sys.txt', import.meta.url)), 'utf8');
  t.is(shown([fixtureSource, vmcoreinfo, cpu, cpu, fixtureSystem]).join('\n') + '\n', crash);
});

test('the system record shows only the sys lines it has fields for; no source, no KERNEL', (t) => {
  const { loadAverage: _l, tasks: _t, mhz: _m, uptime: _u, ...bare } = fixtureSystem;
  t.deepEqual(shown([bare]), [
    '    DUMPFILE: vmcore.kdump-zlib',
    '        CPUS: 2 [OFFLINE: 1]',
    '        DATE: Wed Nov 25 01:52:57 UTC 2026',
    '    NODENAME: (none)',
    '     RELEASE: 6.1.0-56-cloud-amd64',
    '     VERSION: #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)',
    '     MACHINE: x86_64  (unknown Mhz)',
    '      MEMORY: 159.5 MB',
    '       PANIC: "Kernel panic - not syncing: sysrq triggered crash"',
  ]);
});

test('--header adds the file facts to the same sys block, never a second block', (t) => {
  const lines = shown([fixtureSource, fixtureSystem], { header: true });
  t.is(lines.filter((l) => l.includes('MEMORY')).length, 1);
  t.false(lines.includes(''));
  t.deepEqual(lines.slice(-3), ['       PAGES: 15674 present, 25286 excluded', '     SYMBOLS: kallsyms', '       TYPES: btf-dump']);
});

test('the source block shows only when the dump has nothing else to show, or with --header', (t) => {
  const err: AnyRecord = { kind: 'error', dump: 'vmcore.kdump-zlib', code: 'not-mapped', message: 'no translation' };
  t.deepEqual(shown([fixtureSource, err]), ['error: not-mapped: no translation  (dump=vmcore.kdump-zlib)']);
  const withHeader = shown([fixtureSource, err], { header: true });
  t.is(withHeader[0], '      KERNEL: vmlinux');
  t.deepEqual(withHeader.slice(-2), ['', 'error: not-mapped: no translation  (dump=vmcore.kdump-zlib)']);
  // Hidden kinds are not "something else": the source block is all there is to show.
  t.is(shown([fixtureSource, vmcoreinfo, cpu])[0], '      KERNEL: vmlinux');
  t.deepEqual(shown([fixtureSource, vmcoreinfo], { vmcoreinfo: true }), ['PAGESIZE=4096']);
});

test('a multi-dump stream keeps a separator before each dump\'s block', (t) => {
  const other = (r: AnyRecord): AnyRecord => ({ ...r, dump: 'b.vmcore' });
  const lines = shown([fixtureSource, fixtureSystem, other(fixtureSource), other(fixtureSystem), other(fixtureSource)]);
  t.deepEqual(lines.filter((l) => l.startsWith('---') || l.includes('DUMPFILE')), [
    '    DUMPFILE: vmcore.kdump-zlib  [PARTIAL DUMP]',
    '--- b.vmcore ---',
    '    DUMPFILE: b.vmcore  [PARTIAL DUMP]',
    '    DUMPFILE: b.vmcore  [PARTIAL DUMP]', // a second source with nothing after it shows as itself
  ]);
  t.is(lines.filter((l) => l === '').length, 1);
});

test('the renderer counts what it hid, so the command can say how to see it', (t) => {
  const r = new Renderer({ color: false });
  [fixtureSource, vmcoreinfo, cpu, cpu].forEach((rec) => r.render(rec));
  t.deepEqual([...r.hidden()], [['vmcoreinfo', 1], ['cpu', 2]]);
});
