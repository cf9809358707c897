import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory } from './layout.js';

// crash's `search` (memory.c: display_with_pre_and_post): `ADDR: VALUE `, the
// address unpadded, the value as %lx of the word's width, and a trailing space.

function matchLine(r: AnyRecord): string[] {
  const width = typeof r.width === 'number' ? r.width : 8;
  return [`${hexDigits(parseHex(r.addr) ?? 0n, 0)}: ${hexDigits(parseHex(r.value) ?? 0n, width * 2)} `];
}

export const memMatchLayout: LayoutFactory = () => stateless(false, matchLine);
