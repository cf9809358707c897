/**
 * A System.map or vmlinux holds link-time addresses; VMCOREINFO's KERNELOFFSET says how far
 * KASLR moved them. When that value is damaged or lost, `_stext` in both says it instead
 * (kernel/vmcore_info.c writes SYMBOL(_stext) at its run-time address).
 */
import test from 'ava';
import { Vmcoreinfo } from '@vmpipe/dump';
import { matchSymbols, relocate } from './match.js';
import type { KernelSymbol } from './table.js';

const FILE: KernelSymbol[] = [
  { name: '_text', addr: 0xffffffff81000000n, type: 'T' },
  { name: '_stext', addr: 0xffffffff81000000n, type: 'T' },
  { name: 'swapper_pg_dir', addr: 0xffffffff82a10000n, type: 'D' },
];
const info = (kernelOffset: string) => new Vmcoreinfo(`OSRELEASE=6.1.0\nSYMBOL(_stext)=ffffffff89400000\nSYMBOL(swapper_pg_dir)=ffffffff8ae10000\nKERNELOFFSET=${kernelOffset}\n`);

test('KERNELOFFSET as written places the file', (t) => {
  const m = matchSymbols(FILE, info('8400000'));
  t.true(m.ok);
  t.is(m.offset, 0x8400000n);
});

test('KERNELOFFSET=zz: the offset is _stext\'s move, and the file still matches', (t) => {
  const m = matchSymbols(FILE, info('zz'));
  t.true(m.ok, m.reason);
  t.is(m.offset, 0x8400000n);
  t.is(relocate(FILE, m.offset).find((s) => s.name === 'swapper_pg_dir')?.addr, 0xffffffff8ae10000n);
});
