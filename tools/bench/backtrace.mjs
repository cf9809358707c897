#!/usr/bin/env node
// backtrace --all-tasks against crash `foreach bt` and drgn unwinding every thread, on the same dump.
// Usage: node tools/bench/backtrace.mjs [DUMP [VMLINUX]]   (build first: npm run build)
// DUMP defaults to the scenarios' many-tasks dump when /work/refs has it, else the fixture;
// VMLINUX (for crash and drgn) to /work/refs/6.1.0-56-cloud-amd64/vmlinux. Missing tools are skipped.
// Prints tasks unwound, seconds (whole run, start-up included), tasks/s, and each tool's time as a
// ratio of vmpipe's; and vmpipe's library alone (program open + every stack_trace) apart from start-up.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const manytasks = '/work/refs/scenarios/6.1.0-56-cloud-amd64/manytasks/vmcore.kdump';
const dump = process.argv[2] ?? (existsSync(manytasks) ? manytasks : join(root, 'fixtures/real/vmcore.kdump-zlib'));
const vmlinux = process.argv[3] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const have = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function timed(cmd, args, input) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, out: r.stdout ?? '', err: r.stderr ?? '', code: r.status };
}

const rows = [];
process.stderr.write(`dump: ${dump}\n`);

// vmpipe, whole command
const v = timed(process.execPath, [join(root, 'packages/cli/bin/backtrace.js'), dump, '--all-tasks']);
const vTasks = new Set(v.out.split('\n').filter((l) => l.includes('"kind":"frame"')).map((l) => JSON.parse(l).task)).size;
rows.push({ tool: 'vmpipe backtrace --all-tasks', tasks: vTasks, s: v.s });

// vmpipe, the library alone (no process or oclif start-up)
const lib = await import(join(root, 'packages/kernel/dist/index.js'));
{
  const t0 = process.hrtime.bigint();
  const prog = lib.Program.open(dump);
  const u = new lib.Unwinder(prog);
  let n = 0;
  for (const s of lib.for_each_task(prog)) if ('task' in s) { lib.stack_trace(u, s.task); n++; }
  rows.push({ tool: 'vmpipe library (open + stack_trace each)', tasks: n, s: Number(process.hrtime.bigint() - t0) / 1e9 });
  prog.close();
}

if (have('crash') && existsSync(vmlinux)) {
  process.stderr.write('crash foreach bt...\n');
  const c = timed('crash', ['-s', vmlinux, dump], 'foreach bt\nquit\n');
  rows.push({ tool: 'crash 8 foreach bt', tasks: (c.out.match(/^PID: /gm) ?? []).length, s: c.s });
} else process.stderr.write('crash or the vmlinux is missing: skipped\n');

if (have('drgn') && existsSync(vmlinux)) {
  process.stderr.write('drgn...\n');
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-bench-bt-'));
  const script = join(dir, 'bt.py');
  writeFileSync(script, [
    'from drgn.helpers.linux.pid import for_each_task',
    'n = bad = 0',
    'for t in for_each_task(prog):',
    '    try:',
    '        len(prog.stack_trace(t)); n += 1',
    '    except Exception:',
    '        bad += 1',
    'print(n, bad)',
  ].join('\n'));
  const d = timed('drgn', ['-q', '-c', dump, '-s', vmlinux, script]);
  const [n, bad] = d.out.trim().split(/\s+/).map(Number);
  rows.push({ tool: `drgn stack_trace each task${bad ? ` (${bad} failed)` : ''}`, tasks: n ?? 0, s: d.s });
  if (d.code !== 0) process.stderr.write(`drgn: ${d.err.split('\n').slice(-3).join(' ')}\n`);
} else process.stderr.write('drgn or the vmlinux is missing: skipped\n');

const base = rows[0].s;
console.table(rows.map((r) => ({ tool: r.tool, tasks: r.tasks, seconds: r.s.toFixed(2), 'tasks/s': Math.round(r.tasks / r.s), 'time vs vmpipe': (r.s / base).toFixed(2) + 'x' })));
