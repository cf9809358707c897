/**
 * frame records print as crash 8.0.2's `bt` does. The expected lines are
 * crash's own output for the seed-like GPF scenario
 * (fixtures/scenarios/6.1.0-56-cloud-amd64/seed/expected/crash.bt.txt: a
 * kernel-mode exception frame, a module frame); the records are what
 * `backtrace` writes for those frames on that dump.
 */
import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const task = { kind: 'frame', dump: 'seed', pid: 100, comm: 'vmpipe-walker', task: '0xffff8e150291c800', cpu: 0 };
const regs = {
  r15: '0xffffffffc03932d0', r14: '0x0', r13: '0xffff8e1501f73a80', r12: '0xffff8e150291c800', rbp: '0xffffd50c803f3c18', rbx: '0xffff8e1501fe7780',
  r11: '0x0', r10: '0x0', r9: '0x0', r8: '0x0', rax: '0xdead000000000100', rcx: '0xf', rdx: '0xdead000000000100', rsi: '0x246', rdi: '0x0',
  orig_rax: '0xffffffffffffffff', rip: '0xffffffffc03932b2', cs: '0x10', eflags: '0x206', rsp: '0xffffd50c803cbf10', ss: '0x18',
};
const records = [
  { ...task, level: 0, pc: '0xffffffffa1dcd0a8', sp: '0xffffd50c803cbd28', slot: '0xffffd50c803cbd20', function: 'panic', offset: 375, reliable: true, method: 'orc' },
  { ...task, level: 1, pc: '0xffffffffa2000b42', sp: '0xffffd50c803cbe68', slot: '0xffffd50c803cbe60', function: 'asm_exc_general_protection', offset: 34, reliable: true, method: 'orc' },
  { ...task, level: 2, pc: '0xffffffffc03932b2', sp: '0xffffd50c803cbf10', slot: '0xffffd50c803cbe68', function: 'vmpipe_walk_queue.constprop.0', offset: 34, module: 'crashmod', reliable: true, method: 'exception', regs },
  { ...task, level: 3, pc: '0xffffffffc0393316', sp: '0xffffd50c803cbf18', slot: '0xffffd50c803cbf10', function: 'vmpipe_seed_thread', offset: 70, module: 'crashmod', reliable: true, method: 'orc' },
] as AnyRecord[];

test('crash bt\'s lines: header, #N [slot] function at pc [module], [exception RIP: name+decimal] and the register block', (t) => {
  const r = new Renderer({ color: false });
  const lines = records.flatMap((x) => r.render(x));
  t.deepEqual(lines, [
    'PID: 100      TASK: ffff8e150291c800  CPU: 0    COMMAND: "vmpipe-walker"',
    ' #0 [ffffd50c803cbd20] panic at ffffffffa1dcd0a8',
    ' #1 [ffffd50c803cbe60] asm_exc_general_protection at ffffffffa2000b42',
    '    [exception RIP: vmpipe_walk_queue.constprop.0+34]',
    '    RIP: ffffffffc03932b2  RSP: ffffd50c803cbf10  RFLAGS: 00000206',
    '    RAX: dead000000000100  RBX: ffff8e1501fe7780  RCX: 000000000000000f',
    '    RDX: dead000000000100  RSI: 0000000000000246  RDI: 0000000000000000',
    '    RBP: ffffd50c803f3c18   R8: 0000000000000000   R9: 0000000000000000',
    '    R10: 0000000000000000  R11: 0000000000000000  R12: ffff8e150291c800',
    '    R13: ffff8e1501f73a80  R14: 0000000000000000  R15: ffffffffc03932d0',
    '    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018',
    ' #2 [ffffd50c803cbf10] vmpipe_seed_thread at ffffffffc0393316 [crashmod]',
  ]);
});

test('frames a guess found are marked; another task starts a new header after a blank line', (t) => {
  const r = new Renderer({ color: false });
  const lines = [
    ...r.render({ ...records[0]!, reliable: false, method: 'scan' } as AnyRecord),
    ...r.render({ ...records[0]!, task: '0xffff8e1500000000', pid: 7, comm: 'other', level: 0 } as AnyRecord),
  ];
  t.is(lines[1], ' #0 [ffffd50c803cbd20] panic at ffffffffa1dcd0a8  (unreliable: scan)');
  t.is(lines[2], '');
  t.regex(lines[3]!, /^PID: 7 +TASK: ffff8e1500000000 /);
});

/**
 * arm64 exception frames as crash's arm64_print_exception_frame() (crash 9.0 arm64.c) prints
 * them: its printf formats, row by row. The registers are the pauth arm64 dump's (fixtures/arm64):
 * the timer IRQ that interrupted panic's delay loop, and the crashing shell's user-mode entry.
 */
test('arm64: crash\'s exception-frame block, kernel mode (PC/LR with names, SP/PSTATE) and user mode (ORIG_X0/SYSCALLNO)', (t) => {
  const a64 = { kind: 'frame', dump: 'pauth', pid: 101, comm: 'sh', task: '0xffff000008082080', cpu: 1 };
  const xs = (f: (i: number) => string) => Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`x${i}`, f(i)]));
  const kernel = {
    ...a64, level: 16, pc: '0xffffa23e00f70644', sp: '0xffff8000082bb770', slot: '0xffff8000082bb620', function: '__delay', offset: 100, reliable: true, method: 'exception',
    regs: { ...xs((i) => `0x${(i + 1).toString(16)}`), x30: '0x9f7da23e00f70644', sp: '0xffff8000082bb770', pc: '0xffffa23e00f70644', pstate: '0x80400005' },
    lr: '0xffffa23e00f70644', lrText: '__delay+100',
  };
  const user = {
    ...a64, level: 32, pc: '0x44a7cc', sp: '0xffffc4593f40', slot: '0xffff8000082bbeb0', function: null, offset: null, reliable: true, method: 'exception', user: true,
    regs: { ...xs(() => '0x0'), x30: '0x4ba534', sp: '0xffffc4593f40', pc: '0x44a7cc', pstate: '0x80001000', orig_x0: '0x1', syscallno: '0x40' },
  };
  const r = new Renderer({ color: false });
  const lines = [kernel, user].flatMap((x) => r.render(x as AnyRecord));
  t.deepEqual(lines.slice(1, 5), [
    '     PC: ffffa23e00f70644  [__delay+100]',
    '     LR: ffffa23e00f70644  [__delay+100]',
    '     SP: ffff8000082bb770  PSTATE: 80400005',
    '    X29: 000000000000001e  X28: 000000000000001d  X27: 000000000000001c',
  ]);
  t.is(lines[10], '    X11: 000000000000000c  X10: 000000000000000b   X9: 000000000000000a');
  t.is(lines[13], '     X2: 0000000000000003   X1: 0000000000000002   X0: 0000000000000001');
  const u = lines.indexOf('     PC: 000000000044a7cc   LR: 00000000004ba534   SP: 0000ffffc4593f40');
  t.true(u > 0);
  t.is(lines[u + 11], '    ORIG_X0: 0000000000000001  SYSCALLNO: 40  PSTATE: 80001000');
});
