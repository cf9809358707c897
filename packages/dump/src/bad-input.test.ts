import test from 'ava';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pagePattern } from '@vmpipe/mkdump';
import { DumpError, openDump, type DumpErrorReason, type PhysChunk } from './index.js';
import { baseSpec, dumpFile, tmp } from './test-helpers.js';

function openFails(t: import('ava').ExecutionContext, path: string, reason: DumpErrorReason, message: RegExp) {
  const err = t.throws(() => openDump(path), { instanceOf: DumpError });
  t.is(err?.reason, reason);
  t.regex(err!.message, message);
  t.false(err!.message.includes('\n'), 'one line');
}

const codes = (chunks: PhysChunk[]) => chunks.map((c) => ('bytes' in c ? 'ok' : c.problem.code));

test('missing file, a directory, an unreadable path', (t) => {
  openFails(t, join(tmp, 'nope'), 'no-input', /no such file/);
  const dir = join(tmp, 'a-dir');
  mkdirSync(dir);
  openFails(t, dir, 'no-input', /is a directory/);
  // Root reads any file whatever its mode; a symlink loop is unreadable for everyone.
  const loop = join(tmp, 'loop');
  symlinkSync(loop, loop);
  openFails(t, loop, 'no-input', /ELOOP|too many/i);
});

test('empty file and wrong magic', (t) => {
  const empty = join(tmp, 'empty');
  writeFileSync(empty, '');
  openFails(t, empty, 'not-a-dump', /is empty/);
  const text = join(tmp, 'text');
  writeFileSync(text, 'hello, this is not a vmcore at all\n');
  openFails(t, text, 'not-a-dump', /no known dump signature/);
});

test('ELF32 and foreign formats are named as unsupported', async (t) => {
  const { path } = await dumpFile(baseSpec('elf'), (b) => {
    b[4] = 1; // ELFCLASS32
    return b;
  });
  openFails(t, path, 'unsupported', /ELF32/);
  const sadump = join(tmp, 'sadump');
  writeFileSync(sadump, Buffer.concat([Buffer.from('\0\0\0\0sadump\0\0'), Buffer.alloc(64)]));
  openFails(t, sadump, 'unsupported', /sadump/);
  const lkcd = join(tmp, 'lkcd');
  const header = Buffer.alloc(64);
  header.writeBigUInt64LE(0xa8190173618f23edn, 0); // LKCD's DUMP_MAGIC_NUMBER
  writeFileSync(lkcd, header);
  openFails(t, lkcd, 'unsupported', /LKCD/);
});

test('truncated headers', async (t) => {
  openFails(t, (await dumpFile(baseSpec('kdump'), (b) => b.subarray(0, 300))).path, 'damaged', /truncated dump: the kdump header/);
  openFails(t, (await dumpFile(baseSpec('elf'), (b) => b.subarray(0, 40))).path, 'damaged', /truncated dump: the ELF header/);
  openFails(t, (await dumpFile(baseSpec('elf', { elf: { phoff: 192 } }), (b) => b.subarray(0, 200))).path, 'damaged', /program headers/);
  openFails(t, (await dumpFile(baseSpec('flattened'), (b) => b.subarray(0, b.length - 100))).path, 'damaged', /truncated dump: flattened/);
});

test('a bitmap past the end of the file', async (t) => {
  const { path } = await dumpFile(baseSpec('kdump'), (b, layout) => b.subarray(0, layout['bitmap2']!.offset + 10));
  openFails(t, path, 'damaged', /truncated dump: the bitmaps end at offset/);
});

test('a header that claims more pages than the file holds', async (t) => {
  // Keep the bitmaps, cut the page descriptors short: pages past the cut say so, the rest still read.
  const { path, layout } = await dumpFile(baseSpec('kdump'), (b, l) => b.subarray(0, l['pageDescs']!.offset + 24 * 10));
  t.truthy(layout['pageDescs']);
  const dump = openDump(path);
  t.regex(dump.warnings.map((w) => w.message).join(' '), /truncated dump: \d+ page descriptors/);
  t.deepEqual(codes(dump.readPhysical(0n, 16)), ['not-in-dump'], 'descriptor there, data gone with the rest of the file');
  t.deepEqual(codes(dump.readPhysical(0x11fn * 4096n, 16)), ['not-in-dump']);
  dump.close();
});

test('a page descriptor pointing outside the file is page-corrupt, its neighbours still read', async (t) => {
  const { path } = await dumpFile(baseSpec('kdump'), (b, layout) => {
    const d = layout['pageDesc.1']!;
    new DataView(b.buffer, b.byteOffset).setBigInt64(d.offset, 1n << 40n, true);
    return b;
  });
  const dump = openDump(path);
  t.deepEqual(codes(dump.readPhysical(4096n, 16)), ['page-corrupt']);
  t.deepEqual(Buffer.from((dump.readPhysical(2n * 4096n, 4096)[0] as { bytes: Uint8Array }).bytes), Buffer.from(pagePattern(2, 4096)));
  dump.close();
});

for (const codec of ['zlib', 'lzo', 'snappy', 'zstd'] as const) {
  test(`a corrupted ${codec} page is page-corrupt, the rest of the dump reads`, async (t) => {
    const { path } = await dumpFile(baseSpec('kdump', { codec }), (b, layout) => {
      const p = layout['page.2']!;
      for (let i = 0; i < Math.min(p.size, 64); i++) b[p.offset + i] ^= 0x5a;
      b.fill(0xff, p.offset + Math.floor(p.size / 2), p.offset + p.size);
      return b;
    });
    const dump = openDump(path);
    t.deepEqual(codes(dump.readPhysical(2n * 4096n, 16)), ['page-corrupt']);
    t.regex((dump.readPhysical(2n * 4096n, 16)[0] as { problem: { message: string } }).problem.message, new RegExp(codec));
    t.deepEqual(codes(dump.readPhysical(0n, 8192)), ['ok']);
    dump.close();
  });
}

test('a malformed VMCOREINFO line is reported, the other keys kept', async (t) => {
  const { path } = await dumpFile(baseSpec('kdump', { vmcoreinfo: 'OSRELEASE=6.1.0\nthis line has no equals sign\nPAGESIZE=4096\n' }));
  const dump = openDump(path);
  t.is(dump.vmcoreinfo?.osrelease, '6.1.0');
  t.is(dump.vmcoreinfo?.pageSize, 4096);
  t.deepEqual(dump.vmcoreinfo?.problems, [{ line: 2, text: 'this line has no equals sign' }]);
  dump.close();
});

test('a damaged note is a warning; registers of intact notes still read', async (t) => {
  const { path } = await dumpFile(baseSpec('elf'), (b, layout) => {
    const note = layout['note.prstatus.1'];
    if (!note) throw new Error(`no note.1 in layout: ${Object.keys(layout).join(',')}`);
    new DataView(b.buffer, b.byteOffset).setUint32(note.offset + 4, 0x7fffffff, true); // descsz far too big
    return b;
  });
  const dump = openDump(path);
  t.is(dump.cpus.length, 1);
  t.regex(dump.warnings.map((w) => w.message).join(' '), /damaged note/);
  dump.close();
});
