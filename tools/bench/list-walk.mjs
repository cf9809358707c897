#!/usr/bin/env node
// Benchmark: walk a long kernel list, entries/s, list-walk vs crash `list` and drgn `list_for_each`.
//
//   node tools/bench/list-walk.mjs [--entries N] [--fields-entries M] [--vmlinux FILE] [--longlist DUMP]
//     --entries: the synthetic list's length (default 1,000,000)
//     --fields-entries: the list for the rows that decode two members per entry (default 2,000:
//       crash's `list -s` runs gdb's printer per entry, ~50 ms each on the 2-core machine)
//     --only long|longlist|fields: one workload
//     --vmlinux: for crash and drgn (default /work/refs/6.1.0-56-cloud-amd64/vmlinux)
//     --longlist: the scenarios' longlist dump (200,000 entries on vmpipe_long); default
//       fixtures/scenarios/6.1.0-56-cloud-amd64/longlist/vmcore.kdump, else /work/refs/scenarios/.../longlist/vmcore.kdump
//
// Workloads (each a kdump-compressed dump):
//   synthetic  fixtures/real/vmcore.kdump-zlib rewritten by the dump writer with an N-entry list_head
//              ring laid in pages the dump had left out (packages/cli/src/list-walk.test-helper.ts longList)
//   longlist   the scenarios' dump: crashmod's vmpipe_long, 200,000 struct vmpipe_item
// Rows, each walking the same list on the same dump:
//   list-walk            records to /dev/null (next->prev checked)
//   list-walk --fields   + two members decoded per entry (list_head.next,prev: the same bytes crash -s reads)
//   list-walk --count    the walk alone
//   crash list -H        entries to /dev/null; crash list -H -s list_head.next,prev
//   drgn                 list_for_each over the head, counting (and reading .next/.prev for the fields row)
// Times: the whole run (wall, and CPU = user+sys of the process tree, which a loaded machine
// distorts less), and the work = whole minus the same tool's start-up (crash and drgn: an
// empty session; list-walk: --max 1), as entries/s. Ratios are list-walk's entries/s over theirs.
// Goal (issue 9): the whole command faster than drgn's whole run, at least 10x crash's.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const ENTRIES = Number(arg('--entries', '1000000'));
const FIELDS_ENTRIES = Number(arg('--fields-entries', '2000'));
const ONLY = arg('--only', '');
const vmlinux = arg('--vmlinux', '/work/refs/6.1.0-56-cloud-amd64/vmlinux');
const longlist = arg('--longlist', [join(root, 'fixtures/scenarios/6.1.0-56-cloud-amd64/longlist/vmcore.kdump'), '/work/refs/scenarios/6.1.0-56-cloud-amd64/longlist/vmcore.kdump'].find(existsSync));
const listWalk = join(root, 'packages/cli/bin/list-walk.js');
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-list-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** Runs a shell command; wall seconds and CPU seconds (user + sys of its children, from bash's `times`). */
function timed(cmd) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync('bash', ['-c', `${cmd} >/dev/null 2>&1; times`], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [, children] = out.trim().split('\n');
  const secs = (children ?? '').match(/(\d+)m([\d.]+)s/g)?.map((x) => { const m = /(\d+)m([\d.]+)s/.exec(x); return Number(m[1]) * 60 + Number(m[2]); }) ?? [0, 0];
  return { wall, cpu: secs[0] + secs[1] };
}

function best(n, cmd) {
  let b = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < n; i++) {
    const t = timed(cmd);
    b = { wall: Math.min(b.wall, t.wall), cpu: Math.min(b.cpu, t.cpu) };
  }
  return b;
}

async function synthetic(entries, fields) {
  const { patchedDump, longList } = await import(join(root, 'packages/cli/dist/list-walk.test-helper.js'));
  const path = join(tmp, `long-${entries}.kdump`);
  const out = {};
  process.stderr.write(`writing a dump with a ${entries.toLocaleString()}-entry list...\n`);
  await patchedDump(join(root, 'fixtures/real/vmcore.kdump-zlib'), path, longList(entries, out));
  return { name: `synthetic, ${entries.toLocaleString()} entries${fields ? ', two members decoded per entry' : ''}`, dump: path, head: `0x${out.head.toString(16)}`, entries, fields };
}

function scenario() {
  if (!longlist) return undefined;
  const line = execFileSync(process.execPath, [join(root, 'packages/cli/bin/sym-resolve.js'), longlist, 'vmpipe_long'], { encoding: 'utf8' });
  const head = JSON.parse(line.split('\n')[0]).addr;
  const count = JSON.parse(execFileSync(process.execPath, [listWalk, longlist, '--head', head, '--count'], { encoding: 'utf8' }).trim()).count;
  return { name: `scenarios' longlist, ${count.toLocaleString()} entries`, dump: longlist, head, entries: count, fields: false };
}

function rows(w) {
  const out = [];
  const lw = (extra) => `${process.execPath} ${listWalk} ${w.dump} --head ${w.head} ${extra}`;
  const startup = best(2, lw('--max 1'));
  const mine = w.fields ? [['list-walk --fields', '--type list_head --member next --fields next,prev']] : [['list-walk', ''], ['list-walk --count', '--count']];
  for (const [name, extra] of mine) {
    process.stderr.write(`${w.name}: ${name}\n`);
    out.push({ name, ...best(2, lw(extra)), startup });
  }
  if (has('crash') && existsSync(vmlinux)) {
    const session = (body) => {
      const f = join(tmp, `crash-${out.length}.in`);
      writeFileSync(f, `${body}quit\n`);
      return `crash -s ${vmlinux} ${w.dump} < ${f}`;
    };
    const start = best(1, session(''));
    const addr = w.head.replace(/^0x/, '');
    for (const [name, body] of w.fields ? [['crash list -H -s', `list -H ${addr} -s list_head.next,prev > /dev/null\n`]] : [['crash list -H', `list -H ${addr} > /dev/null\n`]]) {
      process.stderr.write(`${w.name}: ${name}\n`);
      out.push({ name, ...best(1, session(body)), startup: start });
    }
  }
  if (has('drgn') && existsSync(vmlinux)) {
    const script = (fields) => {
      const f = join(tmp, `drgn-${fields}.py`);
      writeFileSync(f, [
        'import sys',
        'from drgn import Object',
        'from drgn.helpers.linux.list import list_for_each',
        'n = 0',
        `for x in list_for_each(Object(prog, 'struct list_head *', value=${w.head})):`,
        fields ? '    n += x.next.value_() ^ x.prev.value_() != 0' : '    n += 1',
        '',
      ].join('\n'));
      return `drgn -q -c ${w.dump} -s ${vmlinux} ${f}`;
    };
    const empty = join(tmp, 'empty.py');
    writeFileSync(empty, '\n');
    const start = best(1, `drgn -q -c ${w.dump} -s ${vmlinux} ${empty}`);
    for (const [name, fields] of w.fields ? [['drgn list_for_each + .next/.prev', true]] : [['drgn list_for_each', false]]) {
      process.stderr.write(`${w.name}: ${name}\n`);
      out.push({ name, ...best(1, script(fields)), startup: start });
    }
  }
  return out;
}

function table(w, rs) {
  const rate = (r) => w.entries / Math.max(1e-3, r.cpu - r.startup.cpu);
  const mine = rs.find((r) => r.name === 'list-walk' || r.name === 'list-walk --fields');
  console.log(`\n${w.name} (${w.dump})`);
  console.log('| run | whole wall s | whole CPU s | start-up CPU s | work entries/s (CPU) | list-walk vs it, work | list-walk vs it, whole CPU |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rs) {
    const ref = mine;
    const isMine = r.name.startsWith('list-walk');
    console.log(`| ${r.name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.startup.cpu.toFixed(2)} | ${Math.round(rate(r)).toLocaleString()} | ${isMine ? '' : (rate(ref) / rate(r)).toFixed(2) + 'x'} | ${isMine ? '' : (r.cpu / ref.cpu).toFixed(2) + 'x'} |`);
  }
}

const workloads = [
  !ONLY || ONLY === 'long' ? await synthetic(ENTRIES, false) : undefined,
  !ONLY || ONLY === 'longlist' ? scenario() : undefined,
  !ONLY || ONLY === 'fields' ? await synthetic(FIELDS_ENTRIES, true) : undefined,
].filter(Boolean);
for (const w of workloads) table(w, rows(w));
