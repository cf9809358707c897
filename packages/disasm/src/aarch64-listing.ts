/**
 * Reads `aarch64-linux-gnu-objdump -d -w` listings (binutils 2.40): function
 * headers (`ffff8000087d5c44 <sysrq_handle_crash>:`) and instruction lines,
 * whose bytes are one little-endian 32-bit word as a number
 * (`ffff8000087d5c60:\t940f1e05 \tbl\tffff800008b9d474 <panic>`), and
 * objdump's comments after `//` (`b.ne ... // b.any`). The A64 counterpart
 * of objdump-listing.ts, used by the tests and the benchmark.
 */
import { parseListing, splitComment, type ListedFunction } from './objdump-listing.js';

export function parseObjdumpAarch64(listing: string): ListedFunction[] {
  return parseListing(listing, (line) => {
    const m = /^ *([0-9a-f]+):\t([0-9a-f]{8}) \t(.*)$/.exec(line);
    if (!m) return undefined;
    const w = parseInt(m[2]!, 16);
    return { addr: BigInt(`0x${m[1]}`), bytes: Uint8Array.from([w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]), text: m[3]! };
  });
}

/** objdump's A64 instruction text split into the instruction and its `// comment`, single-spaced. */
export function splitAarch64Comment(text: string): { insn: string; comment?: string } {
  return splitComment(text, '//');
}
