import test from 'ava';
import { openDump } from '@vmpipe/dump';
import { kernelMemory } from '@vmpipe/addrxlat';
import { printkText, readPrintk, requirePrintkLayout, PrintkUnavailable } from '../index.js';
import { KernelImage, KTEXT, PLAIN_3_4, printkLog, STRUCTURED_4_19 } from './oldkernel-testkit.js';

const SYM = {
  log_buf: KTEXT + 0x300000n,
  log_buf_len: KTEXT + 0x300008n,
  log_first_idx: KTEXT + 0x30000cn,
  clear_idx: KTEXT + 0x300010n,
  log_next_idx: KTEXT + 0x300014n,
};
const BUF = KTEXT + 0x310000n;

/** A 512-byte 4.19 log_buf that has wrapped: one record before the end marker, two after it. */
function structuredImage(): { image: KernelImage; next: number } {
  const image = new KernelImage();
  const a = printkLog({ tsNsec: 1_000_000_000n, text: 'older record', level: 6, callerId: 1 });
  const b = printkLog({ tsNsec: 2_500_000_000n, text: 'wrapped to the start', level: 4, callerId: 0x80000000, facility: 0 });
  const c = printkLog({ tsNsec: 3_000_001_000n, text: 'two lines\nsecond \x01', level: 0, callerId: 42 });
  image.set(BUF + 400n, a); // 400 + 32 = 432: the end marker (len 0) follows
  image.set(BUF, b).set(BUF + BigInt(b.length), c);
  image.u64(SYM.log_buf, BUF).u32(SYM.log_buf_len, 512).u32(SYM.log_first_idx, 400).u32(SYM.clear_idx, 400);
  const next = b.length + c.length;
  image.u32(SYM.log_next_idx, next);
  return { image, next };
}

test('structured log_buf (4.19): records across the end-of-buffer marker, with level, facility, caller id', async (t) => {
  const { image } = structuredImage();
  const path = await image.write(KernelImage.baseInfo('4.19.0-9-amd64') + STRUCTURED_4_19(SYM));
  const dump = openDump(path);
  const mem = kernelMemory(dump);
  const entries = dump.vmcoreinfo!.entries;
  t.is(requirePrintkLayout(entries).kind, 'structured');
  const records = [...readPrintk(mem, entries)].map((i) => i.record!);
  t.deepEqual(
    records.map((r) => [r.seq, r.tsNsec, r.level, r.callerId, r.text.toString('latin1')]),
    [
      [0n, 1_000_000_000n, 6, 'T1', 'older record'],
      [1n, 2_500_000_000n, 4, 'C0', 'wrapped to the start'],
      [2n, 3_000_001_000n, 0, 'T42', 'two lines\nsecond \x01'],
    ],
  );
  t.is(records[0]!.addr, BUF + 400n);
  t.is(
    [...printkText(mem, entries, 'makedumpfile')].join(''),
    '[    1.000000] older record\n[    2.500000] wrapped to the start\n[    3.000001] two lines\n               second \\x01\n',
  );
  t.is(
    [...printkText(mem, entries, 'vmcore-dmesg')].join(''),
    '[    1.000000] older record\n[    2.500000] wrapped to the start\n[    3.000001] two lines\nsecond \\x01\n',
  );
  dump.close();
});

test('structured log_buf: a broken chain is one error and the records before it stay', async (t) => {
  const { image } = structuredImage();
  // Record b (index 0) claims a length shorter than its own header.
  image.mem.writeUInt16LE(3, Number(BUF - KTEXT) + 8);
  const dump = openDump(await image.write(KernelImage.baseInfo('4.19.0') + STRUCTURED_4_19(SYM)));
  const items = [...readPrintk(kernelMemory(dump), dump.vmcoreinfo!.entries)];
  t.is(items.length, 2);
  t.is(items[0]!.record!.text.toString(), 'older record');
  t.is(items[1]!.problem!.code, 'printk-log-corrupt');
  t.is(items[1]!.problem!.addr, BUF);
  dump.close();
});

test('structured log_buf in a page the dump level excluded: an error record, not a crash', async (t) => {
  const { image } = structuredImage();
  const dump = openDump(await image.write(KernelImage.baseInfo('4.19.0') + STRUCTURED_4_19(SYM), { excludedVaddrs: [BUF] }));
  const items = [...readPrintk(kernelMemory(dump), dump.vmcoreinfo!.entries)];
  t.is(items.length, 1);
  t.is(items[0]!.problem!.code, 'page-excluded');
  dump.close();
});

test('structured log_buf: VMCOREINFO without the printk_log entries names them', (t) => {
  const info = Object.fromEntries(
    STRUCTURED_4_19(SYM)
      .split('\n')
      .filter((l) => l && !l.startsWith('SIZE(') && !l.includes('.len)='))
      .map((l) => l.split('=') as [string, string]),
  );
  const err = t.throws(() => requirePrintkLayout(info), { instanceOf: PrintkUnavailable });
  t.deepEqual(err!.missing, ['SIZE(printk_log)', 'OFFSET(printk_log.len)']);
});

test('plain log_buf (3.4): the last log_buf_len bytes of log_end, printed as they are; lines as records', async (t) => {
  const psym = { log_buf: KTEXT + 0x300000n, log_end: KTEXT + 0x300008n, log_buf_len: KTEXT + 0x30000cn, logged_chars: KTEXT + 0x300010n };
  const stream = Buffer.from('<6>[    0.000000] Linux version 3.4.0\n<4>[    1.500000] low memory\n<0>[    2.000001] Kernel panic - not syncing: x\n', 'latin1');
  const size = 64;
  const ring = Buffer.alloc(size);
  for (let i = 0; i < stream.length; i++) ring[i % size] = stream[i]!;
  const image = new KernelImage().set(BUF, ring).u64(psym.log_buf, BUF).u32(psym.log_end, stream.length).u32(psym.log_buf_len, size);
  const dump = openDump(await image.write(KernelImage.baseInfo('3.4.0') + PLAIN_3_4(psym)));
  const mem = kernelMemory(dump);
  const entries = dump.vmcoreinfo!.entries;
  const kept = stream.subarray(stream.length - size);
  // Both tools write the buffer as it is (makedumpfile.c dump_dmesg(), elf_info.c dump_dmesg_legacy()).
  for (const format of ['makedumpfile', 'vmcore-dmesg'] as const) {
    const raw = [...printkText(mem, entries, format)];
    t.deepEqual(Buffer.concat(raw.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))), kept);
  }
  const records = [...readPrintk(mem, entries)].map((i) => i.record!);
  const last = records[records.length - 1]!;
  t.is(last.level, 0);
  t.is(last.tsNsec, 2_000_001_000n);
  t.is(last.text.toString(), 'Kernel panic - not syncing: x');
  // The first line is the tail of a line the ring overwrote: kept as the tools keep it.
  t.is(records[0]!.level, null);
  t.is(records[0]!.addr, BUF + BigInt(stream.length % size));
  dump.close();
});
