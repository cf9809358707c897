/**
 * A genuine kdump capture (fixtures/scenarios/6.1.0-56-cloud-amd64/kdump-capture, made by
 * tools/recipes/kdump-capture: crashkernel=, kexec -p, makedumpfile -c -d 31 of /proc/vmcore in
 * the capture kernel). Its NT_PRSTATUS notes are the kernel's own (crash_save_cpu): pr_pid is the
 * PID of the task each CPU ran, not QEMU's CPU number + 1, and there are no QEMU notes. The
 * crashing CPU's registers are the oops's pt_regs (crash_kexec(regs) from oops_end), the other
 * CPU's the pt_regs its crash NMI interrupted: crash 8.0.2 prints both as the exception block that
 * ends its capture path (expected/crash.bt-a.txt). Skips, saying so, without the fixture.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDump } from './index.js';
import { repoRoot } from './testing/real.js';

const dir = join(repoRoot, 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'kdump-capture');
const have = existsSync(join(dir, 'vmcore.kdump')) && existsSync(join(dir, 'expected', 'crash.bt-a.txt'));
if (!have) console.log(`kdump-capture tests skipped: no ${dir}/vmcore.kdump (tools/recipes/kdump-capture)`);
const capTest = have ? test : test.skip;

interface CrashCpu {
  pid: number;
  cpu: number;
  /** the registers of crash's exception block that ends the capture path */
  regs: Record<string, bigint>;
}

/** crash `bt -a`: per task, its PID and CPU and the registers of its first exception block. */
function crashBtA(text: string): CrashCpu[] {
  return text.split(/^(?=PID: )/m).filter((b) => b.startsWith('PID:')).map((block) => {
    const head = /^PID: (\d+)\s+TASK: [0-9a-f]+\s+CPU: (\d+)/.exec(block)!;
    const exc = block.slice(block.indexOf('[exception RIP:'));
    const regs: Record<string, bigint> = {};
    const lines = exc.split('\n').slice(1);
    for (const line of lines) {
      if (!/^\s+[A-Z]/.test(line) || line.includes('---')) break;
      for (const m of line.matchAll(/\b(R[A-Z0-9]+|ORIG_RAX|CS|SS|RFLAGS):\s+([0-9a-f]+)/g)) {
        regs[m[1] === 'RFLAGS' ? 'eflags' : m[1]!.toLowerCase()] = BigInt('0x' + m[2]);
      }
    }
    return { pid: Number(head[1]), cpu: Number(head[2]), regs };
  });
}

capTest('NT_PRSTATUS of a genuine capture: pr_pid is the PID crash bt -a names on each CPU, no QEMU notes', (t) => {
  const d = openDump(join(dir, 'vmcore.kdump'));
  const crash = crashBtA(readFileSync(join(dir, 'expected', 'crash.bt-a.txt'), 'latin1'));
  t.is(d.cpus.length, 2);
  t.is(crash.length, 2);
  for (const c of crash) {
    const ours = d.cpus.find((x) => x.cpu === c.cpu)!;
    t.is(ours.prPidMeaning, 'pid', `CPU ${c.cpu}`);
    t.is(ours.prPid, c.pid, `CPU ${c.cpu}: pr_pid`);
    t.is(ours.qemu, undefined, `CPU ${c.cpu}: no QEMU note`);
  }
  d.close();
});

capTest('NT_PRSTATUS registers are crash\'s exception blocks: the oops\'s pt_regs on the crashing CPU, the NMI-interrupted ones on the other', (t) => {
  const d = openDump(join(dir, 'vmcore.kdump'));
  const crash = crashBtA(readFileSync(join(dir, 'expected', 'crash.bt-a.txt'), 'latin1'));
  for (const c of crash) {
    const regs = d.cpus.find((x) => x.cpu === c.cpu)!.regs;
    t.true(Object.keys(c.regs).length >= 18, `CPU ${c.cpu}: crash printed the block`);
    for (const [name, value] of Object.entries(c.regs)) t.is(regs[name], value, `CPU ${c.cpu} ${name}`);
  }
  // the console's oops line: the crashing CPU's RAX/RDX hold LIST_POISON1
  t.is(d.cpus[1]!.regs['rdx'], 0xdead000000000100n);
  d.close();
});
