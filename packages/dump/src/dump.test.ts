import test from 'ava';
import { pagePattern } from '@vmpipe/mkdump';
import { openDump, type PhysChunk } from './index.js';
import { baseSpec, dumpFile, REGS0, REGS1 } from './test-helpers.js';

const PAGE = 4096;
const bytesOf = (chunks: PhysChunk[]) => chunks.map((c) => ('bytes' in c ? Buffer.from(c.bytes).toString('hex') : c.problem.code));

const variants = [
  { name: 'ELF', spec: baseSpec('elf') },
  { name: 'ELF with QEMU 7.2 header quirks (e_phoff 192, e_ehsize 8)', spec: baseSpec('elf', { elf: { phoff: 192, ehsize: 8 }, qemuCpuState: true }) },
  { name: 'kdump zlib', spec: baseSpec('kdump', { codec: 'zlib' }) },
  { name: 'kdump lzo', spec: baseSpec('kdump', { codec: 'lzo' }) },
  { name: 'kdump snappy', spec: baseSpec('kdump', { codec: 'snappy' }) },
  { name: 'kdump zstd', spec: baseSpec('kdump', { codec: 'zstd' }) },
  { name: 'kdump uncompressed', spec: baseSpec('kdump', { codec: 'none' }) },
  { name: 'kdump header version 3 (no notes offset)', spec: baseSpec('kdump', { headerVersion: 3 }) },
  { name: 'flattened', spec: baseSpec('flattened', { codec: 'zlib' }) },
];

for (const v of variants) {
  test(`${v.name}: every present page reads back as written`, async (t) => {
    const { path } = await dumpFile(v.spec);
    const dump = openDump(path);
    for (const pfn of [0, 1, 15, 0x100, 0x11f]) {
      const chunks = dump.readPhysical(BigInt(pfn * PAGE), PAGE);
      t.is(chunks.length, 1);
      t.deepEqual(Buffer.from((chunks[0] as { bytes: Uint8Array }).bytes), Buffer.from(pagePattern(pfn, PAGE)), `pfn ${pfn}`);
    }
    const zero = dump.readPhysical(4n * BigInt(PAGE), PAGE)[0] as { bytes: Uint8Array };
    t.true(zero.bytes.every((b) => b === 0));
    dump.close();
  });

  test(`${v.name}: headers, VMCOREINFO and CPU registers`, async (t) => {
    const { path } = await dumpFile(v.spec);
    const dump = openDump(path);
    t.is(dump.arch, 'x86_64');
    t.is(dump.pageSize, PAGE);
    t.is(dump.vmcoreinfo?.osrelease, '6.1.0-56-cloud-amd64');
    t.is(dump.vmcoreinfo?.entries['SYMBOL(swapper_pg_dir)'], 'ffffffff95610000');
    t.is(dump.vmcoreinfo?.numberOf('phys_base'), -1033895936n);
    t.is(dump.vmcoreinfo?.kernelOffset, 0x12c00000n);
    t.deepEqual(dump.vmcoreinfo?.grouped(), {
      symbols: { swapper_pg_dir: '0xffffffff95610000' },
      offsets: { 'page.flags': 0 },
      sizes: { page: 64 },
      lengths: {},
      numbers: { phys_base: -1033895936 },
    });
    if ((v.spec.headerVersion ?? 6) < 4) {
      // kdump header versions before 4 have no ELF notes: no registers to read.
      t.is(dump.cpus.length, 0);
      dump.close();
      return;
    }
    t.is(dump.cpus.length, 2);
    for (const [k, val] of Object.entries(REGS0)) t.is(dump.cpus[0]!.regs[k], val, k);
    for (const [k, val] of Object.entries(REGS1)) t.is(dump.cpus[1]!.regs[k], val, k);
    t.is(dump.cpus[0]!.prPid, 44);
    t.is(dump.crashTime?.getTime(), 1764035000 * 1000);
    if (v.spec.qemuCpuState) {
      t.is(dump.cpus[0]!.prPidMeaning, 'cpu-plus-one');
      t.is(dump.cpus[0]!.qemu?.['rip'], REGS0.rip);
      t.is(dump.producer, 'qemu');
    } else {
      t.is(dump.cpus[0]!.prPidMeaning, 'pid');
    }
    if (v.spec.format !== 'elf') {
      t.is(dump.utsname?.nodename, 'test');
      t.is(dump.dumpLevel, 31);
      t.is(dump.headerVersion, v.spec.headerVersion ?? 6);
      t.deepEqual(dump.memoryRanges(), [
        { start: 0n, end: 0x10000n },
        { start: 0x100000n, end: 0x120000n },
      ]);
    }
    dump.close();
  });

  test(`${v.name}: excluded pages, holes and page-crossing reads`, async (t) => {
    const { path } = await dumpFile(v.spec);
    const dump = openDump(path);
    const elf = v.spec.format === 'elf';
    // The writer leaves excluded pages out of an ELF's PT_LOADs: nothing in the file says they existed.
    t.deepEqual(bytesOf(dump.readPhysical(3n * 4096n, 16)), [elf ? 'not-in-dump' : 'page-excluded']);
    t.deepEqual(bytesOf(dump.readPhysical(0x80000n, 16)), ['not-in-dump']);
    const across = dump.readPhysical(3n * 4096n - 8n, 24);
    t.deepEqual(bytesOf(across), [Buffer.from(pagePattern(2, PAGE).subarray(PAGE - 8)).toString('hex'), elf ? 'not-in-dump' : 'page-excluded']);
    t.is((across[1] as { length: number }).length, 16);
    const twoPages = dump.readPhysical(1n * 4096n + 4000n, 200)[0] as { bytes: Uint8Array };
    t.deepEqual(Buffer.from(twoPages.bytes), Buffer.concat([pagePattern(1, PAGE).subarray(4000), pagePattern(2, PAGE).subarray(0, 104)]));
    if (!elf) {
      const zeroed = dump.readPhysical(3n * 4096n, 16, { zeroExcluded: true })[0] as { bytes: Uint8Array };
      t.deepEqual(Buffer.from(zeroed.bytes), Buffer.alloc(16));
      t.deepEqual(dump.pageCounts(), { present: 46, excluded: 2 });
    }
    dump.close();
  });
}
