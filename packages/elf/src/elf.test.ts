import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElfError, ElfFile, ET_DYN, ET_REL, EM_X86_64, SHF_COMPRESSED } from './index.js';

// Small binaries built by fixtures/dwarf/make.sh; the values below are what readelf 2.40 prints for them.
const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'dwarf');

test('sections, machine and build-id as readelf -SW / -n show them', (t) => {
  const elf = ElfFile.open(join(fixtures, 'dwarf5.so'));
  t.is(elf.type, ET_DYN);
  t.is(elf.machine, EM_X86_64);
  const info = elf.section('.debug_info')!;
  t.like(info, { index: 12, offset: 0x3077, size: 0x748, flags: 0 });
  t.is(elf.buildId(), '18da103ff1136cc80a2d53672cfdbe2e6cf648f0'); // readelf -n: Build ID
  elf.close();
});

test('an SHF_COMPRESSED section decompresses to what readelf -x -z prints', (t) => {
  const packed = ElfFile.open(join(fixtures, 'dwarf5-zlib.so'));
  const p = packed.section('.debug_info')!;
  t.is(p.size, 0x4c7); // readelf -SW: 0x4c7 bytes in the file, flags C
  t.truthy(p.flags & SHF_COMPRESSED);
  t.false(packed.isPlain(p));
  const bytes = Buffer.from(packed.contents(p));
  // readelf -x .debug_info -z: 0x748 bytes, from "91060000 05000108 00000000 19e20000" to "41000000 00000000"
  t.is(bytes.length, 0x748);
  t.is(bytes.subarray(0, 16).toString('hex'), '91060000050001080000000019e20000');
  t.is(bytes.subarray(0x740).toString('hex'), '4100000000000000');
  packed.close();
});

test('a relocatable object has its .rela.debug_info applied', (t) => {
  const elf = ElfFile.open(join(fixtures, 'dwarf5.o'));
  t.is(elf.type, ET_REL);
  const info = elf.section('.debug_info')!;
  t.false(elf.isPlain(info), '.rela.debug_info applies to it');
  t.notDeepEqual(Buffer.from(elf.contents(info)), Buffer.from(elf.contentsRaw(info)));
  elf.close();
});

test('bad input: one-line errors with their reason', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-elf-'));
  const cases: [string, Uint8Array | null, string, RegExp][] = [
    ['missing', null, 'no-input', /: no such file$/],
    ['text', Buffer.from('not an elf\n'), 'not-elf', /: not an ELF file$/],
    ['elf32', Buffer.concat([Buffer.from('\x7fELF\x01\x01', 'latin1'), Buffer.alloc(58)]), 'unsupported', /32-bit ELF/],
    ['short', Buffer.from('\x7fELF\x02\x01\x01', 'latin1'), 'damaged', /truncated file/],
  ];
  for (const [name, bytes, reason, message] of cases) {
    const path = join(dir, name);
    if (bytes) writeFileSync(path, bytes);
    const err = t.throws(() => ElfFile.open(path), { instanceOf: ElfError });
    t.is(err?.reason as string | undefined, reason, name);
    t.regex(err!.message, message);
  }
  t.is(t.throws(() => ElfFile.open(dir), { instanceOf: ElfError })?.reason, 'no-input');
});
