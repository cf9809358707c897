import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const expected = (name: string) => readFileSync(fileURLToPath(new URL(`../../../fixtures/real/expected/${name}`, import.meta.url)), 'latin1');
const render = (records: AnyRecord[]) => {
  const r = new Renderer({ color: false });
  return [...records.flatMap((x) => r.render(x)), ...r.flush()];
};

test('log records read like crash log: stamp, text, continuation lines indented', (t) => {
  const lines = render([
    { kind: 'log', dump: 'd', seq: 1, tsNsec: 2746205000, level: 4, text: 'Call Trace:', timestamp: '[    2.746205]' },
    { kind: 'log', dump: 'd', seq: 2, tsNsec: 4000000000, level: 6, text: 'line one\nline two' },
  ]);
  t.deepEqual(lines, ['[    2.746205] Call Trace:', '[    4.000000] line one', '               line two']);
  // The same layout as crash.vmcore.kdump-zlib.log-tail40.txt's first line.
  t.is(lines[0], expected('crash.vmcore.kdump-zlib.log-tail40.txt').split('\n')[0]);
});

test('a system record renders as crash sys: DATE and UPTIME after CPUS, PANIC is the headline', (t) => {
  const lines = render([
    {
      kind: 'system', dump: 'vmcore', release: '4.19.0-9-2-amd64', version: '#1 SMP Debian 4.19.118-2+deb10u1', machine: 'x86_64',
      nodename: 'sw1', cpus: 8, memoryBytes: 167246848, memorySource: 'e820',
      // An oops that ended in "Kernel panic - not syncing: Fatal exception": crash's PANIC line says just that;
      // ours names the oops.
      panic: 'list_del corruption. prev->next should be ffff9e136bd57418, but was 677ac660ffffffff',
      uptime: '00:04:29', crashTime: '2026-11-25T01:52:57Z', utsSource: 'init_uts_ns', uptimeNsec: 269607561000, format: 'kdump-compressed',
    },
  ]);
  t.deepEqual(lines, [
    '    DUMPFILE: vmcore',
    '        CPUS: 8',
    '        DATE: Wed Nov 25 01:52:57 UTC 2026',
    '      UPTIME: 00:04:29',
    '    NODENAME: sw1',
    '     RELEASE: 4.19.0-9-2-amd64',
    '     VERSION: #1 SMP Debian 4.19.118-2+deb10u1',
    '     MACHINE: x86_64  (unknown Mhz)',
    '      MEMORY: 159.5 MB',
    '       PANIC: "list_del corruption. prev->next should be ffff9e136bd57418, but was 677ac660ffffffff"',
  ]);
});

test('a panic record is a short block, then the report lines as printed', (t) => {
  const lines = render([
    {
      kind: 'panic', dump: 'd', headline: 'BUG: unable to handle page fault for address: 00000001003e000b', message: 'Kernel panic - not syncing: Fatal exception',
      event: 'page-fault', cpu: 3, pid: 144, comm: 'uksmd', taint: 'G           OE', oops: 'Oops: 0000 [#1] PREEMPT SMP NOPTI', rip: 'RIP: 0010:scan_vma_one_page+0xaca/0x1470',
      code: null, registers: ['RSP: 0018:ffffc2b380b2fd90 EFLAGS: 00010286'],
      callTrace: [{ function: 'uksm_do_scan', offset: 0x145, size: 0x2b00, reliable: true, line: 'uksm_do_scan+0x145/0x2b00' }],
      seq: 7, timestamp: '[   76.455151]',
    },
  ]);
  t.deepEqual(lines, [
    '       PANIC: BUG: unable to handle page fault for address: 00000001003e000b',
    '     MESSAGE: Kernel panic - not syncing: Fatal exception',
    '       EVENT: page-fault',
    '        TASK: PID: 144  CPU: 3  COMMAND: "uksmd"',
    '       TAINT: G           OE',
    '        OOPS: Oops: 0000 [#1] PREEMPT SMP NOPTI',
    '          AT: [   76.455151] (log seq 7)',
    '',
    'RIP: 0010:scan_vma_one_page+0xaca/0x1470',
    'RSP: 0018:ffffc2b380b2fd90 EFLAGS: 00010286',
    'Call Trace:',
    ' uksm_do_scan+0x145/0x2b00',
  ]);
});

test('panic: the task address goes where crash bt puts TASK', (t) => {
  const r = new Renderer({ color: false });
  const lines = r.render({ kind: 'panic', dump: 'd', headline: 'Kernel panic - not syncing: sysrq triggered crash', cpu: 1, pid: 1, comm: 'sh', task: '0xffff8dce811f9800' });
  t.true(lines.includes('        TASK: PID: 1  TASK: ffff8dce811f9800  CPU: 1  COMMAND: "sh"'), lines.join('\n'));
});
