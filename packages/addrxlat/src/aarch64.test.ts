/**
 * arm64 translation on synthetic dumps whose tables are real VMSAv8-64
 * descriptors (Aarch64PageTables): every granule and VA size Linux builds,
 * blocks, holes, excluded table pages, 52-bit output addresses, and the
 * VMCOREINFO facts arm64 exports (hex NUMBER()s, a "negative" PHYS_OFFSET).
 */
import test from 'ava';
import { openDump } from '@vmpipe/dump';
import { pagePattern, type DumpSpec } from '@vmpipe/mkdump';
import { Aarch64Memory, aarch64Setup, isTranslation, kernelMemory, type Translation, type TranslationFailure } from './index.js';
import { A64_CONT, Aarch64PageTables, writeTestDump } from './pagetables.test-helper.js';

const RAM = 0x40000000n; // QEMU virt's RAM base, and so PHYS_OFFSET
const KIMAGE_VOFFSET = 0xffff7fffc8000000n; // _text 0xffff800008000000 at RAM

function ok(t: Translation | TranslationFailure): Translation {
  if (!isTranslation(t)) throw new Error(`expected a translation, got ${t.code}: ${t.message}`);
  return t;
}

function fail(t: Translation | TranslationFailure): TranslationFailure {
  if (isTranslation(t)) throw new Error(`expected a failure, got paddr 0x${t.paddr.toString(16)}`);
  return t;
}

interface Options {
  granule: number;
  vaBits: number;
  t1sz?: number;
  physOffset?: string;
  pacMask?: bigint;
  format?: DumpSpec['format'];
  extraRanges?: DumpSpec['ranges'];
  excluded?: (pt: Aarch64PageTables) => number[];
  map: (pt: Aarch64PageTables) => void;
}

async function build(o: Options): Promise<{ pt: Aarch64PageTables; path: string }> {
  const g = BigInt(o.granule);
  const pages = Number((4n << 20n) / g);
  const pt = new Aarch64PageTables(o.granule, o.vaBits, Number(RAM / g) + pages / 2);
  o.map(pt);
  const rootVaddr = BigInt(pt.root) * g + KIMAGE_VOFFSET;
  const info = [
    'OSRELEASE=6.1.0-test',
    `PAGESIZE=${o.granule}`,
    `SYMBOL(swapper_pg_dir)=${rootVaddr.toString(16)}`,
    `NUMBER(VA_BITS)=${o.vaBits}`,
    `NUMBER(kimage_voffset)=0x${KIMAGE_VOFFSET.toString(16)}`,
    `NUMBER(PHYS_OFFSET)=${o.physOffset ?? '0x40000000'}`,
    `NUMBER(TCR_EL1_T1SZ)=0x${(o.t1sz ?? 64 - o.vaBits).toString(16)}`,
    'KERNELOFFSET=0',
    `NUMBER(KERNELPACMASK)=0x${(o.pacMask ?? 0n).toString(16)}`,
    '',
  ].join('\n');
  const path = await writeTestDump({
    format: o.format ?? 'kdump',
    arch: 'arm64',
    pageSize: o.granule,
    vmcoreinfo: info,
    ranges: [{ paddr: RAM, pages }, ...(o.extraRanges ?? [])],
    excluded: o.excluded?.(pt) ?? [],
    content: pt.content(),
  });
  return { pt, path };
}

const pfnOf = (paddr: bigint, g: number) => Number(paddr / BigInt(g));

// 4K granule, 48-bit VAs: Debian's arm64 configuration. Addresses of the kinds memory.rst lists.
const V_KIMAGE = 0xffff800008010000n; // kernel image, a page
const V_LINEAR_2M = 0xffff000000200000n; // linear map, a 2M block
const V_LINEAR_1G = 0xffff000040000000n; // linear map, a 1G block
const V_VMALLOC_HOLE = 0xffff800080003000n; // PTE table present, entry zero
const V_VMEMMAP = 0xfffffc0000000000n; // a 2M block whose PMD table page is excluded
const V_CONT = 0xffff800080010000n; // a page with the contiguous hint

for (const format of ['kdump', 'elf'] as const) {
  test(`4K/48 (${format}): pages, 2M and 1G blocks through swapper_pg_dir; levels named as crash's arm64 vtop`, async (t) => {
    let entries: Record<string, bigint> = {};
    const { pt, path } = await build({
      granule: 4096,
      vaBits: 48,
      format,
      map: (pt) => {
        entries = {
          page: pt.mapPage(V_KIMAGE, RAM + 0x5000n),
          block2m: pt.mapBlock(V_LINEAR_2M, RAM + 0x200000n, 1),
          block1g: pt.mapBlock(V_LINEAR_1G, RAM, 2),
          cont: pt.mapPage(V_CONT, RAM + 0x9000n, (1n << 10n) | A64_CONT),
        };
        pt.mapNothing(V_VMALLOC_HOLE);
        pt.mapPage(V_VMALLOC_HOLE - 0x1000n, RAM + 0x7000n);
        pt.mapBlock(V_VMEMMAP, RAM + 0x200000n, 1);
      },
      excluded: (pt) => [pt.tablePfn(V_VMEMMAP, 2)],
    });
    const mem = kernelMemory(openDump(path));
    t.true(mem instanceof Aarch64Memory);
    t.is(mem.arch, 'arm64');
    t.is(mem.pageSize, 4096);

    const p = ok(mem.translate(V_KIMAGE + 0x123n));
    t.is(p.paddr, RAM + 0x5123n);
    t.is(p.pageSize, 4096);
    t.deepEqual(p.levels.map((l) => l.level), ['pgd', 'pud', 'pmd', 'pte']);
    t.is(p.levels[3]!.entry, entries['page']);
    t.is(p.levels[0]!.addr, BigInt(pt.root) * 4096n + ((V_KIMAGE >> 39n) & 0x1ffn) * 8n, 'PGD entry in swapper_pg_dir, index bits 47..39');
    t.is(p.root, BigInt(pt.root) * 4096n + KIMAGE_VOFFSET);

    const b2 = ok(mem.translate(V_LINEAR_2M + 0x12345n));
    t.is(b2.paddr, RAM + 0x212345n);
    t.is(b2.pageSize, 2 << 20);
    t.deepEqual(b2.levels.map((l) => l.level), ['pgd', 'pud', 'pmd']);
    t.is(b2.levels[2]!.entry, entries['block2m']);

    const b1 = ok(mem.translate(V_LINEAR_1G + 0x3ffffffn));
    t.is(b1.paddr, RAM + 0x3ffffffn);
    t.is(b1.pageSize, 1 << 30);
    t.deepEqual(b1.levels.map((l) => l.level), ['pgd', 'pud']);
    t.is(b1.levels[1]!.entry, entries['block1g']);

    const c = ok(mem.translate(V_CONT + 8n));
    t.is(c.paddr, RAM + 0x9008n, 'the contiguous hint does not change the address');

    const hole = fail(mem.translate(V_VMALLOC_HOLE));
    t.is(hole.code, 'not-mapped');
    t.is(hole.level, 'pte');
    t.is(hole.levels.length, 4);

    const excl = fail(mem.translate(V_VMEMMAP + 0x40n));
    t.is(excl.code, format === 'kdump' ? 'page-excluded' : 'not-in-dump', 'an ELF dump leaves excluded pages out');
    t.is(excl.level, 'pmd');

    // A read across the page boundary into the hole: bytes, then the problem in place.
    const chunks = mem.read(V_VMALLOC_HOLE - 16n, 32);
    t.is(chunks.length, 2);
    t.true('problem' in chunks[1]! && chunks[1].problem.code === 'not-mapped');
    // The bytes of the kernel-image page are the pattern of the physical page it maps.
    t.deepEqual(Buffer.from(mem.readBytes(V_KIMAGE, 64)), Buffer.from(pagePattern(pfnOf(RAM + 0x5000n, 4096), 4096).subarray(0, 64)));
    // The walk and the kernel's own formula agree on the kernel image.
    t.is((mem as Aarch64Memory).kimageToPhys(V_KIMAGE), V_KIMAGE - KIMAGE_VOFFSET);
  });
}

// Every granule / VA size Linux's Kconfig offers (ARM64_VA_BITS_*), with pgtable.h's folding.
const SHAPES: { granule: number; vaBits: number; t1sz?: number; names: string[]; block: number }[] = [
  { granule: 4096, vaBits: 39, names: ['pgd', 'pmd', 'pte'], block: 2 << 20 },
  { granule: 4096, vaBits: 48, names: ['pgd', 'pud', 'pmd', 'pte'], block: 2 << 20 },
  { granule: 16384, vaBits: 36, names: ['pgd', 'pte'], block: 32 << 20 },
  { granule: 16384, vaBits: 47, names: ['pgd', 'pmd', 'pte'], block: 32 << 20 },
  { granule: 16384, vaBits: 48, names: ['pgd', 'pud', 'pmd', 'pte'], block: 32 << 20 },
  { granule: 65536, vaBits: 42, names: ['pgd', 'pte'], block: 512 << 20 },
  { granule: 65536, vaBits: 48, names: ['pgd', 'pmd', 'pte'], block: 512 << 20 },
  // A 52-bit kernel on a CPU without LVA: T1SZ = 16, the table still indexed with 52 bits.
  { granule: 65536, vaBits: 52, t1sz: 16, names: ['pgd', 'pmd', 'pte'], block: 512 << 20 },
];

for (const s of SHAPES) {
  test(`${s.granule / 1024}K/${s.vaBits}${s.t1sz ? ` (T1SZ ${s.t1sz})` : ''}: ${s.names.length} levels, a page and a ${s.block >> 20}M block`, async (t) => {
    const actual = s.t1sz ? 64 - s.t1sz : s.vaBits;
    const base = BigInt.asUintN(64, -(1n << BigInt(actual)));
    const g = BigInt(s.granule);
    const vPage = base + 5n * g;
    const vBlock = base + BigInt(s.block) * 2n;
    const { pt, path } = await build({
      granule: s.granule,
      vaBits: s.vaBits,
      ...(s.t1sz ? { t1sz: s.t1sz } : {}),
      map: (pt) => {
        pt.mapPage(vPage, RAM + 3n * g);
        pt.mapBlock(vBlock, RAM, 1);
      },
    });
    const mem = kernelMemory(openDump(path)) as Aarch64Memory;
    t.is(mem.setup.vaBitsActual, actual);
    const p = ok(mem.translate(vPage + 0x10n));
    t.is(p.paddr, RAM + 3n * g + 0x10n);
    t.is(p.pageSize, s.granule);
    t.deepEqual(p.levels.map((l) => l.level), s.names);
    t.is(p.levels[0]!.addr, BigInt(pt.root) * g + ((vPage >> pt.shifts[0]!) & ((1n << (BigInt(s.vaBits) - pt.shifts[0]!)) - 1n)) * 8n);
    t.deepEqual(Buffer.from(mem.readBytes(vPage, 16)), Buffer.from(pagePattern(pfnOf(RAM + 3n * g, s.granule), s.granule).subarray(0, 16)));
    const b = ok(mem.translate(vBlock + g + 1n));
    t.is(b.pageSize, s.block);
    t.is(b.paddr, RAM + g + 1n);
    t.is(b.levels.length, s.names.length - 1);
    if (s.t1sz) t.is(fail(mem.translate(BigInt.asUintN(64, -(1n << 50n)))).code, 'non-canonical', 'below the 48-bit kernel half');
  });
}

test('64K: a 52-bit physical address (FEAT_LPA: PA[51:48] in descriptor bits [15:12])', async (t) => {
  const high = 0x000f000000010000n;
  const v = 0xffff000000030000n;
  const { path } = await build({
    granule: 65536,
    vaBits: 52,
    t1sz: 12,
    format: 'elf',
    extraRanges: [{ paddr: high, pages: 1 }],
    map: (pt) => {
      t.is((pt.mapPage(v, high) >> 12n) & 0xfn, 0xfn);
    },
  });
  const mem = kernelMemory(openDump(path));
  const p = ok(mem.translate(v + 0x20n));
  t.is(p.paddr, high + 0x20n);
  t.deepEqual(Buffer.from(mem.readBytes(v, 8)), Buffer.from(pagePattern(pfnOf(high, 65536), 65536).subarray(0, 8)));
});

test('VMCOREINFO facts: hex NUMBER()s, a negative PHYS_OFFSET, __phys_to_virt and the regions', async (t) => {
  // Linear-map randomisation / 52-bit VA on 48-bit hardware: memstart_addr below zero, printed as 0x%llx.
  const { path } = await build({ granule: 4096, vaBits: 48, physOffset: '0xfff1000040000000', pacMask: 0xff7f000000000000n, map: () => {} });
  const mem = kernelMemory(openDump(path)) as Aarch64Memory;
  const s = aarch64Setup(openDump(path));
  t.is(s.physOffset, -0xeffffc0000000n);
  t.is(s.kimageVoffset, KIMAGE_VOFFSET);
  t.is(s.pacMask, 0xff7f000000000000n);
  t.is(s.lpa2, false);
  t.is(mem.pageOffset, 0xffff000000000000n);
  // (phys - PHYS_OFFSET) | PAGE_OFFSET, memory.h
  t.is(mem.physToVirt(RAM), BigInt.asUintN(64, RAM + 0xeffffc0000000n) | 0xffff000000000000n);
  t.deepEqual(
    mem.regions().map((r) => r.name),
    ['linear-map', 'modules'],
  );
  t.is(mem.regions()[1]!.start, 0xffff800000000000n, 'MODULES_VADDR = _PAGE_END(48) without the exported range');
});

test('addresses the kernel half cannot hold: user (TTBR0), non-canonical, PAC-signed until stripped', async (t) => {
  const v = 0xffff800008010000n;
  const { path } = await build({ granule: 4096, vaBits: 48, pacMask: 0xffff000000000000n, map: (pt) => pt.mapPage(v, RAM + 0x1000n) });
  const mem = kernelMemory(openDump(path)) as Aarch64Memory;
  t.regex(fail(mem.translate(0x0000aaaaf0000000n)).message, /user \(TTBR0\)/);
  const signed = 0xffd2800008010000n; // a return address with a PAC in bits 54..48 (bit 55 set)
  const f = fail(mem.translate(signed));
  t.is(f.code, 'non-canonical');
  t.regex(f.message, /PAC-signed/);
  t.is(mem.stripPointerAuth(signed), v);
  t.is(ok(mem.translate(mem.stripPointerAuth(signed))).paddr, RAM + 0x1000n);
  t.is(mem.stripPointerAuth(0x0000aaaaf0000000n), 0x0000aaaaf0000000n, 'user pointers are left alone');
  const noPac = await build({ granule: 4096, vaBits: 48, map: (pt) => pt.mapPage(v, RAM + 0x1000n) });
  t.is((kernelMemory(openDump(noPac.path)) as Aarch64Memory).stripPointerAuth(signed), signed, "no KERNELPACMASK: nothing is signed");
  t.is(fail(mem.translate(0xdead000000000100n)).code, 'non-canonical', 'LIST_POISON1 (bit 55 set, bits 54..48 not all ones)');
});

test('missing VMCOREINFO facts are one clear unsupported line each', async (t) => {
  const write = (info: string) => writeTestDump({ format: 'elf', arch: 'arm64', vmcoreinfo: info, ranges: [{ paddr: RAM, pages: 4 }] });
  const noVo = await write('OSRELEASE=6.1.0\nPAGESIZE=4096\nNUMBER(VA_BITS)=48\nSYMBOL(swapper_pg_dir)=ffff80000a000000\n');
  t.throws(() => kernelMemory(openDump(noVo)), { message: /NUMBER\(kimage_voffset\)/ });
  const noRoot = await write('OSRELEASE=6.1.0\nPAGESIZE=4096\nNUMBER(VA_BITS)=48\nNUMBER(kimage_voffset)=0xffff7fffc8000000\n');
  t.throws(() => kernelMemory(openDump(noRoot)), { message: /SYMBOL\(swapper_pg_dir\)/ });
  // 5.4..5.8: NUMBER(vabits_actual) instead of TCR_EL1_T1SZ (a 52-bit 64K kernel on a 48-bit CPU)
  const old = await write('OSRELEASE=5.4.0\nPAGESIZE=65536\nNUMBER(VA_BITS)=52\nNUMBER(vabits_actual)=48\nNUMBER(kimage_voffset)=0xffff7fffc8000000\nSYMBOL(swapper_pg_dir)=ffff80000a000000\n');
  t.is(aarch64Setup(openDump(old)).vaBitsActual, 48);
  const badVa = await write('OSRELEASE=6.1.0\nPAGESIZE=4096\nNUMBER(VA_BITS)=60\nNUMBER(kimage_voffset)=0xffff7fffc8000000\nSYMBOL(swapper_pg_dir)=ffff80000a000000\n');
  t.throws(() => kernelMemory(openDump(badVa)), { message: /VA_BITS 60/ });
});
