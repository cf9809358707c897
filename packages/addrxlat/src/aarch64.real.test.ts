/**
 * The real arm64 dumps (Debian 6.1.0-56-cloud-arm64 under qemu-system-aarch64,
 * made by tools/recipes/arm64; uncut, outside the repo: /work/refs/arm64/dumps,
 * or VMPIPE_ARM64_DUMPS): every address drgn (built from source) translated with
 * follow_phys() through init_mm must come out of our walk the same, on QEMU's
 * ELF and on its kdump, with and without pointer authentication; and
 * __phys_to_virt must agree with drgn's phys_to_virt (the nopauth dump's
 * PHYS_OFFSET is "negative": linear-map randomisation).
 * The fixture cut of each dump (fixtures/arm64/.../vmcore.kdump) is walked too, where present.
 * Expected: fixtures/arm64/6.1.0-56-cloud-arm64/<dump>/expected/drgn.arm64xlat.json (command in .cmd beside it).
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDump } from '@vmpipe/dump';
import { Aarch64Memory, isTranslation, kernelMemory } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const KERNEL = '6.1.0-56-cloud-arm64';
const dumps = process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`;

interface Expected {
  translate: { name: string; vaddr: string; paddr: string }[];
  phys_to_virt: Record<string, string>;
  memstart_addr: number;
}

for (const dump of ['pauth', 'nopauth']) {
  const expectedFile = join(root, 'fixtures', 'arm64', KERNEL, dump, 'expected', 'drgn.arm64xlat.json');
  // QEMU's ELF and kdump, uncut; and the fixture cut from the kdump (the pages the commands read), whose
  // missing pages may only say page-excluded.
  const cut = join(root, 'fixtures', 'arm64', KERNEL, dump, 'vmcore.kdump');
  for (const [form, path] of [['qemu.elf', join(dumps, dump, 'qemu.elf')], ['qemu.kdump-zlib', join(dumps, dump, 'qemu.kdump-zlib')], ['fixture cut', cut]] as const) {
    test(`${dump}/${form}: drgn's follow_phys() addresses, through swapper_pg_dir`, (t) => {
      if (!existsSync(path) || !existsSync(expectedFile)) {
        t.log(`skipped: ${existsSync(path) ? expectedFile : path} is not here (uncut arm64 dumps live outside the repo, in /work/refs/arm64; the cut comes with the arm64 fixtures)`);
        t.pass();
        return;
      }
      const want = JSON.parse(readFileSync(expectedFile, 'utf8')) as Expected;
      const d = openDump(path);
      const swapper = want.translate.find((x) => x.name === 'swapper_pg_dir')!;
      if (d.vmcoreinfo?.symbol('swapper_pg_dir') !== BigInt(swapper.vaddr)) {
        t.log(`skipped: ${path} was remade since ${expectedFile} (swapper_pg_dir moved with KASLR); rerun the .cmd beside it`);
        t.pass();
        return;
      }
      const mem = kernelMemory(d) as Aarch64Memory;
      t.true(mem instanceof Aarch64Memory);
      t.is(mem.setup.physOffset, BigInt(want.memstart_addr), 'PHYS_OFFSET read as signed = memstart_addr');
      let checked = 0;
      for (const x of want.translate) {
        const tr = mem.translate(BigInt(x.vaddr));
        if (path === cut && !isTranslation(tr) && tr.code === 'page-excluded') {
          t.log(`${x.name}: a table page is not in the cut`);
          continue;
        }
        t.true(isTranslation(tr), `${x.name} ${x.vaddr}: ${'message' in tr ? tr.message : ''}`);
        if (isTranslation(tr)) t.is('0x' + tr.paddr.toString(16), x.paddr, x.name);
        checked++;
      }
      t.true(checked > 0, 'at least one translation checked');
      for (const [p, v] of Object.entries(want.phys_to_virt)) t.is('0x' + mem.physToVirt(BigInt(p)).toString(16), v, `__va(${p})`);
      // The kernel image: the walk and __kimg_to_phys agree.
      t.is(mem.kimageToPhys(BigInt(swapper.vaddr)), BigInt(swapper.paddr));
    });
  }
}
