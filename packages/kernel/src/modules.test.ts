/**
 * Module symbols. Unit tests: a hand-made 6.4-style `struct module` (mem[] by
 * enum mod_mem_type, members in an order unlike 6.1's) in BufferMemory, so the
 * offsets can only be right if they come from the types. Real tests: the 6.1
 * fixture dump (its own BTF) against crash 8.0.2: `sym ffffffffc0597230`, `mod`
 * and `sym -m MODULE` (fixtures/real/expected/crash.vmcore.kdump-zlib.*, with .cmd).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BufferMemory } from '@vmpipe/addrxlat';
import { formatResolved, SymbolTable, withModules } from '@vmpipe/symbols';
import type { TypeTable } from '@vmpipe/types';
import { table } from './memkit.test-helper.js';
import { ModuleWalkError, Program, readModules } from './index.js';

/** The modules of `mem` with `types` and the kernel symbols `symbols`. */
function moduleSymbols(mem: BufferMemory, types: TypeTable, symbols: SymbolTable) {
  return readModules(Program.fromParts({ mem, types, symbols }));
}

const fakeTypes = table;

const uint = { kind: 'int', name: 'unsigned int', size: 4, signed: false, char: false, bool: false, bits: 32 } as const; // 1
const types64 = fakeTypes([
  uint, // 1
  { kind: 'pointer', type: 0, size: 8 }, // 2 void *
  { kind: 'struct', name: 'list_head', size: 16, members: [{ name: 'next', type: 2, bitOffset: 0, bitSize: 0 }, { name: 'prev', type: 2, bitOffset: 64, bitSize: 0 }] }, // 3
  { kind: 'int', name: 'char', size: 1, signed: true, char: true, bool: false, bits: 8 }, // 4
  { kind: 'array', type: 4, count: 56 }, // 5 char[56]
  { kind: 'struct', name: 'module_memory', size: 16, members: [{ name: 'base', type: 2, bitOffset: 0, bitSize: 0 }, { name: 'size', type: 1, bitOffset: 64, bitSize: 0 }] }, // 6
  { kind: 'array', type: 6, count: 7 }, // 7 mem[MOD_MEM_NUM_TYPES]
  { kind: 'enum', name: 'mod_mem_type', size: 4, signed: false, values: ['MOD_TEXT', 'MOD_DATA', 'MOD_RODATA', 'MOD_RO_AFTER_INIT', 'MOD_INIT_TEXT', 'MOD_INIT_DATA', 'MOD_INIT_RODATA'].map((name, i) => ({ name, value: BigInt(i) })) }, // 8
  {
    kind: 'struct', name: 'mod_kallsyms', size: 32, members: [
      { name: 'symtab', type: 2, bitOffset: 0, bitSize: 0 }, { name: 'num_symtab', type: 1, bitOffset: 64, bitSize: 0 },
      { name: 'strtab', type: 2, bitOffset: 128, bitSize: 0 }, { name: 'typetab', type: 2, bitOffset: 192, bitSize: 0 },
    ],
  }, // 9
  { kind: 'pointer', type: 9, size: 8 }, // 10
  { kind: 'enum', name: 'module_state', size: 4, signed: false, values: ['MODULE_STATE_LIVE', 'MODULE_STATE_COMING', 'MODULE_STATE_GOING', 'MODULE_STATE_UNFORMED'].map((name, i) => ({ name, value: BigInt(i) })) }, // 11
  {
    // not 6.1's order: name first, list after it, kallsyms last
    kind: 'struct', name: 'module', size: 216, members: [
      { name: 'state', type: 11, bitOffset: 0, bitSize: 0 }, { name: 'name', type: 5, bitOffset: 8 * 8, bitSize: 0 },
      { name: 'list', type: 3, bitOffset: 64 * 8, bitSize: 0 }, { name: 'mem', type: 7, bitOffset: 80 * 8, bitSize: 0 },
      { name: 'kallsyms', type: 10, bitOffset: 208 * 8, bitSize: 0 },
    ],
  }, // 12
]);

const HEAD = 0xffffffff82000000n;
const kernel = new SymbolTable([
  { name: '_text', addr: 0xffffffff81000000n, type: 'T' },
  { name: 'modules', addr: HEAD, type: 'd' },
  { name: '_end', addr: 0xffffffff83000000n, type: 'B' },
]);

function u64(v: bigint) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

interface FakeModule {
  addr: bigint;
  name: string;
  state?: number;
  next: bigint;
  mem: [number, bigint, number][];
  kallsyms: bigint;
}

function moduleBytes(m: FakeModule): Buffer {
  const b = Buffer.alloc(216);
  b.writeUInt32LE(m.state ?? 0, 0);
  b.write(m.name, 8, 'latin1');
  b.writeBigUInt64LE(m.next, 64);
  for (const [i, base, size] of m.mem) {
    b.writeBigUInt64LE(base, 80 + i * 16);
    b.writeUInt32LE(size, 80 + i * 16 + 8);
  }
  b.writeBigUInt64LE(m.kallsyms, 208);
  return b;
}

/** Elf64_Sym entries + strtab + typetab + the mod_kallsyms pointing at them, at `at`. */
function kallsymsAt(mem: BufferMemory, at: bigint, syms: { name: string; info: number; shndx: number; value: bigint; size: number; type: string }[]) {
  const all = [{ name: '', info: 0, shndx: 0, value: 0n, size: 0, type: ' ' }, ...syms];
  let strtab = '\0';
  const symtab = Buffer.alloc(24 * all.length);
  all.forEach((s, i) => {
    const off = s.name ? strtab.length : 0;
    if (s.name) strtab += s.name + '\0';
    symtab.writeUInt32LE(off, i * 24);
    symtab.writeUInt8(s.info, i * 24 + 4);
    symtab.writeUInt16LE(s.shndx, i * 24 + 6);
    symtab.writeBigUInt64LE(s.value, i * 24 + 8);
    symtab.writeBigUInt64LE(BigInt(s.size), i * 24 + 16);
  });
  const mks = Buffer.alloc(32);
  mks.writeBigUInt64LE(at + 0x100n, 0);
  mks.writeUInt32LE(all.length, 8);
  mks.writeBigUInt64LE(at + 0x800n, 16);
  mks.writeBigUInt64LE(at + 0xc00n, 24);
  mem.add(at, mks).add(at + 0x100n, symtab).add(at + 0x800n, Buffer.concat([Buffer.from(strtab, 'latin1'), Buffer.alloc(0x400)])).add(at + 0xc00n, Buffer.from(all.map((s) => s.type).join(''), 'latin1'));
}

const GLOBAL_FUNC = 0x12; // STB_GLOBAL << 4 | STT_FUNC
const LOCAL_FUNC = 0x02;
const LOCAL_OBJECT = 0x01;

function fixture(alphaNext?: bigint) {
  const A = 0xffffffffc0010000n;
  const B = 0xffffffffc0020000n;
  const C = 0xffffffffc0030000n;
  const mem = new BufferMemory().add(HEAD, Buffer.concat([u64(A + 64n), u64(C + 64n)]));
  mem.add(A, moduleBytes({ addr: A, name: 'alpha', next: alphaNext ?? B + 64n, mem: [[0, 0xffffffffc0000000n, 0x1000], [1, 0xffffffffc0002000n, 0x1000], [4, 0n, 0]], kallsyms: 0xffffffffc0040000n }));
  mem.add(B, moduleBytes({ addr: B, name: 'beta', state: 3, next: C + 64n, mem: [[0, 0xffffffffc0005000n, 0x1000]], kallsyms: 0n }));
  mem.add(C, moduleBytes({ addr: C, name: 'gamma', next: HEAD, mem: [[0, 0xffffffffc0006000n, 0x1000]], kallsyms: 0xffffffffc00f0000n /* not in memory */ }));
  kallsymsAt(mem, 0xffffffffc0040000n, [
    { name: 'alpha_fn', info: GLOBAL_FUNC, shndx: 1, value: 0xffffffffc0000010n, size: 0x20, type: 't' },
    { name: 'alpha_local', info: LOCAL_FUNC, shndx: 1, value: 0xffffffffc0000040n, size: 0x10, type: 't' },
    { name: 'printk', info: GLOBAL_FUNC, shndx: 0, value: 0n, size: 0, type: 'U' },
    { name: '$x', info: 0, shndx: 1, value: 0xffffffffc0000000n, size: 0, type: 't' },
    { name: '', info: LOCAL_FUNC, shndx: 1, value: 0xffffffffc0000000n, size: 0, type: 't' },
    { name: 'alpha_data', info: LOCAL_OBJECT, shndx: 2, value: 0xffffffffc0002000n, size: 8, type: 'd' },
  ]);
  return mem;
}

test('6.4-style mem[]: modules, symbols, ranges and types come from the types, not from fixed offsets', (t) => {
  const m = moduleSymbols(fixture(), types64, kernel);
  t.deepEqual(m.errors.map((e) => e.module), ['gamma']);
  t.deepEqual(m.modules.map((x) => [x.name, x.addr, x.base, x.size, x.symbols]), [
    ['alpha', 0xffffffffc0010000n, 0xffffffffc0000000n, 0x2000, 3],
    ['gamma', 0xffffffffc0030000n, 0xffffffffc0006000n, 0x1000, 0],
  ], 'beta is MODULE_STATE_UNFORMED and skipped; gamma is listed though its kallsyms is unreadable');
  t.deepEqual(m.symbols.map((s) => [s.name, s.addr, s.type, s.size, s.module]), [
    ['alpha_fn', 0xffffffffc0000010n, 'T', 0x20, 'alpha'],
    ['alpha_local', 0xffffffffc0000040n, 't', 0x10, 'alpha'],
    ['alpha_data', 0xffffffffc0002000n, 'd', 8, 'alpha'],
  ], 'the null, undefined, unnamed and mapping symbols are skipped; globals upper case');
  t.deepEqual(m.errors.map((e) => e.message), [m.errors.at(-1)!.message]);
  t.is(m.errors[0]!.module, 'gamma');
  t.regex(m.errors[0]!.message, /kallsyms cannot be read/);
  t.true(m.notes.some((n) => /mem\[\]/.test(n)));
  const table = withModules(kernel, m);
  t.is(formatResolved(table.resolve(0xffffffffc0000030n)!), 'alpha_fn+0x20 [alpha]');
  t.is(formatResolved(table.resolve(0xffffffffc0002004n)!), 'alpha_data+0x4 [alpha]');
  t.is(table.resolve(0xffffffffc0001000n), undefined, 'between alpha\'s text and data');
  t.is(table.resolve(0xffffffffc0006010n), undefined, 'gamma has no symbols to name it');
  t.is(formatResolved(table.resolve(0xffffffff82000008n)!), 'modules+0x8', 'kernel symbols still resolve');
});

test('a list that loops ends with an error, not a hang', (t) => {
  const A = 0xffffffffc0010000n;
  const mem = fixture(A + 64n); // alpha.list.next points at itself
  const m = moduleSymbols(mem, types64, kernel);
  t.deepEqual(m.modules.map((x) => x.name), ['alpha']);
  t.regex(m.errors.at(-1)!.message, /loops/);
});

test('no modules symbol or no struct module: ModuleWalkError', (t) => {
  t.throws(() => moduleSymbols(fixture(), types64, new SymbolTable([{ name: '_text', addr: 0xffffffff81000000n, type: 'T' }])), { instanceOf: ModuleWalkError, message: /modules/ });
  t.throws(() => moduleSymbols(fixture(), fakeTypes([uint]), kernel), { instanceOf: ModuleWalkError, message: /struct module/ });
});

const REAL = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const DUMP = REAL + 'vmcore.kdump-zlib';
const EXPECTED = REAL + 'expected/';
const real = existsSync(DUMP) ? test : test.skip;

let loaded: { mods: ReturnType<typeof readModules>; table: SymbolTable; kernel: SymbolTable } | undefined;
function load() {
  if (!loaded) {
    const prog = Program.open(DUMP);
    loaded = { mods: prog.modules, table: prog.symbols, kernel: prog.kernelSymbols.table };
  }
  return loaded;
}

real('module addresses: crash names pvpanic_panic_notify+96 [pvpanic]; so do the module symbols (vmlinux kallsyms alone do not)', (t) => {
  const line = readFileSync(EXPECTED + 'crash.vmcore.kdump-zlib.sym-ffffffffc0597230.txt', 'latin1').split('\n')[0]!;
  const m = /^([0-9a-f]+) \((.)\) (\S+)\+(\d+) \[(\S+)\]/.exec(line)!;
  const addr = BigInt('0x' + m[1]);
  t.is(m[5], 'pvpanic');
  const { kernel, table } = load();
  t.is(kernel.resolve(addr), undefined);
  const got = table.resolve(addr)!;
  t.like(got.symbol, { name: m[3], type: m[2], module: m[5] });
  t.is(got.offset, BigInt(m[4]!));
  t.is(formatResolved(got), 'pvpanic_panic_notify+0x60 [pvpanic]');
});

real('crash sym ffffffffc0597230: pvpanic_panic_notify+96 [pvpanic], type t', async (t) => {
  const line = readFileSync(EXPECTED + 'crash.vmcore.kdump-zlib.sym-ffffffffc0597230.txt', 'latin1').split('\n')[0]!;
  const m = /^([0-9a-f]+) \((.)\) (\S+)\+(\d+) \[(\S+)\]/.exec(line)!;
  const { table } = load();
  const r = table.resolve(BigInt('0x' + m[1]))!;
  t.is(r.symbol.name, m[3]);
  t.is(r.offset, BigInt(m[4]!));
  t.is(r.symbol.type, m[2]);
  t.is(r.symbol.module, m[5]);
  t.is(formatResolved(r), 'pvpanic_panic_notify+0x60 [pvpanic]');
});

real('crash mod: every module, its struct module address, base and size', async (t) => {
  const rows = readFileSync(EXPECTED + 'crash.vmcore.kdump-zlib.mod.txt', 'latin1').split('\n').slice(1).filter((l) => l.trim())
    .map((l) => l.trim().split(/\s+/)).map(([addr, name, base, size]) => [name!, BigInt('0x' + addr), BigInt('0x' + base), Number(size)] as const);
  t.is(rows.length, 3);
  const { mods } = load();
  t.deepEqual(mods.errors, []);
  const got = mods.modules.map((m) => [m.name, m.addr, m.base, m.size] as const);
  const byName = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]) => a[0].localeCompare(b[0]);
  t.deepEqual([...got].sort(byName), [...rows].sort(byName));
});

for (const name of ['pvpanic', 'pvpanic_mmio', 'qemu_fw_cfg']) {
  real(`crash sym -m ${name}: the same symbols at the same addresses, text types alike, START/END = base, base + size`, async (t) => {
    const lines = readFileSync(EXPECTED + `crash.vmcore.kdump-zlib.sym-m-${name}.txt`, 'latin1').split('\n');
    const start = /^([0-9a-f]+) MODULE START: (\S+)/.exec(lines.find((l) => l.includes('MODULE START'))!)!;
    const end = /^([0-9a-f]+) MODULE END: (\S+)/.exec(lines.find((l) => l.includes('MODULE END'))!)!;
    const want = lines.map((l) => /^([0-9a-f]+) \((.)\) (\S+)$/.exec(l)).filter((m) => m !== null).map((m) => ({ addr: m[1]!, type: m[2]!, name: m[3]! }));
    t.true(want.length > 10);
    const { mods } = load();
    const mod = mods.modules.find((m) => m.name === name)!;
    t.is(mod.base, BigInt('0x' + start[1]));
    t.is(mod.base + BigInt(mod.size), BigInt('0x' + end[1]));
    const got = mods.symbols.filter((s) => s.module === name);
    const key = (a: string, n: string) => `${a} ${n}`;
    t.deepEqual(got.map((s) => key(s.addr.toString(16), s.name)).sort(), want.map((w) => key(w.addr, w.name)).sort());
    // crash prints (?) for module data; its text letters (t/T) are nm's, case by binding.
    for (const w of want.filter((x) => x.type !== '?')) {
      t.is(got.find((s) => s.name === w.name && s.addr.toString(16) === w.addr)!.type, w.type, w.name);
    }
  });
}
