import test from 'ava';
import type { AnyRecord } from '@vmpipe/records';
import { Renderer } from './index.js';

function all(records: AnyRecord[]): string[] {
  const r = new Renderer({ color: false });
  return [...records.flatMap((rec) => r.render(rec)), ...r.flush()];
}

// crash 8.0.2 `dis panic` on fixtures/real (expected/crash.vmcore.kdump-zlib.dis-panic.txt), lines 1, 22, 27, 32 and 34.
test('insn records as crash dis prints them: decimal offsets, gdb\'s mnemonic column, 0x targets, # comments, [FTRACE NOP]', (t) => {
  const d = 'fixtures/real/vmcore.kdump-zlib';
  t.deepEqual(
    all([
      { kind: 'insn', dump: d, addr: '0xffffffff89dccf31', bytes: '0f 1f 44 00 00', text: 'nopl 0x0(%rax,%rax,1)', mnemonic: 'nopl', symbol: 'panic', operandText: '0x0(%rax,%rax,1)', note: '[FTRACE NOP]' },
      { kind: 'insn', dump: d, addr: '0xffffffff89dccf83', bytes: '83 3d 5e b9 26 01 00', text: 'cmpl $0x0,0x126b95e(%rip)', mnemonic: 'cmpl', symbol: 'panic+0x52', operandText: '$0x0,0x126b95e(%rip)', comment: 'ffffffff8b0388e8 <panic_on_warn>' },
      { kind: 'insn', dump: d, addr: '0xffffffff89dccf96', bytes: 'fa', text: 'cli', mnemonic: 'cli', symbol: 'panic+0x65', operandText: '' },
      { kind: 'insn', dump: d, addr: '0xffffffff89dccfad', bytes: 'f0 0f b1 15 8b ea 07 01', text: 'lock cmpxchg %edx,0x107ea8b(%rip)', mnemonic: 'cmpxchg', prefixes: ['lock'], symbol: 'panic+0x7c', operandText: '%edx,0x107ea8b(%rip)', comment: 'ffffffff8ae4ba40 <panic_cpu>' },
      { kind: 'insn', dump: d, addr: '0xffffffff89dccfb8', bytes: '74 09', text: 'je ffffffff89dccfc3 <panic+0x92>', mnemonic: 'je', symbol: 'panic+0x87', operandText: 'ffffffff89dccfc3 <panic+0x92>', target: '0xffffffff89dccfc3', targetSym: 'panic+0x92' },
    ]),
    [
      '0xffffffff89dccf31 <panic>:\tnopl   0x0(%rax,%rax,1) [FTRACE NOP]',
      '0xffffffff89dccf83 <panic+82>:\tcmpl   $0x0,0x126b95e(%rip)        # 0xffffffff8b0388e8 <panic_on_warn>',
      '0xffffffff89dccf96 <panic+101>:\tcli    ',
      '0xffffffff89dccfad <panic+124>:\tlock cmpxchg %edx,0x107ea8b(%rip)        # 0xffffffff8ae4ba40 <panic_cpu>',
      '0xffffffff89dccfb8 <panic+135>:\tje     0xffffffff89dccfc3 <panic+146>',
    ],
  );
});

test('the current instruction, its effective address and members; a malformed insn prints as JSON', (t) => {
  const lines = all([
    { kind: 'insn', dump: 'd', addr: '0xffffffffc0597230', bytes: '48 8b 43 10', text: 'mov 0x10(%rbx),%rax', mnemonic: 'mov', symbol: 'pvpanic_panic_notify+0x60 [pvpanic]', operandText: '0x10(%rbx),%rax', current: true,
      operands: [{ kind: 'memory', base: 'rbx', scale: 1, displacement: '0x10', size: 8, addr: '0xffff8dce8294b158', member: ['x.list'] }, { kind: 'register', register: 'rax' }] },
    { kind: 'insn', dump: 'd', addr: 'zz' },
  ]);
  t.deepEqual(lines, [
    '=> 0xffffffffc0597230 <pvpanic_panic_notify+96>:\tmov    0x10(%rbx),%rax',
    '\t\t\t\t; 0x10(%rbx) = 0xffff8dce8294b158  x.list',
    '{"kind":"insn","dump":"d","addr":"zz"}',
  ]);
});

// disasm --diff --from-vmlinux on fixtures/real: vfs_write+0x121 (a static call site the kernel made a nop at boot) and
// kmem_cache_free+0x1b1 (inside the alternative that made `lea; call this_cpu_cmpxchg16b_emu` a cmpxchg16b).
test('a --diff row names its mechanism and the site\'s key beside the file\'s instruction', (t) => {
  t.deepEqual(
    all([
      {
        kind: 'insn', dump: 'fixtures/real/vmcore.kdump-zlib', addr: '0xffffffff8974d4f1', bytes: '0f 1f 44 00 00', text: 'nopl 0x0(%rax,%rax,1)', mnemonic: 'nopl', symbol: 'vfs_write+0x121', operandText: '0x0(%rax,%rax,1)',
        same: false, reason: 'static-call', staticCall: '__SCK__preempt_schedule',
        file: [{ addr: '0xffffffff8134d4f1', bytes: 'e8 72 30 ab 00', text: 'call ffffffff81e00568 <__SCT__preempt_schedule>' }],
      },
      {
        kind: 'insn', dump: 'fixtures/real/vmcore.kdump-zlib', addr: '0xffffffff89719e41', bytes: '0f 94 c0', text: 'sete %al', mnemonic: 'sete', symbol: 'kmem_cache_free+0x1b1', operandText: '%al',
        same: false, reason: 'alternative', cpuFeature: 141, cpuFeatureName: 'cx16', file: [],
      },
    ]),
    [
      '0xffffffff8974d4f1 <vfs_write+289>:\tnopl   0x0(%rax,%rax,1)',
      '\t\t\t\tvmlinux 0xffffffff8134d4f1: call ffffffff81e00568 <__SCT__preempt_schedule>   [e8 72 30 ab 00] (static-call __SCK__preempt_schedule)',
      '0xffffffff89719e41 <kmem_cache_free+433>:\tsete   %al',
      '\t\t\t\t(alternative cx16: part of the file instruction above)',
    ],
  );
});

// disasm --sites on fixtures/real: want_init_on_free's first instruction is init_on_free's jump site (the key off: a 2-byte nop).
test('disasm --sites: the patch site after the instruction, a static key with its state', (t) => {
  t.deepEqual(
    all([
      { kind: 'insn', dump: 'fixtures/real/vmcore.kdump-zlib', addr: '0xffffffff89dc646c', bytes: '66 90', text: 'xchg %ax,%ax', mnemonic: 'xchg', symbol: 'want_init_on_free', operandText: '%ax,%ax', site: { kind: 'static-key', key: 'init_on_free', enabled: false } },
      { kind: 'insn', dump: 'fixtures/real/vmcore.kdump-zlib', addr: '0xffffffff8974d4f1', bytes: '0f 1f 44 00 00', text: 'nopl 0x0(%rax,%rax,1)', mnemonic: 'nopl', symbol: 'vfs_write+0x121', operandText: '0x0(%rax,%rax,1)', site: { kind: 'static-call', key: '__SCK__preempt_schedule' } },
    ]),
    [
      '0xffffffff89dc646c <want_init_on_free>:\txchg   %ax,%ax [static key init_on_free: off]',
      '0xffffffff8974d4f1 <vfs_write+289>:\tnopl   0x0(%rax,%rax,1) [static call __SCK__preempt_schedule]',
    ],
  );
});
