#!/usr/bin/env node
// Benchmark: disassembly throughput against objdump -d, on the same bytes.
//
//   node tools/bench/disasm.mjs [DUMP [VMLINUX]]
//     default DUMP: fixtures/real/vmcore.kdump-zlib
//     default VMLINUX: /work/refs/6.1.0-56-cloud-amd64/vmlinux (the fixture kernel's -dbg vmlinux)
//
// Workloads, each timed for vmpipe and for `objdump -d -w` (binutils) over the same range:
//  1. the whole kernel text (`.text` of the vmlinux, _stext.._etext, ~14 MiB, ~6.7 M instructions):
//     vmpipe = @vmpipe/disasm over the file's bytes, every instruction made into the insn record's
//     JSON line as the command makes it (InsnJson, the symbol each instruction is in, branch
//     targets named from the fixture's System.map) and encoded to UTF-8 bytes, not written;
//     objdump = `objdump -d -w --start-address --stop-address` to /dev/null (it names
//     functions and targets from the vmlinux's symtab);
//  2. 1 MiB from _stext: vmpipe = the `disasm` command on the dump (memory, kallsyms, records
//     written to /dev/null), objdump = the same 1 MiB of the vmlinux.
// Times are CPU seconds (user + system; children through the shell's `times`).
// Instructions/s are counted from our own decode (objdump decodes the same instructions: the
// tests show the two agree on all but 2 of 6.7 M). The ratio is vmpipe's rate / objdump's.
// Goal (issue 10): faster than objdump, records included.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = (name) => join(root, 'packages', 'cli', 'bin', `${name}.js`);
const dump = process.argv[2] ?? join(root, 'fixtures/real/vmcore.kdump-zlib');
const vmlinux = process.argv[3] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const { Disassembler, InsnJson } = await import(join(root, 'packages/disasm/dist/index.js'));
const { ElfFile } = await import(join(root, 'packages/elf/dist/index.js'));
const { readSystemMap, SymbolTable } = await import(join(root, 'packages/symbols/dist/index.js'));

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

/** A child's CPU seconds, from the shell's `times` (children's user and system time). */
function childSeconds(argv) {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = execFileSync('sh', ['-c', `${quoted} >/dev/null; times`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').pop();
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { s: secs.reduce((a, b) => a + b, 0) };
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

/** Our decode of the file bytes, each instruction turned into the record line the command writes. */
function ours(start, length, records = true) {
  const bytes = fileBytes(start, length);
  const table = new SymbolTable(readSystemMap(join(root, 'fixtures/real/System.map.gz')).symbols);
  return seconds(() => {
    const named = new Map();
    const symbolize = (a) => {
      if (named.has(a)) return named.get(a);
      const r = table.resolve(a);
      const s = r ? (r.offset === 0n ? r.symbol.name : `${r.symbol.name}+0x${r.offset.toString(16)}`) : undefined;
      named.set(a, s);
      return s;
    };
    const d = new Disassembler({ symbolize });
    const json = new InsnJson();
    const dump = JSON.stringify(vmlinux);
    let n = 0;
    let out = 0;
    let cur;
    let chunk = [];
    let size = 0;
    const flush = () => {
      const b = Buffer.from(chunk.join('\n') + '\n');
      if (out === 0) JSON.parse(b.toString().split('\n')[0]); // a record, or this throws
      out += b.length;
      chunk = [];
      size = 0;
    };
    for (const i of d.disassemble(bytes, start)) {
      n++;
      if (!records) {
        out += i.text.length;
        continue;
      }
      // the symbol an instruction is in, by a cursor over the walk (as the command finds it)
      if (cur === undefined || i.addr < cur.start || i.addr >= cur.end) {
        const r = table.resolve(i.addr);
        cur = r ? { start: r.symbol.addr, end: r.symbol.addr + BigInt(table.extent(r.symbol) ?? 1), name: r.symbol.name } : undefined;
      }
      const sym = cur === undefined ? undefined : i.addr === cur.start ? cur.name : `${cur.name}+0x${(i.addr - cur.start).toString(16)}`;
      const p = json.parts(i);
      const line = `{"kind":"insn","dump":${dump},"addr":"0x${i.addr.toString(16)}"${p.head}${sym === undefined ? '' : `,"symbol":${JSON.stringify(sym)}`}${p.tail},"bytesFrom":"vmlinux"}`;
      chunk.push(line);
      size += line.length;
      if (size >= 65536) flush();
    }
    flush();
    return { n, bytes: out };
  });
}

const rows = [];
function row(name, insns, us, them) {
  rows.push({ name, insns, ours: insns / us, objdump: insns / them, ratio: them / us });
}

process.stderr.write('whole kernel text: vmpipe, instructions only ...\n');
const bare = ours(text.addr, text.size, false);
process.stderr.write('whole kernel text: vmpipe, records ...\n');
const whole = ours(text.addr, text.size);
process.stderr.write('whole kernel text: objdump ...\n');
const wholeObj = objdump(text.addr, text.size);
row(`kernel .text (${(text.size / 2 ** 20).toFixed(1)} MiB), library: instructions with their text, no records`, bare.r.n, bare.s, wholeObj.s);
row(`kernel .text (${(text.size / 2 ** 20).toFixed(1)} MiB), library: insn records (JSON lines, UTF-8)`, whole.r.n, whole.s, wholeObj.s);

// 1 MiB from _stext through the command, from the dump's memory.
const MB = 1 << 20;
const kaslr = BigInt(
  JSON.parse(execFileSync(process.execPath, [bin('sym-resolve'), dump, '_stext'], { encoding: 'utf8' }).split('\n')[0]).addr,
) - text.addr;
process.stderr.write('1 MiB: disasm command ...\n');
const cmd = childSeconds([process.execPath, bin('disasm'), dump, hex(text.addr + kaslr), '--length', String(MB)]);
const startup = childSeconds([process.execPath, bin('disasm'), dump, hex(text.addr + kaslr), '--length', '16']);
const mbInsns = new Disassembler().all(fileBytes(text.addr, MB), text.addr).length;
const mbObj = objdump(text.addr, MB);
row('1 MiB from _stext, disasm command (whole run)', mbInsns, cmd.s, mbObj.s);
row('1 MiB from _stext, disasm command (minus start-up)', mbInsns, cmd.s - startup.s, mbObj.s);

console.log('| workload | instructions | vmpipe insn/CPU-s | objdump insn/CPU-s | vmpipe / objdump |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.insns} | ${Math.round(r.ours)} | ${Math.round(r.objdump)} | ${r.ratio.toFixed(2)} |`);
console.log(`\n(disasm start-up: ${startup.s.toFixed(2)} s; kernel .text records: ${(whole.r.bytes / 2 ** 20).toFixed(0)} MiB of NDJSON; objdump ${execFileSync('objdump', ['--version'], { encoding: 'utf8' }).split('\n')[0]}; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')})`);
