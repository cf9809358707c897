/**
 * `disasm` and `backtrace` on a real arm64 dump (Debian 6.1.0-56-cloud-arm64, QEMU, -cpu max:
 * tools/recipes/arm64), run as a user runs them: the architecture from the dump or the
 * vmlinux's e_machine, objdump's text, the kernel's own call trace. The dump, its vmlinux and
 * System.map are outside the repo (/work/refs/arm64; VMPIPE_ARM64_DUMPS, VMPIPE_ARM64_REFS):
 * skipped with a log line without them.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseObjdumpAarch64, splitAarch64Comment } from '@vmpipe/disasm';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const KERNEL = '6.1.0-56-cloud-arm64';
const fixtures = join(here, '..', '..', '..', 'fixtures', 'arm64', KERNEL);
const refs = process.env['VMPIPE_ARM64_REFS'] ?? `/work/refs/arm64/${KERNEL}`;
const dump = join(process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`, 'pauth', 'qemu.kdump-zlib');
const vmlinux = join(refs, 'vmlinux');
const systemMap = join(refs, 'System.map');
const have = [dump, vmlinux, systemMap].every(existsSync);
const missing = [dump, vmlinux, systemMap].find((f) => !existsSync(f));

test('disasm --from-vmlinux on an arm64 dump: aarch64 picked from the vmlinux, objdump 2.40 text (KASLR taken off)', (t) => {
  if (!have) return void (t.log(`skipped: ${missing} is not here`), t.pass());
  const r = run('disasm', [dump, 'write_sysrq_trigger', '--system-map', systemMap, '--from-vmlinux', vmlinux]);
  t.is(r.code, 0, r.err);
  const insns = r.records().filter((x) => x.kind === 'insn');
  const [fn] = parseObjdumpAarch64(readFileSync(join(fixtures, 'expected', 'objdump.vmlinux.stack.txt'), 'latin1')).filter((f) => f.name === 'write_sysrq_trigger');
  // objdump stops at the ELF symbol's st_size (0x90); System.map has no sizes, so the extent runs to the
  // next symbol (0xc0, the kernel's own /0xc0) over the alternative-replacement code placed after it.
  t.is(insns.length, 0xc0 / 4);
  const slide = BigInt(insns[0].addr) - fn!.addr;
  const strip = (s: string) => s.replace(/\b[0-9a-f]{16}\b/g, (h) => (BigInt(`0x${h}`) - slide).toString(16).padStart(16, '0'));
  insns.slice(0, fn!.insns.length).forEach((x, i) => {
    const ref = splitAarch64Comment(fn!.insns[i]!.text);
    t.is(strip(x.text), ref.insn);
    t.is(x.comment, ref.comment);
    t.is(x.bytesFrom, 'vmlinux');
  });
  t.true(insns.some((x) => x.flow === 'call' && x.targetSym === '__handle_sysrq'));
});

test('disasm from an arm64 dump\'s memory, and as a filter on its cpu records (the current instruction at each CPU\'s pc)', (t) => {
  if (!have) return void (t.log(`skipped: ${missing} is not here`), t.pass());
  const r = run('disasm', [dump, 'sysrq_handle_crash', '--system-map', systemMap]);
  t.is(r.code, 0, r.err);
  const texts = r.records().filter((x) => x.kind === 'insn').map((x) => x.text);
  // ftrace patched the first nop of the patchable entry at boot
  t.is(texts[0], 'mov x9, x30');
  t.regex(texts[texts.length - 1], /^bl [0-9a-f]{16} <panic>$/);
  const cpus = run('vmcore-extract', [dump]).records().filter((x) => x.kind === 'cpu');
  const f = run('disasm', ['--system-map', systemMap, '--context', '2'], { input: cpus.map((c) => JSON.stringify(c)).join('\n') + '\n' });
  t.is(f.code, 0, f.err);
  const current = f.records().filter((x) => x.kind === 'insn' && x.current);
  t.is(current.length, cpus.length);
  for (const c of current) t.true(cpus.some((cpu) => cpu.regs.pc === c.addr));
});

test('backtrace on the arm64 dump: panic_cpu\'s task, PAC stripped, the noreturn call named by pc - 4', (t) => {
  if (!have) return void (t.log(`skipped: ${missing} is not here`), t.pass());
  const r = run('backtrace', [dump, '--system-map', systemMap]);
  t.is(r.code, 0, r.err);
  const frames = r.records().filter((x) => x.kind === 'frame');
  t.deepEqual([frames[0].pid, frames[0].comm, frames[0].cpu], [101, 'sh', 1]);
  const crash = frames.find((x) => x.function === 'sysrq_handle_crash')!;
  t.is(crash.text, 'sysrq_handle_crash+0x20/0x20');
  t.is(crash.printedAs, 'sysrq_reset_seq_param_set+0x0/0xa0');
  t.regex(crash.signedPc, /^0x[0-9a-f]+$/);
  t.not(crash.signedPc, crash.pc);
  const last = frames[frames.length - 1];
  t.true(last.user);
  t.is(frames[frames.length - 2].function, 'el0t_64_sync');
});

test('disasm --diff --from-vmlinux on arm64: every difference is ftrace\'s entry or an alternative the vmlinux lists', (t) => {
  if (!have) return void (t.log(`skipped: ${missing} is not here`), t.pass());
  const reasons = new Map<string, number>();
  for (const fn of ['panic', '__schedule', 'do_exit', 'vfs_write', 'copy_process']) {
    const r = run('disasm', [dump, fn, '--system-map', systemMap, '--diff', '--from-vmlinux', vmlinux]);
    t.is(r.code, 0, r.err);
    const insns = r.records().filter((x) => x.kind === 'insn');
    for (const x of insns.filter((i) => !i.same)) {
      reasons.set(x.reason, (reasons.get(x.reason) ?? 0) + 1);
      const why = `${x.symbol}: ${x.text} (file: ${x.file.map((f: { text: string }) => f.text).join('; ')})`;
      // DYNAMIC_FTRACE_WITH_REGS: a traced function's first patchable-entry nop became `mov x9, x30` at boot (__schedule is notrace)
      if (x === insns[0]) t.like(x, { reason: 'ftrace', text: 'mov x9, x30' }, why);
      else {
        t.is(x.reason, 'alternative', why);
        t.is(typeof x.cpuFeature, 'number', why);
        // the LL/SC loops made LSE atomics: the capability arm64_features names so (ARM64_HAS_LSE_ATOMICS)
        if (/^(st|ld)add|^swp/.test(x.text)) t.is(x.cpuFeatureName, 'LSE atomic instructions', why);
      }
    }
  }
  t.is(reasons.get('ftrace'), 4, 'panic, do_exit, vfs_write, copy_process');
  t.true((reasons.get('alternative') ?? 0) > 20, JSON.stringify([...reasons]));
});
