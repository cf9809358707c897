/**
 * Header fields, notes and VMCOREINFO values that contradict the file or each other:
 * each found once at open and named (code, field, value), reading goes on with what
 * can be trusted. Offsets are those of makedumpfile's diskdump_mod.h and the gABI.
 */
import test from 'ava';
import { openDump, type Dump } from './index.js';
import { baseSpec, dumpFile, VMCOREINFO } from './test-helpers.js';

const problems = (d: Dump) => d.warnings.map((w) => `${w.code}:${w.field ?? ''}`);
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
// struct disk_dump_header offsets (64-bit): block_size 428, sub_hdr_size 432, bitmap_blocks 436, max_mapnr 440, nr_cpus 460
// struct kdump_sub_header offsets: dump_level 8, split 12, start_pfn 16, end_pfn 24, offset_vmcoreinfo 32, offset_note 48
const BLOCK = 4096;

test('PAGESIZE=0 and a 45-digit SYMBOL() are refused by name, not used; the page size stays the format\'s', async (t) => {
  const info = VMCOREINFO.replace('PAGESIZE=4096', 'PAGESIZE=0') + 'SYMBOL(prb)=' + 'f'.repeat(45) + '\n';
  for (const format of ['elf', 'kdump'] as const) {
    const d = openDump((await dumpFile(baseSpec(format, { vmcoreinfo: info }))).path);
    t.is(d.pageSize, 4096, format);
    t.is(d.vmcoreinfo?.pageSize, undefined);
    t.is(d.vmcoreinfo?.symbol('prb'), undefined);
    t.is(d.vmcoreinfo?.symbol('swapper_pg_dir'), 0xffffffff95610000n, 'the other keys are kept');
    t.deepEqual(problems(d), ['vmcoreinfo-invalid:PAGESIZE', 'vmcoreinfo-invalid:SYMBOL(prb)'], format);
    t.false('prb' in d.vmcoreinfo!.grouped().symbols);
    d.close();
  }
});

test('OFFSET(s.m) not inside SIZE(s) is refused; a layout value of 1 GiB is refused', async (t) => {
  const info = VMCOREINFO.replace('OFFSET(page.flags)=0', 'OFFSET(page.flags)=64') + 'LENGTH(mem_section)=99999999999\n';
  const d = openDump((await dumpFile(baseSpec('kdump', { vmcoreinfo: info }))).path);
  t.is(d.vmcoreinfo?.offset('page.flags'), undefined);
  t.is(d.vmcoreinfo?.size('page'), 64);
  t.deepEqual(problems(d), ['vmcoreinfo-invalid:LENGTH(mem_section)', 'vmcoreinfo-invalid:OFFSET(page.flags)']);
  t.false('OFFSET(page.flags)' in d.vmcoreinfo!.trusted());
  d.close();
});

test('a kdump file cut inside its page data: dump-truncated with the pages lost, pagesPresent counts what can be read', async (t) => {
  const whole = openDump((await dumpFile(baseSpec('kdump'))).path);
  const all = whole.pageCounts().present;
  whole.close();
  // Keep the data of every page but the last three (the spec's pfns are written in order).
  const { path, layout } = await dumpFile(baseSpec('kdump'), (b, l) => b.subarray(0, l['page.' + (0x100 + 29)]!.offset + 5));
  const d = openDump(path);
  t.deepEqual(problems(d), ['dump-truncated:']);
  t.is(d.warnings[0]!.pagesLost, 3);
  t.is(d.pageCounts().present, all - 3);
  t.deepEqual(d.readPhysical(0x11dn * 4096n, 8).map((c) => ('problem' in c ? c.problem.code : 'ok')), ['not-in-dump']);
  t.deepEqual(d.readPhysical(0x11cn * 4096n, 8).map((c) => ('problem' in c ? c.problem.code : 'ok')), ['ok']);
  t.truthy(layout['page.285']);
  d.close();
});

test('an ELF PT_LOAD with p_filesz past the end: no negative counts; p_filesz > p_memsz is dump-inconsistent', async (t) => {
  const { path } = await dumpFile(baseSpec('elf'), (b, l) => {
    // phdr.1 is the first PT_LOAD: p_filesz at +32, p_memsz at +40
    const at = l['phdr.1']!.offset;
    dv(b).setBigUint64(at + 32, dv(b).getBigUint64(at + 40, true) + (1n << 30n), true);
    return b;
  });
  const d = openDump(path);
  t.true(problems(d).includes('dump-inconsistent:p_filesz'));
  t.true(problems(d).includes('dump-truncated:'));
  t.true(d.pageCounts().excluded >= 0);
  d.close();
});

test('kdump header fields that contradict the file: bitmap_blocks, split, dump_level, nr_cpus, max_mapnr; the bitmaps disagreeing', async (t) => {
  const { path } = await dumpFile(baseSpec('kdump'), (b, l) => {
    const v = dv(b);
    v.setInt32(460, 7, true); // nr_cpus: the notes hold 2
    const sub = l['subHeader']!.offset;
    v.setInt32(sub + 8, 99, true); // dump_level
    v.setInt32(sub + 12, 1, true); // split, with start_pfn >= end_pfn
    v.setBigUint64(sub + 72, 5n, true); // start_pfn_64
    v.setBigUint64(sub + 80, 2n, true); // end_pfn_64
    v.setUint32(440, v.getUint32(440, true) - 1, true); // max_mapnr vs max_mapnr_64
    // pfn 20 (a hole) marked dumped in the 2nd bitmap only
    b[l['bitmap2']!.offset + 2] |= 1 << 4;
    return b;
  });
  const d = openDump(path);
  t.deepEqual(problems(d).sort(), ['dump-inconsistent:bitmap', 'dump-inconsistent:dump_level', 'dump-inconsistent:max_mapnr', 'dump-inconsistent:nr_cpus', 'dump-inconsistent:split']);
  t.is(d.warnings.find((w) => w.field === 'nr_cpus')!.value, 7);
  t.is(d.cpus.length, 2);
  d.close();

  const more = await dumpFile(baseSpec('kdump'), (b) => {
    dv(b).setUint32(436, dv(b).getUint32(436, true) + 2, true); // bitmap_blocks: more than max_mapnr needs
    return b;
  });
  const d2 = openDump(more.path);
  t.true(problems(d2).includes('dump-inconsistent:bitmap_blocks'));
  d2.close();
});

test('sub_hdr_size that puts the notes and VMCOREINFO outside the sub header: named, not read; a negative one ends the open', async (t) => {
  const { path } = await dumpFile(baseSpec('kdump'), (b, l) => {
    const sub = l['subHeader']!.offset;
    dv(b).setBigInt64(sub + 48, -4096n, true); // offset_note
    dv(b).setBigInt64(sub + 32, 1n << 50n, true); // offset_vmcoreinfo
    return b;
  });
  const d = openDump(path);
  t.deepEqual(problems(d), ['dump-inconsistent:offset_note', 'dump-inconsistent:offset_vmcoreinfo', 'dump-inconsistent:nr_cpus'], 'no CPU notes read, while the header says 2');
  t.is(d.cpus.length, 0);
  t.is(d.vmcoreinfo, undefined);
  d.close();
  const neg = await dumpFile(baseSpec('kdump'), (b) => {
    dv(b).setInt32(432, -2, true);
    return b;
  });
  t.throws(() => openDump(neg.path), { message: /sub_hdr_size -2/ });
  t.is(BLOCK, 4096);
});
