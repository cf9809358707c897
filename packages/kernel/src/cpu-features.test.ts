import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cpu_feature_names, Program } from './index.js';

const root = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const real = existsSync(root + 'vmcore.kdump-zlib') ? test : test.skip;

// arch/x86/include/asm/cpufeatures.h: X86_FEATURE_CX16 (4*32+13), X86_FEATURE_LA57 (16*32+16); this kernel has
// NCAPINTS 22, so X86_BUG_F00F, X86_BUG(0), is 22*32; its names as /proc/cpuinfo prints them (capflags.c).
real('x86 feature numbers name as the kernel names them: x86_cap_flags, then x86_bug_flags', (t) => {
  const prog = Program.open(root + 'vmcore.kdump-zlib');
  const names = cpu_feature_names(prog);
  t.is(names.get(4 * 32 + 13), 'cx16');
  t.is(names.get(16 * 32 + 16), 'la57');
  t.is(names.get(0 * 32 + 0), 'fpu');
  t.is(names.get(22 * 32 + 0), 'f00f');
  t.is(names.get(22 * 32 + 2), 'coma');
  t.is(cpu_feature_names(prog), names, 'read once per program');
  prog.close();
});
