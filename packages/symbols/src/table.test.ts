import test from 'ava';
import { SymbolTable, formatResolved, nameOrder, type KernelSymbol, type PackedSymbols } from './table.js';
import { annotate, HexResolver } from './annotate.js';
import { parseSystemMap } from './system-map.js';

// A slice of the fixture kernel's System.map after KASLR (offset 0x8400000).
const MAP = `0000000000000000 D __per_cpu_start
0000000000031980 D runqueues
0000000000034000 D __per_cpu_end
00000000000001ea A kexec_control_code_size
ffffffff89400000 T _stext
ffffffff89400000 T _text
ffffffff89dccf31 T panic
ffffffff89dcd225 T panic_other
ffffffff8ae00000 D init_stack
ffffffff8ae00000 D init_thread_union
ffffffff8ae079c0 D jiffies
ffffffff8ae079c0 D jiffies_64
ffffffff8b830000 B _end
`;
const table = new SymbolTable(parseSystemMap(MAP).symbols);

test('nearest symbol at or below, offset in hex as the kernel prints it', (t) => {
  t.is(formatResolved(table.resolve(0xffffffff89dcd0a8n)!), 'panic+0x177');
  t.is(formatResolved(table.resolve(0xffffffff89dccf31n)!), 'panic');
  t.is(formatResolved(table.resolve(0xffffffff8ae079c8n)!), 'jiffies+0x8'); // the first alias in the source's order
  t.is(formatResolved(table.resolve(0xffffffff8b830000n)!), '_end');
});

test('outside the kernel image nothing resolves: per-cpu offsets, small numbers, module space, past _end', (t) => {
  for (const a of [0x0n, 0x8n, 0x31980n, 0x319c0n, 0x1ean, 0xffffffff893fffffn, 0xffffffff8b830001n, 0xffffffffc0597230n, 0xffff8dce811f9800n]) {
    t.is(table.resolve(a), undefined, a.toString(16));
  }
});

test('names: every symbol of a name, regex search in address order, extents to the next symbol', (t) => {
  t.is(table.lookup('runqueues')[0]!.addr, 0x31980n);
  t.deepEqual(table.lookup('nosuch'), []);
  t.deepEqual(table.search(/^panic/).map((s) => s.name), ['panic', 'panic_other']);
  t.is(table.extent(table.lookup('panic')[0]!), 0x2f4); // 756, what the vmlinux symtab says panic's size is
  const withSize: KernelSymbol[] = [{ name: '_text', addr: 0x1000n, type: 'T' }, { name: 'f', addr: 0x1000n, type: 'T', size: 5 }, { name: '_end', addr: 0x2000n, type: 'B' }];
  t.is(new SymbolTable(withSize).extent(withSize[1]!), 5);
});

test('module symbols print [module]', (t) => {
  const m = new SymbolTable([{ name: 'pvpanic_panic_notify', addr: 0xffffffffc05971d0n, type: 't', module: 'pvpanic' }], [{ start: 0xffffffffc0597000n, end: 0xffffffffc059b000n }]);
  t.is(formatResolved(m.resolve(0xffffffffc0597230n)!), 'pvpanic_panic_notify+0x60 [pvpanic]');
});

const resolver = new HexResolver(table);

test('annotate: mem words get wordsSym of the same length, null where nothing resolves; physical addr is left alone', (t) => {
  const rec = { kind: 'mem', dump: 'd', space: 'physical', addr: '0x230b000', width: 8, words: ['0xffffffff89dcd0a8', '0x8', '0xffffffff8ae079c0'] };
  const { record, problems } = annotate(rec, resolver);
  t.deepEqual(record.wordsSym, ['panic+0x177', null, 'jiffies']);
  t.false('addrSym' in record);
  t.deepEqual(problems, []);
  t.false('wordsSym' in rec); // the input is not changed
});

test('annotate: cpu regs get regsSym with the registers that resolve; --detail adds the structured form', (t) => {
  const rec = { kind: 'cpu', dump: 'd', cpu: 1, regs: { rip: '0xffffffff89dcd0a8', rsp: '0xffffcf8400013a38', rax: '0x1' } };
  const { record } = annotate(rec, resolver, { detail: true });
  t.deepEqual(record.regsSym, { rip: 'panic+0x177' });
  t.deepEqual(record.regsSymDetail, { rip: { name: 'panic', offset: 0x177, size: 756, type: 'T' } });
});

test('annotate: scalar fields, --field, non-hex values become problems, records without address fields are the same object', (t) => {
  const frame = { kind: 'frame', dump: 'd', pc: '0xffffffff89dccf31', sp: '0xffffcf8400013a78', node: 'zz' };
  const a = annotate(frame, resolver);
  t.is(a.record.pcSym, 'panic');
  t.is(a.record.spSym, null);
  t.deepEqual(a.problems, [{ field: 'node', value: 'zz' }]);
  const log = { kind: 'log', dump: 'd', seq: 3, text: 'hello' };
  t.is(annotate(log, resolver).record, log);
  const custom = annotate({ kind: 'object', dump: 'd', value: '0xffffffff8ae00010', addr: '0xffffffff89dccf31' }, resolver, { fields: ['value'] });
  t.is(custom.record.valueSym, 'init_stack+0x10');
  t.false('addrSym' in custom.record);
  t.deepEqual(annotate({ kind: 'object', dump: 'd', value: 12 }, resolver, { fields: ['value'] }).problems, [{ field: 'value', value: 12 }]);
});

test('System.map lines: junk counted with samples, /proc/kallsyms module column read', (t) => {
  const m = parseSystemMap('ffffffff89dccf31 T panic\nnot a line\n\nffffffffc05971d0 t pvpanic_panic_notify\t[pvpanic]\nzz T x\n');
  t.is(m.symbols.length, 2);
  t.is(m.symbols[1]!.module, 'pvpanic');
  t.is(m.junkLines, 2);
  t.deepEqual(m.junkSamples, [{ line: 2, text: 'not a line' }, { line: 5, text: 'zz T x' }]);
});

/** A small deterministic generator (the cases must be the same on every run). */
function lcg(seed: number) {
  return () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
}

test('symbols out of address order are sorted stably, as a plain stable sort does, whatever the disorder', (t) => {
  for (let trial = 0; trial < 300; trial++) {
    const r = lcg(trial + 1);
    const n = 1 + Math.floor(r() * 200);
    // Nearly sorted (a System.map with a few absolute aliases KASLR did not move), or random with many equal addresses.
    const addr = (i: number) => BigInt(trial % 2 === 0 ? Math.max(0, i * 16 - (r() < 0.05 ? Math.floor(r() * 2000) : 0)) : Math.floor(r() * 60));
    const symbols: KernelSymbol[] = Array.from({ length: n }, (_, i) => ({ name: `s${Math.floor(r() * 40)}`, type: 'T', addr: addr(i) }));
    const want = symbols
      .map((s, i) => ({ s, i }))
      .sort((a, b) => (a.s.addr < b.s.addr ? -1 : a.s.addr > b.s.addr ? 1 : a.i - b.i))
      .map((x) => x.s);
    const table = new SymbolTable(symbols);
    if (table.symbols.some((s, i) => s !== want[i])) return t.fail(`trial ${trial}: not the stable sort`);
    // With the order by name as a source gives it (counted in the source's order), every lookup is the plain one.
    const hinted = new SymbolTable(symbols, undefined, { nameOrder: nameOrder(symbols) });
    for (const name of [...new Set(symbols.map((s) => s.name)), 'absent']) {
      const a = hinted.lookup(name);
      const b = table.lookup(name);
      if (a.length !== b.length || a.some((s, i) => s !== b[i])) return t.fail(`trial ${trial}: lookup(${name}) differs with the hint`);
    }
    // Packed (as a cache holds them; out of address order they are made into objects and sorted): the same answers.
    const packed: PackedSymbols = {
      names: Buffer.from(symbols.map((s) => `${s.name}\n`).join(''), 'latin1'),
      types: Buffer.from(symbols.map((s) => s.type).join(''), 'latin1'),
      addrs: BigUint64Array.from(symbols.map((s) => s.addr)),
      nameOrder: nameOrder(symbols),
    };
    const fromPacked = new SymbolTable(packed);
    const text = (list: readonly KernelSymbol[]) => list.map((s) => `${s.type} ${s.name} ${s.addr}`).join(',');
    for (const name of [...new Set(symbols.map((s) => s.name)), 'absent', 's']) {
      if (text(fromPacked.lookup(name)) !== text(table.lookup(name))) return t.fail(`trial ${trial}: packed lookup(${name}) differs`);
    }
    for (let a = -2n; a < BigInt(n * 16 + 2); a += 3n) {
      const x = fromPacked.resolve(a);
      const y = table.resolve(a);
      if ((x && formatResolved(x)) !== (y && formatResolved(y)) || (x && fromPacked.extent(x.symbol)) !== (y && table.extent(y.symbol))) return t.fail(`trial ${trial}: packed resolve(${a}) differs`);
    }
    if (text(fromPacked.symbols) !== text(table.symbols)) return t.fail(`trial ${trial}: packed symbols differ`);
  }
  t.pass();
});
