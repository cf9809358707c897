/**
 * The commands on a genuine kdump capture (fixtures/scenarios/6.1.0-56-cloud-amd64/kdump-capture,
 * tools/recipes/kdump-capture: the seed's GPF, captured by a kexec'd kernel with makedumpfile -c
 * -d 31), against crash 8.0.2 and drgn (0.0.22 and 0.2.0+197) on the same file (expected/).
 *
 * What is particular to a capture: pr_pid is a real PID (0 for an idle CPU); the crashing CPU's
 * registers are the oops's pt_regs (crash_kexec from oops_end, no panic()), the other CPU's those
 * its crash NMI interrupted. crash prints the capture path it finds by searching the stacks
 * (machine_kexec .. asm_exc_general_protection; crash_nmi_callback .. end_repeat_nmi on the NMI
 * stack) and then an exception block with those registers; vmpipe, like drgn, starts at the
 * registers: the frames from crash's exception block on are compared. The fixture is cut to the
 * pages the tests read with fixtures/real's System.map and BTF (the same build), so they pass them.
 * Skips, saying so, without the fixture.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..');
const dir = join(repo, 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'kdump-capture');
const dump = join(dir, 'vmcore.kdump');
const have = existsSync(dump) && existsSync(join(dir, 'expected', 'crash.bt-a.txt'));
if (!have) console.log(`kdump-capture command tests skipped: no ${dump} (tools/recipes/kdump-capture)`);
// serial: each test spawns a command that reads the dump; one at a time keeps the suite light on 2 cores
const capTest = have ? test.serial : test.skip;
const lean = ['--system-map', join(repo, 'fixtures', 'real', 'System.map.gz'), '--btf', join(repo, 'fixtures', 'real', 'vmlinux.btf.zst')];
const expected = (f: string) => readFileSync(join(dir, 'expected', f), 'latin1');

type Rec = Record<string, unknown>;
/** `BIN DUMP ARGS`'s records; a non-zero exit throws. */
function run(bin: string, ...args: string[]): Rec[] {
  const r = runBinSync(bin, [dump, ...args]);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${r.code}: ${r.err}`);
  return r.records();
}

interface CrashTask {
  pid: number;
  task: string;
  cpu: number;
  comm: string;
  /** the frames crash prints after its (first) exception block: [function, pc] */
  after: [string, string][];
  /** the exception block's RIP */
  rip?: string;
}

/** crash `bt` / `bt -a` text. */
function crashBt(text: string): CrashTask[] {
  return text.split(/^(?=PID: )/m).filter((b) => b.startsWith('PID:')).map((block) => {
    const h = /^PID: (\d+)\s+TASK: ([0-9a-f]+)\s+CPU: (\d+)\s+COMMAND: "([^"]*)"/.exec(block)!;
    const at = block.indexOf('[exception RIP:');
    const after = [...block.slice(at < 0 ? 0 : at).matchAll(/#\d+ \[[0-9a-f]+\] (\S+) at ([0-9a-f]+)/g)].map((m) => [m[1]!, '0x' + m[2]] as [string, string]);
    const rip = /RIP: ([0-9a-f]{16})/.exec(block.slice(at))?.[1];
    return { pid: Number(h[1]), task: '0x' + h[2], cpu: Number(h[3]), comm: h[4]!, after, rip: rip ? '0x' + rip : undefined };
  });
}

/** drgn-cpus.py: per CPU, `cpu N: pid P comm C task 0x...` then the trace's function names. */
function drgnCpus(text: string): Map<number, { pid: number; comm: string; task: string; functions: string[] }> {
  const out = new Map<number, { pid: number; comm: string; task: string; functions: string[] }>();
  let cur: { pid: number; comm: string; task: string; functions: string[] } | undefined;
  for (const line of text.split('\n')) {
    const h = /^cpu (\d+): pid (\d+) comm (\S+) task (0x[0-9a-f]+)/.exec(line);
    if (h) out.set(Number(h[1]), (cur = { pid: Number(h[2]), comm: h[3]!, task: h[4]!, functions: [] }));
    const f = /^#\d+\s+([A-Za-z_][\w.]*)/.exec(line);
    if (f && cur) cur.functions.push(f[1]!.replace(/\+0x.*$/, ''));
  }
  return out;
}

const bare = (name: string) => name.replace(/(\.(constprop|isra|part|cold)(\.\d+)?)+$/, '');
/** ours is a subsequence of drgn's (drgn adds inlined functions as frames), first frames alike. */
function withinDrgn(t: import('ava').ExecutionContext, what: string, ours: string[], drgn: string[]): void {
  t.is(bare(ours[0]!), bare(drgn[0]!), `${what}: first frame`);
  let i = 0;
  for (const d of drgn) if (i < ours.length && bare(ours[i]!) === bare(d)) i++;
  // the last frame: drgn names the entry point by its ELF symbol (secondary_startup_64), the kernel
  // by kallsyms' (secondary_startup_64_no_verify, the same address): compare up to it
  t.true(i >= ours.length - 1, `${what}: ours ${JSON.stringify(ours)} within drgn's ${JSON.stringify(drgn)}`);
}

capTest('vmcore-extract: cpu records carry the real PIDs (pr_pid) of crash bt -a, pid = prPid', (t) => {
  const cpus = run('vmcore-extract').filter((r) => r['kind'] === 'cpu');
  const crash = crashBt(expected('crash.bt-a.txt'));
  t.is(cpus.length, crash.length);
  for (const c of crash) {
    const r = cpus.find((x) => x['cpu'] === c.cpu)!;
    t.is(r['prPidMeaning'], 'pid');
    t.is(r['prPid'], c.pid, `CPU ${c.cpu}`);
    t.is(r['pid'], c.pid, `CPU ${c.cpu}`);
    t.is((r['regs'] as Rec)['rip'], c.rip, `CPU ${c.cpu}: NT_PRSTATUS rip = crash's exception RIP`);
  }
});

capTest('vmcore-extract --panic: the crashing task is crash bt\'s and drgn\'s crashed thread, though panic() never ran', (t) => {
  const p = run('vmcore-extract', '--panic', ...lean).find((r) => r['kind'] === 'panic')!;
  const [bt] = crashBt(expected('crash.bt.txt'));
  t.is(p['cpu'], bt!.cpu);
  t.is(p['pid'], bt!.pid);
  t.is(p['comm'], bt!.comm);
  t.is(p['task'], bt!.task);
  t.regex(String(p['headline']), /^general protection fault, probably for non-canonical address 0xdead000000000100/);
  t.is(p['message'], null, 'oops_end called crash_kexec: no "Kernel panic - not syncing" line');
  for (const f of ['drgn.cpus.txt', 'drgn-new.cpus.txt']) t.regex(expected(f), new RegExp(`^crashed_thread.tid: ${bt!.pid}$`, 'm'), f);
  t.regex(expected('drgn.cpus.txt'), new RegExp(`^panic_cpu: ${bt!.cpu}$`, 'm'));
});

capTest('backtrace: the crashing task from the oops\'s registers on, frame for frame crash bt\'s after its exception block, within drgn\'s', (t) => {
  const frames = run('backtrace', ...lean).filter((r) => r['kind'] === 'frame');
  const [bt] = crashBt(expected('crash.bt.txt'));
  t.true(frames.every((f) => f['task'] === bt!.task && f['pid'] === bt!.pid && f['cpu'] === bt!.cpu));
  t.is(frames[0]!['pc'], bt!.rip, 'frame 0 is the exception RIP');
  t.deepEqual(frames.slice(1).map((f) => [f['function'], f['pc']]), bt!.after);
  withinDrgn(t, 'CPU 1', frames.map((f) => String(f['function'])), drgnCpus(expected('drgn-new.cpus.txt')).get(bt!.cpu)!.functions);
});

capTest('backtrace --all-cpus: the NMI-stopped CPU from the registers its NMI interrupted, as crash bt -a after "<NMI exception stack>" and drgn', (t) => {
  const recs = run('backtrace', '--all-cpus', ...lean);
  const crash = crashBt(expected('crash.bt-a.txt'));
  const drgnOld = drgnCpus(expected('drgn.cpus.txt'));
  const drgnNew = drgnCpus(expected('drgn-new.cpus.txt'));
  t.regex(expected('crash.bt-a.txt'), /--- <NMI exception stack> ---/);
  for (const c of crash) {
    const frames = recs.filter((r) => r['kind'] === 'frame' && r['cpu'] === c.cpu);
    t.true(frames.length > 0, `CPU ${c.cpu}`);
    t.true(frames.every((f) => f['task'] === c.task && f['pid'] === c.pid), `CPU ${c.cpu}: crash's task`);
    t.is(frames[0]!['pc'], c.rip, `CPU ${c.cpu}: frame 0 is the exception RIP`);
    // crash prints the interrupted function as a frame of its own (CPU 0's native_safe_halt): ours is frame 0
    const want = c.after[0]?.[1] === c.rip ? c.after.slice(1) : c.after;
    t.deepEqual(frames.slice(1).map((f) => [f['function'], f['pc']]), want, `CPU ${c.cpu}`);
    for (const [name, d] of [['drgn 0.0.22', drgnOld], ['drgn 0.2.0', drgnNew]] as const) {
      t.is(d.get(c.cpu)?.pid, c.pid, `${name}: CPU ${c.cpu}'s current task`);
      withinDrgn(t, `${name} CPU ${c.cpu}`, frames.map((f) => String(f['function'])), d.get(c.cpu)!.functions);
    }
  }
});

capTest('list-walk: vmpipe_queue as crash list -H prints it, up to the poisoned entry', (t) => {
  const recs = run('list-walk', '--head', 'vmpipe_queue', ...lean);
  // crash prints the nodes, then the poisoned next it could not read (and says so)
  const crashList = [...expected('crash.list-H-vmpipe_queue-s-vmpipe_item.txt').matchAll(/^([0-9a-f]{16})$/gm)].map((m) => '0x' + m[1]);
  t.is(crashList.at(-1), '0xdead000000000100');
  const entries = recs.filter((r) => r['kind'] === 'list-entry');
  t.deepEqual(entries.map((r) => r['entry']), crashList.slice(0, -1));
  t.is(entries.at(-1)!['next'], crashList.at(-1));
  const err = recs.find((r) => r['kind'] === 'error')!;
  t.is(err['code'], 'list-corrupt');
  t.is(err['reason'], 'poison');
});
