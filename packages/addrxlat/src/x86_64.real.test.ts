/**
 * The real dump (fixtures/real): every `vtop` and `rd -64` that crash 8.0.2
 * printed with the vmlinux (fixtures/real/expected/crash.<dump>.vtop-*.txt,
 * crash.<dump>.rd-64-*.txt; the commands are beside them in .cmd files) must
 * come out of our page-table walk the same: physical address, page size,
 * every level's entry address and value, and every word read.
 * The addresses are taken from the file names, so a regenerated fixture
 * (KASLR moves everything) needs no change here.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDump, type Dump } from '@vmpipe/dump';
import { isTranslation, kernelMemory, START_KERNEL_MAP, type KernelMemory } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const real = join(root, 'fixtures', 'real');
const expected = join(real, 'expected');

/** vmcore.elf.zst decompressed once per run (zstd CLI, else fzstd), or undefined to skip. */
async function elfDump(): Promise<string | undefined> {
  const zst = join(real, 'vmcore.elf.zst');
  if (!existsSync(zst)) return undefined;
  const out = join(mkdtempSync(join(tmpdir(), 'vmpipe-addrxlat-real-')), 'vmcore.elf');
  if (spawnSync('zstd', ['-q', '-d', zst, '-o', out]).status === 0) return out;
  try {
    const { decompress } = await import('fzstd');
    writeFileSync(out, decompress(readFileSync(zst)));
    return out;
  } catch {
    return undefined;
  }
}

interface CrashVtop {
  vaddr: bigint;
  physical: bigint | 'not mapped';
  root: bigint;
  top: bigint;
  levels: { level: string; addr: bigint; entry: bigint }[];
  page?: bigint;
  size: number;
}

function parseVtop(text: string): CrashVtop {
  const lines = text.split('\n');
  const [v, p] = lines[1]!.trim().split(/\s+/, 2);
  const levels = [...text.matchAll(/^ {3}(P4D|PUD|PMD|PTE): ([0-9a-f]+) => ([0-9a-f]+)$/gm)].map((m) => ({ level: m[1]!.toLowerCase(), addr: BigInt('0x' + m[2]), entry: BigInt('0x' + m[3]) }));
  const page = /^ {2}PAGE: ([0-9a-f]+)(?: {2}\((2MB|1GB)\))?$/m.exec(text);
  return {
    vaddr: BigInt('0x' + v),
    physical: p === '(not' ? 'not mapped' : BigInt('0x' + p),
    root: BigInt('0x' + /^PGD DIRECTORY: ([0-9a-f]+)$/m.exec(text)![1]),
    top: BigInt('0x' + /^PAGE DIRECTORY: ([0-9a-f]+)$/m.exec(text)![1]),
    levels,
    ...(page ? { page: BigInt('0x' + page[1]) } : {}),
    size: page?.[2] === '1GB' ? 1 << 30 : page?.[2] === '2MB' ? 1 << 21 : 4096,
  };
}

/** `rd -64` lines: address → words; an `rd:` error line names the address where crash stopped and why. */
function parseRd(text: string): { words: [bigint, bigint][]; error?: { addr: bigint; what: string } } {
  const words: [bigint, bigint][] = [];
  for (const m of text.matchAll(/^([0-9a-f]+):((?: +[0-9a-f]{16})+)/gm)) {
    const at = BigInt('0x' + m[1]);
    m[2]!.trim().split(/\s+/).forEach((w, i) => words.push([at + BigInt(8 * i), BigInt('0x' + w)]));
  }
  const e = /rd: (page excluded|invalid kernel virtual address): (?:kernel virtual address: )?([0-9a-f]+)/.exec(text);
  return e ? { words, error: { addr: BigInt('0x' + e[2]), what: e[1]! } } : { words };
}

function files(dumpName: string, what: 'vtop' | 'rd-64'): string[] {
  if (!existsSync(expected)) return [];
  return readdirSync(expected).filter((f) => f.startsWith(`crash.${dumpName}.${what}-`) && f.endsWith('.txt'));
}

function checkVtops(t: import('ava').ExecutionContext, dump: Dump, mem: KernelMemory, dumpName: string): number {
  let n = 0;
  const physBase = dump.vmcoreinfo!.numberOf('phys_base')!;
  for (const f of files(dumpName, 'vtop')) {
    const c = parseVtop(readFileSync(join(expected, f), 'utf8'));
    const got = mem.translate(c.vaddr);
    // crash prints the top level as PAGE DIRECTORY (the entry's value only), the rest as "addr => entry".
    const ours = got.levels;
    t.is(ours[0]?.entry, c.top, `${f}: PAGE DIRECTORY`);
    t.deepEqual(ours.slice(1).map((l) => ({ level: l.level, addr: l.addr, entry: l.entry })), c.levels, `${f}: levels`);
    if (c.physical === 'not mapped') {
      t.false(isTranslation(got), `${f}: crash says not mapped`);
      if (!isTranslation(got)) t.is(got.code, 'not-mapped');
    } else {
      t.true(isTranslation(got), `${f}: crash translates it`);
      if (!isTranslation(got)) continue;
      t.is(got.root, c.root, `${f}: PGD DIRECTORY`);
      t.is(got.pageSize, c.size, `${f}: page size`);
      t.is(got.paddr, c.page! + (c.vaddr & BigInt(c.size - 1)), `${f}: paddr from crash's PAGE line`);
      // crash's header line computes addresses at or above __START_KERNEL_map by formula
      // (x86_64_VTOP: vaddr - __START_KERNEL_map + phys_base) without walking; in the
      // fixmap that formula is wrong (the page tables map the IO-APIC at 0xfec00000 there).
      const formula = BigInt.asUintN(64, c.vaddr - START_KERNEL_MAP + physBase);
      if (c.physical !== got.paddr) t.true(c.vaddr >= 0xffffffffff000000n && c.physical === formula, `${f}: header PHYSICAL ${c.physical.toString(16)}`);
    }
    n++;
  }
  return n;
}

function checkReads(t: import('ava').ExecutionContext, dump: Dump, mem: KernelMemory, dumpName: string): number {
  let n = 0;
  for (const f of files(dumpName, 'rd-64')) {
    const rd = parseRd(readFileSync(join(expected, f), 'utf8'));
    for (const [at, word] of rd.words) {
      // ELF dumps: crash reads a page makedumpfile -E left out (p_filesz < p_memsz) as zeros; we say
      // page-excluded unless asked for zeros, and then agree with crash.
      const first = mem.read(at, 8)[0]!;
      if ('problem' in first && dumpName === 'vmcore.elf') {
        t.is(first.problem.code, 'page-excluded', `${f}: ${at.toString(16)}`);
        const zeroed = mem.read(at, 8, { zeroExcluded: true })[0]!;
        t.true('bytes' in zeroed && Buffer.from(zeroed.bytes).readBigUInt64LE(0) === word, `${f}: --zero-excluded gives crash's word at ${at.toString(16)}`);
      } else {
        t.is(mem.readU64(at), word, `${f}: ${at.toString(16)}`);
      }
    }
    if (rd.error) {
      const chunk = mem.read(rd.error.addr, 8)[0]!;
      t.true('problem' in chunk, `${f}: crash could not read ${rd.error.addr.toString(16)}`);
      if ('problem' in chunk) t.is(chunk.problem.code, rd.error.what === 'page excluded' ? 'page-excluded' : 'not-mapped', f);
    }
    n++;
  }
  return n;
}

test('vmcore.kdump-zlib: crash vtop and rd -64 of every region, word for word', (t) => {
  const path = join(real, 'vmcore.kdump-zlib');
  if (!existsSync(path)) return t.pass('fixture missing');
  const dump = openDump(path);
  const mem = kernelMemory(dump);
  t.true(checkVtops(t, dump, mem, 'vmcore.kdump-zlib') >= 2);
  checkReads(t, dump, mem, 'vmcore.kdump-zlib');
  // facts.json's linux_banner sample: crash's `rd -p` and our virtual read meet at the same bytes.
  const samples = JSON.parse(readFileSync(join(expected, 'samples.json'), 'utf8')) as { linux_banner: { vaddr: string; paddr: string } };
  const banner = mem.translate(BigInt(samples.linux_banner.vaddr));
  t.true(isTranslation(banner) && banner.paddr === BigInt(samples.linux_banner.paddr));
  t.is(mem.readCString(BigInt(samples.linux_banner.vaddr)).slice(0, 14), 'Linux version ');
  dump.close();
});

test('vmcore.elf (the same memory as ELF): the same translations and words', async (t) => {
  const path = await elfDump();
  if (!path) return t.pass('vmcore.elf.zst or a zstd decoder missing: skipped');
  const dump = openDump(path);
  const mem = kernelMemory(dump);
  t.true(checkVtops(t, dump, mem, 'vmcore.elf') >= 2);
  checkReads(t, dump, mem, 'vmcore.elf');
  // And every crash vtop of the kdump file gives the same answer on the ELF file.
  const kdump = openDump(join(real, 'vmcore.kdump-zlib'));
  const kmem = kernelMemory(kdump);
  for (const f of files('vmcore.kdump-zlib', 'vtop')) {
    const v = parseVtop(readFileSync(join(expected, f), 'utf8')).vaddr;
    t.deepEqual(mem.translate(v), kmem.translate(v), f);
  }
  dump.close();
  kdump.close();
});
