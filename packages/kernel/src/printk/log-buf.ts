/**
 * The printk buffers before the lockless ringbuffer, from VMCOREINFO only.
 *
 * Structured (Linux 3.5–5.9, kernel/printk/printk.c): `log_buf` holds
 * variable-length `struct printk_log` records (`struct log` before 3.11),
 * each `{u64 ts_nsec; u16 len; u16 text_len; u16 dict_len; u8 facility;
 * u8 flags:5, level:3; [u32 caller_id]}` followed by text and dict. They run
 * from `log_first_idx` to `log_next_idx`; a record with `len == 0` marks the
 * end of the buffer and the next record is at index 0 (log_from_idx(),
 * log_next()).
 *
 * Plain (before 3.5): `log_buf` is a byte stream of lines with `<level>`
 * prefixes, `log_end` counts every byte ever written, and the buffer holds
 * the last `log_buf_len` of them (kernel/printk.c of 2.6/3.4).
 */
import type { KernelMemory } from '@vmpipe/addrxlat';
import type { PlainLayout, StructuredLayout } from './layout.js';
import { Region } from './region.js';
import { callerIdText, PrintkUnavailable, type PrintkItem, type PrintkRecord } from './record.js';

function anchors(mem: KernelMemory, reads: [string, bigint, 4 | 8][]): bigint[] {
  return reads.map(([name, addr, width]) => {
    try {
      return width === 8 ? mem.readU64(addr) : BigInt(mem.readU32(addr));
    } catch (err) {
      throw new PrintkUnavailable(`cannot read ${name} at 0x${addr.toString(16)}: ${(err as Error).message}`, 'printk-unreadable', [], addr);
    }
  });
}

/** log_buf_len is an int; 2^31 is the most the kernel allows. */
function checkLength(len: bigint, at: bigint): number {
  if (len <= 0n || len > 1n << 31n) throw new PrintkUnavailable(`log_buf_len ${len} is not a log buffer length`, 'printk-log-corrupt', [], at);
  return Number(len);
}

export function* readStructured(mem: KernelMemory, L: StructuredLayout): Generator<PrintkItem> {
  const [logBuf, lenValue, firstIdx, nextIdx] = anchors(mem, [
    ['log_buf', L.log_buf, 8],
    ['log_buf_len', L.log_buf_len, 4],
    ['log_first_idx', L.log_first_idx, 4],
    ['log_next_idx', L.log_next_idx, 4],
  ]) as [bigint, bigint, bigint, bigint];
  const bufLen = checkLength(lenValue, L.log_buf_len);
  const buf = Region.read(mem, logBuf, bufLen);
  const P = L.printk_log;
  // struct printk_log: u16 text_len; u16 dict_len; u8 facility; u8 flags:5, level:3. VMCOREINFO
  // exports no offsets for facility and level (crash takes them from debuginfo); they follow
  // dict_len, whose offset it does export (else text_len + 2, as in every 3.5+ kernel).
  const dictLen = P.dict_len ?? P.text_len + 2;
  const hasLevel = dictLen === P.text_len + 2 && P.size >= dictLen + 4;
  const callerAt = P.caller_id;

  const corrupt = (idx: number, why: string): PrintkItem => ({
    problem: { code: 'printk-log-corrupt', message: `log_buf record at index ${idx}: ${why}; the rest of the log cannot be followed`, addr: logBuf + BigInt(idx) },
  });

  let idx = Number(firstIdx);
  const end = Number(nextIdx);
  let seq = 0n;
  let wrapped = false;
  const limit = bufLen / Math.max(P.size, 1) + 2; // more records than fit means a cycle
  for (let n = 0; idx !== end; n++) {
    if (n > limit || idx < 0 || idx + P.size > bufLen) {
      yield corrupt(idx, n > limit ? 'the chain of records loops' : 'index outside log_buf');
      return;
    }
    const hole = buf.hole(idx, P.size);
    if (hole) {
      yield { problem: { code: hole.code, message: `log_buf record at index ${idx}: ${hole.message}; the rest of the log cannot be followed`, addr: logBuf + BigInt(idx) } };
      return;
    }
    let len = buf.u16(idx + P.len);
    if (len === 0) {
      // The end-of-buffer marker: this record is really the one at index 0.
      if (wrapped) {
        yield corrupt(idx, 'a second end-of-buffer marker');
        return;
      }
      wrapped = true;
      idx = 0;
      if (idx === end) return;
      len = buf.u16(idx + P.len);
    }
    if (len < P.size || idx + len > bufLen) {
      yield corrupt(idx, `record length ${len}`);
      return;
    }
    const textLen = buf.u16(idx + P.text_len);
    const addr = logBuf + BigInt(idx);
    const flagsLevel = hasLevel ? buf.bytes[idx + dictLen + 3]! : 0;
    const record: PrintkRecord = {
      seq: seq++,
      tsNsec: buf.u64(idx + P.ts_nsec),
      level: hasLevel ? flagsLevel >> 5 : null,
      facility: hasLevel ? buf.bytes[idx + dictLen + 2]! : null,
      flags: hasLevel ? flagsLevel & 0x1f : null,
      callerId: callerAt !== null ? callerIdText(buf.u32(idx + callerAt)) : null,
      text: Buffer.alloc(0),
      addr,
    };
    const textHole = buf.hole(idx + P.size, textLen);
    if (textHole) {
      yield { problem: { code: textHole.code, message: `log_buf record ${record.seq} at index ${idx}: ${textHole.message}`, addr, seq: record.seq } };
    } else if (P.size + textLen > len) {
      // vmcore-dmesg and makedumpfile print text_len bytes regardless.
      record.text = buf.bytes.subarray(idx + P.size, Math.min(idx + P.size + textLen, bufLen));
      yield { record, problem: { code: 'printk-text-damaged', message: `log_buf record ${record.seq}: text_len ${textLen} does not fit its length ${len}`, addr, seq: record.seq } };
    } else {
      record.text = buf.bytes.subarray(idx + P.size, idx + P.size + textLen);
      yield { record };
    }
    idx += len;
  }
}

/** The plain buffer's bytes in order, oldest first, as vmcore-dmesg and makedumpfile take them. */
export function plainBytes(mem: KernelMemory, L: PlainLayout): { bytes: Buffer; holes: Region['holes']; logBuf: bigint; addrOf: (offset: number) => bigint } {
  const [logBuf, lenValue, logEnd] = anchors(mem, [
    ['log_buf', L.log_buf, 8],
    ['log_buf_len', L.log_buf_len, 4],
    // `unsigned log_end` since 2.6.25 (unsigned long before: its low half on little-endian).
    ['log_end', L.log_end, 4],
  ]) as [bigint, bigint, bigint];
  const bufLen = checkLength(lenValue, L.log_buf_len);
  const buf = Region.read(mem, logBuf, bufLen);
  if (logEnd < BigInt(bufLen)) {
    const n = Number(logEnd);
    return { bytes: buf.bytes.subarray(0, n), holes: buf.holes.filter((h) => h.offset < n), logBuf, addrOf: (o) => logBuf + BigInt(o) };
  }
  const split = Number(logEnd % BigInt(bufLen));
  const bytes = Buffer.concat([buf.bytes.subarray(split), buf.bytes.subarray(0, split)]);
  const holes = buf.holes.map((h) => ({ ...h, offset: h.offset >= split ? h.offset - split : h.offset + bufLen - split }));
  return { bytes, holes, logBuf, addrOf: (o) => logBuf + BigInt((o + split) % bufLen) };
}

const PLAIN_LINE = /^<([0-7])>(?:\[\s*([0-9]+)\.([0-9]{6})\] ?)?/;

/** One record per line of the plain buffer: `<level>` and the `[sec.usec]` stamp taken off the text. */
export function* readPlain(mem: KernelMemory, L: PlainLayout): Generator<PrintkItem> {
  const { bytes, holes, addrOf } = plainBytes(mem, L);
  let seq = 0n;
  let start = 0;
  // When the buffer has wrapped, its first line is a tail cut mid-way: the kernel's own
  // readers print it anyway, and so do we.
  while (start < bytes.length) {
    let nl = bytes.indexOf(0x0a, start);
    if (nl < 0) nl = bytes.length;
    const line = bytes.subarray(start, nl);
    const hole = holes.find((h) => h.offset < nl && start < h.offset + h.length);
    if (hole) {
      yield { problem: { code: hole.code, message: `log_buf line at offset ${start}: ${hole.message}`, addr: addrOf(start), seq } };
      seq++;
    } else {
      const m = PLAIN_LINE.exec(line.toString('latin1'));
      const record: PrintkRecord = {
        seq: seq++,
        tsNsec: m?.[2] !== undefined ? BigInt(m[2]) * 1_000_000_000n + BigInt(m[3]!) * 1000n : null,
        level: m ? Number(m[1]) : null,
        facility: null,
        flags: null,
        callerId: null,
        text: m ? line.subarray(m[0].length) : line,
        addr: addrOf(start),
      };
      yield { record };
    }
    start = nl + 1;
  }
}
