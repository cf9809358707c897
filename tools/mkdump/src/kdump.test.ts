// Spec: makedumpfile's diskdump_mod.h (kdump-compressed format); checks written
// against the struct definitions with the independent readers in testkit.ts.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decompress } from '@vmpipe/codecs';
import { writeDump, pagePattern, incompressiblePattern, type DumpSpec } from './index.js';
import { X86_REGS, bit, cstr, i32, parseKdump, parseNotes, sampleRegs, u32, u64, haveTool } from './testkit.js';

const VMCOREINFO = 'OSRELEASE=6.1.0-mkdump\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff82a0c000\nNUMBER(phys_base)=0\nCRASHTIME=1700000000\n';
const FLAG = { zlib: 1, lzo: 2, snappy: 4, zstd: 0x20 } as const;

function base(extra: Partial<DumpSpec> = {}): DumpSpec {
  return {
    format: 'kdump',
    vmcoreinfo: VMCOREINFO,
    crashTime: 1700000123,
    utsname: { nodename: 'testbox', release: '6.1.0-mkdump', version: '#1 SMP PREEMPT_DYNAMIC' },
    cpus: [
      { prstatusPid: 1234, regs: sampleRegs(X86_REGS, 0) },
      { prstatusPid: 0, regs: sampleRegs(X86_REGS, 1) },
    ],
    ranges: [
      { paddr: 0x1000n, pages: 30 },
      { paddr: 0x40000n, pages: 16 },
    ],
    zeroPages: [5, 6, 0x45],
    excluded: [10, 11, 12, 0x41],
    content: (pfn, ps) => (pfn === 20 ? incompressiblePattern(pfn, ps) : pagePattern(pfn, ps)),
    ...extra,
  };
}

function expectedPage(spec: DumpSpec, pfn: number): Uint8Array {
  const ps = spec.pageSize ?? 4096;
  if (spec.zeroPages?.includes(pfn)) return new Uint8Array(ps);
  return (spec.content ?? pagePattern)(pfn, ps);
}

for (const codec of ['zlib', 'lzo', 'snappy', 'zstd'] as const) {
  test(`kdump ${codec}: header, sub header, notes, bitmaps, pages`, async (t) => {
    const spec = base({ codec });
    const { bytes, layout } = await writeDump(spec);
    const k = parseKdump(bytes);
    const { h, sub } = k;

    t.is(h.signature, 'KDUMP   ');
    t.is(h.headerVersion, 6);
    t.deepEqual(h.utsname, ['Linux', 'testbox', '6.1.0-mkdump', '#1 SMP PREEMPT_DYNAMIC', 'x86_64', '(none)']);
    t.is(h.tvSec, 1700000123n);
    t.is(h.tvUsec, 0n);
    t.is(h.status, FLAG[codec]);
    t.is(h.blockSize, 4096);
    t.is(h.maxMapnr, 0x50);
    t.is(h.nrCpus, 2);
    t.is(h.totalRamBlocks + h.deviceBlocks + h.writtenBlocks + h.currentCpu, 0);
    // everything after the 464-byte header up to block 1 is zero
    t.true(bytes.subarray(464, 4096).every((x) => x === 0));

    // sub header: notes right after its 104 bytes; vmcoreinfo inside the VMCOREINFO note
    t.is(sub.dumpLevel, 31);
    t.is(sub.physBase, 0n);
    t.is(sub.maxMapnr64, 0x50);
    t.is(sub.offsetNote, 4096 + 104);
    t.is(h.subHdrSize, Math.ceil((104 + sub.sizeNote) / 4096));
    t.is(cstr(bytes, sub.offsetVmcoreinfo, sub.sizeVmcoreinfo), VMCOREINFO);
    t.is(sub.sizeVmcoreinfo, VMCOREINFO.length);
    const notes = parseNotes(bytes.subarray(sub.offsetNote, sub.offsetNote + sub.sizeNote));
    t.deepEqual(
      notes.map((n) => [n.name, n.type, n.desc.length]),
      [
        ['CORE', 1, 336],
        ['CORE', 1, 336],
        ['VMCOREINFO', 0, VMCOREINFO.length],
      ],
    );
    t.is(sub.offsetNote + notes[2]!.descAt, sub.offsetVmcoreinfo);
    for (const [c, n] of notes.slice(0, 2).entries()) {
      t.is(i32(n.desc, 32), c === 0 ? 1234 : 0, 'pr_pid at 32');
      X86_REGS.forEach((r, i) => t.is(u64(n.desc, 112 + 8 * i), spec.cpus![c]!.regs[r]!, `pr_reg.${r}`));
      t.is(i32(n.desc, 328), 0, 'pr_fpvalid');
    }

    // bitmaps: 1st = present, 2nd = present minus excluded
    t.is(h.bitmapBlocks, 2);
    for (let pfn = 0; pfn < 0x60; pfn++) {
      const present = (pfn >= 1 && pfn < 31) || (pfn >= 0x40 && pfn < 0x50);
      t.is(bit(k.bitmap1, pfn), present ? 1 : 0, `bitmap1 pfn ${pfn}`);
      t.is(bit(k.bitmap2, pfn), present && ![10, 11, 12, 0x41].includes(pfn) ? 1 : 0, `bitmap2 pfn ${pfn}`);
    }

    // page descriptors: zero pages share the first data block; pfn 20 raw; rest compressed
    t.is(k.descs.size, 30 + 16 - 4);
    const dataStart = k.descTable + 24 * k.descs.size;
    const zero = k.descs.get(5)!;
    t.deepEqual(zero, { offset: dataStart, size: 4096, flags: 0, pageFlags: 0n });
    t.deepEqual(k.descs.get(6), zero);
    t.deepEqual(k.descs.get(0x45), zero);
    t.is(k.descs.get(20)!.flags, 0);
    t.is(k.descs.get(20)!.size, 4096);
    let expectOff = dataStart + 4096;
    for (const [pfn, d] of k.descs) {
      const raw = bytes.subarray(d.offset, d.offset + d.size);
      const page = d.flags === 0 ? raw : decompress(codec, raw, 4096);
      t.deepEqual(page, expectedPage(spec, pfn), `pfn ${pfn}`);
      t.is(d.pageFlags, 0n);
      if (d.offset === zero.offset) continue;
      t.is(d.offset, expectOff, `data of pfn ${pfn} follows the previous page`);
      expectOff += d.size;
      if (pfn !== 20) {
        t.is(d.flags, FLAG[codec], `pfn ${pfn} compressed`);
        t.true(d.size < 4096);
      }
    }
    t.is(bytes.length, expectOff);

    // layout points at the structures
    t.deepEqual(layout.header, { offset: 0, size: 464 });
    t.deepEqual(layout.subHeader, { offset: 4096, size: 104 });
    t.deepEqual(layout.notes, { offset: sub.offsetNote, size: sub.sizeNote });
    t.deepEqual(layout.vmcoreinfo, { offset: sub.offsetVmcoreinfo, size: sub.sizeVmcoreinfo });
    t.is(layout['note.prstatus.1']!.offset, sub.offsetNote + notes[1]!.at);
    t.deepEqual(layout.bitmap1, { offset: (1 + h.subHdrSize) * 4096, size: 4096 });
    t.deepEqual(layout.bitmap2, { offset: (2 + h.subHdrSize) * 4096, size: 4096 });
    t.deepEqual(layout.pageDescs, { offset: k.descTable, size: 24 * k.descs.size });
    t.deepEqual(layout['pageDesc.1'], { offset: k.descTable, size: 24 });
    t.deepEqual(layout['pageDesc.13'], { offset: k.descTable + 24 * 9, size: 24 });
    t.deepEqual(layout.zeroPage, { offset: dataStart, size: 4096 });
    t.deepEqual(layout.firstPageData, { offset: k.descs.get(1)!.offset, size: k.descs.get(1)!.size });
    t.deepEqual(layout['page.20'], { offset: k.descs.get(20)!.offset, size: 4096 });
  });
}

test('kdump none: pages stored raw, status 0', async (t) => {
  const spec = base({ codec: 'none' });
  const { bytes } = await writeDump(spec);
  const k = parseKdump(bytes);
  t.is(k.h.status, 0);
  for (const [pfn, d] of k.descs) {
    t.is(d.flags, 0);
    t.is(d.size, 4096);
    t.deepEqual(bytes.subarray(d.offset, d.offset + 4096), expectedPage(spec, pfn));
  }
});

test('kdump without dump_level bit 1: zero pages are ordinary pages, no shared zero block', async (t) => {
  const spec = base({ dumpLevel: 0, excluded: [] });
  const { bytes, layout } = await writeDump(spec);
  const k = parseKdump(bytes);
  t.is(k.sub.dumpLevel, 0);
  t.false('zeroPage' in layout);
  const d5 = k.descs.get(5)!;
  const d6 = k.descs.get(6)!;
  t.not(d5.offset, d6.offset);
  t.is(d5.flags, 1);
  t.is(k.descs.get(1)!.offset, k.descTable + 24 * k.descs.size, 'data starts with pfn 1, no zero block');
  t.deepEqual(decompress('zlib', bytes.subarray(d5.offset, d5.offset + d5.size), 4096), new Uint8Array(4096));
});

test('kdump: all-zero content outside zeroPages also shares the zero descriptor (makedumpfile checks the data)', async (t) => {
  const spec = base({ zeroPages: [], content: (pfn, ps) => (pfn === 7 ? new Uint8Array(ps) : pagePattern(pfn, ps)) });
  const k = parseKdump((await writeDump(spec)).bytes);
  t.deepEqual(k.descs.get(7), { offset: k.descTable + 24 * k.descs.size, size: 4096, flags: 0, pageFlags: 0n });
});

test('kdump header_version 5: 80-byte sub header, no max_mapnr_64', async (t) => {
  const { bytes, layout } = await writeDump(base({ headerVersion: 5 }));
  const k = parseKdump(bytes);
  t.is(k.h.headerVersion, 5);
  t.is(k.sub.offsetNote, 4096 + 80);
  t.deepEqual(layout.subHeader, { offset: 4096, size: 80 });
  t.is(k.sub.maxMapnr64, undefined);
  t.is(cstr(bytes, k.sub.offsetVmcoreinfo, k.sub.sizeVmcoreinfo), VMCOREINFO);
});

test('kdump header_version 3: bare VMCOREINFO text after the 48-byte sub header, no notes', async (t) => {
  const { bytes } = await writeDump(base({ headerVersion: 3 }));
  const k = parseKdump(bytes);
  t.is(k.sub.offsetVmcoreinfo, 4096 + 48);
  t.is(cstr(bytes, k.sub.offsetVmcoreinfo, k.sub.sizeVmcoreinfo), VMCOREINFO);
  t.is(u32(bytes, 4096 + 48 + VMCOREINFO.length), 0);
});

test('kdump arm64, 64K pages: EM machine string, 392-byte prstatus, block_size = page size', async (t) => {
  const regs: Record<string, bigint> = {};
  for (let i = 0; i < 31; i++) regs[`x${i}`] = BigInt(i) * 0x1111n;
  Object.assign(regs, { sp: 0xffff800008003f00n, pc: 0xffff800008010000n, pstate: 0x600003c5n });
  const spec: DumpSpec = {
    format: 'kdump',
    arch: 'arm64',
    pageSize: 65536,
    codec: 'zstd',
    cpus: [{ prstatusPid: 42, regs }],
    vmcoreinfo: 'OSRELEASE=6.1.0\nPAGESIZE=65536\n',
    ranges: [{ paddr: 0x40000000n, pages: 4 }],
  };
  const { bytes } = await writeDump(spec);
  const k = parseKdump(bytes);
  t.is(k.h.blockSize, 65536);
  t.is(k.h.utsname[4], 'aarch64');
  t.is(k.h.maxMapnr, 0x40000000 / 65536 + 4);
  t.is(k.h.bitmapBlocks, 2);
  const notes = parseNotes(bytes.subarray(k.sub.offsetNote, k.sub.offsetNote + k.sub.sizeNote));
  t.is(notes[0]!.desc.length, 392);
  t.is(i32(notes[0]!.desc, 32), 42);
  t.is(u64(notes[0]!.desc, 112 + 8 * 31), 0xffff800008003f00n, 'sp');
  t.is(u64(notes[0]!.desc, 112 + 8 * 32), 0xffff800008010000n, 'pc');
  t.is(u64(notes[0]!.desc, 112 + 8 * 33), 0x600003c5n, 'pstate');
  for (const [pfn, d] of k.descs) t.deepEqual(decompress('zstd', bytes.subarray(d.offset, d.offset + d.size), 65536), pagePattern(pfn, 65536));
});

test('kdump with QEMU notes: PRSTATUS, then QEMU, then VMCOREINFO', async (t) => {
  const regs: Record<string, bigint> = { ...sampleRegs(X86_REGS, 0), cr3: 0x10a000n, cr0: 0x80050033n, kernel_gs_base: 0xffff88807fc00000n, gdt_base: 0xfffffe0000001000n, gdt_limit: 0x7fn };
  const { bytes } = await writeDump(base({ qemuCpuState: true, cpus: [{ prstatusPid: 1, regs }] }));
  const k = parseKdump(bytes);
  const notes = parseNotes(bytes.subarray(k.sub.offsetNote, k.sub.offsetNote + k.sub.sizeNote));
  t.deepEqual(notes.map((n) => n.name), ['CORE', 'QEMU', 'VMCOREINFO']);
  const q = notes[1]!.desc;
  t.is(q.length, 440);
  t.is(u32(q, 0), 1);
  t.is(u32(q, 4), 440);
  t.is(u64(q, 8), regs.rax!, 'rax');
  t.is(u64(q, 8 + 8 * 6), regs.rsp!, 'rsp');
  t.is(u64(q, 8 + 8 * 15), regs.r15!, 'r15');
  t.is(u64(q, 136), regs.rip!, 'rip');
  t.is(u64(q, 144), regs.eflags!, 'rflags from eflags');
  t.is(u32(q, 152), Number(regs.cs! & 0xffffffffn), 'cs.selector');
  t.is(u64(q, 152 + 24 * 3 + 16), regs.fs_base!, 'fs.base');
  t.is(u32(q, 152 + 24 * 8 + 4), 0x7f, 'gdt.limit');
  t.is(u64(q, 152 + 24 * 8 + 16), regs.gdt_base!, 'gdt.base');
  t.is(u64(q, 392), regs.cr0!, 'cr0');
  t.is(u64(q, 392 + 24), regs.cr3!, 'cr3');
  t.is(u64(q, 432), regs.kernel_gs_base!, 'kernel_gs_base');
});

test('kdump rejects bad specs', async (t) => {
  await t.throwsAsync(writeDump(base({ excluded: [999] })), { message: /not in any range/ });
  await t.throwsAsync(writeDump(base({ ranges: [{ paddr: 0x1800n, pages: 1 }] })), { message: /page-aligned/ });
  await t.throwsAsync(writeDump(base({ ranges: [{ paddr: 0n, pages: 4 }, { paddr: 0x2000n, pages: 1 }] , zeroPages: [], excluded: [] })), { message: /overlap/ });
  await t.throwsAsync(writeDump(base({ cpus: [{ prstatusPid: 1, regs: { rpi: 1n } }] })), { message: /rpi/ });
  await t.throwsAsync(writeDump(base({ arch: 'arm64', qemuCpuState: true, cpus: [] })), { message: /QEMU/ });
});

// Real tool: crash(8) parses the header, sub header and notes with -d1 (no vmlinux needed).
test('kdump read back by crash -d1 --osrelease (only if crash is installed)', async (t) => {
  if (!haveTool(t, 'crash')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mkdump-'));
  try {
    const spec = base({ codec: 'lzo', qemuCpuState: true });
    const f = join(dir, 'vmcore');
    writeFileSync(f, (await writeDump(spec)).bytes);
    const r = spawnSync('crash', ['-d1', '--osrelease', f], { encoding: 'utf8', timeout: 30000 });
    const out = r.stdout + r.stderr;
    t.regex(out, /^6\.1\.0-mkdump$/m);
    t.regex(out, /signature: "KDUMP   "/);
    t.regex(out, /header_version: 6/);
    t.regex(out, /status: 2 \(DUMP_DH_COMPRESSED_LZO\)/);
    t.regex(out, /max_mapnr: 80\b/);
    t.regex(out, /nr_cpus: 2/);
    t.regex(out, /num_prstatus_notes: 2/);
    t.regex(out, /num_qemu_notes: 2/);
    t.regex(out, /pid: 1234/);
    t.regex(out, /max_mapnr_64: 80 \(0x50\)/);
    t.regex(out, /OSRELEASE=6\.1\.0-mkdump/);
    const rip = spec.cpus![0]!.regs.rip!.toString(16).padStart(16, '0');
    t.regex(out, new RegExp(`RIP: ${rip}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
