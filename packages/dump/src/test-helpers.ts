import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDump, type DumpSpec } from '@vmpipe/mkdump';

export const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-dump-test-'));
let n = 0;

/** Writes a dump from a spec (optionally damaged by `mutate`) and returns its path and layout. */
export async function dumpFile(spec: DumpSpec, mutate?: (bytes: Uint8Array, layout: Record<string, { offset: number; size: number }>) => Uint8Array) {
  const w = await writeDump(spec);
  const bytes = mutate ? mutate(Uint8Array.from(w.bytes), w.layout) : w.bytes;
  const path = join(tmp, `dump-${n++}`);
  writeFileSync(path, bytes);
  return { path, layout: w.layout, bytes };
}

export const VMCOREINFO = [
  'OSRELEASE=6.1.0-56-cloud-amd64',
  'BUILD-ID=3b43fad5034874490492495d552c0af6a5fab235',
  'PAGESIZE=4096',
  'SYMBOL(swapper_pg_dir)=ffffffff95610000',
  'OFFSET(page.flags)=0',
  'SIZE(page)=64',
  'NUMBER(phys_base)=-1033895936',
  'KERNELOFFSET=12c00000',
  'CRASHTIME=1764035000',
  '',
].join('\n');

export const REGS0 = { rip: 0xffffffff93c3d023n, rsp: 0xffffd210c0003fc0n, rbp: 0xffff8c7989619040n, rax: 0xffffffff93c6ab00n, eflags: 0x93n, cs: 0x10n, ss: 0x18n, r15: 0xdead000000000122n };
export const REGS1 = { rip: 0xffffffffc03ee230n, rsp: 0xffffd210c0013b78n, rdx: 0x10505n, cs: 0x10n, ss: 0x18n };

/** Two memory ranges with a hole between them, an excluded page, a zero page. */
export function baseSpec(format: DumpSpec['format'], extra: Partial<DumpSpec> = {}): DumpSpec {
  return {
    format,
    vmcoreinfo: VMCOREINFO,
    utsname: { sysname: 'Linux', nodename: 'test', release: '6.1.0-56-cloud-amd64', version: '#1 SMP', machine: 'x86_64', domainname: '(none)' },
    crashTime: 1764035000,
    cpus: [
      { prstatusPid: 44, regs: REGS0 },
      { prstatusPid: 0, regs: REGS1 },
    ],
    ranges: [
      { paddr: 0n, pages: 16 },
      { paddr: 0x100000n, pages: 32 },
    ],
    excluded: [3, 0x100 + 5],
    zeroPages: [4],
    ...extra,
  };
}
