/**
 * What the program takes instead of a damaged VMCOREINFO value, and how it says so
 * (Program.problems). Dumps are written by tools/mkdump; values are those of
 * arch/x86/kernel/crash.c and kernel/vmcore_info.c as a 6.1 kernel writes them
 * (KERNELOFFSET is `_stext` less 0xffffffff81000000 on x86_64).
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDump, type DumpSpec } from '@vmpipe/mkdump';
import { Program } from './program.js';

const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-fallbacks-'));
const INFO = ['OSRELEASE=6.1.0-56-cloud-amd64', 'PAGESIZE=4096', 'SYMBOL(_stext)=ffffffff93c00000', 'SYMBOL(swapper_pg_dir)=ffffffff95610000', 'NUMBER(phys_base)=-1033895936', 'SYMBOL(init_top_pgt)=ffffffff95610000', 'KERNELOFFSET=12c00000', 'CRASHTIME=1764035000', ''].join('\n');
let n = 0;
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

async function open(vmcoreinfo: string, format: DumpSpec['format'] = 'kdump', extra: Partial<DumpSpec> = {}): Promise<Program> {
  const path = join(tmp, `d${n++}`);
  writeFileSync(path, (await writeDump({ format, vmcoreinfo, cpus: [{ prstatusPid: 1, regs: { rip: 0xffffffff93c3d023n } }], ranges: [{ paddr: 0n, pages: 4 }], ...extra })).bytes);
  return Program.open(path);
}
const brief = (p: Program) => p.problems.map((x) => [x.code, x.field, x.used, x.from]);

test('a sound VMCOREINFO: no problems, KERNELOFFSET as written', async (t) => {
  const p = await open(INFO);
  t.deepEqual(p.problems, []);
  t.is(p.kernelOffset, 0x12c00000n);
  p.close();
});

test('KERNELOFFSET=zz: refused, and the offset found again from SYMBOL(_stext)', async (t) => {
  const p = await open(INFO.replace('KERNELOFFSET=12c00000', 'KERNELOFFSET=zz'));
  t.deepEqual(brief(p), [['vmcoreinfo-invalid', 'KERNELOFFSET', undefined, undefined], ['vmcoreinfo-fallback', 'KERNELOFFSET', '0x12c00000', 'SYMBOL(_stext)']]);
  t.is(p.kernelOffset, 0x12c00000n);
  p.close();
});

test('KERNELOFFSET and SYMBOL(_stext) both damaged: assumed 0, and said', async (t) => {
  const p = await open(INFO.replace('KERNELOFFSET=12c00000', 'KERNELOFFSET=').replace('SYMBOL(_stext)=ffffffff93c00000', 'SYMBOL(_stext)=ffffffff93c0zz00'));
  t.deepEqual(brief(p).slice(-1), [['vmcoreinfo-fallback', 'KERNELOFFSET', '0x0', 'assumed']]);
  t.is(p.kernelOffset, 0n);
  p.close();
});

test('an _stext KASLR could not have made (not 2 MiB aligned) is not believed', async (t) => {
  const p = await open(INFO.replace('KERNELOFFSET=12c00000', 'KERNELOFFSET=?').replace('ffffffff93c00000', 'ffffffff93c01000'));
  t.is(p.kernelOffset, 0n);
  t.is(p.problems.at(-1)?.from, 'assumed');
  p.close();
});

test('PAGESIZE=zz: the kdump header\'s block_size; in an ELF dump, 4096 assumed', async (t) => {
  const k = await open(INFO.replace('PAGESIZE=4096', 'PAGESIZE=zz'));
  t.deepEqual(brief(k), [['vmcoreinfo-invalid', 'PAGESIZE', undefined, undefined], ['vmcoreinfo-fallback', 'PAGESIZE', 4096, 'block_size']]);
  k.close();
  const e = await open(INFO.replace('PAGESIZE=4096', 'PAGESIZE=zz'), 'elf');
  t.deepEqual(brief(e).at(-1), ['vmcoreinfo-fallback', 'PAGESIZE', 4096, 'assumed']);
  e.close();
});

test('NUMBER(phys_base)=zz: the kdump sub-header\'s phys_base', async (t) => {
  const p = await open(INFO.replace('NUMBER(phys_base)=-1033895936', 'NUMBER(phys_base)=zz'), 'kdump', { physBase: -1033895936n });
  t.deepEqual(brief(p).at(-1), ['vmcoreinfo-fallback', 'NUMBER(phys_base)', '0x' + BigInt.asUintN(64, -1033895936n).toString(16), 'kdump sub-header']);
  p.close();
});

test('SYMBOL(init_top_pgt) damaged: swapper_pg_dir (the same table) is the root, and said', async (t) => {
  const p = await open(INFO.replace('SYMBOL(init_top_pgt)=ffffffff95610000', 'SYMBOL(init_top_pgt)=-1'));
  t.deepEqual(brief(p).at(-1), ['vmcoreinfo-fallback', 'SYMBOL(init_top_pgt)', '0xffffffff95610000', 'SYMBOL(swapper_pg_dir)']);
  p.close();
});

test('an older kernel\'s VMCOREINFO without SYMBOL(init_top_pgt): swapper_pg_dir, nothing to tell', async (t) => {
  const p = await open(INFO.replace('SYMBOL(init_top_pgt)=ffffffff95610000\n', ''));
  t.deepEqual(p.problems, []);
  p.close();
});

test('no root at all and no kallsyms: no fallback to tell; memory says why when asked', async (t) => {
  const p = await open(INFO.replace('SYMBOL(init_top_pgt)=ffffffff95610000\n', '').replace('SYMBOL(swapper_pg_dir)=ffffffff95610000', 'SYMBOL(swapper_pg_dir)=zz'));
  t.deepEqual(brief(p), [['vmcoreinfo-invalid', 'SYMBOL(swapper_pg_dir)', undefined, undefined]]);
  t.throws(() => p.mem, { message: /neither SYMBOL\(init_top_pgt\) nor SYMBOL\(swapper_pg_dir\)/ });
  p.close();
});
