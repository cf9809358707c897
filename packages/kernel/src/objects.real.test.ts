/**
 * The kernel's objects on the real 6.1 dump (fixtures/real/vmcore.kdump-zlib)
 * against drgn 0.0.22 and crash 8.0.2 on the same dump with the DWARF vmlinux
 * (fixtures/real/expected/*.cmd say how each file was made).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Program, taint_letters } from './index.js';

const REAL = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const DUMP = REAL + 'vmcore.kdump-zlib';
const expected = (name: string) => readFileSync(REAL + 'expected/' + name, 'latin1');
const real = existsSync(DUMP) ? test : test.skip;

let prog: Program | undefined;
const open = () => (prog ??= Program.open(DUMP));

real('modules: state, refcount, taints and core layout as drgn reads struct module', (t) => {
  const want = expected('drgn.vmcore.kdump-zlib.modules.txt').trim().split('\n').map((l) => l.split(' '));
  t.is(want.length, 3);
  const mods = open().modules.modules;
  t.deepEqual(
    mods.map((m) => [m.name, `0x${m.addr.toString(16)}`, `MODULE_STATE_${m.state!.toUpperCase()}`, String(m.refcount), `0x${m.taints!.toString(16)}`, `0x${m.base.toString(16)}`, String(m.size)]),
    want,
  );
  t.deepEqual(mods.map((m) => m.regions.map((r) => r.name)), mods.map(() => ['core_layout', 'init_layout']));
  // crash mod -t on the same dump
  t.is(expected('crash.vmcore.kdump-zlib.mod-t.txt').trim(), 'no tainted modules');
  t.true(mods.every((m) => taint_letters(m.taints!) === ''));
});

test('taint letters in TAINT_* bit order (kernel/panic.c)', (t) => {
  t.is(taint_letters(0n), '');
  t.is(taint_letters((1n << 12n) | (1n << 13n)), 'OE'); // an unsigned out-of-tree module
  t.is(taint_letters(1n), 'P');
  t.is(taint_letters(1n << 40n), '?');
});
