#!/usr/bin/env node
// Benchmark: disassembly throughput against objdump -d, on the same bytes.
//
//   node tools/bench/disasm.mjs [DUMP [VMLINUX]]
//     default DUMP: fixtures/real/vmcore.kdump-zlib
//     default VMLINUX: /work/refs/6.1.0-56-cloud-amd64/vmlinux (the fixture kernel's -dbg vmlinux)
//
// Workloads, each timed for vmpipe and for `objdump -d -w` (binutils) over the same range:
//  1. the whole kernel text (`.text` of the vmlinux, _stext.._etext, ~14 MiB, ~6.7 M instructions):
//     vmpipe = the `disasm` command on the dump (its memory, kallsyms, every insn record written,
//     to /dev/null), whole run and minus start-up; objdump = `objdump -d -w --start-address
//     --stop-address` of the vmlinux to /dev/null (it names functions and targets from the
//     vmlinux's symtab);
//  2. the same text through @vmpipe/disasm alone (Disassembler.walk: instructions with their
//     text and operands, no records), a fresh Disassembler;
//  3. 1 MiB from _stext through the command, whole run and minus start-up.
// Times are CPU seconds of the process and its threads (user + system; children through the
// shell's `times`), so background JIT and GC threads count; the whole runs are also timed by the
// wall clock (what a user waits, on an idle machine; on a loaded one it measures the neighbours).
// Instructions/s are counted from our own decode (objdump decodes the same instructions: the
// tests show the two agree). The ratio is vmpipe's rate / objdump's. Goal (issue 10): faster
// than objdump, records included.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = (name) => join(root, 'packages', 'cli', 'bin', `${name}.js`);
const dump = process.argv[2] ?? join(root, 'fixtures/real/vmcore.kdump-zlib');
const vmlinux = process.argv[3] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const { Disassembler } = await import(join(root, 'packages/disasm/dist/index.js'));
const { ElfFile } = await import(join(root, 'packages/elf/dist/index.js'));

if (!existsSync(vmlinux)) {
  console.error(`no vmlinux at ${vmlinux}: objdump needs it (give it as the second argument)`);
  process.exit(3);
}
if (spawnSync('sh', ['-c', 'command -v objdump']).status !== 0) {
  console.error('objdump (binutils) is not installed');
  process.exit(3);
}

// CPU seconds (user + system), not wall time: on a shared, loaded machine the wall clock measures the neighbours.
function seconds(fn) {
  const c0 = process.cpuUsage();
  const r = fn();
  const c = process.cpuUsage(c0);
  return { s: (c.user + c.system) / 1e6, r };
}

/** A child's CPU seconds, from the shell's `times` (children's user and system time), and its wall seconds. */
function childSeconds(argv) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const t0 = performance.now();
  const out = execFileSync('sh', ['-c', `${quoted} >/dev/null; times`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const wall = (performance.now() - t0) / 1000;
  const line = out.trim().split('\n').pop();
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { s: secs.reduce((a, b) => a + b, 0), wall };
}

const elf = ElfFile.open(vmlinux);
const text = elf.section('.text');
const hex = (a) => `0x${a.toString(16)}`;

function fileBytes(addr, length) {
  const buf = Buffer.alloc(length);
  const fd = openSync(vmlinux, 'r');
  readSync(fd, buf, 0, length, text.offset + Number(addr - text.addr));
  closeSync(fd);
  return new Uint8Array(buf);
}

function objdump(start, length) {
  return childSeconds(['objdump', '-d', '-w', `--start-address=${hex(start)}`, `--stop-address=${hex(start + BigInt(length))}`, vmlinux]);
}

/** @vmpipe/disasm alone over the file bytes: every instruction decoded with its text (Disassembler.walk). */
function library(start, length) {
  const bytes = fileBytes(start, length);
  return seconds(() => {
    let n = 0;
    new Disassembler().walk(bytes, start, () => {
      n++;
    });
    return { n };
  });
}

const rows = [];
function row(name, insns, us, them) {
  rows.push({ name, insns, ours: insns / us, objdump: insns / them, ratio: them / us });
}

const kaslr = BigInt(
  JSON.parse(execFileSync(process.execPath, [bin('sym-resolve'), dump, '_stext'], { encoding: 'utf8' }).split('\n')[0]).addr,
) - text.addr;
const startup = childSeconds([process.execPath, bin('disasm'), dump, hex(text.addr + kaslr), '--length', '16']);

process.stderr.write('whole kernel text: disasm command ...\n');
const wholeCmd = childSeconds([process.execPath, bin('disasm'), dump, hex(text.addr + kaslr), '--length', String(text.size)]);
process.stderr.write('whole kernel text: library ...\n');
const lib = library(text.addr, text.size);
process.stderr.write('whole kernel text: objdump ...\n');
const wholeObj = objdump(text.addr, text.size);
const mib = (text.size / 2 ** 20).toFixed(1);
row(`kernel .text (${mib} MiB), disasm command: insn records (whole run)`, lib.r.n, wholeCmd.s, wholeObj.s);
row(`kernel .text (${mib} MiB), disasm command: insn records (minus start-up)`, lib.r.n, wholeCmd.s - startup.s, wholeObj.s);
row(`kernel .text (${mib} MiB), library: instructions with their text, no records`, lib.r.n, lib.s, wholeObj.s);
row(`kernel .text (${mib} MiB), disasm command: insn records (whole run, wall clock)`, lib.r.n, wholeCmd.wall, wholeObj.wall);

// 1 MiB from _stext through the command, from the dump's memory.
const MB = 1 << 20;
process.stderr.write('1 MiB: disasm command ...\n');
const cmd = childSeconds([process.execPath, bin('disasm'), dump, hex(text.addr + kaslr), '--length', String(MB)]);
const mbInsns = new Disassembler().all(fileBytes(text.addr, MB), text.addr).length;
const mbObj = objdump(text.addr, MB);
row('1 MiB from _stext, disasm command (whole run)', mbInsns, cmd.s, mbObj.s);
row('1 MiB from _stext, disasm command (minus start-up)', mbInsns, cmd.s - startup.s, mbObj.s);
row('1 MiB from _stext, disasm command (whole run, wall clock)', mbInsns, cmd.wall, mbObj.wall);

console.log('| workload | instructions | vmpipe insn/s | objdump insn/s | vmpipe / objdump |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.insns} | ${Math.round(r.ours)} | ${Math.round(r.objdump)} | ${r.ratio.toFixed(2)} |`);
console.log(`\n(disasm start-up: ${startup.s.toFixed(2)} s; objdump ${execFileSync('objdump', ['--version'], { encoding: 'utf8' }).split('\n')[0]}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
