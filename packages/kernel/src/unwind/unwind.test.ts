/**
 * The unwinder on the shipped 6.1 dump against crash 8.0.2's `bt`, `bt -a`,
 * `rd -s` and `sym` (fixtures/real/expected/crash.vmcore.kdump-zlib.*) and
 * the kernel's own printed call trace in the dump's log; the ORC entry
 * formats against orc_types.h's bit layouts. Where crash is wrong (stale
 * frames after do_syscall_64, CPU 0 not unwound), the bytes decide: see
 * fixtures/real/BACKTRACE-NOTES.md.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analysePanic, logLines } from '../panic.js';
import { readPrintk } from '../printk/index.js';
import { Program } from '../program.js';
import { for_each_task, idle_task } from '../tasks.js';
import { ElfFile } from '@vmpipe/elf';
import { cpu_stack_trace, decodeOrc, detectOrcFormat, stack_trace, Unwinder, type Frame } from './index.js';

const root = fileURLToPath(new URL('../../../../fixtures/real/', import.meta.url));
const DUMP = root + 'vmcore.kdump-zlib';
const expected = (name: string) => readFileSync(root + 'expected/' + name, 'latin1');
const real = existsSync(DUMP) ? test : test.skip;

/** crash bt lines: ` #2 [ffffcf8400013b00] __handle_sysrq.cold at ffffffff89df4ac9` */
function crashFrames(text: string) {
  return [...text.matchAll(/^\s*#(\d+) \[([0-9a-f]+)\] (\S+) at ([0-9a-f]+)/gm)].map((m) => ({ n: Number(m[1]), slot: BigInt('0x' + m[2]), fn: m[3]!, pc: BigInt('0x' + m[4]) }));
}

/** crash's register block: `    RAX: ffffffffffffffda  RBX: ...` → { rax: ... } */
function crashRegs(text: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of text.matchAll(/\b(R[A-Z0-9]+|ORIG_RAX|CS|SS|RFLAGS):\s+([0-9a-f]+)/g)) {
    const name = m[1] === 'RFLAGS' ? 'eflags' : m[1]!.toLowerCase();
    out[name] = BigInt('0x' + m[2]);
  }
  return out;
}

const hex = (v: bigint) => v.toString(16);

/** One program for the whole file (the tests only read): opening it loads kallsyms and BTF. */
let shared: Program | undefined;
const open = () => (shared ??= Program.open(DUMP));
test.after.always(() => shared?.close());

real('the crashing CPU: crash bt\'s frames from panic to do_syscall_64, same stack slots and pcs, and its user-mode exception frame', (t) => {
  const prog = open();
  const u = new Unwinder(prog);
  const trace = cpu_stack_trace(u, 1);
  const crash = crashFrames(expected('crash.vmcore.kdump-zlib.bt.txt'));
  t.is(u.orc instanceof Error ? 0 : u.orc.format.version, 1, '6.1 uses the first ORC format');
  const ours = trace.frames.filter((f) => f.method !== 'exception');
  const start = ours.findIndex((f) => f.function === 'panic');
  t.true(start > 0, 'panic is on the stack, below the pvpanic notifier');
  // crash #0..#7: panic .. do_syscall_64, at the same stack slots with the same return addresses.
  for (let i = 0; i <= 7; i++) {
    const c = crash[i]!;
    const f = ours[start + i]!;
    t.is(f.function, c.fn, `#${i}`);
    t.is(hex(f.pc), hex(c.pc), `#${i} pc`);
    t.is(hex(f.slot!), hex(c.slot), `#${i} slot`);
    t.true(f.reliable);
  }
  // crash's #8..#19 are stale return addresses (the log prints them with "?"); ORC goes from
  // do_syscall_64 straight to the entry code, which is crash's last frame, #20.
  const last = crash[crash.length - 1]!;
  const entry = ours[start + 8]!;
  t.is(entry.function, last.fn);
  t.is(hex(entry.slot!), hex(last.slot));
  t.is(hex(entry.pc), hex(last.pc));
  for (const stale of crash.slice(8, -1)) t.false(ours.some((f) => f.slot === stale.slot), `stale #${stale.n} ${stale.fn} is not a frame`);
  // The user-mode pt_regs at the top of the stack: every register of crash's block.
  const exc = trace.frames[trace.frames.length - 1]!;
  t.is(exc.method, 'exception');
  t.true(exc.user);
  const block = expected('crash.vmcore.kdump-zlib.bt.txt').split('\n').filter((l) => /^ {4}[A-Z]/.test(l)).join('\n');
  const want = crashRegs(block);
  t.is(Object.keys(want).length, 21);
  for (const [k, v] of Object.entries(want)) t.is(hex((exc.regs as Record<string, bigint>)[k]!), hex(v), k);
  t.is(trace.end.reason, 'user-mode');
});

real('the crashing CPU: the kernel\'s own call trace (its reliable lines) is our trace from sysrq_handle_crash on, symbol+0xoff/0xsize alike', (t) => {
  const prog = open();
  const records = [...readPrintk(prog.mem, prog.theDump.vmcoreinfo!.entries)].flatMap((i) => (i.record ? [{ text: i.record.text.toString("utf8"), seq: i.record.seq, tsNsec: i.record.tsNsec }] : []));
  const info = analysePanic(logLines(records));
  const printed = info.callTrace.filter((f) => f.reliable);
  const from = printed.findIndex((f) => f.function === 'sysrq_handle_crash');
  t.true(from > 0);
  const trace = cpu_stack_trace(new Unwinder(prog), info.cpu!);
  const text = (f: Frame) => `${f.function}+0x${f.offset!.toString(16)}/0x${f.size!.toString(16)}`;
  const ours = trace.frames.filter((f) => f.function !== undefined);
  const at = ours.findIndex((f) => f.function === 'sysrq_handle_crash');
  t.deepEqual(ours.slice(at).map(text), printed.slice(from).map((f) => `${f.function}+0x${f.offset.toString(16)}/0x${f.size.toString(16)}`));
});

real('CPU 0, which crash bt -a cannot unwind: stop_this_cpu on the IRQ stack (the slots crash rd -s shows), then the idle task through the interrupt\'s pt_regs', (t) => {
  const prog = open();
  const trace = cpu_stack_trace(new Unwinder(prog), 0);
  t.regex(expected('crash.vmcore.kdump-zlib.bt-a.txt'), /read of stack at fffffe0000014000 failed/);
  // crash sym ffffffff8943d023: stop_this_cpu+99
  t.is(`${trace.frames[0]!.function}+${trace.frames[0]!.offset}`, expected('crash.vmcore.kdump-zlib.sym-ffffffff8943d023.txt').split(' ')[2]);
  t.is(trace.frames[0]!.stack, 'irq');
  // crash rd -s ffffcf8400003fc0: __sysvec_reboot+39 at ...3fe8, sysvec_reboot+88 at ...3ff0
  const rd = expected('crash.vmcore.kdump-zlib.rd-s-ffffcf8400003fc0-32.txt');
  t.regex(rd, /ffffcf8400003fe0: .*__sysvec_reboot\+39/);
  t.like(trace.frames[1], { slot: 0xffffcf8400003fe8n, function: '__sysvec_reboot', offset: 39 });
  t.regex(rd, /ffffcf8400003ff0:\s+sysvec_reboot\+88/);
  t.like(trace.frames[2], { slot: 0xffffcf8400003ff0n, function: 'sysvec_reboot', offset: 88 });
  const exc = trace.frames.find((f) => f.method === 'exception')!;
  t.is(exc.function, 'native_safe_halt');
  t.is(exc.stack, 'task');
  t.false(exc.user ?? false);
  t.deepEqual(trace.frames.slice(trace.frames.indexOf(exc) + 1).map((f) => f.function), [
    'amd_e400_idle', 'default_idle_call', 'do_idle', 'cpu_startup_entry', 'rest_init', 'arch_call_rest_init', 'start_kernel', 'secondary_startup_64_no_verify',
  ]);
  t.is(trace.end.reason, 'end-of-stack');
  t.is(trace.task, 0xffffffff8ae1aa40n, 'crash bt -a: swapper/0 TASK ffffffff8ae1aa40');
});

real('every task (crash ps sees 3): each unwinds to the end of its stack without an error; sleeping ones resume in __schedule', (t) => {
  const prog = open();
  const u = new Unwinder(prog);
  const tasks = new Set<bigint>();
  for (const s of for_each_task(prog)) if ('task' in s) tasks.add(s.task);
  tasks.add(idle_task(prog, 1));
  // crash ps's three tasks are among them.
  for (const m of expected('crash.vmcore.kdump-zlib.ps.txt').matchAll(/ ([0-9a-f]{16}) /g)) t.true(tasks.has(BigInt('0x' + m[1])), m[1]);
  t.true(tasks.size > 3);
  for (const task of tasks) {
    const trace = stack_trace(u, task);
    t.not(trace.end.reason, 'error', `${hex(task)}: ${trace.end.message}`);
    t.true(trace.frames.every((f) => f.reliable && f.method !== 'scan'), hex(task));
    if (trace.start === 'inactive-task-frame') t.is(trace.frames[0]!.function, '__schedule', hex(task));
  }
});

test('ORC entry bit fields, per format (orc_types.h)', (t) => {
  // CALL frame with CFA = SP + 8, bp unchanged: v1 sp_reg 5, type 0; v3 type 2; v4 sp_reg 3.
  t.like(decodeOrc(1, 8, 0, 0x05), { spReg: 'sp', bpReg: 'undefined', type: 'call', signal: false });
  t.like(decodeOrc(3, 8, 0, 0x205), { spReg: 'sp', type: 'call', signal: false });
  t.like(decodeOrc(4, 8, 0, 0x203), { spReg: 'sp', type: 'call' });
  // REGS: v1 type 1 (signal implied), v3 type 3 with the signal bit 11.
  t.like(decodeOrc(1, 0, 0, 0x105), { type: 'regs', signal: true });
  t.like(decodeOrc(3, 0, 0, 0xb05), { type: 'regs', signal: true });
  // End of stack: v1 sp_reg UNDEFINED + end (bit 10); v2 end is bit 11; v3 its own type 1.
  t.like(decodeOrc(1, 0, 0, 0x400), { type: 'end_of_stack' });
  t.like(decodeOrc(1, 0, 0, 0x000), { type: 'undefined' });
  t.like(decodeOrc(2, 0, 0, 0x800), { type: 'end_of_stack' });
  t.like(decodeOrc(2, 0, 0, 0x405), { type: 'call', signal: true });
  t.like(decodeOrc(3, 0, 0, 0x100), { type: 'end_of_stack' });
  // bp saved at CFA-16: bp_reg PREV_SP is 1 (v1-v3) and 8 (v4); SP_INDIRECT 9 in both.
  t.like(decodeOrc(3, 16, -16, 0x215), { bpReg: 'prev_sp', bpOffset: -16 });
  t.like(decodeOrc(4, 16, -16, 0x283), { bpReg: 'prev_sp', spReg: 'sp' });
  t.like(decodeOrc(3, 8, 0, 0x209), { spReg: 'sp_indirect' });
  t.like(decodeOrc(4, 8, 0, 0x20a), { spReg: 'bp_indirect' });
});

/** The ORC sections of a distribution vmlinux in /work/refs (not in the repo: skipped without it). */
function vmlinuxOrc(path: string) {
  const elf = ElfFile.open(path);
  const orc = elf.contents(elf.section('.orc_unwind')!);
  const hdr = elf.section('.orc_header');
  const header = hdr ? Buffer.from(elf.contents(hdr)).toString('hex') : undefined;
  elf.close();
  const dv = new DataView(orc.buffer, orc.byteOffset, orc.byteLength);
  return detectOrcFormat(orc.byteLength / 6, (i) => ({ spOffset: dv.getInt16(i * 6, true), bits: dv.getUint16(i * 6 + 4, true) }), header);
}

for (const [release, version, hasHeader] of [['6.1.0-56-cloud-amd64', 1, false], ['6.12.117+deb12-cloud-amd64', 3, true]] as const) {
  const path = `/work/refs/${release}/vmlinux`;
  (existsSync(path) ? test : test.skip)(`ORC format of Debian's ${release} vmlinux (readelf: ${hasHeader ? 'has' : 'no'} .orc_header): version ${version}`, (t) => {
    const f = vmlinuxOrc(path);
    t.is(f.version, version, f.by);
    t.is(f.header !== undefined, hasHeader);
  });
}

test('ORC format from the entries: each encoding of "CALL, CFA = SP + 8" picks its version', (t) => {
  const table = (bits: number[]) => (i: number) => ({ spOffset: 8, bits: bits[i % bits.length]! });
  t.is(detectOrcFormat(4096, table([0x005, 0x005, 0x115])).version, 1);
  t.is(detectOrcFormat(4096, table([0x005, 0x005, 0x800])).version, 2);
  t.is(detectOrcFormat(4096, table([0x205, 0x205, 0xb05])).version, 3);
  t.is(detectOrcFormat(4096, table([0x203, 0x203, 0x100])).version, 4);
  t.throws(() => detectOrcFormat(10, () => { throw new Error('excluded'); }), { message: /cannot be read/ });
});

/** drgn 0.0.22's stack_trace of every task (expected/drgn.vmcore.kdump-zlib.bt.txt): task → non-inline frames. */
function drgnTraces(): Map<bigint, { pid: number; comm: string; frames: { pc: bigint; sp: bigint; name: string }[] }> {
  const out = new Map<bigint, { pid: number; comm: string; frames: { pc: bigint; sp: bigint; name: string }[] }>();
  let cur: { pid: number; comm: string; frames: { pc: bigint; sp: bigint; name: string }[] } | undefined;
  for (const line of expected('drgn.vmcore.kdump-zlib.bt.txt').split('\n')) {
    const t = /^TASK (0x[0-9a-f]+) PID (\d+) COMM (.*)$/.exec(line);
    if (t) {
      cur = { pid: Number(t[2]), comm: t[3]!, frames: [] };
      out.set(BigInt(t[1]!), cur);
      continue;
    }
    const f = /^ {2}#\d+ (0x[0-9a-f]+) (0x[0-9a-f]+) (inline|-) (\S+)$/.exec(line);
    if (f && cur && f[3] === '-') cur.frames.push({ pc: BigInt(f[1]!), sp: BigInt(f[2]!), name: f[4]! });
  }
  return out;
}

real('every sleeping task: the pcs, stack pointers and functions drgn 0.0.22 unwinds; the running ones, where drgn takes QEMU\'s pr_pid for a PID, from their CPUs', (t) => {
  const prog = open();
  const u = new Unwinder(prog);
  const drgn = drgnTraces();
  t.is(drgn.size, 55);
  let sleeping = 0;
  for (const [task, d] of drgn) {
    const ours = stack_trace(u, task);
    if (ours.start === 'cpu-registers') {
      // swapper/0 (CPU 0) and sh (CPU 1): drgn gave PID 1 the registers of CPU 0 (pr_pid 1) and
      // unwound swapper/0 from its stale thread.sp; neither first pc is kernel text.
      t.true([0, 1].includes(d.pid), d.comm);
      t.is(prog.symbols.resolve(d.frames[0]!.pc), undefined, `drgn's ${d.comm} starts at no symbol`);
      t.is(ours.end.reason, d.pid === 1 ? 'user-mode' : 'end-of-stack');
      continue;
    }
    sleeping++;
    t.deepEqual(ours.frames.map((f) => hex(f.pc)), d.frames.map((f) => hex(f.pc)), `${d.comm}: pcs`);
    t.deepEqual(ours.frames.map((f) => hex(f.sp)), d.frames.map((f) => hex(f.sp)), `${d.comm}: sps`);
    // drgn names functions from DWARF: assembly (ret_from_fork, secondary_startup_64_no_verify) has none.
    ours.frames.forEach((f, i) => {
      if (d.frames[i]!.name !== '?') t.is(f.function, d.frames[i]!.name, `${d.comm} #${i}`);
    });
  }
  t.is(sleeping, 53);
});
