import test from 'ava';
import { openDump } from '@vmpipe/dump';
import { pagePattern, type DumpSpec } from '@vmpipe/mkdump';
import { isTranslation, kernelMemory, X86_64Memory, type Translation, type TranslationFailure } from './index.js';
import { GLOBAL, PageTables, RW, writeTestDump } from './pagetables.test-helper.js';

const START_KERNEL_MAP = 0xffffffff80000000n;

// Physical memory: 4 MiB (pfn 0..1023). Tables are allocated from pfn 0x300 on.
const TABLES = 0x300;
const PAGES = 1024;

// Virtual addresses of the kind a 4-level kernel has (Documentation/x86/x86_64/mm.rst).
const V_4K = 0xffffc90000001000n; // vmalloc, 4K pages
const V_4K_NEXT = V_4K + 0x1000n; // the next vmalloc page, mapped elsewhere physically
const V_2M = 0xffff888000200000n; // direct map, a 2M page
const V_1G = 0xffff888040000000n; // direct map, a 1G page
const V_HOLE = 0xffffc90000003000n; // PTE table present, PTE zero
const V_EXCL = 0xffffea0000000000n; // vmemmap: its PMD table page is excluded from the dump

function vmcoreinfo(extra: string[]): string {
  return ['OSRELEASE=6.1.0-test', 'PAGESIZE=4096', ...extra, ''].join('\n');
}

interface Built {
  pt: PageTables;
  entries: Record<string, bigint>;
  path: string;
}

async function build(opts: { fiveLevel?: boolean; physBase?: bigint; smeMask?: bigint; format?: DumpSpec['format']; rootSymbol?: string } = {}): Promise<Built> {
  const fiveLevel = opts.fiveLevel ?? false;
  const physBase = opts.physBase ?? 0n;
  const sme = opts.smeMask ?? 0n;
  const pt = new PageTables(fiveLevel, TABLES, sme);
  const base = fiveLevel ? 0xff11000000000000n : 0xffff888000000000n;
  const vm = fiveLevel ? 0xffa0000000000000n : 0xffffc90000000000n;
  const shift = (v: bigint, from: bigint, to: bigint) => v - from + to;
  const entries = {
    '4k': pt.map4k(shift(V_4K, 0xffffc90000000000n, vm), 0x5000n),
    '4kNext': pt.map4k(shift(V_4K_NEXT, 0xffffc90000000000n, vm), 0x9000n, RW | GLOBAL),
    '2m': pt.map2m(shift(V_2M, 0xffff888000000000n, base), 0x200000n),
    '1g': pt.map1g(shift(V_1G, 0xffff888000000000n, base), 0n),
  };
  pt.mapNothing(shift(V_HOLE, 0xffffc90000000000n, vm));
  pt.map2m(V_EXCL, 0x200000n);
  const excludedTable = pt.tablePfn(V_EXCL, fiveLevel ? 3 : 2);
  // The root sits in the kernel image: its virtual address is rootPaddr - phys_base + __START_KERNEL_map.
  const rootVaddr = BigInt(pt.root) * 4096n - physBase + START_KERNEL_MAP;
  const info = [
    `SYMBOL(${opts.rootSymbol ?? 'init_top_pgt'})=${rootVaddr.toString(16)}`,
    `NUMBER(phys_base)=${physBase}`,
    `NUMBER(pgtable_l5_enabled)=${fiveLevel ? 1 : 0}`,
    `NUMBER(sme_mask)=${sme}`,
    'KERNELOFFSET=0',
  ];
  const path = await writeTestDump({
    format: opts.format ?? 'kdump',
    vmcoreinfo: vmcoreinfo(info),
    ranges: [{ paddr: 0n, pages: PAGES }],
    excluded: [excludedTable, 0x7],
    content: pt.content(),
  });
  return { pt, entries, path };
}

function ok(t: Translation | TranslationFailure): Translation {
  if (!isTranslation(t)) throw new Error(`expected a translation, got ${t.code}: ${t.message}`);
  return t;
}

function fail(t: Translation | TranslationFailure): TranslationFailure {
  if (isTranslation(t)) throw new Error(`expected a failure, got paddr 0x${t.paddr.toString(16)}`);
  return t;
}

const u64 = (pfn: number, off: number) => Buffer.from(pagePattern(pfn, 4096)).readBigUInt64LE(off);

for (const format of ['kdump', 'elf'] as const) {
  test(`4-level (${format}): 4K, 2M and 1G pages translate through the tables; levels are crash vtop's`, async (t) => {
    const { pt, entries, path } = await build({ format });
    const mem = kernelMemory(openDump(path));
    const a = ok(mem.translate(V_4K + 0x123n));
    t.is(a.paddr, 0x5123n);
    t.is(a.pageSize, 4096);
    t.deepEqual(a.levels.map((l) => l.level), ['pgd', 'pud', 'pmd', 'pte']);
    t.is(a.levels[0]!.addr, BigInt(pt.root) * 4096n + ((V_4K >> 39n) & 0x1ffn) * 8n);
    t.is(a.levels[3]!.entry, entries['4k']!);
    t.is(a.root, START_KERNEL_MAP + BigInt(pt.root) * 4096n);
    const b = ok(mem.translate(V_2M + 0x1abcdn));
    t.is(b.paddr, 0x200000n + 0x1abcdn);
    t.is(b.pageSize, 2 * 1024 * 1024);
    t.deepEqual(b.levels.map((l) => l.level), ['pgd', 'pud', 'pmd']);
    t.is(b.levels[2]!.entry, entries['2m']!);
    const c = ok(mem.translate(V_1G + 0x5008n));
    t.is(c.paddr, 0x5008n);
    t.is(c.pageSize, 1024 * 1024 * 1024);
    t.deepEqual(c.levels.map((l) => l.level), ['pgd', 'pud']);
    t.is(c.levels[1]!.entry, entries['1g']!);
    // The bytes behind them are the pages mkdump wrote at those physical addresses.
    t.is(mem.readU64(V_4K + 0x10n), u64(5, 0x10));
    t.is(mem.readU64(V_1G + 0x5008n), u64(5, 8));
    t.is(mem.readU64(V_2M + 0x3000n), u64(0x203, 0));
  });
}

test('5-level paging: NUMBER(pgtable_l5_enabled)=1 walks PGD, P4D, PUD, PMD, PTE', async (t) => {
  const { entries, path } = await build({ fiveLevel: true });
  const mem = kernelMemory(openDump(path));
  const a = ok(mem.translate(0xffa0000000001000n + 0x42n));
  t.is(a.paddr, 0x5042n);
  t.deepEqual(a.levels.map((l) => l.level), ['pgd', 'p4d', 'pud', 'pmd', 'pte']);
  t.is(a.levels[4]!.entry, entries['4k']!);
  const b = ok(mem.translate(0xff11000000200000n));
  t.is(b.pageSize, 2 * 1024 * 1024);
  t.deepEqual(b.levels.map((l) => l.level), ['pgd', 'p4d', 'pud', 'pmd']);
  const c = ok(mem.translate(0xff11000040000000n + 0x10n));
  t.is(c.paddr, 0x10n);
  t.is(c.pageSize, 1 << 30);
  // 57-bit canonical: bits 63..56 copy bit 56. A 4-level-canonical address that is not 5-level canonical:
  t.is(fail(mem.translate(0xfeff800000000000n)).code, 'non-canonical');
  t.is(mem.readU64(0xffa0000000001000n), u64(5, 0));
});

test('a negative phys_base (KASLR moved the image down) and swapper_pg_dir on older kernels', async (t) => {
  const { path } = await build({ physBase: -0x4800000n, rootSymbol: 'swapper_pg_dir' });
  const mem = kernelMemory(openDump(path)) as X86_64Memory;
  t.is(mem.setup.rootFrom, 'SYMBOL(swapper_pg_dir)');
  t.is(mem.setup.physBase, -0x4800000n);
  t.is(ok(mem.translate(V_4K)).paddr, 0x5000n);
});

test('the SME encryption bit (NUMBER(sme_mask)) is no part of any physical address', async (t) => {
  const sme = 1n << 47n;
  const { entries, path } = await build({ smeMask: sme });
  const mem = kernelMemory(openDump(path));
  const a = ok(mem.translate(V_4K + 8n));
  t.is(a.paddr, 0x5008n);
  t.true((a.levels[3]!.entry & sme) !== 0n, 'the entry is kept as the kernel wrote it');
  t.is(a.levels[3]!.entry, entries['4k']!);
  t.is(mem.readU64(V_4K + 8n), u64(5, 8));
});

test('not mapped: the failure names the level whose entry is not present', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path));
  const hole = fail(mem.translate(V_HOLE));
  t.is(hole.code, 'not-mapped');
  t.is(hole.level, 'pte');
  t.is(hole.levels.length, 4);
  t.is(hole.levels[3]!.entry, 0n);
  const nothing = fail(mem.translate(0xffffd00000000000n));
  t.is(nothing.code, 'not-mapped');
  t.is(nothing.level, 'pgd');
  t.regex(nothing.message, /PGD entry 0x0 .* not present/);
});

test('an excluded page-table page fails as page-excluded at its level', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path));
  const f = fail(mem.translate(V_EXCL + 0x10n));
  t.is(f.code, 'page-excluded');
  t.is(f.level, 'pmd');
  t.deepEqual(f.levels.map((l) => l.level), ['pgd', 'pud']);
  t.regex(f.message, /PMD table page at 0x[0-9a-f]+ cannot be read/);
});

test('non-canonical addresses are refused before any walk', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path));
  for (const a of [0x0000800000000000n, 0xfff0800000000000n, 0x8000000000000000n]) {
    const f = fail(mem.translate(a));
    t.is(f.code, 'non-canonical');
    t.deepEqual(f.levels, []);
  }
});

test('reads cross pages and mappings; holes and excluded pages are problems in place', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path));
  // Across two 4K pages that map to unrelated frames (0x5000 then 0x9000).
  const bytes = mem.readBytes(V_4K + 0xff8n, 16);
  t.is(Buffer.from(bytes).readBigUInt64LE(0), u64(5, 0xff8));
  t.is(Buffer.from(bytes).readBigUInt64LE(8), u64(9, 0));
  // Into the hole after them: bytes, then not-mapped with the level.
  const chunks = mem.read(V_4K_NEXT + 0xff0n, 0x20);
  t.is(chunks.length, 2);
  t.like(chunks[0], { vaddr: V_4K_NEXT + 0xff0n });
  t.like(chunks[1], { vaddr: V_HOLE, length: 16, problem: { code: 'not-mapped', level: 'pte' } });
  // The 1G page maps physical 0: pfn 7 is excluded by the dump level.
  const excl = mem.read(V_1G + 0x6ff8n, 0x10);
  t.like(excl[0], { vaddr: V_1G + 0x6ff8n });
  t.like(excl[1], { vaddr: V_1G + 0x7000n, length: 8, problem: { code: 'page-excluded' } });
  const zeroed = mem.read(V_1G + 0x7000n, 8, { zeroExcluded: true });
  t.deepEqual(zeroed.map((c) => ('bytes' in c ? [...c.bytes] : c.problem.code)), [[0, 0, 0, 0, 0, 0, 0, 0]]);
  // A long read over a missing PGD entry is one problem, not one per page.
  const long = mem.read(0xffffd00000000000n, 64 * 1024 * 1024);
  t.is(long.length, 1);
  t.like(long[0], { length: 64 * 1024 * 1024, problem: { code: 'not-mapped', level: 'pgd' } });
});

test('the translation cache gives the same answers as the walk', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path)) as X86_64Memory;
  for (const a of [V_4K + 1n, V_2M + 0x12345n, V_1G + 0x3ffffffn]) {
    const first = ok(mem.translate(a));
    const again = ok(mem.translate(a + 8n));
    t.is(again.paddr, first.paddr + 8n);
    t.deepEqual(again.levels, ok(mem.walk(a + 8n)).levels);
  }
});

test('no page-table root: a clear unsupported error, on x86_64 and arm64', async (t) => {
  const none = await writeTestDump({ format: 'kdump', vmcoreinfo: vmcoreinfo([]), ranges: [{ paddr: 0n, pages: 4 }] });
  t.throws(() => kernelMemory(openDump(none)), { message: /neither SYMBOL\(init_top_pgt\) nor SYMBOL\(swapper_pg_dir\)/ });
  const arm = await writeTestDump({ format: 'elf', arch: 'arm64', vmcoreinfo: vmcoreinfo([]), ranges: [{ paddr: 0n, pages: 4 }] });
  t.throws(() => kernelMemory(openDump(arm)), { message: /VMCOREINFO has no NUMBER\(VA_BITS\)/ });
});

test('regions(): the layout defaults without symbols, the dump\'s own bases with them', async (t) => {
  const { path } = await build();
  const mem = kernelMemory(openDump(path)) as X86_64Memory;
  const plain = mem.regions();
  t.like(plain.find((r) => r.name === 'direct-map'), { start: 0xffff888000000000n, from: 'layout' });
  // A symbol lookup that puts page_offset_base at a direct-map address whose bytes we know.
  const at = V_4K;
  const r = mem.regions((name) => (name === 'page_offset_base' ? at : undefined));
  t.like(r.find((x) => x.name === 'direct-map'), { start: u64(5, 0), from: 'dump' });
  t.like(r.find((x) => x.name === 'vmalloc'), { from: 'layout' });
  t.is(mem.regionOf(0xffffffffc0001000n)?.name, 'modules');
});

