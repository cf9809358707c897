// Spec: makedumpfile's flattened format (makedumpfile.h makedumpfile_header /
// makedumpfile_data_header, big-endian int64s, MDF_HEADER_SIZE 4096, -1/-1 end marker).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDump, type DumpSpec } from './index.js';
import { X86_REGS, cstr, parseFlattened, sampleRegs, haveTool } from './testkit.js';

function spec(format: 'kdump' | 'flattened', extra: Partial<DumpSpec> = {}): DumpSpec {
  return {
    format,
    codec: 'zlib',
    vmcoreinfo: 'OSRELEASE=6.1.0\nPAGESIZE=4096\n',
    cpus: [{ prstatusPid: 1, regs: sampleRegs(X86_REGS, 0) }],
    // enough pages that the 64 KiB page-data cache flushes several times
    ranges: [{ paddr: 0n, pages: 160 }, { paddr: 0x200000n, pages: 64 }],
    zeroPages: [3, 4],
    excluded: [100, 101],
    ...extra,
  };
}

for (const codec of ['zlib', 'lzo', 'none'] as const) {
  test(`flattened ${codec}: header, segments, rearranges to the kdump bytes`, async (t) => {
    const kd = await writeDump(spec('kdump', { codec }));
    const fl = await writeDump(spec('flattened', { codec }));
    const b = fl.bytes;
    t.is(cstr(b, 0, 16), 'makedumpfile');
    t.true(b.subarray(12, 16).every((x) => x === 0));
    t.true(b.subarray(32, 4096).every((x) => x === 0));
    const p = parseFlattened(b);
    t.is(p.type, 1n);
    t.is(p.version, 1n);
    t.deepEqual(p.rearranged, kd.bytes);
    t.true(p.segments.length >= 7, `${p.segments.length} segments`);
    // makedumpfile's order: disk_dump_header, notes, sub header, bitmap1, bitmap2, then pages
    t.deepEqual(p.segments[0], { offset: 0, size: 464, at: 4096 + 16 });
    t.is(p.segments[1]!.offset, 4096 + 104);
    t.deepEqual([p.segments[2]!.offset, p.segments[2]!.size], [4096, 104]);
    t.is(p.segments[3]!.offset, kd.layout.bitmap1!.offset);
    t.is(p.segments[4]!.offset, kd.layout.bitmap2!.offset);
    t.is(p.segments[3]!.size, Math.ceil((0x200 + 64) / 8));
    for (const s of p.segments) t.true(s.size <= 65536 + 4096);
    t.deepEqual(fl.layout.flatHeader, { offset: 0, size: 4096 });
    t.deepEqual(fl.layout.endMarker, { offset: b.length - 16, size: 16 });
    t.deepEqual(fl.layout['segment.0.header'], { offset: 4096, size: 16 });
    // kdump structures are located in the stream too
    t.is(cstr(b, fl.layout.header!.offset, 8), 'KDUMP   ');
    t.is(cstr(b, fl.layout.vmcoreinfo!.offset, fl.layout.vmcoreinfo!.size), 'OSRELEASE=6.1.0\nPAGESIZE=4096\n');
  });
}

// Real tool: makedumpfile -R must rebuild exactly the kdump file.
test('makedumpfile -R rearranges the flattened output to the kdump output (only if makedumpfile is installed)', async (t) => {
  if (!haveTool(t, 'makedumpfile')) return;
  const dir = mkdtempSync(join(tmpdir(), 'mkdump-'));
  try {
    for (const codec of ['zlib', 'lzo'] as const) {
      const kd = await writeDump(spec('kdump', { codec }));
      const fl = await writeDump(spec('flattened', { codec }));
      const out = join(dir, `vmcore.${codec}`);
      const r = spawnSync('makedumpfile', ['-R', out], { input: fl.bytes, encoding: 'utf8', timeout: 60000 });
      t.is(r.status, 0, r.stderr + r.stdout);
      t.deepEqual(new Uint8Array(readFileSync(out)), kd.bytes, `${codec}: makedumpfile -R output equals mkdump's kdump`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
