/**
 * The names the kernel itself gives its CPU features, by number, as an
 * alternative's `alt_instr` feature field or a cpucap holds them:
 *
 * - x86_64: `x86_cap_flags[NCAPINTS * 32]` (arch/x86/kernel/cpu/capflags.c,
 *   generated from cpufeatures.h): the /proc/cpuinfo flag name of
 *   X86_FEATURE_* number n, NULL or "" for the unnamed.
 * - arm64: `arm64_features[]` and `arm64_errata[]` (arch/arm64/kernel/
 *   cpufeature.c, cpu_errata.c): `struct arm64_cpu_capabilities` with `desc`
 *   and `capability`, each array ending with an empty entry (no `desc` and no
 *   `matches`: ARM64_ALWAYS_BOOT, the first, has no `desc`).
 *
 * Read from the dump, so the names are this kernel's. Empty when the
 * symbols or types are not there.
 */
import { lookupType, memberIfPresent, sizeOf } from '@vmpipe/types';
import type { Program } from './program.js';

/** More entries than any kernel's tables have (x86: NCAPINTS 21 words of 32; arm64: ~100 caps). */
const MAX_FEATURES = 1024;

const names = new WeakMap<Program, Map<number, string>>();

/** Feature number -> the kernel's name for it. Memory that cannot be read ends a table where it is. */
export function cpu_feature_names(prog: Program): Map<number, string> {
  let out = names.get(prog);
  if (out) return out;
  out = new Map();
  names.set(prog, out);
  try {
    if (prog.mem.arch === 'x86_64') x86CapFlags(prog, out);
    else arm64Capabilities(prog, out);
  } catch {
    // a table cut short by the dump keeps what was read
  }
  return out;
}

function x86CapFlags(prog: Program, out: Map<number, string>): void {
  // X86_FEATURE_* n names x86_cap_flags[n]; X86_BUG_* n (NCAPINTS * 32 + i) names x86_bug_flags[i]
  const caps = pointerArray(prog, 'x86_cap_flags');
  caps.forEach((name, n) => name && out.set(n, name));
  pointerArray(prog, 'x86_bug_flags').forEach((name, i) => name && out.set(caps.length + i, name));
}

/** The strings of a `const char *NAME[]`, as long as the symbol's extent (to the next symbol) says. */
function pointerArray(prog: Program, name: string): (string | undefined)[] {
  const table = prog.kernelSymbols.table;
  const sym = table.lookup(name)[0];
  const bytes = sym ? table.extent(sym) : undefined;
  if (!sym || bytes === undefined) return [];
  const out: (string | undefined)[] = [];
  for (let i = 0; i < Math.min(MAX_FEATURES, Math.floor(bytes / 8)); i++) {
    const p = prog.mem.readU64(sym.addr + BigInt(i * 8));
    out.push(p === 0n ? undefined : prog.mem.readCString(p, 64) || undefined);
  }
  return out;
}

function arm64Capabilities(prog: Program, out: Map<number, string>): void {
  const types = prog.types;
  const cap = lookupType(types, 'struct arm64_cpu_capabilities');
  const desc = memberIfPresent(types, 'struct arm64_cpu_capabilities', 'desc');
  const capability = memberIfPresent(types, 'struct arm64_cpu_capabilities', 'capability');
  const matches = memberIfPresent(types, 'struct arm64_cpu_capabilities', 'matches');
  if (!cap || !desc || !capability || capability.size !== 2 || !matches) return;
  const size = sizeOf(types, cap.id);
  for (const table of ['arm64_features', 'arm64_errata']) {
    const at = prog.symbol(table);
    if (at === undefined) continue;
    for (let i = 0; i < MAX_FEATURES; i++) {
      const entry = at + BigInt(i * size);
      const p = prog.mem.readU64(entry + BigInt(desc.offset));
      if (p === 0n && prog.mem.readU64(entry + BigInt(matches.offset)) === 0n) break;
      const n = prog.mem.readU16(entry + BigInt(capability.offset));
      if (p !== 0n && !out.has(n)) out.set(n, prog.mem.readCString(p, 128));
    }
  }
}
