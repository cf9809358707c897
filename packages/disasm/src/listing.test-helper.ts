/**
 * The disassembler tests' comparison with an objdump listing (x86_64.test.ts, aarch64.test.ts):
 * every listed function decoded from its listed bytes, instruction by instruction against the
 * listing; `differs` says how one instruction differs from its line (undefined: the same).
 */
import type { ExecutionContext } from 'ava';
import type { ListedFunction, ListedInstruction } from './objdump-listing.js';

export function compareWithListing<I>(
  t: ExecutionContext,
  file: string,
  fns: ListedFunction[],
  minFunctions: number,
  decode: (bytes: Uint8Array, addr: bigint) => I[],
  differs: (ours: I, listed: ListedInstruction) => string | undefined,
  agreement: string,
): void {
  t.true(fns.length >= minFunctions, `${file}: ${fns.length} functions`);
  let n = 0;
  const bad: string[] = [];
  for (const fn of fns) {
    const bytes = Uint8Array.from(fn.insns.flatMap((i) => [...i.bytes]));
    const ours = decode(bytes, fn.addr);
    if (ours.length !== fn.insns.length) bad.push(`${fn.name}: ${ours.length} instructions, objdump ${fn.insns.length}`);
    for (let k = 0; k < Math.min(ours.length, fn.insns.length); k++) {
      n++;
      const why = differs(ours[k]!, fn.insns[k]!);
      if (why !== undefined) bad.push(`${fn.name} ${fn.insns[k]!.addr.toString(16)}: ${why}`);
    }
  }
  t.deepEqual(bad.slice(0, 20), [], `${bad.length} of ${n} instructions differ`);
  t.log(`${file}: ${fns.length} functions, ${n} instructions, ${agreement}`);
}
