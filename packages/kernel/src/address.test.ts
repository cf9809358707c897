/**
 * The one address parser: hex as crash takes it, symbols, SYMBOL.member with
 * the offsets crash prints (`struct task_struct -o`, `sym init_task` on the
 * shipped 6.1 dump, fixtures/real/expected/crash.vmcore.kdump-zlib.*).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AddressError, parseHexAddress, Program, resolveAddress, variableType } from './index.js';

const root = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const expected = (name: string) => readFileSync(root + 'expected/' + name, 'latin1');
const real = existsSync(root + 'vmcore.kdump-zlib') ? test : test.skip;

test('plain addresses: hex with or without 0x, 0d decimal; anything else is not one', (t) => {
  t.is(parseHexAddress('ffffffff8ae1aa40'), 0xffffffff8ae1aa40n);
  t.is(parseHexAddress('0xFFFF8dce811f9800'), 0xffff8dce811f9800n);
  t.is(parseHexAddress('0d4096'), 4096n);
  t.is(parseHexAddress('init_task'), null);
  t.is(parseHexAddress('0x1ffffffffffffffff'), null, 'more than 64 bits');
});

/** crash `struct task_struct -o`: `  [2192] struct list_head tasks;` */
function crashOffset(member: string): number {
  const m = new RegExp(`^\\s*\\[(\\d+)\\] .*\\b${member};$`, 'm').exec(expected('crash.vmcore.kdump-zlib.struct-task_struct-o.txt'))!;
  return Number(m[1]);
}

real('symbols and SYMBOL.member resolve to crash sym + crash struct -o offsets', (t) => {
  const prog = Program.open(root + 'vmcore.kdump-zlib');
  const initTask = BigInt('0x' + expected('crash.vmcore.kdump-zlib.sym-init_task.txt').split(' ')[0]);
  t.is(resolveAddress(prog, 'init_task'), initTask);
  t.is(variableType(prog, 'init_task'), 'struct task_struct');
  t.is(resolveAddress(prog, 'init_task.tasks'), initTask + BigInt(crashOffset('tasks')));
  t.is(resolveAddress(prog, 'task_struct:init_task.tasks'), initTask + BigInt(crashOffset('tasks')), 'the type spelled out');
  const jiffies = BigInt('0x' + expected('crash.vmcore.kdump-zlib.sym-ffffffff8ae079c0.txt').split(' ')[0]);
  t.is(resolveAddress(prog, 'jiffies'), jiffies);
  // an offset after any of them, as crash takes `rd init_task+16`: hex with 0x, else decimal
  t.is(resolveAddress(prog, 'init_task+0x10'), initTask + 16n);
  t.is(resolveAddress(prog, 'init_task+16'), initTask + 16n);
  t.is(resolveAddress(prog, 'init_task.tasks-8'), initTask + BigInt(crashOffset('tasks')) - 8n);
  t.is(resolveAddress(prog, `${jiffies.toString(16)}+0x8`), jiffies + 8n);
  prog.close();
});

real('what is not an address says why', (t) => {
  const prog = Program.open(root + 'vmcore.kdump-zlib');
  t.throws(() => resolveAddress(prog, 'no_such_symbol_anywhere'), { instanceOf: AddressError, message: /not a hex address, nor a symbol of the dump/ });
  t.throws(() => resolveAddress(prog, 'panic_cpu.x'), { instanceOf: AddressError, message: /type of panic_cpu is not known without DWARF: spell it, e.g. task_struct:panic_cpu\.x/ });
  t.throws(() => resolveAddress(prog, 'init_task.no_such_member'), { instanceOf: AddressError, message: /no_such_member/ });
  t.throws(() => resolveAddress(prog, 'a b'), { instanceOf: AddressError });
  prog.close();
});
