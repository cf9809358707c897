/**
 * Reads `objdump -d -w` listings (binutils 2.40): function headers
 * (`ffffffff816a89f0 <sysrq_handle_crash>:`) and instruction lines
 * (`ffffffff816a89f0:\te8 3b 2d 9c ff       \tcall   ffffffff8106b730 <__fentry__>`).
 * Used by the tests and the benchmark to compare with objdump; also the
 * normal form both sides are compared in.
 */
export interface ListedInstruction {
  addr: bigint;
  bytes: Uint8Array;
  text: string;
}

export interface ListedFunction {
  name: string;
  addr: bigint;
  insns: ListedInstruction[];
}

export function parseObjdump(listing: string): ListedFunction[] {
  const out: ListedFunction[] = [];
  let cur: ListedFunction | undefined;
  for (const line of listing.split('\n')) {
    const h = /^([0-9a-f]+) <(.+)>:$/.exec(line);
    if (h) {
      cur = { name: h[2]!, addr: BigInt(`0x${h[1]}`), insns: [] };
      out.push(cur);
      continue;
    }
    const m = /^ *([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line) ?? /^ *([0-9a-f]+):\t([0-9a-f ]+?)\s*$/.exec(line);
    if (!m || !cur) continue;
    const bytes = Uint8Array.from(m[2]!.trim().split(/\s+/).map((b) => parseInt(b, 16)));
    cur.insns.push({ addr: BigInt(`0x${m[1]}`), bytes, text: m[3] ?? '' });
  }
  return out;
}

/** One space between words, no trailing blanks: objdump pads the mnemonic to a column, we do not. */
export function normalizeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** objdump's instruction text split into the instruction and its `# comment`. */
export function splitComment(text: string): { insn: string; comment?: string } {
  const t = normalizeText(text);
  const j = t.indexOf(' # ');
  return j < 0 ? { insn: t } : { insn: t.slice(0, j), comment: t.slice(j + 3) };
}
