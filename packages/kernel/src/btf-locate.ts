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

/**
 * The BTF bounds found by scanning the kernel image's read-only data, or undefined.
 * The scan runs down from `__init_begin`: `.BTF` ends the read-only data (only `.BTF_ids` and
 * padding follow it), so it reads little more than the BTF itself, which loading it reads anyway.
 */
export function find_btf_in_image(prog: Program): { start: bigint; stop: bigint } | undefined {
  const from = prog.symbol('_etext');
  const to = prog.symbol('__init_begin');
  if (from === undefined || to === undefined || to <= from || to - from > 1n << 30n) return undefined;
  for (let end = to; end > from; end -= BigInt(CHUNK)) {
    const at = end - BigInt(CHUNK) > from ? end - BigInt(CHUNK) : from;
    // 8 bytes past the chunk, so a header across two chunks is seen whole.
    const len = Number((end + 8n < to ? end + 8n : to) - at);
    let bytes: Buffer;
    try {
      bytes = Buffer.from(prog.mem.readBytes(at, len));
    } catch (err) {
      if (err instanceof MemoryError) continue;
      throw err;
    }
    for (let i = bytes.lastIndexOf(HEADER); i >= 0; i = i > 0 ? bytes.lastIndexOf(HEADER, i - 1) : -1) {
      const hit = check(prog, at + BigInt(i), to);
      if (hit) return hit;
    }
  }
  return undefined;
}

function check(prog: Program, start: bigint, limit: bigint): { start: bigint; stop: bigint } | undefined {
  try {
    const h = Buffer.from(prog.mem.readBytes(start, 24));
    const typeOff = h.readUInt32LE(8);
    const typeLen = h.readUInt32LE(12);
    const strOff = h.readUInt32LE(16);
    const strLen = h.readUInt32LE(20);
    if (typeOff !== 0 || strOff !== typeLen || typeLen === 0 || strLen === 0 || typeLen + strLen > MAX_BTF) return undefined;
    if (prog.mem.readU8(start + 24n + BigInt(strOff)) !== 0) return undefined;
    const stop = start + 24n + BigInt(strOff) + BigInt(strLen);
    return stop <= limit ? { start, stop } : undefined;
  } catch {
    return undefined;
  }
}
