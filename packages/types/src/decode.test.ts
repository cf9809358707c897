import test from 'ava';
import { BufferMemory } from '@vmpipe/addrxlat';
import { BtfWriter } from './btf/writer.js';
import { BtfTable } from './btf/reader.js';
import { Decoder, readObject } from './decode.js';

function setup() {
  const w = new BtfWriter();
  const int = w.int('int', 4, { signed: true });
  const uint = w.int('unsigned int', 4);
  const ulong = w.int('long unsigned int', 8);
  const char = w.int('char', 1, { signed: true });
  const s64 = w.int('long long int', 8, { signed: true });
  const atomic = w.typedef('atomic_t', w.struct('', 4, [{ name: 'counter', type: int, bitOffset: 0 }]));
  const state = w.enum('pid_type', 4, [['PIDTYPE_PID', 0], ['PIDTYPE_TGID', 1]]);
  // struct obj { atomic_t _refcount; unsigned int f:3, g:5; char comm[8]; unsigned long big; struct obj *self; enum pid_type t; long long neg; int arr[2]; }
  const objId = 12; // the id the struct below gets
  const selfPtr = w.ptr(objId);
  const comm = w.array(char, 8);
  const arr = w.array(int, 2);
  const obj = w.struct('obj', 56, [
    { name: '_refcount', type: atomic, bitOffset: 0 },
    { name: 'f', type: uint, bitOffset: 32, bitSize: 3 },
    { name: 'g', type: int, bitOffset: 35, bitSize: 5 },
    { name: 'comm', type: comm, bitOffset: 64 },
    { name: 'big', type: ulong, bitOffset: 128 },
    { name: 'self', type: selfPtr, bitOffset: 192 },
    { name: 't', type: state, bitOffset: 256 },
    { name: 'neg', type: s64, bitOffset: 320 },
    { name: 'arr', type: arr, bitOffset: 384 },
  ]);
  return { table: new BtfTable(w.bytes(), { source: 'btf-file' }), obj, objId };
}

function objBytes(self: bigint): Uint8Array {
  const b = Buffer.alloc(56);
  b.writeUInt32LE(0xffffffff, 0); // _refcount.counter = -1
  b.writeUInt8(0b1111_1101, 4); // f = 0b101 = 5, g = 0b11111 = -1 (signed 5 bits)
  b.write('swapper', 8, 'latin1');
  b.writeBigUInt64LE(0xdead000000000122n, 16);
  b.writeBigUInt64LE(self, 24);
  b.writeUInt32LE(1, 32);
  b.writeBigInt64LE(-128n, 40);
  b.writeInt32LE(7, 48);
  b.writeInt32LE(-7, 52);
  return b;
}

test('values by type: signed atomic_t, bitfields, char[] strings, 64-bit hex, enums, arrays', (t) => {
  const { table, obj, objId } = setup();
  t.is(obj, objId);
  const addr = 0xffff888000001000n;
  const mem = new BufferMemory().add(addr, objBytes(addr));
  const value = new Decoder(table).value(readObject(mem, addr, 56), obj, 0);
  t.deepEqual(value, {
    _refcount: { counter: -1 },
    f: 5,
    g: -1,
    comm: 'swapper',
    big: '0xdead000000000122',
    self: '0xffff888000001000',
    t: 'PIDTYPE_TGID',
    neg: -128,
    arr: [7, -7],
  });
});

test('unreadable bytes become an error on the members they cover', (t) => {
  const { table, obj } = setup();
  const addr = 0x10000n;
  // Only the first 16 bytes exist.
  const mem = new BufferMemory().add(addr, objBytes(0n).subarray(0, 16));
  const value = new Decoder(table).value(readObject(mem, addr, 56), obj, 0) as Record<string, unknown>;
  t.deepEqual(value._refcount, { counter: -1 });
  t.is(value.comm, 'swapper');
  t.like(value.big as object, { error: 'not-mapped' });
  t.like((value.arr as unknown[])[1] as object, { error: 'not-mapped' });
});

test('following pointers stops at a loop and at the depth limit', (t) => {
  const { table, obj } = setup();
  const a = 0x1000n;
  const mem = new BufferMemory().add(a, objBytes(a));
  const v = new Decoder(table, { deref: 3, mem }).value(readObject(mem, a, 56), obj, 0, 0, 0, 0, new Set([a])) as Record<string, unknown>;
  t.like(v.self as object, { addr: '0x1000', error: 'pointer-loop' });
  const b = 0x2000n;
  const mem2 = new BufferMemory().add(a, objBytes(b)).add(b, objBytes(a));
  const v2 = new Decoder(table, { deref: 1, mem: mem2 }).value(readObject(mem2, a, 56), obj, 0) as Record<string, { addr: string; value: Record<string, unknown> }>;
  t.is(v2.self!.addr, '0x2000');
  t.is(v2.self!.value.self, '0x1000', 'one level followed, the next pointer stays hex');
});
