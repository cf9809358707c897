import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

const regs = {
  rip: '0xffffffff8b2ab7b6', rsp: '0xffffb4b8c0013e58', eflags: '0x10246',
  rax: '0x0', rbx: '0xffff9b2e4a3d0000', rcx: '0x0',
  rdx: '0xdead000000000100', rsi: '0xffffe2843fa00098', rdi: '0xffff9b2e4a3d0e10',
  rbp: '0xffffb4b8c0013ec8', r8: '0x98', r9: '0x1',
  r10: '0x0', r11: '0x0', r12: '0xffffe2843fa00000',
  r13: '0xffffe2843fa00098', r14: '0x0', r15: '0xffff9b2e4a3d0e00',
  orig_ax: '0xffffffffffffffff', cs: '0x10', ss: '0x18',
};

const cpu = (extra: Partial<AnyRecord> = {}): AnyRecord => ({
  kind: 'cpu', dump: 'vmcore', cpu: 0, pid: 44, prPid: 44, prPidMeaning: 'pid', regs, ...extra,
});

const BLOCK = [
  '    RIP: ffffffff8b2ab7b6  RSP: ffffb4b8c0013e58  RFLAGS: 00010246',
  '    RAX: 0000000000000000  RBX: ffff9b2e4a3d0000  RCX: 0000000000000000',
  '    RDX: dead000000000100  RSI: ffffe2843fa00098  RDI: ffff9b2e4a3d0e10',
  '    RBP: ffffb4b8c0013ec8   R8: 0000000000000098   R9: 0000000000000001',
  '    R10: 0000000000000000  R11: 0000000000000000  R12: ffffe2843fa00000',
  '    R13: ffffe2843fa00098  R14: 0000000000000000  R15: ffff9b2e4a3d0e00',
  '    ORIG_RAX: ffffffffffffffff  CS: 0010  SS: 0018',
];

test('x86_64 registers print as crash\'s bt exception-frame block', (t) => {
  t.deepEqual(new Renderer({ color: false, cpus: true }).render(cpu()), ['CPU: 0  PID: 44', ...BLOCK]);
});

test('QEMU\'s pr_pid is no PID: PID is a dash and the header says what pr_pid held', (t) => {
  const lines = new Renderer({ color: false, cpus: true }).render(cpu({ cpu: 1, pid: null, prPid: 2, prPidMeaning: 'cpu-plus-one' }));
  t.is(lines[0], 'CPU: 1  PID: -  (pr_pid 2 is the CPU number + 1, as QEMU writes it)');
});

test('registers outside crash\'s block, and QEMU\'s CPU state, follow it three to a line', (t) => {
  const lines = new Renderer({ color: false, cpus: true }).render(cpu({
    regs: { ...regs, fs_base: '0x7f0012345678', gs_base: '0xffff9b2f7bc00000', ds: '0x0', es: '0x0' },
    qemu: { cr0: '0x80050033', cr2: '0xdead0000000000e8', cr3: '0x10a2c000', cr4: '0x3506f0' },
  }));
  t.deepEqual(lines.slice(8), [
    '    FS_BASE: 00007f0012345678  GS_BASE: ffff9b2f7bc00000  DS: 0000',
    '    ES: 0000',
    '    QEMUCPUState:',
    '    CR0: 0000000080050033  CR2: dead0000000000e8  CR3: 0000000010a2c000',
    '    CR4: 00000000003506f0',
  ]);
});

test('a missing register shows dashes, never a made-up zero', (t) => {
  const { orig_ax: _gone, ...rest } = regs;
  const lines = new Renderer({ color: false, cpus: true }).render(cpu({ regs: rest }));
  t.is(lines[7], '    ORIG_RAX: ----------------  CS: 0010  SS: 0018');
});

test('another arch lists its registers generically', (t) => {
  const r = new Renderer({ color: false, cpus: true });
  r.render({ kind: 'source', dump: 'vmcore', arch: 'arm64', endian: 'little', pageSize: 4096 });
  const lines = r.render(cpu({ regs: { x0: '0x1', x1: '0x2', sp: '0xffff800008003e40', pc: '0xffff80000812a1c4' } }));
  // The source block is not shown: the dump has a cpu block to show (issue 8).
  t.deepEqual(lines, [
    'CPU: 0  PID: 44',
    '    X0: 0000000000000001  X1: 0000000000000002  SP: ffff800008003e40',
    '    PC: ffff80000812a1c4',
  ]);
});

test('consecutive CPUs are set apart by a blank line, as bt -a does tasks', (t) => {
  const r = new Renderer({ color: false, cpus: true });
  const lines = [...r.render(cpu()), ...r.render(cpu({ cpu: 1, pid: 0, prPid: 0 })), ...r.flush()];
  t.deepEqual(lines, ['CPU: 0  PID: 44', ...BLOCK, '', 'CPU: 1  PID: 0', ...BLOCK]);
});
