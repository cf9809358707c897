/**
 * arm64 `backtrace --all-tasks | vmpipe-render` against crash 9.0.2++ (built with
 * target=ARM64, run on this x86 host) `foreach bt` on the pauth arm64 dump
 * (fixtures/arm64/6.1.0-56-cloud-arm64/pauth/expected/crash-9.0.2++.foreach-bt.txt):
 * every task crash unwinds, line for line: the header with the CPU the task last ran
 * on, `#N [fp] function at pc-4` as crash's arm64 bt prints frames, and the user-mode
 * exception block. crash unwinds no active task (it finds no NT_PRSTATUS in QEMU's notes);
 * vmpipe does, and those have no crash block to compare. The dump: the committed cut when
 * it holds the stacks, else the uncut recipe copy in /work/refs; skipped, saying so, without either.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const kernel = join(here, '..', '..', '..', 'fixtures', 'arm64', '6.1.0-56-cloud-arm64');
const expected = join(kernel, 'pauth', 'expected', 'crash-9.0.2++.foreach-bt.txt');
const systemMap = join(kernel, 'System.map.gz');
const candidates = [join(kernel, 'pauth', 'vmcore.kdump'), '/work/refs/arm64/dumps/6.1.0-56-cloud-arm64/pauth/qemu.kdump-zlib'];

/** The first dump on which the traces read whole (a cut without the stack pages ends them with errors). */
function dumpWithStacks(): { dump: string; out: string } | undefined {
  for (const dump of candidates.filter((d) => existsSync(d))) {
    const r = run('backtrace', [dump, '--all-tasks', '--system-map', systemMap]);
    if (r.code === 0 && !r.out.includes('"code":"page-excluded"')) return { dump, out: r.out };
  }
  return undefined;
}

/** Text blocks by header line: each task's lines up to the next header. */
function blocks(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('PID: ')) out.set(line, (cur = []));
    else if (cur && line.trim() !== '' && !line.startsWith('WARNING')) cur.push(line);
  }
  return out;
}

const have = existsSync(expected) && existsSync(systemMap);
(have ? test : test.skip)('arm64: every task crash 9 unwinds, as crash foreach bt prints it (frame pointers, pc - 4, the user-mode exception block)', (t) => {
  const got = dumpWithStacks();
  if (!got) return t.log('skipped: neither the cut fixture holds the stacks nor is the uncut dump in /work/refs (tools/recipes/arm64/make.sh pauth)') ?? t.pass();
  const text = run('vmpipe-render', ['--color', 'never'], { input: got.out }).out;
  const ours = blocks(text);
  const crash = blocks(readFileSync(expected, 'latin1'));
  let compared = 0;
  for (const [header, lines] of crash) {
    if (lines.length === 0) continue; // an active task crash could not unwind
    // crash ends a trace at start_kernel, secondary_start_kernel, kthread and kthreadd (arm64.c:
    // BACKTRACE_COMPLETE_KERNEL); vmpipe goes on to the kernel's last frame record (__secondary_switched).
    const last = lines[lines.length - 1]!;
    const mine = /\] (secondary_start_kernel|start_kernel|kthread|kthreadd) at /.test(last) ? ours.get(header)?.slice(0, lines.length) : ours.get(header);
    t.deepEqual(mine, lines, header);
    compared++;
  }
  t.true(compared >= 40, `${compared} tasks compared`);
  t.log(`${compared} tasks compared on ${got.dump}`);
});

const pauthDump = join(kernel, 'pauth', 'vmcore.kdump');
const realDump = join(here, '..', '..', '..', 'fixtures', 'real', 'vmcore.kdump-zlib');
(existsSync(pauthDump) && existsSync(realDump) ? test : test.skip)('arm64 triage: the noreturn call the kernel printed as sysrq_reset_seq_param_set+0x0 is sysrq_handle_crash, one hash with the x86 sysrq crash', (t) => {
  const sig = (dump: string) => JSON.parse(run('triage', [dump]).out.trim().split('\n').at(-1)!) as Record<string, unknown>;
  const console = readFileSync(join(kernel, 'pauth', 'console.log'), 'latin1');
  t.regex(console, / sysrq_reset_seq_param_set\+0x0\/0xa0\b/, 'what the kernel printed');
  const arm = sig(pauthDump);
  t.is(arm['guilty'], 'sysrq_handle_crash');
  t.is(arm['hash'], sig(realDump)['hash']);
  // this kernel's kallsyms has no data symbols: with its System.map the crash time and the task list are read too
  const withMap = run('triage', [pauthDump, '--system-map', systemMap]).out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.deepEqual(withMap.filter((r) => r['kind'] === 'error').map((r) => r['code']), []);
  t.is(withMap.at(-1)!['guilty'], 'sysrq_handle_crash');
  const panic = run('vmcore-extract', [pauthDump, '--panic', '--system-map', systemMap]).out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>).find((r) => r['kind'] === 'panic')!;
  const frame = (panic['callTrace'] as Record<string, unknown>[]).find((f) => f['function'] === 'sysrq_reset_seq_param_set')!;
  t.like(frame, { offset: 0, caller: 'sysrq_handle_crash' });
});

// Not arm64, but the same question of what a cut dump cannot answer: a kernel structure a command
// needs in a page the cut left out is one line and exit 4 (docs/exit-codes.md), never an internal error.
const seed612 = join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.12.117+deb12-cloud-amd64', 'seed', 'vmcore.kdump');
(existsSync(seed612) ? test : test.skip)('a structure in a page the dump does not hold: one line naming the page, exit 4', (t) => {
  const r = run('mem-info', [seed612]);
  t.is(r.code, 4);
  t.regex(r.err, /^mem-info: 0x[0-9a-f]+ \(physical 0x[0-9a-f]+\): excluded by the dump level\n$/);
});
