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

/**
 * A listing's functions: a header line (`ADDR <name>:`) opens a function, and each line that
 * `instruction` reads as an instruction is added to it (the x86 and A64 lines differ only there).
 */
export function parseListing(listing: string, instruction: (line: string) => ListedInstruction | undefined): ListedFunction[] {
  const out: ListedFunction[] = [];
  let cur: ListedFunction | undefined;
  for (const line of listing.split('\n')) {
    const h = /^([0-9a-f]+) <(.+)>:$/.exec(line);
    if (h) {
      cur = { name: h[2]!, addr: BigInt(`0x${h[1]}`), insns: [] };
      out.push(cur);
      continue;
    }
    const insn = cur && instruction(line);
    if (insn) cur!.insns.push(insn);
  }
  return out;
}

export function parseObjdump(listing: string): ListedFunction[] {
  return parseListing(listing, (line) => {
    const m = /^ *([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line) ?? /^ *([0-9a-f]+):\t([0-9a-f ]+?)\s*$/.exec(line);
    if (!m) return undefined;
    const bytes = Uint8Array.from(m[2]!.trim().split(/\s+/).map((b) => parseInt(b, 16)));
    return { addr: BigInt(`0x${m[1]}`), bytes, text: m[3] ?? '' };
  });
}

/** One space between words, no trailing blanks: objdump pads the mnemonic to a column, we do not. */
export function normalizeText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** objdump's instruction text split into the instruction and its comment (`# ...` on x86, `// ...` on A64). */
export function splitComment(text: string, marker = '#'): { insn: string; comment?: string } {
  const t = normalizeText(text);
  const sep = ` ${marker} `;
  const j = t.indexOf(sep);
  return j < 0 ? { insn: t } : { insn: t.slice(0, j), comment: t.slice(j + sep.length) };
}
