#!/usr/bin/env node
// Benchmark: struct layouts from BTF (issue 5, the BTF path; the DWARF path is dwarf.mjs).
//
//   node tools/bench/types.mjs [--btf FILE] [--dump DUMP] [--vmlinux VMLINUX] [--type task_struct] [--runs 7]
//
// Each row is a fresh process timed from spawn to exit (start-up included), the median of --runs:
//   node start-up                 `node -e 0`, the floor under every vmpipe row
//   vmpipe library (BTF file)     import @vmpipe/types, readBtfFile, findType, layoutOf TYPE, print JSON
//   struct-decode --btf           the command: oclif start-up + the above + the type record on stdout
//   struct-decode DUMP (btf-dump) the command on the dump: open it, kallsyms for __start_BTF, BTF read from its memory
//   pahole -F btf -C TYPE         pahole on the same raw BTF file
//   drgn (DWARF vmlinux)          drgn 0.0.22 cannot load a raw BTF file; shown for scale:
//                                 Program().load_debug_info([VMLINUX]); prog.type("struct TYPE")
// Goal (issue 5): the BTF path under 100 ms including start-up. Not a test. Needs `npm run build`.
// The BTF file defaults to fixtures/real/vmlinux.btf.zst, decompressed to a temporary file first
// so no row pays for zstd.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decompress } from 'fzstd';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const type = arg('type', 'task_struct');
const runs = Number(arg('runs', '7'));
const dump = arg('dump', join(root, 'fixtures/real/vmcore.kdump-zlib'));
const vmlinux = arg('vmlinux', '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64');
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-types-'));
let btf = arg('btf', join(root, 'fixtures/real/vmlinux.btf.zst'));
if (btf.endsWith('.zst')) {
  const raw = join(tmp, 'vmlinux.btf');
  writeFileSync(raw, decompress(readFileSync(btf)));
  btf = raw;
}
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

function measure(cmd, args) {
  const times = [];
  let rss = '-';
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = timeBin ? spawnSync(timeBin, ['-f', '%M', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) return { error: (r.stderr || '').trim().split('\n').slice(-1)[0] || `exit ${r.status}` };
    times.push(s);
    if (timeBin) rss = (Number(r.stderr.trim().split('\n').pop()) / 1024).toFixed(1);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)], rss };
}

const lib = `import { readBtfFile, findType, layoutOf } from ${JSON.stringify(join(root, 'packages/types/dist/index.js'))};
const t = readBtfFile(${JSON.stringify(btf)}); process.stdout.write(JSON.stringify(layoutOf(t, findType(t, ${JSON.stringify(type)}))) + '\\n');`;
const bin = join(root, 'packages/cli/bin/struct-decode.js');
const rows = [
  ['node start-up', process.execPath, ['-e', '0']],
  ['vmpipe library (BTF file)', process.execPath, ['--input-type=module', '-e', lib]],
  ['struct-decode --btf', process.execPath, [bin, '--btf', btf, '--layout', type]],
];
if (existsSync(dump)) rows.push(['struct-decode DUMP (btf-dump)', process.execPath, [bin, dump, '--layout', type]]);
if (has('pahole')) rows.push(['pahole -F btf -C', 'pahole', ['-F', 'btf', '-C', type, btf]]);
if (has('python3') && existsSync(vmlinux) && spawnSync('python3', ['-c', 'import drgn']).status === 0) {
  rows.push(['drgn (DWARF vmlinux)', 'python3', ['-c', `import drgn\np=drgn.Program()\np.load_debug_info([${JSON.stringify(vmlinux)}])\np.type("struct ${type}")`]]);
}

const results = rows.map(([name, cmd, args]) => ({ name, ...measure(cmd, args) }));
const base = results.find((r) => r.name === 'struct-decode --btf')?.seconds;
console.log(`${type} from ${btf} (${(readFileSync(btf).length / 1e6).toFixed(1)} MB), median of ${runs} runs, start-up included`);
console.table(results.map((r) => (r.error ? { row: r.name, error: r.error } : {
  row: r.name,
  ms: (r.seconds * 1000).toFixed(0),
  'time / struct-decode --btf': base ? (r.seconds / base).toFixed(2) : '-',
  'peak RSS MB': r.rss,
})));
rmSync(tmp, { recursive: true, force: true });
