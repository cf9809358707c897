#!/usr/bin/env node
// arm64 rows (issue 17): a backtrace and a disassembly (arm64.mjs beside it: open and --sys) on a real arm64 dump.
// Usage: node tools/bench/arm64-bt.mjs [DUMP_DIR [KERNEL_DIR]]   (build first: npm run build)
// DUMP_DIR holds qemu.kdump-zlib and qemu.elf (default /work/refs/arm64/dumps/6.1.0-56-cloud-arm64/pauth),
// KERNEL_DIR the vmlinux and System.map (default /work/refs/arm64/6.1.0-56-cloud-arm64).
// Rows: `backtrace --all-tasks` (whole run; and the library alone) vs drgn built from source
// (/work/refs/drgn-src/drgn-run, on the ELF: drgn cannot read QEMU's kdump) unwinding every task;
// instructions decoded per CPU-second: 4 MiB of the vmlinux's .text through @vmpipe/disasm's
// Aarch64Disassembler vs aarch64-linux-gnu-objdump -d on the same bytes. CPU seconds (user+sys):
// a loaded machine stretches wall time. Missing tools are skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dumpDir = process.argv[2] ?? '/work/refs/arm64/dumps/6.1.0-56-cloud-arm64/pauth';
const kernelDir = process.argv[3] ?? '/work/refs/arm64/6.1.0-56-cloud-arm64';
const dump = join(dumpDir, 'qemu.kdump-zlib');
const elf = join(dumpDir, 'qemu.elf');
const vmlinux = join(kernelDir, 'vmlinux');
const systemMap = join(kernelDir, 'System.map');
const drgn = '/work/refs/drgn-src/drgn-run';
const have = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
for (const f of [dump, systemMap]) if (!existsSync(f)) {
  console.error(`${f} is not here: see /work/refs/arm64/README`);
  process.exit(3);
}

/** A child's CPU seconds, from bash's `times` after it. */
function cpuTimed(cmd, args, input) {
  const quoted = [cmd, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = spawnSync('bash', ['-c', `${quoted} > /dev/null; times >&2`], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  const lines = (r.stderr ?? '').trim().split('\n');
  const [u, s] = lines[lines.length - 1].split(/\s+/).map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x); return m ? Number(m[1]) * 60 + Number(m[2]) : 0; });
  return { cpu: u + s, code: r.status, err: lines.slice(0, -2).join('\n') };
}
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const rows = [];
// backtrace, whole command
const tasks = spawnSync(process.execPath, [join(root, 'packages/cli/bin/backtrace.js'), dump, '--system-map', systemMap, '--all-tasks'], { encoding: 'utf8', maxBuffer: 1 << 30 });
const nTasks = new Set(tasks.stdout.split('\n').filter((l) => l.includes('"kind":"frame"')).map((l) => JSON.parse(l).task)).size;
const bt = cpuTimed(process.execPath, [join(root, 'packages/cli/bin/backtrace.js'), dump, '--system-map', systemMap, '--all-tasks']);
rows.push({ what: 'vmpipe backtrace --all-tasks', n: nTasks, unit: 'tasks', cpu: bt.cpu });

// backtrace, the library alone
const lib = await import(join(root, 'packages/kernel/dist/index.js'));
{
  const t0 = cpuNow();
  const prog = lib.Program.open(dump, { systemMap });
  const u = new lib.Unwinder(prog);
  let n = 0;
  for (const s of lib.for_each_task(prog)) if ('task' in s) { lib.stack_trace(u, s.task); n++; }
  rows.push({ what: 'vmpipe library (open + stack_trace each)', n, unit: 'tasks', cpu: cpuNow() - t0 });
  prog.close();
}

if (existsSync(drgn) && existsSync(elf) && existsSync(vmlinux)) {
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-bench-arm64-'));
  const script = join(dir, 'bt.py');
  writeFileSync(script, ['from drgn.helpers.linux.pid import for_each_task', 'n = 0', 'for t in for_each_task(prog):', '    len(prog.stack_trace(t)); n += 1', 'print(n)'].join('\n'));
  const d = cpuTimed(drgn, ['-q', '-c', elf, '-s', vmlinux, script]);
  rows.push({ what: 'drgn (from source) stack_trace each task', n: nTasks, unit: 'tasks', cpu: d.cpu });
} else console.error('drgn from source, the ELF dump or the vmlinux is missing: drgn row skipped');

// disassembly: 4 MiB of .text
const { Aarch64Disassembler, vmlinuxCode } = await import(join(root, 'packages/disasm/dist/index.js'));
if (existsSync(vmlinux)) {
  const start = 0xffff800008010000n;
  const len = 4 << 20;
  const bytes = vmlinuxCode(vmlinux, start, len);
  const d = await Aarch64Disassembler.create({ symbolize: () => undefined });
  const t0 = cpuNow();
  let n = 0;
  for (const _ of d.disassemble(bytes, start)) n++;
  rows.push({ what: '@vmpipe/disasm Aarch64Disassembler (4 MiB of .text)', n, unit: 'insns', cpu: cpuNow() - t0 });
  d.free();
  if (have('aarch64-linux-gnu-objdump')) {
    const o = cpuTimed('aarch64-linux-gnu-objdump', ['-d', '-w', `--start-address=0x${start.toString(16)}`, `--stop-address=0x${(start + BigInt(len)).toString(16)}`, vmlinux]);
    rows.push({ what: 'aarch64-linux-gnu-objdump -d (same bytes)', n, unit: 'insns', cpu: o.cpu });
  }
}

const ratioOf = (unit) => rows.find((r) => r.unit === unit)?.cpu ?? 1;
console.table(rows.map((r) => ({ what: r.what, [r.unit]: r.n, 'CPU s': r.cpu.toFixed(2), 'per CPU-s': Math.round(r.n / r.cpu), 'CPU vs vmpipe': (r.cpu / ratioOf(r.unit)).toFixed(2) + 'x' })));
