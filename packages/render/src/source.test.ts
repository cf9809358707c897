import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';
import { crashDate, memorySize } from './source.js';

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

test('source prints as crash\'s sys block, then vmpipe\'s facts about the file', (t) => {
  t.deepEqual(new Renderer({ color: false }).render(source), [
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
  t.deepEqual(new Renderer({ color: false }).render(elf), [
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
  t.deepEqual(new Renderer({ color: false }).render({ kind: 'vmcoreinfo', dump: 'vmcore', entries: {}, raw }), [
    'OSRELEASE=6.1.0-56-cloud-amd64',
    'PAGESIZE=4096',
    'SYMBOL(init_uts_ns)=ffffffff82c13fe0',
  ]);
});
