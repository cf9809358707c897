import test from 'ava';
import { BufferMemory } from '@vmpipe/addrxlat';
import { formatRecord, printkText, readPrintk, requirePrintkLayout, PrintkUnavailable, type PrintkItem } from '../index.js';
import { DATA, DESCS, locklessEntries, PRB_SYMBOL, writeRing } from './testkit.js';

const entries = locklessEntries(PRB_SYMBOL);
const items = (mem: BufferMemory, e = entries) => [...readPrintk(mem, e)];
const texts = (list: PrintkItem[]) => list.filter((i) => i.record && !i.problem).map((i) => i.record!.text.toString('latin1'));

test('lockless: records tail to head with seq, ts, level, facility, caller id', (t) => {
  const mem = writeRing(
    [
      { id: 0n, seq: 0n, tsNsec: 0n, text: 'Linux version 6.1', level: 5, callerId: 0 },
      { id: 1n, seq: 1n, tsNsec: 2_745_034_000n, text: 'Kernel panic - not syncing: x', level: 0, callerId: 0x80000001, facility: 3, subsystem: 'pci' },
    ],
    { countBits: 4, sizeBits: 9 },
  );
  const list = items(mem);
  t.is(list.length, 2);
  const r = list[1]!.record!;
  t.is(r.seq, 1n);
  t.is(r.tsNsec, 2_745_034_000n);
  t.is(r.level, 0);
  t.is(r.facility, 3);
  t.is(r.callerId, 'C1');
  t.is(r.subsystem, 'pci');
  t.is(list[0]!.record!.callerId, 'T0');
  t.is(list[0]!.record!.level, 5);
  t.is(formatRecord(r, 'makedumpfile'), '[    2.745034] Kernel panic - not syncing: x\n');
});

test('lockless: a wrapped text block is read from the start of the ring; ids wrap past the ring size', (t) => {
  // 256-byte ring: the third block does not fit before the end and starts over at 0.
  const recs = [
    { id: 17n, seq: 17n, tsNsec: 1000n, text: 'a'.repeat(100) },
    { id: 18n, seq: 18n, tsNsec: 2000n, text: 'b'.repeat(60) },
    { id: 19n, seq: 19n, tsNsec: 3000n, text: 'wrapped block' },
  ];
  const mem = writeRing(recs, { countBits: 2, sizeBits: 8, startLpos: 256n * 3n + 64n });
  t.deepEqual(texts(items(mem)), ['a'.repeat(100), 'b'.repeat(60), 'wrapped block']);
});

test('lockless: reserved and reusable descriptors are skipped, committed ones read; multi-line text kept whole', (t) => {
  const mem = writeRing(
    [
      { id: 4n, seq: 4n, tsNsec: 1n, text: 'finalized' },
      { id: 5n, seq: 5n, tsNsec: 2n, text: 'being written', state: 0 },
      { id: 6n, seq: 6n, tsNsec: 3n, text: 'free', state: 3 },
      { id: 7n, seq: 7n, tsNsec: 4_000_000_000n, text: 'line one\nline two', state: 1 },
    ],
    { countBits: 3, sizeBits: 9 },
  );
  const list = items(mem);
  t.deepEqual(texts(list), ['finalized', 'line one\nline two']);
  t.is(list[1]!.record!.state, 'committed');
  const last = list[1]!.record!;
  t.is(formatRecord(last, 'vmcore-dmesg'), '[    4.000000] line one\nline two\n');
  t.is(formatRecord(last, 'makedumpfile'), '[    4.000000] line one\n               line two\n');
  t.is(formatRecord(last, 'crash'), '[    4.000000] line one\n               line two\n');
});

test('lockless: unprintable bytes as each tool prints them', (t) => {
  const mem = writeRing([{ id: 0n, seq: 0n, tsNsec: 0n, text: 'caf\xe9\x01\tx' }], { countBits: 2, sizeBits: 8 });
  const r = items(mem)[0]!.record!;
  t.is(formatRecord(r, 'vmcore-dmesg'), '[    0.000000] caf\\xe9\\x01\tx\n');
  // makedumpfile tests a signed char: 0xe9 is negative and printf("%02x") shows it as an int.
  t.is(formatRecord(r, 'makedumpfile'), '[    0.000000] caf\\xffffffe9\\x01\tx\n');
  t.is(formatRecord(r, 'crash'), '[    0.000000] caf..\tx\n');
});

test('lockless: an empty record (NO_LPOS): vmcore-dmesg prints its stamp, makedumpfile leaves it out, crash an empty line', (t) => {
  const mem = writeRing(
    [
      { id: 0n, seq: 0n, tsNsec: 5_000n, text: '', begin: 3n, next: 3n },
      { id: 1n, seq: 1n, tsNsec: 6_000n, text: 'x', begin: 0n, next: 16n },
    ],
    { countBits: 2, sizeBits: 8 },
  );
  const list = items(mem);
  t.is(list[0]!.record!.dataless, 'empty');
  t.is(list[0]!.problem, undefined);
  const text = (f: 'vmcore-dmesg' | 'makedumpfile' | 'crash') => [...printkText(mem, entries, f)].join('');
  t.is(text('vmcore-dmesg'), '[    0.000005] \n[    0.000006] x\n');
  t.is(text('makedumpfile'), '[    0.000006] x\n');
  t.is(text('crash'), '\n[    0.000006] x\n');
});

test('lockless: damaged descriptors and overwritten text blocks become problems and the walk goes on', (t) => {
  const mem = writeRing(
    [
      { id: 8n, seq: 8n, tsNsec: 1n, text: 'good one' },
      { id: 9n, seq: 9n, tsNsec: 2n, text: 'wrong id in state_var', stateId: 1n },
      { id: 10n, seq: 10n, tsNsec: 3n, text: 'overwritten', blockId: 99n },
      { id: 11n, seq: 11n, tsNsec: 4n, text: 'illegal lpos', begin: 0x1000n, next: 0x10n },
      { id: 12n, seq: 12n, tsNsec: 5n, text: 'lost', begin: 1n, next: 1n },
      { id: 13n, seq: 13n, tsNsec: 6n, text: 'good two' },
    ],
    { countBits: 4, sizeBits: 10 },
  );
  const list = items(mem);
  t.deepEqual(texts(list), ['good one', 'good two']);
  t.deepEqual(
    list.filter((i) => i.problem).map((i) => [i.problem!.code, i.problem!.id]),
    [
      ['printk-desc-damaged', 9n],
      ['printk-text-damaged', 10n],
      ['printk-desc-damaged', 11n],
      ['printk-text-lost', 12n],
    ],
  );
});

test('lockless: a text block in an excluded page costs that record only', (t) => {
  const mem = writeRing(
    [
      { id: 0n, seq: 0n, tsNsec: 1n, text: 'first page' },
      { id: 1n, seq: 1n, tsNsec: 2n, text: 'second page', begin: 4096n, next: 4096n + 24n },
      { id: 2n, seq: 2n, tsNsec: 3n, text: 'after' , begin: 8192n, next: 8192n + 16n},
    ],
    { countBits: 2, sizeBits: 14 },
  );
  // Make page 1 of the data ring unreadable: a memory with the ring split around it.
  const holed = new BufferMemory();
  holed.add(PRB_SYMBOL, mem.readBytes(PRB_SYMBOL, 8)).add(PRB_SYMBOL + 0x1000n, mem.readBytes(PRB_SYMBOL + 0x1000n, 88));
  holed.add(DESCS, mem.readBytes(DESCS, 4 * 24)).add(DESCS + 0xe000n, mem.readBytes(DESCS + 0xe000n, 4 * 88));
  holed.add(DATA, mem.readBytes(DATA, 4096)).add(DATA + 8192n, mem.readBytes(DATA + 8192n, 8192));
  const list = items(holed);
  t.deepEqual(texts(list), ['first page', 'after']);
  t.is(list[1]!.problem!.code, 'not-mapped');
  t.is(list[1]!.problem!.seq, 1n);
});

test('lockless: a VMCOREINFO without printk entries says which keys are missing', (t) => {
  const partial = { ...entries };
  delete partial['OFFSET(prb_desc_ring.head_id)'];
  delete partial['SIZE(printk_info)'];
  const err = t.throws(() => requirePrintkLayout(partial), { instanceOf: PrintkUnavailable });
  t.deepEqual(err!.missing, ['OFFSET(prb_desc_ring.head_id)', 'SIZE(printk_info)']);
  t.regex(err!.message, /missing OFFSET\(prb_desc_ring.head_id\), SIZE\(printk_info\)/);
  const none = t.throws(() => requirePrintkLayout({ OSRELEASE: '6.1.0' }), { instanceOf: PrintkUnavailable });
  t.deepEqual(none!.missing, ['SYMBOL(prb)', 'SYMBOL(log_buf)']);
});

test('lockless: prb pointing at unreadable memory is one PrintkUnavailable', (t) => {
  const mem = new BufferMemory().add(PRB_SYMBOL, Buffer.from([0, 0x10, 0, 0x82, 0xff, 0xff, 0xff, 0xff]));
  const err = t.throws(() => items(mem), { instanceOf: PrintkUnavailable });
  t.is(err!.code, 'printk-unreadable');
});
