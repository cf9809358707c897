// Spec: ELF-64 gABI core files (Elf64_Ehdr, Elf64_Phdr, PT_NOTE / PT_LOAD) and Linux
// NT_PRSTATUS / VMCOREINFO notes; readelf(1) as the independent reader where present.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDump, pagePattern, type DumpSpec } from './index.js';
import { X86_REGS, cstr, i32, parseElf, parseNotes, sampleRegs, u32, u64, haveTool } from './testkit.js';

const VMCOREINFO = 'OSRELEASE=6.1.0-elf\nPAGESIZE=4096\nKERNELOFFSET=0\n';

function spec(extra: Partial<DumpSpec> = {}): DumpSpec {
  return {
    format: 'elf',
    vmcoreinfo: VMCOREINFO,
    cpus: [
      { prstatusPid: 100, regs: sampleRegs(X86_REGS, 0) },
      { prstatusPid: 101, regs: sampleRegs(X86_REGS, 1) },
    ],
    ranges: [
      { paddr: 0x1000n, pages: 20, vaddr: 0xffff888000001000n },
      { paddr: 0x100000n, pages: 8 },
    ],
    zeroPages: [2],
    excluded: [5, 6, 0x103],
    ...extra,
  };
}

const expectedLoads = [
  // [paddr, vaddr, pages]
  [0x1000n, 0xffff888000001000n, 4],
  [0x7000n, 0xffff888000007000n, 14],
  [0x100000n, 0n, 3],
  [0x104000n, 0n, 4],
] as const;

for (const [phoff, ehsize] of [
  [64, 64],
  [192, 8],
] as const) {
  test(`elf e_phoff=${phoff} e_ehsize=${ehsize}: headers, PT_NOTE then split PT_LOADs, notes, data`, async (t) => {
    const s = spec(phoff === 64 ? {} : { elf: { phoff, ehsize } });
    const { bytes, layout } = await writeDump(s);
    const e = parseElf(bytes);
    t.deepEqual([...e.ident.subarray(0, 7)], [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    t.is(e.type, 4, 'ET_CORE');
    t.is(e.machine, 62, 'EM_X86_64');
    t.is(e.version, 1);
    t.is(e.phoff, phoff);
    t.is(e.ehsize, ehsize);
    t.is(e.phentsize, 56);
    t.is(e.shoff, 0);
    t.is(e.phnum, 1 + expectedLoads.length);
    if (phoff > 64) t.true(bytes.subarray(64, phoff).every((x) => x === 0));

    const [note, ...loads] = e.phdrs;
    t.is(note!.type, 4, 'PT_NOTE first');
    t.is(note!.offset, phoff + 56 * e.phnum);
    const notes = parseNotes(bytes.subarray(note!.offset, note!.offset + note!.filesz));
    t.deepEqual(notes.map((n) => [n.name, n.type, n.desc.length]), [['CORE', 1, 336], ['CORE', 1, 336], ['VMCOREINFO', 0, VMCOREINFO.length]]);
    t.is(i32(notes[1]!.desc, 32), 101);
    X86_REGS.forEach((r, i) => t.is(u64(notes[1]!.desc, 112 + 8 * i), s.cpus![1]!.regs[r]!));
    t.is(cstr(notes[2]!.desc, 0, 999), VMCOREINFO);

    t.deepEqual(loads.map((l) => [l.type, l.paddr, l.vaddr, l.filesz / 4096, l.memsz / 4096, l.flags]), expectedLoads.map(([p, v, n]) => [1, p, v, n, n, 7]));
    t.is(loads[0]!.offset % 4096, 0, 'page data page-aligned');
    let off = loads[0]!.offset;
    for (const l of loads) {
      t.is(l.offset, off, 'PT_LOADs back to back');
      off += l.filesz;
      for (let i = 0; i < l.filesz / 4096; i++) {
        const pfn = Number(l.paddr / 4096n) + i;
        const want = pfn === 2 ? new Uint8Array(4096) : pagePattern(pfn, 4096);
        t.deepEqual(bytes.subarray(l.offset + 4096 * i, l.offset + 4096 * (i + 1)), want, `pfn ${pfn}`);
      }
    }
    t.is(bytes.length, off);

    t.deepEqual(layout.ehdr, { offset: 0, size: 64 });
    t.deepEqual(layout['phdr.0'], { offset: phoff, size: 56 });
    t.deepEqual(layout['phdr.2'], { offset: phoff + 112, size: 56 });
    t.deepEqual(layout.notes, { offset: note!.offset, size: note!.filesz });
    t.deepEqual(layout['note.prstatus.1'], { offset: note!.offset + notes[1]!.at, size: notes[2]!.at - notes[1]!.at });
    t.deepEqual(layout.vmcoreinfo, { offset: note!.offset + notes[2]!.descAt, size: VMCOREINFO.length });
    t.deepEqual(layout['load.1'], { offset: loads[1]!.offset, size: loads[1]!.filesz });
    t.deepEqual(layout['page.7'], { offset: loads[1]!.offset, size: 4096 });
    t.deepEqual(layout.firstPageData, { offset: loads[0]!.offset, size: 4096 });
  });
}

test('elf arm64: EM_AARCH64, 392-byte prstatus', async (t) => {
  const { bytes } = await writeDump({ format: 'elf', arch: 'arm64', pageSize: 16384, cpus: [{ prstatusPid: 9, regs: { pc: 0xffff800010001000n, sp: 0xffff80001000ff00n } }], ranges: [{ paddr: 0x40000000n, pages: 2 }] });
  const e = parseElf(bytes);
  t.is(e.machine, 183);
  const n = e.phdrs[0]!;
  const notes = parseNotes(bytes.subarray(n.offset, n.offset + n.filesz));
  t.is(notes.length, 1);
  t.is(notes[0]!.desc.length, 392);
  t.is(u64(notes[0]!.desc, 112 + 8 * 32), 0xffff800010001000n);
  t.is(e.phdrs[1]!.offset % 16384, 0);
});

test('elf with QEMU notes (one per CPU, after the PRSTATUS notes)', async (t) => {
  const { bytes } = await writeDump(spec({ qemuCpuState: true }));
  const n = parseElf(bytes).phdrs[0]!;
  const notes = parseNotes(bytes.subarray(n.offset, n.offset + n.filesz));
  t.deepEqual(notes.map((x) => x.name), ['CORE', 'CORE', 'QEMU', 'QEMU', 'VMCOREINFO']);
  t.is(u32(notes[3]!.desc, 4), 440);
});

// Real tool: readelf -n -l reads our program headers and notes the same way.
test('readelf -n -l agrees (only if readelf is installed)', async (t) => {
  if (!haveTool(t, 'readelf')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mkdump-'));
  try {
    for (const phoff of [64, 192]) {
      const s = spec({ qemuCpuState: true, elf: { phoff } });
      const { bytes } = await writeDump(s);
      const f = join(dir, `vmcore.${phoff}`);
      writeFileSync(f, bytes);
      const r = spawnSync('readelf', ['-W', '-n', '-l', f], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
      t.is(r.status, 0, r.stderr);
      const out = r.stdout;
      t.regex(out, /Elf file type is CORE/);
      t.regex(out, new RegExp(`There are 5 program headers, starting at offset ${phoff}`));
      const e = parseElf(bytes);
      const rows = [...out.matchAll(/^\s+(NOTE|LOAD)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\S+)/gm)].map((m) => ({
        type: m[1],
        offset: Number(m[2]),
        vaddr: BigInt(m[3]!),
        paddr: BigInt(m[4]!),
        filesz: Number(m[5]),
        memsz: Number(m[6]),
      }));
      t.deepEqual(
        rows,
        e.phdrs.map((p) => ({ type: p.type === 4 ? 'NOTE' : 'LOAD', offset: p.offset, vaddr: p.vaddr, paddr: p.paddr, filesz: p.filesz, memsz: p.memsz })),
      );
      const notes = [...out.matchAll(/^\s+(CORE|QEMU|VMCOREINFO)\s+(0x[0-9a-f]+)\s+(.*)$/gm)].map((m) => [m[1], Number(m[2]), m[3]!.trim().startsWith('NT_PRSTATUS')]);
      t.deepEqual(notes, [
        ['CORE', 336, true],
        ['CORE', 336, true],
        ['QEMU', 440, false],
        ['QEMU', 440, false],
        ['VMCOREINFO', VMCOREINFO.length, false],
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Real tool: crash(8) -d1 walks the ELF headers and notes without a vmlinux.
test('elf read back by crash -d1 --osrelease (only if crash is installed)', async (t) => {
  if (!haveTool(t, 'crash')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mkdump-'));
  try {
    const f = join(dir, 'vmcore');
    writeFileSync(f, (await writeDump(spec({ qemuCpuState: true }))).bytes);
    const r = spawnSync('crash', ['-d1', '--osrelease', f], { encoding: 'utf8', timeout: 30000 });
    const out = r.stdout + r.stderr;
    t.regex(out, /^6\.1\.0-elf$/m);
    t.regex(out, /num_pt_load_segments: 4/);
    t.regex(out, /num_prstatus_notes: 2/);
    t.regex(out, /num_qemu_notes: 2/);
    t.regex(out, new RegExp(`size_vmcoreinfo: ${VMCOREINFO.length}\\b`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
