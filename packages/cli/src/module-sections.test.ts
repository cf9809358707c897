import test from 'ava';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBin } from './run-bin.test-helper.js';

// module-list --sections on the warn scenario (6.1, crashmod loaded): the kernel's list of a
// module's sections (struct module.sect_attrs, /sys/module/NAME/sections) against where the
// module's own kallsyms put its symbols, each being its section's address plus its value in the .ko.
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', '..', 'fixtures');
const dump = join(fixtures, 'scenarios', '6.1.0-56-cloud-amd64', 'warn', 'vmcore.kdump');
const lean = ['--system-map', join(fixtures, 'real', 'System.map.gz'), '--btf', join(fixtures, 'real', 'vmlinux.btf.zst')];

(existsSync(dump) ? test : test.skip)('module-list --sections: every crashmod symbol sits at its section\'s address plus its value in the .ko', async (t) => {
  const r = await runBin('module-list', [dump, ...lean, '--sections']);
  t.is(r.code, 0, r.err);
  const recs = r.records();
  const crashmod = recs.find((x) => x.kind === 'module' && x.name === 'crashmod')!;
  const sections = crashmod.sections as Record<string, string>;
  t.is(sections['.text'], crashmod.base, 'the core starts with .text');
  // name, section, value: `readelf -sW crashmod.ko` (fixtures/scenarios/6.1.0-56-cloud-amd64/warn/crashmod.ko.zst)
  const symbols: [string, string, bigint][] = [
    ['vmpipe_warn_thread', '.text', 0x140n],
    ['vmpipe_fill', '.text.unlikely', 0x39n],
    ['nr_items', '.data', 0x44n],
    ['vmpipe_timer', '.bss', 0x20n],
  ];
  const resolved = await runBin('sym-resolve', [dump, ...lean, ...symbols.map(([name]) => name)]);
  t.is(resolved.code, 0, resolved.err);
  const addr = new Map(resolved.records().filter((x) => x.kind === 'symbol').map((x) => [x.name as string, BigInt(x.addr)]));
  for (const [name, section, value] of symbols) {
    t.truthy(sections[section], `${section} listed`);
    t.is(BigInt(sections[section]!) + value, addr.get(name)!, `${name} in ${section}`);
  }
  // The cut dump dropped qemu_fw_cfg's list (a slab page): the module is still listed, with an error after it.
  const fw = recs.findIndex((x) => x.kind === 'module' && x.name === 'qemu_fw_cfg');
  t.is(recs[fw]!.sections, null);
  t.like(recs[fw + 1], { kind: 'error', code: 'module-sections-unreadable', module: 'qemu_fw_cfg' });
});
