import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBtfFile } from '@vmpipe/types';
import { PatchSites, vmlinuxPatchSites } from './patch-sites.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const vmlinux = process.env['VMPIPE_VMLINUX'] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';

test('PatchSites.at: a key or call site by its address, an alternative by overlap', (t) => {
  const sites = new PatchSites([
    { kind: 'static-key', addr: 0x1000n, length: 0, key: 0x9000n },
    { kind: 'static-call', addr: 0x1010n, length: 0, key: 0x9100n },
    { kind: 'alternative', addr: 0x1020n, length: 8, feature: 141 },
    { kind: 'alternative', addr: 0x1028n, length: 4, feature: 26 },
  ]);
  t.is(sites.size, 4);
  t.is(sites.at(0x1000n, 2)?.key, 0x9000n);
  t.is(sites.at(0x1001n, 1), undefined, 'a key site is its instruction\'s address, not a span');
  t.is(sites.at(0x1010n, 5)?.kind, 'static-call');
  t.is(sites.at(0x1020n, 3)?.feature, 141, 'the first instruction of an alternative');
  t.is(sites.at(0x1025n, 3)?.feature, 141, 'one inside it');
  t.is(sites.at(0x101en, 4)?.feature, 141, 'one that runs into it');
  t.is(sites.at(0x1028n, 4)?.feature, 26, 'the next one, starting where the first ends');
  t.is(sites.at(0x102cn, 4), undefined, 'past both');
  t.is(sites.at(0x1018n, 4), undefined, 'between sites');
});

// The fixture kernel's vmlinux (-dbg, outside the repo), its tables read with the layouts of the dump's own BTF,
// against objdump's listing of the same file: every static key's site is a jump or a nop, every static call's
// a call or jump to its trampoline (__SCT__*), every alternative starts at an instruction.
(existsSync(vmlinux) ? test : test.skip)('the fixture vmlinux\'s static keys, static calls and alternatives, against objdump', (t) => {
  const sites = vmlinuxPatchSites(vmlinux, readBtfFile(join(real, 'vmlinux.btf.zst')));
  const all = sites.all();
  const count = (k: string) => all.filter((s) => s.kind === k).length;
  t.true(count('static-key') > 1000 && count('static-call') > 1000 && count('alternative') > 1000, `${count('static-key')} keys, ${count('static-call')} calls, ${count('alternative')} alternatives`);
  // a spread of sites inside .text (objdump reads from one address to the next)
  const text = all.filter((s) => s.addr >= 0xffffffff81000000n && s.addr < 0xffffffff81e01ef2n).sort((a, b) => (a.addr < b.addr ? -1 : 1));
  const sample = text.filter((_, i) => i % Math.ceil(text.length / 60) === 0);
  t.deepEqual([...new Set(sample.map((s) => s.kind))].sort(), ['alternative', 'static-call', 'static-key']);
  for (const s of sample) {
    const out = execFileSync('objdump', ['-d', '-w', `--start-address=0x${s.addr.toString(16)}`, `--stop-address=0x${(s.addr + 16n).toString(16)}`, vmlinux], { encoding: 'utf8' });
    const first = out.split('\n').find((l) => /^ffffffff[0-9a-f]+:\t/.test(l)) ?? '';
    t.true(first.startsWith(`${s.addr.toString(16)}:`), `${s.kind} at ${s.addr.toString(16)} is an instruction boundary: ${first}`);
    const insn = first.split('\t')[2] ?? '';
    if (s.kind === 'static-key') t.regex(insn, /^(jmp|xchg\s+%ax,%ax|nop)/, `static key site ${first}`);
    if (s.kind === 'static-call') t.regex(insn, /^(call|jmp)\s+\S+ <__SCT__/, `static call site ${first}`);
  }
});
