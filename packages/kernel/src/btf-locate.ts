/**
 * Where the kernel's own BTF is when kallsyms does not say: a kernel built
 * without CONFIG_KALLSYMS_ALL (Debian's cloud-arm64) lists text symbols only,
 * so `__start_BTF`/`__stop_BTF` are absent, yet `.BTF` sits in the image's
 * read-only data between `_etext` and `__init_begin` (include/asm-generic/
 * vmlinux.lds.h: the BTF section follows RO_DATA). Its header is
 * include/uapi/linux/btf.h `struct btf_header`: magic 0xeB9F, version 1,
 * flags 0, hdr_len 24, then type_off/type_len/str_off/str_len, types first
 * (type_off 0) and strings right after them (str_off = type_len), the string
 * section starting with the empty string.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import type { Program } from './program.js';

const HEADER = Buffer.from([0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00]);
const CHUNK = 1 << 20;
/** A kernel's BTF is a few MB; anything past this is not a header. */
const MAX_BTF = 256 << 20;

/** The BTF bounds found by scanning the kernel image's read-only data, or undefined. */
export function find_btf_in_image(prog: Program): { start: bigint; stop: bigint } | undefined {
  const from = prog.symbol('_etext');
  const to = prog.symbol('__init_begin');
  if (from === undefined || to === undefined || to <= from || to - from > 1n << 30n) return undefined;
  for (let at = from; at < to; at += BigInt(CHUNK)) {
    const len = Number(to - at < BigInt(CHUNK + 32) ? to - at : BigInt(CHUNK + 32));
    let bytes: Buffer;
    try {
      bytes = Buffer.from(prog.mem.readBytes(at, len));
    } catch (err) {
      if (err instanceof MemoryError) continue;
      throw err;
    }
    for (let i = bytes.indexOf(HEADER); i >= 0 && i < CHUNK; i = bytes.indexOf(HEADER, i + 1)) {
      const hit = check(prog, at + BigInt(i));
      if (hit) return hit;
    }
  }
  return undefined;
}

function check(prog: Program, start: bigint): { start: bigint; stop: bigint } | undefined {
  try {
    const h = Buffer.from(prog.mem.readBytes(start, 24));
    const typeOff = h.readUInt32LE(8);
    const typeLen = h.readUInt32LE(12);
    const strOff = h.readUInt32LE(16);
    const strLen = h.readUInt32LE(20);
    if (typeOff !== 0 || strOff !== typeLen || typeLen === 0 || strLen === 0 || typeLen + strLen > MAX_BTF) return undefined;
    if (prog.mem.readU8(start + 24n + BigInt(strOff)) !== 0) return undefined;
    return { start, stop: start + 24n + BigInt(strOff) + BigInt(strLen) };
  } catch {
    return undefined;
  }
}
