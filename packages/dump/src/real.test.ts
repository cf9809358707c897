/**
 * The real dump of Debian's 6.1 cloud kernel (fixtures/real) read in every
 * shipped format, checked against what crash 8.0.2 (`help -D`, `rd -p`) and
 * makedumpfile 1.7.2 print for the same files (fixtures/real/expected).
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { openDump, type Dump, type PhysChunk } from './index.js';
import { expected, expectedJson, realDump, realElfPath, realFlatPath } from './testing/real.js';

const helpD = expected('crash.vmcore.kdump-zlib.help-D.txt');

/** crash `help -D`: the NT_PRSTATUS register blocks, in note order. */
function crashPrstatus(text: string): { pid: number; regs: Record<string, bigint> }[] {
  const blocks = text.split(/notes\[\d+\]: \S+ \(NT_PRSTATUS\)/).slice(1).map((b) => b.split(/notes\[\d+\]: \S+ \(QEMUCPUState\)|snapshot_task:/)[0]!);
  return blocks.map((b) => {
    const regs: Record<string, bigint> = {};
    for (const m of b.matchAll(/\b([A-Z0-9_]+): ([0-9a-f]{4,16})\b/g)) regs[m[1]!.toLowerCase()] = BigInt('0x' + m[2]);
    return { pid: Number(/\bpid: (\d+)/.exec(b)![1]), regs };
  });
}

/** crash `rd -p ADDR 32` lines → the bytes they show (64-bit words, little-endian). */
function crashRd(text: string): { addr: bigint; bytes: Buffer } {
  const lines = text.split('\n').filter((l) => /^\s*[0-9a-f]+:/.test(l));
  const words = lines.flatMap((l) => l.split(':')[1]!.trim().split(/\s+/).slice(0, 2));
  const bytes = Buffer.alloc(words.length * 8);
  words.forEach((w, i) => bytes.writeBigUInt64LE(BigInt('0x' + w), i * 8));
  return { addr: BigInt('0x' + lines[0]!.split(':')[0]!.trim()), bytes };
}

const crashRegName: Record<string, string> = { rflags: 'eflags' };

const formats: { name: string; path: () => string; format: string; pfnLimit?: number }[] = [
  { name: 'kdump-compressed zlib (makedumpfile -c)', path: () => realDump.kdumpZlib, format: 'kdump-compressed' },
  { name: 'kdump-compressed lzo, split 1 of 4 (makedumpfile --split -l)', path: () => realDump.kdumpLzoSplit1, format: 'kdump-compressed', pfnLimit: 0x1f00 },
  { name: 'ELF (makedumpfile -E)', path: realElfPath, format: 'elf' },
  { name: 'flattened (makedumpfile -F)', path: realFlatPath, format: 'flattened' },
];

function bytesOf(chunks: PhysChunk[]): Buffer | string {
  if (chunks.length === 1 && 'bytes' in chunks[0]!) return Buffer.from(chunks[0].bytes);
  return chunks.map((c) => ('bytes' in c ? 'bytes' : c.problem.code)).join(',');
}

for (const f of formats) {
  test(`${f.name}: VMCOREINFO and CPU registers are what crash help -D shows`, (t) => {
    const dump = openDump(f.path());
    t.is(dump.format as string, f.format);
    t.is(dump.arch, 'x86_64');
    t.is(dump.pageSize, 4096);
    // help -D prints VMCOREINFO one KEY=VALUE per line, indented.
    const crashInfo = [...helpD.matchAll(/^\s+([A-Z][A-Za-z0-9_()./-]*)=(.*)$/gm)].map((m) => [m[1], m[2]]);
    t.true(crashInfo.length > 100, `${crashInfo.length} VMCOREINFO lines in help -D`);
    for (const [k, v] of crashInfo) t.is(dump.vmcoreinfo?.entries[k!], v, k);
    t.is(Object.keys(dump.vmcoreinfo!.entries).length, crashInfo.length);

    const notes = crashPrstatus(helpD);
    t.is(dump.cpus.length, notes.length);
    notes.forEach((note, cpu) => {
      const ours = dump.cpus[cpu]!;
      t.is(ours.prPid, note.pid);
      t.is(ours.prPidMeaning, 'cpu-plus-one', 'QEMU made the memory image: pr_pid is the CPU number + 1');
      for (const [name, value] of Object.entries(note.regs)) t.is(ours.regs[crashRegName[name] ?? name], value, `cpu ${cpu} ${name}`);
    });
    // QEMU's CPU state: CR3 as help -D shows it.
    const cr3 = [...helpD.matchAll(/CR3: ([0-9a-f]{16})/g)].map((m) => BigInt('0x' + m[1]));
    t.deepEqual(dump.cpus.map((c) => c.qemu?.['cr3']), cr3);
    dump.close();
  });

  test(`${f.name}: physical memory reads as crash rd -p shows it`, (t) => {
    const dump = openDump(f.path());
    const samples = expectedJson<{ present: string[]; excluded: string[] }>('samples.json');
    for (const paddr of samples.present) {
      const pfn = Number(BigInt(paddr) / 4096n);
      const crash = crashRd(expected(`crash.vmcore.kdump-zlib.rd-p-${paddr.slice(2)}-32.txt`));
      t.is(crash.addr, BigInt(paddr));
      const ours = bytesOf(dump.readPhysical(crash.addr, crash.bytes.length));
      if (f.pfnLimit !== undefined && pfn >= f.pfnLimit) t.regex(String(ours), /not-in-dump/, `${paddr} lives in another split file`);
      else t.deepEqual(ours, crash.bytes, paddr);
    }
    for (const paddr of samples.excluded) {
      const ours = bytesOf(dump.readPhysical(BigInt(paddr), 32));
      // crash says "page excluded" on the kdump file but reads zeros on makedumpfile's ELF of the
      // same memory (the page is in a PT_LOAD's p_memsz, not its p_filesz). We say excluded in both.
      t.is(ours, 'page-excluded', paddr);
      t.deepEqual(bytesOf(dump.readPhysical(BigInt(paddr), 32, { zeroExcluded: true })), Buffer.alloc(32), 'crash --zero_excluded');
    }
    dump.close();
  });
}

test('kdump header facts equal crash help -D and makedumpfile', (t) => {
  const dump = openDump(realDump.kdumpZlib);
  const field = (name: string) => Number(new RegExp(`^\\s+${name}: (\\d+)`, 'm').exec(helpD)![1]);
  t.is(dump.headerVersion, field('header_version'));
  t.is(dump.pageSize, field('block_size'));
  t.is(dump.dumpLevel, field('dump_level'));
  t.deepEqual(dump.compression, ['zlib']);
  for (const key of ['sysname', 'nodename', 'release', 'version', 'machine', 'domainname'] as const) {
    t.is(dump.utsname?.[key], new RegExp(`^\\s+${key}: (.*)$`, 'm').exec(helpD)![1], key);
  }
  t.is(dump.crashTime, undefined, 'tv_sec 0: makedumpfile wrote no timestamp');
  // total_valid_pages: pages set in the 2nd bitmap (makedumpfile's "Remaining" + "Pages filled with zero").
  t.is(dump.pageCounts().present, field('total_valid_pages'));
  const report = expected('makedumpfile-report.vmcore.kdump-zlib.txt');
  const num = (label: string) => Number(new RegExp(`${label}\\s*:\\s*(0x[0-9a-f]+)`).exec(report)![1]);
  t.is(dump.pageCounts().present, num('Remaining pages') + num('Pages filled with zero'));
  dump.close();
});

test('every page of the lzo split file equals the same page of the zlib dump', (t) => {
  const zlib = openDump(realDump.kdumpZlib);
  const lzo = openDump(realDump.kdumpLzoSplit1);
  let compared = 0;
  for (let pfn = 0; pfn < 0x1f00; pfn++) {
    const a = bytesOf(lzo.readPhysical(BigInt(pfn) * 4096n, 4096));
    const b = bytesOf(zlib.readPhysical(BigInt(pfn) * 4096n, 4096));
    if (typeof a !== 'string') compared++;
    if (typeof a === 'string' ? a !== b : !Buffer.isBuffer(b) || !a.equals(b)) {
      t.fail(`pfn 0x${pfn.toString(16)}: lzo ${typeof a === 'string' ? a : 'bytes'}, zlib ${typeof b === 'string' ? b : 'bytes'}`);
      break;
    }
  }
  t.true(compared > 4000, `${compared} pages compared`);
  t.is(lzo.pageCounts().present, compared);
  zlib.close();
  lzo.close();
});

test('the ELF and flattened forms hold the same bytes as the kdump file, page for page', (t) => {
  const dumps: Dump[] = [realDump.kdumpZlib, realElfPath(), realFlatPath()].map((p) => openDump(p));
  const [zlib, elf, flat] = dumps as [Dump, Dump, Dump];
  let compared = 0;
  for (const r of zlib.memoryRanges()) {
    for (let a = r.start; a < r.end; a += 4096n * 7n) {
      const z = bytesOf(zlib.readPhysical(a, 4096));
      if (typeof z === 'string') continue;
      t.deepEqual(bytesOf(flat.readPhysical(a, 4096)), z);
      // makedumpfile -E leaves zero pages out of the file like excluded ones (the kdump keeps them).
      const e = bytesOf(elf.readPhysical(a, 4096));
      if (e === 'page-excluded') t.true(z.every((b) => b === 0), `0x${a.toString(16)} missing from the ELF but not a zero page`);
      else t.deepEqual(e, z);
      compared++;
    }
  }
  t.true(compared > 2000, `${compared} pages compared`);
  dumps.forEach((d) => d.close());
});

/**
 * QEMU's own dumps of the same guest (its ELF with program headers at 192, its
 * flattened kdump-zlib) are 168 MB and 41 MB: too big to ship. The recipe leaves
 * them in its work dir; when that is here (VMPIPE_REAL_WORK, default
 * /tmp/vmpipe-real), every page the filtered dump holds must read the same.
 */
test('QEMU dump-guest-memory ELF and kdump-zlib (when the recipe work dir is present)', (t) => {
  const work = process.env['VMPIPE_REAL_WORK'] ?? '/tmp/vmpipe-real';
  const files = ['qemu.elf', 'qemu.kdump-zlib.flat'].map((f) => `${work}/${f}`);
  if (!files.every((f) => existsSync(f))) {
    t.log(`no ${files.join(', ')}: run tools/recipes/real-dump/make.sh to check QEMU's own formats`);
    t.pass();
    return;
  }
  const zlib = openDump(realDump.kdumpZlib);
  // The recipe makes a new guest each run: compare only when these are the fixture's memory.
  const sameGuest = (d: Dump) => d.vmcoreinfo?.entries['KERNELOFFSET'] === zlib.vmcoreinfo?.entries['KERNELOFFSET'];
  for (const f of files) {
    const q = openDump(f);
    t.is(q.producer, 'qemu');
    t.true(q.cpus.every((c) => c.prPidMeaning === 'cpu-plus-one'));
    if (!sameGuest(q)) {
      t.log(`${f} is from another run of the recipe; only its headers were checked`);
      q.close();
      continue;
    }
    let compared = 0;
    for (let pfn = 0; pfn < 0xa000; pfn += 3) {
      const z = bytesOf(zlib.readPhysical(BigInt(pfn) * 4096n, 4096));
      if (typeof z === 'string') continue;
      t.deepEqual(bytesOf(q.readPhysical(BigInt(pfn) * 4096n, 4096)), z);
      compared++;
    }
    t.true(compared > 4000);
    q.close();
  }
  zlib.close();
});
