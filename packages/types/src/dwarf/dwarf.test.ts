import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolve as resolveType, type TypeTable } from '../model.js';
import { DwarfError, DwarfTypeTable, readDwarfTypes } from './index.js';
import { ElfFile } from './elf.js';
import { layoutOf, parsePahole, typeName } from './pahole-text.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '../../../../fixtures/dwarf');
const expected = join(fixtures, 'expected');
const VMLINUX = '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64';

/** Every build of the same two C files (see fixtures/dwarf/make.sh). */
const BUILDS = ['dwarf5.so', 'dwarf4.so', 'dwarf3.so', 'dwarf5-zlib.so', 'dwarf5-zstd.so', 'dwarf4-types.so', 'dwarf5-types.so', 'dwarf5.o'];
const STRUCTS = readdirSync(expected)
  .filter((f) => f.endsWith('.pahole.txt') && !f.startsWith('enum-'))
  .map((f) => f.replace('.pahole.txt', ''));

function open(file: string): TypeTable {
  return readDwarfTypes(join(fixtures, file), { cache: false });
}

function lookupAggregate(t: TypeTable, name: string): number {
  const id = t.lookup('struct', name) ?? t.lookup('union', name);
  if (id === undefined) throw new Error(`${name} not found`);
  return id;
}

test('the fixtures cover what they claim', (t) => {
  t.true(STRUCTS.length >= 9);
  const elf = ElfFile.open(join(fixtures, 'dwarf5-zlib.so'));
  t.truthy(elf.section('.debug_info')!.flags & 0x800, 'dwarf5-zlib.so has SHF_COMPRESSED .debug_info');
  elf.close();
  // Elf64_Chdr.ch_type: 1 = ELFCOMPRESS_ZLIB, 2 = ELFCOMPRESS_ZSTD.
  for (const [file, type] of [['dwarf5-zlib.so', 1], ['dwarf5-zstd.so', 2]] as const) {
    const e = ElfFile.open(join(fixtures, file));
    const s = e.section('.debug_info')!;
    t.is(readFileSync(join(fixtures, file)).readUInt32LE(s.offset), type, file);
    e.close();
  }
  const t4 = ElfFile.open(join(fixtures, 'dwarf4-types.so'));
  t.truthy(t4.section('.debug_types'), 'dwarf4-types.so has .debug_types');
  t4.close();
  t.is(ElfFile.open(join(fixtures, 'dwarf5.o')).type, 1, 'dwarf5.o is relocatable');
});

for (const build of BUILDS) {
  for (const name of STRUCTS) {
    if (build === 'dwarf5.o' && name === 'defined_elsewhere') continue; // other.c is not in the .o
    test(`${build}: ${name} matches pahole -C ${name}`, (t) => {
      const table = open(build);
      const ref = parsePahole(readFileSync(join(expected, `${name}.pahole.txt`), 'utf8'));
      const mine = layoutOf(table, lookupAggregate(table, name));
      t.is(mine.header, ref.header);
      if (ref.size !== undefined) t.is(mine.size, ref.size);
      t.deepEqual(mine.members, ref.members);
    });
  }
}

for (const build of BUILDS) {
  test(`${build}: enums as pahole prints them, signedness and size`, (t) => {
    const table = open(build);
    for (const name of ['color', 'big', 'small_neg']) {
      const ref = readFileSync(join(expected, `enum-${name}.pahole.txt`), 'utf8');
      const values = [...ref.matchAll(/^\t(\w+)\s*=\s*(-?\d+),$/gm)].map((m) => ({ name: m[1]!, value: BigInt(m[2]!) }));
      const ty = table.get(table.lookup('enum', name)!);
      if (ty.kind !== 'enum') return t.fail(`${name} is a ${ty.kind}`);
      t.deepEqual(ty.values, values, name);
    }
    const color = table.get(table.lookup('enum', 'color')!);
    const small = table.get(table.lookup('enum', 'small_neg')!);
    const big = table.get(table.lookup('enum', 'big')!);
    t.like(color, { signed: true, size: 4 });
    t.like(small, { signed: true, size: 1 }); // __attribute__((packed))
    t.like(big, { signed: false, size: 4 });
  });

  test(`${build}: typedef chains, qualifiers, declarations`, (t) => {
    const table = open(build);
    // rc_t -> refcount_like_t -> atomic_t -> struct { int counter; }
    const chain: string[] = [];
    let id = table.lookup('typedef', 'rc_t')!;
    for (let ty = table.get(id); ty.kind === 'typedef'; ty = table.get(id)) {
      chain.push(ty.name);
      id = ty.type;
    }
    t.deepEqual(chain, ['rc_t', 'refcount_like_t', 'atomic_t']);
    t.like(resolveType(table, table.lookup('typedef', 'rc_t')!).type, { kind: 'struct', name: '', size: 4 });
    // `struct opaque` is declared only: a forward declaration.
    const page = table.get(lookupAggregate(table, 'page_like'));
    if (page.kind !== 'struct') return t.fail();
    const op = table.get(page.members.find((m) => m.name === 'op')!.type);
    t.like(op.kind === 'pointer' ? table.get(op.type) : op, { kind: 'fwd', name: 'opaque', fwdKind: 'struct' });
    // `struct defined_elsewhere` is declared in types.c and defined in other.c: resolved by name, as pahole does.
    const de = table.get(page.members.find((m) => m.name === 'de')!.type);
    if (de.kind !== 'pointer') return t.fail();
    t.like(table.get(de.type), { kind: 'fwd', name: 'defined_elsewhere', fwdKind: 'struct' });
    const target = table.get((table as DwarfTypeTable).definition(de.type));
    if (build === 'dwarf5.o') t.like(target, { kind: 'fwd', name: 'defined_elsewhere' });
    else t.like(target, { kind: 'struct', name: 'defined_elsewhere', size: 32 });
    // _Atomic (pahole 1.24 cannot show it) is carried as a type tag.
    const at = table.get(lookupAggregate(table, 'atomics'));
    if (at.kind !== 'struct') return t.fail();
    // DW_TAG_atomic_type is new in DWARF 5; gcc leaves the qualifier out of DWARF 2-4.
    t.is(typeName(table, at.members[0]!.type), build.startsWith('dwarf5') ? '_Atomic int' : 'int');
    t.is(at.members[1]!.bitOffset, 64);
    t.is(table.lookup('struct', 'no_such_type'), undefined);
    t.like(table.get(table.lookup('int', 'unsigned int')!), { kind: 'int', size: 4, signed: false });
    t.like(table.get(table.lookup('float', 'double')!), { kind: 'float', size: 8 });
    t.like(table.get(table.lookup('int', 'char')!), { kind: 'int', size: 1, char: true });
    t.like(table.get(table.lookup('int', '_Bool')!), { kind: 'int', bool: true });
  });
}

test('type units: definitions come from DWARF 4 .debug_types and DWARF 5 DW_UT_type units', (t) => {
  const v4 = open('dwarf4-types.so');
  t.true(v4.lookup('struct', 'page_like')! >= 2 ** 40, 'an id in .debug_types');
  const v5 = open('dwarf5-types.so');
  const plain = open('dwarf5.so');
  t.not(v5.lookup('struct', 'page_like'), plain.lookup('struct', 'page_like'), 'a different DIE: the one in the type unit');
});

test('names() lists every struct', (t) => {
  const names = [...open('dwarf5.so').names('struct')].sort();
  for (const n of ['arrays', 'atomics', 'bits', 'defined_elsewhere', 'flex', 'funcs', 'holder', 'list_head', 'page_like', 'quals']) t.true(names.includes(n), n);
});

// --- bad input ------------------------------------------------------------

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'vmpipe-dwarf-'));
}

test('missing file, not ELF, no DWARF: DwarfError with one line', (t) => {
  const dir = tmp();
  const e1 = t.throws(() => readDwarfTypes(join(dir, 'nope'), { cache: false }), { instanceOf: DwarfError });
  t.regex(e1!.message, /no such file/);
  writeFileSync(join(dir, 'text'), 'hello, not an ELF file at all\n');
  const e2 = t.throws(() => readDwarfTypes(join(dir, 'text'), { cache: false }), { instanceOf: DwarfError });
  t.regex(e2!.message, /not an ELF file/);
  const stripped = join(dir, 'stripped.so');
  execFileSync('objcopy', ['--strip-debug', join(fixtures, 'dwarf5.so'), stripped]);
  const e3 = t.throws(() => readDwarfTypes(stripped, { cache: false }), { instanceOf: DwarfError });
  t.regex(e3!.message, /no \.debug_info/);
  for (const e of [e1, e2, e3]) t.false(e!.message.includes('\n'));
});

test('a truncated file: DwarfError', (t) => {
  const dir = tmp();
  const bytes = readFileSync(join(fixtures, 'dwarf5.so'));
  const elf = ElfFile.open(join(fixtures, 'dwarf5.so'));
  const info = elf.section('.debug_info')!;
  elf.close();
  const cut = join(dir, 'cut.so');
  writeFileSync(cut, bytes.subarray(0, info.offset + 100));
  const e = t.throws(() => readDwarfTypes(cut, { cache: false }).lookup('struct', 'page_like'), { instanceOf: DwarfError });
  t.regex(e!.message, /truncated|past the end/);
});

test('corrupt .debug_info / .debug_abbrev bytes: a DwarfError or a result, never a hang or a TypeError', (t) => {
  const dir = tmp();
  const src = join(fixtures, 'dwarf5.so');
  const bytes = readFileSync(src);
  const elf = ElfFile.open(src);
  const info = elf.section('.debug_info')!;
  const abbrev = elf.section('.debug_abbrev')!;
  elf.close();
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let errors = 0;
  for (let round = 0; round < 150; round++) {
    const b = Buffer.from(bytes);
    const sec = round % 3 === 0 ? abbrev : info;
    for (let k = 0; k < 1 + (round % 4); k++) b[sec.offset + Math.floor(rand() * sec.size)] = Math.floor(rand() * 256);
    const f = join(dir, `c${round}.so`);
    writeFileSync(f, b);
    try {
      const table = readDwarfTypes(f, { cache: false });
      for (const n of ['page_like', 'holder', 'bits']) {
        const id = table.lookup('struct', n);
        if (id !== undefined) layoutOf(table, id);
      }
    } catch (err) {
      if (!(err instanceof DwarfError)) {
        // Types built from damaged but well-formed DWARF may be nonsense; the model's own checks may throw plain Errors.
        t.true(err instanceof Error && !(err instanceof TypeError) && !(err instanceof RangeError), `round ${round}: ${(err as Error).stack}`);
      }
      errors++;
    }
  }
  t.true(errors > 0, 'some corruptions are detected');
});

test('compressed section with a bad header: DwarfError', (t) => {
  const dir = tmp();
  const src = join(fixtures, 'dwarf5-zlib.so');
  const b = Buffer.from(readFileSync(src));
  const elf = ElfFile.open(src);
  const info = elf.section('.debug_info')!;
  elf.close();
  b.writeUInt32LE(7, info.offset); // ch_type 7: no such compression
  const f = join(dir, 'badz.so');
  writeFileSync(f, b);
  const e = t.throws(() => readDwarfTypes(f, { cache: false }).lookup('struct', 'bits'), { instanceOf: DwarfError });
  t.regex(e!.message, /unknown compression type 7/);
  b.writeUInt32LE(1, info.offset);
  b.fill(0xaa, info.offset + 24, info.offset + 40); // zlib stream damaged
  writeFileSync(f, b);
  const e2 = t.throws(() => readDwarfTypes(f, { cache: false }).lookup('struct', 'bits'), { instanceOf: DwarfError });
  t.regex(e2!.message, /cannot decompress/);
});

// --- the index cache ------------------------------------------------------

test('the index cache: written after a lookup, used by the next run, ignored when corrupt', (t) => {
  const dir = tmp();
  const file = join(dir, 'dwarf5.so');
  copyFileSync(join(fixtures, 'dwarf5.so'), file);
  const first = readDwarfTypes(file, { cacheDir: dir });
  const id = first.lookup('struct', 'page_like');
  t.truthy(id);
  const files = readdirSync(dir).filter((f) => f.startsWith('dwarf-') && f.endsWith('.json'));
  t.is(files.length, 1, 'one cache file, named by build-id');
  const buildId = ElfFile.open(file).buildId()!;
  t.is(files[0], `dwarf-${buildId}.json`);
  const second = readDwarfTypes(file, { cacheDir: dir });
  t.is(second.lookup('struct', 'page_like'), id);
  t.is(second.index.scannedBytes, 0, 'answered from the cache, no scan');
  t.deepEqual(layoutOf(second, id!), layoutOf(first, id!));
  writeFileSync(join(dir, files[0]!), '{"format":"vmpipe-dwarf-index/1", "state": {"entries": [1,2,');
  const third = readDwarfTypes(file, { cacheDir: dir });
  t.is(third.lookup('struct', 'page_like'), id);
  t.true(third.index.scannedBytes > 0, 'a corrupt cache is rebuilt');
  const fourth = readDwarfTypes(file, { cacheDir: dir });
  t.is(fourth.lookup('struct', 'page_like'), id);
  t.is(fourth.index.scannedBytes, 0, 'and the rebuilt one is used again');
});

// --- the real kernel --------------------------------------------------------

const haveVmlinux = existsSync(VMLINUX);

for (const [name, check] of [
  ['list_head', 'all'],
  ['page', 'all'],
  ['task_struct', 'all'],
] as const) {
  test(`real vmlinux: struct ${name} matches pahole -F dwarf -C ${name}`, (t) => {
    if (!haveVmlinux) {
      t.log(`skipped: ${VMLINUX} is absent (apt-get download linux-image-6.1.0-56-cloud-amd64-dbg; dpkg-deb -x it into /tmp/dbg/x)`);
      t.pass();
      return;
    }
    const ref = parsePahole(execFileSync('pahole', ['-F', 'dwarf', '-C', name, VMLINUX], { encoding: 'utf8', maxBuffer: 1 << 24 }));
    const table = readDwarfTypes(VMLINUX, { cacheDir: tmp() });
    const mine = layoutOf(table, table.lookup('struct', name)!);
    t.is(mine.size, ref.size);
    const count = (ns: typeof ref.members): number => ns.reduce((n, m) => n + 1 + (m.children ? count(m.children) : 0), 0);
    t.true(count(ref.members) >= (name === 'list_head' ? 2 : 12));
    if (check === 'all') t.deepEqual(mine.members, ref.members);
  });
}
