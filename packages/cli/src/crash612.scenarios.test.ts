/**
 * vmpipe on the 6.12 scenario fixtures (fixtures/scenarios/6.12.117+deb12-cloud-amd64), against a
 * current crash: `crash 9.0.2++` built from crash-utility/crash abcb45e with gdb 16.3
 * (expected/crash-9.0.2++.*.txt, each with its .cmd; Debian's crash 8.0.2 cannot open 6.12 dumps).
 * crash cannot open the cut fixtures (it reads pages the cut left out: cpu_possible_map, the
 * banner), so its outputs were made on the uncut dumps of the same captures (the .cmd says so);
 * vmpipe reads the cut file. Where the two disagree the scenario's NOTES.md says which is right
 * from the bytes; the tests assert that.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// asynchronous: spawnSync would hold ava's worker past its timeout on a busy machine
import { runBin as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const KERNEL = join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.12.117+deb12-cloud-amd64');
const VER = 'crash-9.0.2++';
const dir = (scen: string) => join(KERNEL, scen);
const dumpOf = (scen: string) => join(dir(scen), 'vmcore.kdump');
const crash = (scen: string, name: string) => readFileSync(join(dir(scen), 'expected', `${VER}.${name}.txt`), 'latin1');
const have = (scen: string, name: string) => existsSync(dumpOf(scen)) && existsSync(join(dir(scen), 'expected', `${VER}.${name}.txt`));

/** `CMD ARGS | vmpipe-render`, as a user types it. */
async function rendered(name: string, args: string[]): Promise<string> {
  const r = await run(name, args);
  return (await run('vmpipe-render', [], { input: r.out })).out;
}

const seed = have('seed', 'sys') ? test : test.skip;
if (!have('seed', 'sys')) console.log(`crash 6.12 tests skipped: no ${dumpOf('seed')} or its ${VER} references`);

/** crash's `#N [SP] FUNC at ADDR [MOD]` lines as [sp, func, addr]. */
const frames = (text: string) => [...text.matchAll(/^\s*#\d+ \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)/gm)].map((m) => [m[1], m[2], m[3]].join(' '));
/** The register lines of every `[exception RIP: ...]` block. */
const exceptionBlocks = (text: string) => text.split('\n').filter((l) => /^\s+(\[exception RIP:|RIP:|RAX:|RDX:|RBP:|R10:|R13:|ORIG_RAX:|CS:)/.test(l)).map((l) => l.trimEnd());

seed('backtrace | vmpipe-render: crash bt\'s frames (panic down to ret_from_fork_asm) and exception frame; ours start where the CPU stopped, in pvpanic', async (t) => {
  const ours = await rendered('backtrace', [dumpOf('seed')]);
  const theirs = crash('seed', 'bt');
  t.is(ours.split('\n')[0], theirs.split('\n')[0], 'PID/TASK/CPU/COMMAND line');
  const o = frames(ours);
  const c = frames(theirs);
  t.is(c[0]!.split(' ')[1], 'panic');
  // crash 9 starts at panic's saved frame; the NT_PRSTATUS registers are in pvpanic's notifier,
  // called from panic (drgn 0.2.0's crashed_thread trace has the same four frames first)
  t.deepEqual(o.slice(0, 4).map((f) => f.split(' ')[1]), ['pvpanic_send_event.part.0', 'pvpanic_panic_notify', 'notifier_call_chain', 'atomic_notifier_call_chain']);
  t.deepEqual(o.slice(4), c);
  t.deepEqual(exceptionBlocks(ours), exceptionBlocks(theirs));
});

seed('backtrace --all-cpus | vmpipe-render: crash bt -a\'s frames of both CPUs from the interrupted idle loop and the walker down; CPU 0\'s IRQ-stack top as NOTES.md says', async (t) => {
  const ours = await rendered('backtrace', [dumpOf('seed'), '--all-cpus']);
  const theirs = crash('seed', 'bt-a');
  const [o0, o1] = ours.split(/\n\n/);
  const [c0, c1] = theirs.split(/\n\n/);
  t.is(o0!.split('\n')[0], c0!.split('\n')[0]);
  // CPU 0 (swapper/0, stopped by panic's reboot IPI): from the idle loop's exception frame down, the same
  const tail = (f: string[]) => f.slice(f.findIndex((x) => x.includes(' default_idle ')));
  t.deepEqual(tail(frames(o0!)), tail(frames(c0!)));
  t.true(exceptionBlocks(o0!).join('\n').includes('[exception RIP: pv_native_safe_halt+15]'));
  t.true(exceptionBlocks(c0!).join('\n').includes('[exception RIP: pv_native_safe_halt+15]'));
  // the CPU's own registers: in stop_this_cpu, called from __sysvec_reboot (ORC); crash 9 prints the
  // registers as an exception frame and then a stale return address (update_wall_time) it scanned
  t.deepEqual(frames(o0!).slice(0, 2).map((f) => f.split(' ')[1]), ['stop_this_cpu', '__sysvec_reboot']);
  t.regex(c0!, /\[exception RIP: stop_this_cpu\+119\]/);
  t.regex(c0!, /#0 \[ffffcf7280003fc8\] update_wall_time at/);
  // CPU 1, the walker: as bt
  t.deepEqual(frames(o1!).slice(4), frames(c1!));
});

seed('task-list --format crash: crash ps\'s 64 lines; user tasks\' %MEM/VSZ/RSS aside: their mm_structs are not in the cut, and the records say so', async (t) => {
  const r = await run('task-list', [dumpOf('seed'), '--format', 'crash']);
  t.is(r.code, 0, r.err);
  const ours = r.out.split('\n').filter(Boolean);
  const theirs = crash('seed', 'ps').split('\n').filter(Boolean);
  t.is(ours.length, theirs.length);
  t.is(ours[0], theirs[0]);
  // PID PPID CPU TASK ST, and COMM; %MEM VSZ RSS where crash shows a kernel thread's zeros
  const cols = (l: string) => l.replace(/^>/, ' ').trim().split(/\s+/);
  for (let i = 1; i < theirs.length; i++) {
    const c = cols(theirs[i]!);
    const o = cols(ours[i]!);
    t.deepEqual([...o.slice(0, 5), ...o.slice(8)], [...c.slice(0, 5), ...c.slice(8)], theirs[i]);
    if (c[6] === '0') t.is(ours[i], theirs[i]);
  }
  // the two user tasks (busybox init and sleep): crash 9 from the uncut dump, 1728 and 1440 KB RSS, which
  // task-list gives on the uncut dump too (task-rss.scenarios.test.ts); on the cut it names what it lacks
  t.deepEqual(theirs.slice(1).filter((l) => !/ 0\.0 +0 +0 /.test(l)).map((l) => cols(l).slice(5, 9)), [['1.1', '2260', '1728', 'init'], ['0.9', '2260', '1440', 'sleep']]);
  const json = await run('task-list', [dumpOf('seed')]);
  const users = json.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { kind: string; comm?: string; kernelThread?: boolean; missing?: string[] }).filter((r) => r.kind === 'task' && !r.kernelThread);
  t.deepEqual(users.map((u) => [u.comm, u.missing]), [['init', ['mm->rss_stat', 'mm->total_vm']], ['sleep', ['mm->rss_stat', 'mm->total_vm']]]);
});

seed('module-list --format crash: crash mod\'s lines; the TEXT_BASE header of crash 9 on 6.4+; the crashmod.ko crash was given aside', async (t) => {
  const r = await run('module-list', [dumpOf('seed'), '--format', 'crash']);
  t.is(r.code, 0, r.err);
  const ours = r.out.split('\n');
  const theirs = crash('seed', 'mod').split('\n');
  // crash 9 names the column TEXT_BASE on 6.4+ (module_memory[MOD_TEXT]); so does the render
  t.is(ours[0], theirs[0]);
  t.is(theirs[0], '     MODULE       NAME             TEXT_BASE       SIZE  OBJECT FILE');
  for (let i = 1; i < theirs.length; i++) {
    if (theirs[i]!.includes('crashmod.ko')) t.is(ours[i]!.split(/\s+/).slice(0, 4).join(' '), theirs[i]!.split(/\s+/).slice(0, 4).join(' '));
    else t.is(ours[i], theirs[i]);
  }
});

seed('struct-decode --layout page --format crash: crash struct page -o, byte for byte (6.12: page_type, pp_ref_count, memcg_data)', async (t) => {
  const r = await run('struct-decode', [dumpOf('seed'), '--layout', 'page', '--format', 'crash']);
  t.is(r.code, 0, r.err);
  t.is(r.out, crash('seed', 'struct-page-o'));
});

seed('vmcore-extract --sys | vmpipe-render: crash sys\'s lines; UPTIME from the console (crash 9 says 00:03:46)', async (t) => {
  const ours = await rendered('vmcore-extract', [dumpOf('seed'), '--sys']);
  const theirs = crash('seed', 'sys');
  for (const key of ['CPUS', 'DATE', 'NODENAME', 'RELEASE', 'VERSION', 'MEMORY']) {
    const line = theirs.split('\n').find((l) => l.trimStart().startsWith(`${key}:`));
    t.true(ours.split('\n').includes(line!), line);
  }
  // the console's last timestamp, [    7.348176] Kernel panic: 7 s of uptime at the panic
  t.regex(readFileSync(join(dir('seed'), 'console.log'), 'latin1'), /\[\s+7\.348176\] Kernel panic - not syncing: Fatal exception/);
  t.regex(ours, /UPTIME: 00:00:07\n/);
  t.regex(theirs, /UPTIME: 00:03:46\n/);
});

seed('disasm DUMP FN | vmpipe-render: crash dis FN, line for line, for every function on the stacks whose code the cut kept (crashmod\'s, at least)', async (t) => {
  const exp = join(dir('seed'), 'expected');
  t.timeout(8 * 60_000); // one disasm per stack function, most refused at once (page-excluded)
  const fns = readdirSync(exp).flatMap((f) => (f.startsWith(`${VER}.dis-`) && f.endsWith('.txt') ? [f.slice(`${VER}.dis-`.length, -4)] : []));
  t.true(fns.length >= 20, `${fns.length} dis references`);
  const compared: string[] = [];
  for (const fn of fns) {
    const r = await run('disasm', [dumpOf('seed'), fn]);
    // the lean parts of the cut: vmlinux text pages nobody read stay excluded (page-excluded error record)
    if (r.out.includes('"code":"page-excluded"')) continue;
    // gdb 16 (crash 9) ends an operand-less line at its mnemonic (`ret`), gdb 10 (crash 8.0.2, whose
    // text the render follows byte for byte on 6.1) pads it (`ret    `); crash marks [FTRACE NOP] only
    // at a symbol's first byte, vmpipe also at the fentry site after an endbr64 (IBT: +4), which is
    // where the kernel's ftrace site is (NOTES.md)
    const ours = (await run('vmpipe-render', [], { input: r.out })).out.split('\n').map((l) => l.trimEnd());
    const ibt = ours[0]!.endsWith('>:\tendbr64');
    const normalized = ours.map((l) => (ibt ? l.replace(/(\+4>:\tnopl {3}0x0\(%rax,%rax,1\)) \[FTRACE NOP\]$/, '$1') : l));
    t.deepEqual(normalized, crash('seed', `dis-${fn}`).split('\n').map((l) => l.trimEnd()), fn);
    compared.push(fn);
  }
  for (const fn of ['vmpipe_walk_queue.constprop.0', 'vmpipe_seed_thread']) t.true(compared.includes(fn), `${fn} compared`);
});
