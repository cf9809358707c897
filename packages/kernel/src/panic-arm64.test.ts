/**
 * The panic parser on a real arm64 oops: Debian 6.1.0-56-cloud-arm64 under qemu-system-aarch64,
 * crashmod's seed scenario (tools/recipes/arm64/make.sh seed; fixtures/arm64/6.1.0-56-cloud-arm64/seed).
 * The console text is committed; the values are checked against what drgn (built from source) read
 * from the uncut dump's memory (expected/drgn.oops.txt: the struct pt_regs of the fault, the crashed
 * thread) and against QEMU's own registers of the stopped vCPUs (registers.txt).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analysePanic, type LogLine } from './panic.js';

const dir = fileURLToPath(new URL('../../../fixtures/arm64/6.1.0-56-cloud-arm64/seed/', import.meta.url));

/** The serial console as log lines: `[   24.711544] ` stamps off (log records carry them apart), QEMU/init lines kept. */
function consoleLines(): LogLine[] {
  return readFileSync(dir + 'console.log', 'latin1')
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .map((l, i) => ({ text: l.replace(/^\[ *\d+\.\d+\] ?/, ''), seq: BigInt(i + 1), tsNsec: null }));
}

/** drgn.oops.txt's sections: `### name` then `key value` lines. */
function drgn(): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur = new Map<string, string>();
  for (const line of readFileSync(dir + 'expected/drgn.oops.txt', 'utf8').split('\n')) {
    const h = /^### (\S+)/.exec(line);
    if (h) out.set(h[1]!, (cur = new Map()));
    else if (line.includes(' ')) cur.set(line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1));
  }
  return out;
}

const p = analysePanic(consoleLines());

test('arm64 oops: the report opens with the fault, not the die line or the panic after it', (t) => {
  t.is(p.headline, 'Unable to handle kernel paging request at virtual address dead000000000100');
  t.is(p.kind, 'page-fault');
  t.is(p.oops, 'Internal error: Oops: 0000000096000004 [#1] SMP');
  t.is(p.message, 'Kernel panic - not syncing: Oops: Fatal exception');
  t.deepEqual([p.cpu, p.pid, p.comm, p.taint], [1, 105, 'vmpipe-walker', 'G           OE']);
  t.is(p.hardware, 'linux,dummy-virt (DT)');
  t.is(p.modules, 'crashmod(OE) qemu_fw_cfg');
});

test('arm64 oops: the fault address, ESR and abort decoding as printed', (t) => {
  t.is(p.faultAddress, 0xdead000000000100n); // LIST_POISON1 with arm64's POISON_POINTER_DELTA
  t.is(p.esr, 0x96000004n);
  t.is(p.abort.length, 10);
  t.is(p.abort[0], 'Mem abort info:');
  t.is(p.abort[5], '  FSC = 0x04: level 0 translation fault');
  t.is(p.abort[9], '[dead000000000100] address between user and kernel address ranges');
  // ESR_ELx: EC (bits 31:26) 0x25 = data abort from the current EL, DFSC (5:0) 0x04 = level 0 translation fault
  t.is(Number((p.esr! >> 26n) & 0x3fn), 0x25);
  t.true(p.abort.includes('  EC = 0x25: DABT (current EL), IL = 32 bits'));
});

test('arm64 oops: pc goes to rip, lr/sp/x29..x0/pstate to registers, as printed', (t) => {
  t.is(p.rip, 'pc : vmpipe_walk_queue.constprop.0+0x30/0x50 [crashmod]');
  t.is(p.lr, 'lr : vmpipe_seed_thread+0x60/0x98 [crashmod]');
  t.is(p.registers.length, 13); // pstate, lr, sp, 10 lines of x29..x0
  t.is(p.registers[0], 'pstate: 80400005 (Nzcv daif +PAN -UAO -TCO -DIT -SSBS BTYPE=--)');
  t.is(p.registers[2], 'sp : ffff8000082abe50');
  t.is(p.registers[12], 'x2 : dead000000000100 x1 : dead000000000100 x0 : 000000000000000a');
  t.is(p.code, 'eb04003f 540000e0 b9401823 aa0203e1 (f9400042) ');
  t.deepEqual(
    p.callTrace.map((f) => [f.function, f.offset, f.size, f.module ?? null]),
    [
      ['vmpipe_walk_queue.constprop.0', 0x30, 0x50, 'crashmod'],
      ['kthread', 0xe0, 0xe4, null],
      ['ret_from_fork', 0x10, 0x20, null],
    ],
  );
});

test('arm64 oops: every printed register equals the struct pt_regs drgn reads from the dump', (t) => {
  const regs = drgn().get('fault_regs')!;
  t.truthy(regs, 'expected/drgn.oops.txt has a fault_regs section');
  const names = ['sp', 'pstate', ...Array.from({ length: 30 }, (_, i) => `x${i}`)];
  t.deepEqual(Object.keys(p.regs).sort(), [...names].sort());
  for (const n of names) t.is(p.regs[n], BigInt(regs.get(n)!), n);
  // pc and lr are printed as symbols (%pS): name and offset agree with drgn's; the size does not:
  // the kernel's kallsyms size runs to the next symbol (0x50), drgn takes the ELF st_size (0x48).
  const at = (s: string) => /^([\w.]+)\+(0x[0-9a-f]+)\//.exec(s)!.slice(1, 3);
  t.deepEqual(at(p.rip!.slice('pc : '.length)), at(regs.get('pc_symbol')!));
  t.deepEqual(at(p.lr!.slice('lr : '.length)), at(regs.get('lr_symbol')!));
});

test('arm64 oops: the task and CPU agree with drgn crashed_thread and with QEMU vCPU 1 at the stop', (t) => {
  const thread = drgn().get('crashed_thread')!.get('tid')!;
  t.regex(thread, /^105 comm vmpipe-walker panic_cpu 1 task 0x[0-9a-f]{16}$/);
  const task = BigInt(/task (0x[0-9a-f]+)/.exec(thread)![1]!);
  // x21 of the fault held the crashing task_struct (a callee-saved register of the frames below it).
  t.is(p.regs.x21, task);
  // QEMU stopped vCPU 1 inside panic()'s delay loop on the same task stack: its SP is below the oops's sp
  // within one THREAD_SIZE (16 KiB on this kernel) stack.
  const regs = readFileSync(dir + 'registers.txt', 'utf8');
  const cpu1 = regs.slice(regs.indexOf('CPU#1'));
  const qsp = BigInt('0x' + / SP=([0-9a-f]{16})/.exec(cpu1)![1]!);
  t.true(qsp < p.regs.sp!);
  t.is(qsp >> 14n, p.regs.sp! >> 14n);
});
