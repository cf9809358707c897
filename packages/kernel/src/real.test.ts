/**
 * The real dump (fixtures/real, Debian 6.1 under QEMU, sysrq-c) against the
 * reference tools' outputs in fixtures/real/expected.
 */
import test from 'ava';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openDump } from '@vmpipe/dump';
import { kernelMemory } from '@vmpipe/addrxlat';
import { analysePanic, logLines, printkText, readPrintk, readUtsname, uptimeText } from './index.js';

const root = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const dumpPath = root + 'vmcore.kdump-zlib';
const expected = (name: string) => readFileSync(root + 'expected/' + name, 'latin1');

function open() {
  const dump = openDump(dumpPath);
  return { dump, mem: kernelMemory(dump), entries: dump.vmcoreinfo!.entries };
}

test('text as makedumpfile --dump-dmesg prints it, byte for byte', (t) => {
  const { dump, mem, entries } = open();
  t.is([...printkText(mem, entries, 'makedumpfile')].join(''), expected('makedumpfile-dump-dmesg.vmcore.kdump-zlib.txt'));
  dump.close();
});

test('text as vmcore-dmesg prints it, byte for byte (on the same memory with kernel-text PT_LOADs)', (t) => {
  const { dump, mem, entries } = open();
  const out = [...printkText(mem, entries, 'vmcore-dmesg')].join('');
  t.is(out, expected('vmcore-dmesg.vmcore.ktext.elf.txt'));
  // The two tools differ on multi-line records: makedumpfile indents the continuation lines.
  t.not(out, expected('makedumpfile-dump-dmesg.vmcore.kdump-zlib.txt'));
  dump.close();
});

test('text as crash log prints it, and the levels crash log -m shows', (t) => {
  const { dump, mem, entries } = open();
  t.is([...printkText(mem, entries, 'crash')].join(''), expected('crash.vmcore.kdump-zlib.log.txt'));
  const levels = expected('crash.vmcore.kdump-zlib.log-m.txt')
    .split('\n')
    .filter((l) => /^\[/.test(l))
    .map((l) => Number(/^\[[ 0-9.]+\] <(\d)>/.exec(l)![1]));
  const records = [...readPrintk(mem, entries)].map((i) => i.record!);
  t.is(records.length, levels.length);
  t.deepEqual(records.map((r) => r.level), levels);
  dump.close();
});

test('panic: the sysrq-c crash of facts.json', (t) => {
  const { dump, mem, entries } = open();
  const facts = JSON.parse(expected('facts.json'));
  const records = [...readPrintk(mem, entries)].map((i) => i.record!);
  const info = analysePanic(logLines(records.map((r) => ({ text: r.text.toString('latin1'), seq: r.seq, tsNsec: r.tsNsec }))));
  t.is(info.headline, facts.panic_message);
  t.is(info.message, facts.panic_message);
  t.is(info.kind, 'sysrq-crash');
  t.is(info.cpu, facts.crashing_cpu);
  t.is(info.pid, facts.crashing_pid);
  t.is(info.comm, facts.crashing_comm);
  t.is(info.taint, 'Not tainted');
  t.deepEqual(info.callTrace.slice(0, 3).map((f) => [f.function, f.offset, f.size, f.reliable]), [
    ['dump_stack_lvl', 0x44, 0x5c, true],
    ['panic', 0x118, 0x2f4, true],
    ['_printk', 0x68, 0x83, false],
  ]);
  t.is(info.rip, 'RIP: 0033:0x47b7a0');
  t.is(info.registers[0], 'RSP: 002b:00007ffd0b88d458 EFLAGS: 00000202 ORIG_RAX: 0000000000000001');
  dump.close();
});

test('sys: utsname from init_uts_ns and uptime agree with crash sys', (t) => {
  const { dump, mem, entries } = open();
  const sys = expected('crash.vmcore.kdump-zlib.sys.txt');
  const field = (name: string) => new RegExp(`^ *${name}: (.*)$`, 'm').exec(sys)![1]!;
  const uts = readUtsname(mem, entries)!;
  t.is(uts.release, field('RELEASE'));
  t.is(uts.version, field('VERSION'));
  t.is(uts.nodename, field('NODENAME'));
  t.is(uts.machine, field('MACHINE').split(' ')[0]);
  // crash reads jiffies; the last printk stamp gives the same whole seconds here.
  const last = [...readPrintk(mem, entries)].map((i) => i.record!).pop()!;
  t.is(uptimeText(last.tsNsec!), field('UPTIME'));
  dump.close();
});

test('the ELF dump of the same memory gives the same log', (t) => {
  const elf = '/tmp/vmpipe-real/vmcore.elf';
  if (!existsSync(elf)) return t.pass('no uncompressed ELF here');
  const dump = openDump(elf);
  t.is([...printkText(kernelMemory(dump), dump.vmcoreinfo!.entries, 'makedumpfile')].join(''), expected('makedumpfile-dump-dmesg.vmcore.elf.txt'));
  dump.close();
});
