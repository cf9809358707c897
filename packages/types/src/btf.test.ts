import test from 'ava';
import { BtfWriter } from './btf/writer.js';
import { BtfError, BtfTable } from './btf/reader.js';
import { alignOf, resolve, sizeOf } from './model.js';
import { findType, layoutOf, lookupType, memberAt, memberIfPresent, TypeLookupError } from './layout.js';
import { typeName } from './names.js';

test('header and every kind decode into the model', (t) => {
  const w = new BtfWriter();
  const int = w.int('int', 4, { signed: true }); // 1
  const uchar = w.int('unsigned char', 1); // 2
  const bool = w.int('_Bool', 1, { bool: true }); // 3
  const p = w.ptr(int); // 4
  const arr = w.array(uchar, 16, int); // 5
  const st = w.struct('s', 24, [
    { name: 'a', type: int, bitOffset: 0 },
    { name: 'f', type: int, bitOffset: 32, bitSize: 3 },
    { name: 'g', type: int, bitOffset: 35, bitSize: 5 },
    { name: 'p', type: p, bitOffset: 64 },
    { name: 'flex', type: w.array(int, 0), bitOffset: 128 },
  ]);
  const e = w.enum('color', 4, [['RED', 0], ['BLUE', -1]], true);
  const e64 = w.enum64('big', 8, [['HUGE', 0xffff_ffff_ffffn]], false);
  const fwd = w.fwd('opaque', true);
  const td = w.typedef('atomic_t', w.struct('', 4, [{ name: 'counter', type: int, bitOffset: 0 }]));
  const c = w.qual('const', td);
  const v = w.qual('volatile', c);
  const tag = w.typeTag('rcu', p);
  const proto = w.funcProto(int, [['fmt', p]], true);
  const fn = w.func('printk', proto);
  const f = w.float('double', 8);
  const dt = w.declTag('kfunc', fn);
  const vr = w.variable('jiffies', int);
  const ds = w.datasec('.data', 8, [[vr, 0, 4]]);
  const fp = w.ptr(proto);
  const cp = w.ptr(w.qual('const', uchar));
  const table = new BtfTable(w.bytes(), { source: 'btf-file' });
  t.deepEqual(table.get(0), { kind: 'void' });
  t.like(table.get(int), { kind: 'int', name: 'int', size: 4, signed: true, bits: 32, char: false });
  t.like(table.get(uchar), { kind: 'int', char: true, signed: false }, 'a 1-byte int named char is a char');
  t.like(table.get(bool), { kind: 'int', bool: true });
  t.like(table.get(arr), { kind: 'array', type: uchar, count: 16, indexType: int });
  const s = table.get(st);
  t.is(s.kind, 'struct');
  if (s.kind === 'struct') {
    t.deepEqual(s.members.map((m) => [m.name, m.bitOffset, m.bitSize]), [['a', 0, 0], ['f', 32, 3], ['g', 35, 5], ['p', 64, 0], ['flex', 128, 0]]);
  }
  t.like(table.get(e), { kind: 'enum', signed: true, values: [{ name: 'RED', value: 0n }, { name: 'BLUE', value: -1n }] });
  t.like(table.get(e64), { kind: 'enum', size: 8, values: [{ name: 'HUGE', value: 0xffff_ffff_ffffn }] });
  t.like(table.get(fwd), { kind: 'fwd', name: 'opaque', fwdKind: 'union' });
  t.like(table.get(v), { kind: 'volatile', type: c });
  t.like(table.get(tag), { kind: 'type_tag', name: 'rcu', type: p });
  t.like(table.get(proto), { kind: 'function', returnType: int, variadic: true, params: [{ name: 'fmt', type: p }] });
  t.like(table.get(fn), { kind: 'func', name: 'printk', linkage: 'global' });
  t.like(table.get(f), { kind: 'float', size: 8 });
  t.like(table.get(dt), { kind: 'decl_tag', componentIdx: -1 });
  t.like(table.get(ds), { kind: 'datasec', name: '.data', vars: [{ type: vr, offset: 0, size: 4 }] });
  t.is(resolve(table, v).id, td - 1, 'resolve goes through volatile, const and the typedef to the anonymous struct');
  t.is(sizeOf(table, v), 4);
  t.is(sizeOf(table, arr), 16);
  t.is(alignOf(table, st), 8);
  t.is(typeName(table, p), 'int *');
  t.is(typeName(table, arr), 'unsigned char [16]');
  t.is(typeName(table, fp), 'int (*)(int *, ...)');
  t.is(typeName(table, cp), 'const unsigned char *');
  t.is(typeName(table, td), 'atomic_t');
});

test('bitfields without kind_flag come from the INT offset/bits encoding', (t) => {
  const w = new BtfWriter();
  const u8 = w.int('unsigned char', 1);
  const bf5 = w.int('unsigned char', 1, { bits: 5 });
  const bf3 = w.int('unsigned char', 1, { bits: 3, offset: 0 });
  const st = w.struct('printk_info_like', 2, [
    { name: 'facility', type: u8, bitOffset: 0 },
    { name: 'flags', type: bf5, bitOffset: 8 },
    { name: 'level', type: bf3, bitOffset: 13 },
  ], { kindFlag: false });
  const table = new BtfTable(w.bytes(), { source: 'btf-file' });
  const lay = layoutOf(table, { id: st, name: 'struct printk_info_like' });
  t.deepEqual(lay.members.map((m) => [m.path, m.offset, m.bitOffset, m.bitSize]), [['facility', 0, undefined, undefined], ['flags', 1, 8, 5], ['level', 1, 13, 3]]);
});

test('anonymous structs and unions flatten into paths; offsets through arrays and nested members', (t) => {
  const w = new BtfWriter();
  const ulong = w.int('long unsigned int', 8);
  const lh = w.struct('list_head', 16, []);
  const lhp = w.ptr(lh);
  const lhFull = w.struct('list_head', 16, [{ name: 'next', type: lhp, bitOffset: 0 }, { name: 'prev', type: lhp, bitOffset: 64 }]);
  const s1 = w.struct('', 16, [{ name: 'lru', type: lhFull, bitOffset: 0 }]);
  const s3 = w.struct('', 32, [{ name: '_compound_pad_1', type: ulong, bitOffset: 0 }, { name: '_compound_pad_2', type: ulong, bitOffset: 64 }, { name: 'deferred_list', type: lhFull, bitOffset: 128 }]);
  const u = w.struct('', 32, [{ name: '', type: s1, bitOffset: 0 }, { name: '', type: s3, bitOffset: 0 }], { union: true });
  const page = w.struct('page', 64, [{ name: 'flags', type: ulong, bitOffset: 0 }, { name: '', type: u, bitOffset: 64 }, { name: 'memcg_data', type: ulong, bitOffset: 56 * 8 }]);
  const table = new BtfTable(w.bytes(), { source: 'btf-file' });
  const found = findType(table, 'page');
  t.deepEqual(found, { id: page, name: 'struct page' }, 'the list_head with members wins over the empty one, and "page" finds struct page');
  t.is(findType(table, 'struct list_head').id, lhFull);
  const lay = layoutOf(table, found);
  t.deepEqual(lay.members.map((m) => `${m.path}@${m.offset}`), ['flags@0', 'lru@8', '_compound_pad_1@8', '_compound_pad_2@16', 'deferred_list@24', 'memcg_data@56']);
  t.deepEqual(lay.scopes.map((s) => [s.kind, s.offset, s.parent]), [['union', 8, undefined], ['struct', 8, 0], ['struct', 8, 0]]);
  t.is(memberAt(table, found, 'deferred_list', 2).offset, 0x98, 'page[2].deferred_list is 0x98 from the head page');
  t.is(memberAt(table, found, 'deferred_list.prev').offset, 32);
  const err = t.throws(() => memberAt(table, found, 'deferred_lst'), { instanceOf: TypeLookupError });
  t.regex(err!.message, /no member "deferred_lst".*did you mean "deferred_list"/);
  t.regex(t.throws(() => findType(table, 'struct pgae'))!.message, /did you mean "struct page"/);
  // The probes a version-adapting helper uses: the same answers, no error.
  t.deepEqual(lookupType(table, 'page'), found);
  t.deepEqual(lookupType(table, 'struct list_head'), { id: lhFull, name: 'struct list_head' });
  t.is(lookupType(table, 'struct pgae'), undefined);
  t.is(lookupType(table, 'pgae'), undefined);
  t.is(memberIfPresent(table, 'struct page', 'page_type'), undefined, 'a member this kernel lacks');
  t.is(memberIfPresent(table, 'struct pgae', 'lru'), undefined, 'a type this kernel lacks');
  t.deepEqual(memberIfPresent(table, 'struct page', 'deferred_list.prev'), memberAt(table, found, 'deferred_list.prev'));
  t.deepEqual(layoutOf(table, found, { expand: true }).members.map((m) => m.path).slice(1, 3), ['lru.next', 'lru.prev']);
});

test('split BTF continues the base ids and strings', (t) => {
  const base = new BtfWriter();
  const int = base.int('int', 4, { signed: true });
  const baseTable = new BtfTable(base.bytes(), { source: 'btf-file' });
  const strBase = baseTable.header.strLen;
  const mod = new BtfWriter(baseTable.count, strBase);
  const st = mod.struct('mod_thing', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  const table = new BtfTable(mod.bytes(), { source: 'btf-file', base: baseTable });
  t.is(st, 2);
  t.like(table.get(st), { kind: 'struct', name: 'mod_thing', members: [{ name: 'x', type: int }] });
  t.is(table.lookup('int', 'int'), int, 'names in the base are found through the module');
  t.is(typeName(table, int), 'int');
});

test('corrupt and truncated BTF is refused with one clear error, before anything is decoded', (t) => {
  const w = new BtfWriter();
  w.int('int', 4, { signed: true });
  w.struct('s', 4, [{ name: 'a', type: 1, bitOffset: 0 }]);
  const good = w.bytes();
  t.regex(t.throws(() => new BtfTable(good.subarray(0, 10), { source: 'btf-file' }), { instanceOf: BtfError })!.message, /too short/);
  t.regex(t.throws(() => new BtfTable(good.subarray(0, good.length - 5), { source: 'btf-file' }), { instanceOf: BtfError })!.message, /truncated/);
  const badMagic = Uint8Array.from(good);
  badMagic[0] = 0;
  t.regex(t.throws(() => new BtfTable(badMagic, { source: 'btf-file' }), { instanceOf: BtfError })!.message, /not BTF: magic/);
  const w2 = new BtfWriter();
  w2.raw(0, 31 << 24, 0); // kind 31 does not exist
  t.regex(t.throws(() => new BtfTable(w2.bytes(), { source: 'btf-file' }), { instanceOf: BtfError })!.message, /unknown BTF kind 31/);
  const w3 = new BtfWriter();
  w3.ptr(77); // points past the end
  const t3 = new BtfTable(w3.bytes(), { source: 'btf-file' });
  t.regex(t.throws(() => t3.get(1), { instanceOf: BtfError })!.message, /refers to type 77/);
  const w4 = new BtfWriter();
  w4.raw(0, (4 << 24) | 3, 8); // a struct promising 3 members, with none behind it
  t.regex(t.throws(() => new BtfTable(w4.bytes(), { source: 'btf-file' }), { instanceOf: BtfError })!.message, /truncated/);
});

