/**
 * Stack scanning, as crash's `bt -t` and the kernel's "?" entries do it:
 * every stack word that is a kernel text address right after a call
 * instruction may be a return address. Nothing proves the frame is live (a
 * stale return address from an earlier call looks the same), so scanned
 * frames are `method: scan`, `reliable: false`: the last resort when ORC and
 * frame pointers cannot go on.
 */
import type { Program } from '../program.js';

/** The bytes before `ret` end with a call (e8 rel32; ff /2 with register, [reg], disp8, disp32 or rip-relative operands, with or without REX). */
export function followsCall(prog: Program, ret: bigint): boolean {
  let b: Uint8Array;
  try {
    b = prog.mem.readBytes(ret - 7n, 7);
  } catch {
    return false;
  }
  const at = (back: number) => b[7 - back]!;
  if (at(5) === 0xe8) return true; // call rel32
  const modrmCall = (modrm: number) => ((modrm >> 3) & 7) === 2;
  // ff /2: 2 bytes (ff d0-d7: register; ff 10-17: [reg]), 3 (REX + that, or disp8 / SIB), 6 (disp32 / rip-relative), 7 (SIB + disp32)
  if (at(2) === 0xff && modrmCall(at(1)) && (at(1) >> 6 === 3 || at(1) >> 6 === 0)) return true;
  if (at(3) === 0xff && modrmCall(at(2))) return true;
  if (at(3) >= 0x40 && at(3) <= 0x4f && at(2) === 0xff && modrmCall(at(1))) return true;
  if (at(6) === 0xff && modrmCall(at(5))) return true;
  if (at(7) === 0xff && modrmCall(at(6))) return true;
  return false;
}

export interface ScanHit {
  /** where the word was found */
  slot: bigint;
  pc: bigint;
}

/** The first word in [from, end) that is a text address after a call, or undefined. `isText` says which addresses are code. */
export function scanForReturn(prog: Program, from: bigint, end: bigint, isText: (a: bigint) => boolean): ScanHit | undefined {
  for (let a = (from + 7n) & ~7n; a + 8n <= end; ) {
    // Read a page's worth at a time; an unreadable page ends the scan.
    const len = Number(end - a < 4096n ? end - a : 4096n - (a & 4095n)) & ~7;
    let bytes: Uint8Array;
    try {
      bytes = prog.mem.readBytes(a, len);
    } catch {
      return undefined;
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i + 8 <= len; i += 8) {
      const w = dv.getBigUint64(i, true);
      if (w >= 0xffff800000000000n && isText(w) && followsCall(prog, w)) return { slot: a + BigInt(i), pc: w };
    }
    a += BigInt(len);
    if (len === 0) break;
  }
  return undefined;
}
