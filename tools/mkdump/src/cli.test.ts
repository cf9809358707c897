// Spec: the mkdump CLI of docs/mkdump.md (JSON spec from a file or stdin, dump to a path).

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDump, specFromJson } from './index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), 'cli.js');

const JSON_SPEC = {
  format: 'flattened',
  codec: 'lzo',
  vmcoreinfo: 'OSRELEASE=6.1.0\nPAGESIZE=4096\n',
  utsname: { release: '6.1.0', nodename: 'cli' },
  crashTime: 1700000000,
  cpus: [{ prstatusPid: 1, regs: { rip: '0xffffffff81000000', rsp: '0xffffc90000003e00', cs: '0x10' } }],
  ranges: [{ paddr: '0x0', pages: 16 }, { paddr: '0x100000', pages: 8 }],
  zeroPages: [3],
  excluded: [4],
  content: { default: 'pattern', pages: { '5': 'incompressible' } },
};

test('cli: spec from a file and from stdin give writeDump()\'s bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mkdump-cli-'));
  try {
    const want = (await writeDump(specFromJson(JSON_SPEC))).bytes;
    const specFile = join(dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(JSON_SPEC));
    const a = spawnSync(process.execPath, [CLI, specFile, join(dir, 'a')], { encoding: 'utf8' });
    t.is(a.status, 0, a.stderr);
    t.deepEqual(new Uint8Array(readFileSync(join(dir, 'a'))), want);
    const b = spawnSync(process.execPath, [CLI, '-', join(dir, 'b'), '--layout'], { input: JSON.stringify(JSON_SPEC), encoding: 'utf8' });
    t.is(b.status, 0, b.stderr);
    t.deepEqual(new Uint8Array(readFileSync(join(dir, 'b'))), want);
    const layout = JSON.parse(b.stdout) as Record<string, { offset: number; size: number }>;
    t.deepEqual(layout.flatHeader, { offset: 0, size: 4096 });
    const c = spawnSync(process.execPath, [CLI, join(dir, 'c')], { input: '{"format":"elf","ranges":[{"paddr":"0x1001","pages":1}]}', encoding: 'utf8' });
    t.is(c.status, 1);
    t.regex(c.stderr, /page-aligned/);
    const d = spawnSync(process.execPath, [CLI], { encoding: 'utf8' });
    t.is(d.status, 2);
    t.regex(d.stderr, /usage: mkdump/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
