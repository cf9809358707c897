import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDumpFile } from '@vmpipe/mkdump';

const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-kr-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const bin = join(here, '..', 'bin', 'vmcore-extract.js');
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const fixture = join(real, 'vmcore.kdump-zlib');
const expected = (name: string) => readFileSync(join(real, 'expected', name));

function run(args: string[], shell?: string) {
  const r = shell
    ? spawnSync('sh', ['-c', shell], { encoding: 'buffer' })
    : spawnSync(process.execPath, [bin, ...args], { encoding: 'buffer', maxBuffer: 1 << 26 });
  return {
    code: r.status,
    out: r.stdout,
    err: r.stderr.toString(),
    records: () => r.stdout.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)),
  };
}

test('--log: one log record per printk record, after the source record', (t) => {
  const r = run([fixture, '--log']);
  t.is(r.code, 0, r.err);
  const records = r.records();
  t.is(records[0].kind, 'source');
  const logs = records.filter((x) => x.kind === 'log');
  // makedumpfile --dump-dmesg prints one line per record plus continuation lines of multi-line ones.
  const mdf = expected('makedumpfile-dump-dmesg.vmcore.kdump-zlib.txt').toString().split('\n').filter((l) => l.startsWith('['));
  t.is(logs.length, mdf.length);
  t.like(logs[0], { seq: 0, tsNsec: 0, level: 5, facility: 0, callerId: 'T0', timestamp: '[    0.000000]' });
  t.true(logs[0].text.startsWith('Linux version 6.1.0-56-cloud-amd64'));
  const panic = logs.find((l) => l.text.startsWith('Kernel panic'));
  t.like(panic, { text: 'Kernel panic - not syncing: sysrq triggered crash', level: 0, timestamp: '[    2.745034]', callerId: 'T1' });
  t.is(records.filter((x) => x.kind === 'error').length, 0);
});

test('--text is vmcore-dmesg byte for byte; --text=makedumpfile is makedumpfile --dump-dmesg', (t) => {
  const v = run([fixture, '--text']);
  t.is(v.code, 0, v.err);
  t.deepEqual(v.out, expected('vmcore-dmesg.vmcore.ktext.elf.txt'));
  const m = run([fixture, '--text=makedumpfile']);
  t.deepEqual(m.out, expected('makedumpfile-dump-dmesg.vmcore.kdump-zlib.txt'));
  t.is(run([fixture, '--text=less']).code, 2);
});

test('--panic and --sys on the sysrq-c fixture', (t) => {
  const r = run([fixture, '--panic', '--sys']);
  t.is(r.code, 0, r.err);
  const [source, panic, sys] = r.records();
  t.like(source, { kind: 'source', symbols: 'kallsyms', types: 'btf-dump' }, 'the source record says the types came from the dump');
  t.like(panic, { kind: 'panic', headline: 'Kernel panic - not syncing: sysrq triggered crash', event: 'sysrq-crash', cpu: 1, pid: 1, comm: 'sh' });
  // crash.vmcore.kdump-zlib.sys.txt: RELEASE, VERSION, NODENAME, MACHINE, UPTIME, MEMORY 159.5 MB.
  t.like(sys, {
    kind: 'system',
    release: '6.1.0-56-cloud-amd64',
    version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)',
    nodename: '(none)',
    machine: 'x86_64',
    cpus: 2,
    uptime: '00:00:02',
    memoryBytes: 167246848,
    memorySource: 'e820',
    utsSource: 'init_uts_ns',
    panic: 'Kernel panic - not syncing: sysrq triggered crash',
  });
});

test('--panic and --sys facts that need types (the dump\'s own BTF) agree with crash sys and bt', (t) => {
  const r = run([fixture, '--panic', '--sys']);
  t.is(r.code, 0, r.err);
  const records = r.records();
  t.false(records.some((x) => x.kind === 'error'));
  const [panic, sys] = records.slice(1);
  // crash.vmcore.kdump-zlib.bt.txt: PID: 1  TASK: ffff8dce811f9800  CPU: 1  COMMAND: "sh"
  const bt = /^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)\s+COMMAND: "(.*)"$/m.exec(expected('crash.vmcore.kdump-zlib.bt.txt').toString())!;
  t.like(panic, { cpu: Number(bt[3]), pid: Number(bt[1]), comm: bt[4], task: '0x' + bt[2], taskSource: 'log' });
  t.like(sys, { crashTimeSource: 'timekeeper', cpusOffline: 1 });
  t.is(sys.note, undefined);
  // crash.vmcore.kdump-zlib.sys.txt: CPUS and DATE lines, as the render prints them.
  const render = join(here, '..', 'bin', 'vmpipe-render.js');
  const text = run([], `node ${bin} ${fixture} --sys | node ${render}`).out.toString();
  const crash = expected('crash.vmcore.kdump-zlib.sys.txt').toString();
  // The system block comes after the source block (which has its own CPUS line): the last one.
  const last = (s: string, key: string) => [...s.matchAll(new RegExp(`^ *${key}: .*$`, 'gm'))].pop()?.[0];
  for (const key of ['CPUS', 'DATE']) t.is(last(text, key), last(crash, key), key);
});

test('| head -1 ends quietly', (t) => {
  const r = run([], `node ${bin} ${fixture} --log | head -1 >/dev/null; echo "\${PIPESTATUS:-0}"`);
  t.is(r.err, '');
});

/** A dump whose kernel text is mapped (init_top_pgt page tables) but whose VMCOREINFO has no printk entries. */
async function noPrintkDump(): Promise<string> {
  const mem = Buffer.alloc(4 << 20);
  mem.writeBigUInt64LE(0x101000n | 0x63n, 0x100000 + 511 * 8);
  mem.writeBigUInt64LE(0x102000n | 0x63n, 0x101000 + 510 * 8);
  mem.writeBigUInt64LE(0xe3n, 0x102000);
  mem.writeBigUInt64LE(0x200000n | 0xe3n, 0x102008);
  const path = join(mkdtempSync(join(tmp, 'no-printk-')), 'vmcore');
  await writeDumpFile(path, {
    format: 'kdump',
    vmcoreinfo: 'OSRELEASE=6.1.0\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=ffffffff80100000\nNUMBER(phys_base)=0\nSYMBOL(prb)=ffffffff80300000\n',
    utsname: { nodename: 'vm1', release: '6.1.0' },
    ranges: [{ paddr: 0n, pages: 1024 }],
    content: (pfn) => mem.subarray(pfn * 4096, (pfn + 1) * 4096),
    cpus: [{ prstatusPid: 1, regs: {} }],
  });
  return path;
}

test('a VMCOREINFO without the ringbuffer entries: one error record naming them, exit 0; --text exits 4', async (t) => {
  const path = await noPrintkDump();
  const r = run([path, '--log', '--panic', '--sys']);
  t.is(r.code, 0, r.err);
  const records = r.records();
  const err = records.find((x) => x.kind === 'error');
  t.is(err.code, 'printk-unavailable');
  t.true(err.missing.includes('SIZE(printk_ringbuffer)'));
  t.true(err.missing.includes('OFFSET(prb_desc_ring.head_id)'));
  t.false(records.some((x) => x.kind === 'panic' || x.kind === 'log'));
  // sys still works: the utsname falls back to the kdump header.
  t.like(records.find((x) => x.kind === 'system'), { nodename: 'vm1', utsSource: 'kdump-header', panic: null });
  // No kallsyms, so no types: the typed fields are absent and the record says why, once.
  const sys = records.find((x) => x.kind === 'system');
  t.is(sys.cpusOffline, undefined);
  t.is(sys.crashTimeSource, undefined);
  t.regex(sys.note, /^no kernel symbols in the dump/);
  const text = run([path, '--text']);
  t.is(text.code, 4);
  t.regex(text.err, /^vmcore-extract: VMCOREINFO lacks entries of the lockless printk buffer: missing SIZE\(printk_ringbuffer\)/);
});
