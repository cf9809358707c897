/**
 * The lockless printk ringbuffer of Linux 5.10+, read from a dump with
 * VMCOREINFO offsets only. Follows kernel/printk/printk_ringbuffer.{h,c}
 * (6.1): a descriptor ring (`prb_desc` with `state_var` and `text_blk_lpos`,
 * and a parallel `printk_info` array) and a text data ring of blocks that
 * start with the descriptor id. Records are walked from `tail_id` to
 * `head_id` inclusive, as makedumpfile, vmcore-dmesg and crash do, and only
 * `committed` and `finalized` descriptors are read (reserved ones are still
 * being written, reusable ones are free).
 */
import { cString } from '@vmpipe/bytes';
import type { KernelMemory } from '@vmpipe/addrxlat';
import type { LocklessLayout } from './layout.js';
import { Region } from './region.js';
import { callerIdText, PrintkUnavailable, type PrintkItem, type PrintkRecord } from './record.js';

// printk_ringbuffer.h: state_var = 2 state bits (63..62) above the id (64-bit).
const DESC_ID_MASK = (1n << 62n) - 1n;
const DESC_STATE = ['reserved', 'committed', 'finalized', 'reusable'] as const;
// LPOS_DATALESS: bit 0; FAILED_LPOS 0x1, NO_LPOS 0x3.
const NO_LPOS = 3;
const ID_SIZE = 8;

function readPointer(mem: KernelMemory, addr: bigint, what: string): bigint {
  try {
    return mem.readU64(addr);
  } catch (err) {
    throw new PrintkUnavailable(`cannot read ${what} at 0x${addr.toString(16)}: ${(err as Error).message}`, 'printk-unreadable', [], addr);
  }
}

export function* readLockless(mem: KernelMemory, L: LocklessLayout): Generator<PrintkItem> {
  // SYMBOL(prb) is the address of the `prb` pointer; it points at printk_rb_static or printk_rb_dynamic.
  const prbAddr = readPointer(mem, L.prb, 'prb');
  let prb: Buffer;
  try {
    prb = Buffer.from(mem.readBytes(prbAddr, L.printk_ringbuffer.size));
  } catch (err) {
    throw new PrintkUnavailable(`cannot read the printk_ringbuffer at 0x${prbAddr.toString(16)}: ${(err as Error).message}`, 'printk-unreadable', [], prbAddr);
  }
  const dr = L.printk_ringbuffer.desc_ring;
  const tr = L.printk_ringbuffer.text_data_ring;
  const countBits = prb.readUInt32LE(dr + L.prb_desc_ring.count_bits);
  const sizeBits = prb.readUInt32LE(tr + L.prb_data_ring.size_bits);
  // log_buf_len is at most 2^31 (printk.c LOG_BUF_LEN_MAX); descriptors are text size / 32.
  if (countBits > 31 || sizeBits > 31 || sizeBits < 3) {
    throw new PrintkUnavailable(
      `printk_ringbuffer at 0x${prbAddr.toString(16)} is damaged: count_bits ${countBits}, size_bits ${sizeBits}`,
      'printk-log-corrupt',
      [],
      prbAddr,
    );
  }
  const count = 2 ** countBits;
  const dataSize = 2 ** sizeBits;
  const descsAddr = prb.readBigUInt64LE(dr + L.prb_desc_ring.descs);
  const infosAddr = prb.readBigUInt64LE(dr + L.prb_desc_ring.infos);
  const dataAddr = prb.readBigUInt64LE(tr + L.prb_data_ring.data);
  const counter = L.atomic_long_t_counter;
  const headId = prb.readBigUInt64LE(dr + L.prb_desc_ring.head_id + counter) & DESC_ID_MASK;
  const tailId = prb.readBigUInt64LE(dr + L.prb_desc_ring.tail_id + counter) & DESC_ID_MASK;

  const descs = Region.read(mem, descsAddr, count * L.prb_desc.size);
  const infos = Region.read(mem, infosAddr, count * L.printk_info.size);
  const data = Region.read(mem, dataAddr, dataSize);

  let span = (headId - tailId) & DESC_ID_MASK;
  let first = tailId;
  if (span >= BigInt(count)) {
    // tail and head cannot be more than the ring apart: read the last `count` ids up to head.
    yield {
      problem: {
        code: 'printk-desc-damaged',
        message: `prb_desc_ring tail_id ${tailId} and head_id ${headId} are more than ${count} descriptors apart; reading the last ${count}`,
        addr: prbAddr,
      },
    };
    span = BigInt(count - 1);
    first = (headId - span) & DESC_ID_MASK;
  }

  const I = L.printk_info;
  // 5.10+ printk_info: u16 text_len; u8 facility; u8 flags:5, level:3; u32 caller_id. VMCOREINFO
  // exports no offsets for facility and level (crash takes them from debuginfo); they sit right
  // after text_len whenever caller_id follows 4 bytes after it, as it has in every 5.10+ kernel.
  const hasLevel = I.caller_id === I.text_len + 4;

  const holed = descs.holes.length > 0 || infos.holes.length > 0;
  const stateOff = L.prb_desc.state_var + counter;
  let slot = Number(first % BigInt(count));
  for (let n = 0n, id = first; n <= span; n++, id = (id + 1n) & DESC_ID_MASK, slot = (slot + 1) % count) {
    const dOff = slot * L.prb_desc.size;
    const iOff = slot * I.size;
    const descAddr = descsAddr + BigInt(dOff);
    const hole = holed ? (descs.hole(dOff, L.prb_desc.size) ?? infos.hole(iOff, I.size)) : undefined;
    if (hole) {
      yield { problem: { code: hole.code, message: `printk descriptor ${id}: ${hole.message}`, addr: descAddr, id } };
      continue;
    }
    // state_var as 32-bit halves: the state in the top 2 bits, the id below (checked against ours).
    const svLo = descs.u32(dOff + stateOff);
    const svHi = descs.u32(dOff + stateOff + 4);
    const idLo = Number(id & 0xffffffffn);
    const idHi = Number(id >> 32n);
    if (svLo !== idLo || (svHi & 0x3fffffff) !== idHi) {
      // desc_miss. Normal for the head slot when the kernel stopped between moving head_id
      // and setting up the descriptor (desc_reserve); elsewhere the ring is damaged.
      if (id !== headId) {
        const held = descs.u64(dOff + stateOff) & DESC_ID_MASK;
        yield {
          problem: {
            code: 'printk-desc-damaged',
            message: `printk descriptor ${id} at 0x${descAddr.toString(16)} holds id ${held}`,
            addr: descAddr,
            id,
          },
        };
      }
      continue;
    }
    const state = DESC_STATE[svHi >>> 30]!;
    if (state !== 'committed' && state !== 'finalized') continue;

    const seq = infos.u64(iOff + I.seq);
    const tsNsec = infos.u64(iOff + I.ts_nsec);
    const textLen = infos.u16(iOff + I.text_len);
    const record: PrintkRecord = {
      seq,
      tsNsec,
      level: hasLevel ? infos.bytes[iOff + I.text_len + 3]! >> 5 : null,
      facility: hasLevel ? infos.bytes[iOff + I.text_len + 2]! : null,
      flags: hasLevel ? infos.bytes[iOff + I.text_len + 3]! & 0x1f : null,
      callerId: I.caller_id !== null ? callerIdText(infos.u32(iOff + I.caller_id)) : null,
      text: Buffer.alloc(0),
      state,
      id,
      addr: descAddr,
    };
    if (L.dev_printk_info && I.dev_info !== null) {
      const D = L.dev_printk_info;
      const sub = cString(infos.bytes, iOff + I.dev_info + D.subsystem, D.subsystemLength);
      const dev = cString(infos.bytes, iOff + I.dev_info + D.device, D.deviceLength);
      if (sub) record.subsystem = sub;
      if (dev) record.device = dev;
    }

    const lpos = dOff + L.prb_desc.text_blk_lpos;
    // lpos values run from -DATA_SIZE (BLK0_LPOS) upwards modulo 2^64: kept as 32-bit halves,
    // which is all the arithmetic needs with a ring of at most 2^31 bytes.
    const bLo = descs.u32(lpos + L.prb_data_blk_lpos.begin);
    const bHi = descs.u32(lpos + L.prb_data_blk_lpos.begin + 4);
    const nLo = descs.u32(lpos + L.prb_data_blk_lpos.next);
    const nHi = descs.u32(lpos + L.prb_data_blk_lpos.next + 4);
    const where = { addr: descAddr, seq, id };

    // The dump tools' rule: begin and next taken modulo the ring size; equal means no text.
    const mask = dataSize - 1;
    let b = (bLo & mask) >>> 0;
    const e = (nLo & mask) >>> 0;
    if (b === e) {
      record.dataless = bHi === 0 && bLo === NO_LPOS && nHi === 0 && nLo === NO_LPOS ? 'empty' : 'lost';
      if (record.dataless === 'lost') {
        yield { record, problem: { code: 'printk-text-lost', message: `printk record ${seq}: no text block (the kernel could not store its text)`, ...where } };
      } else {
        yield { record };
      }
      continue;
    }
    if (b > e) b = 0; // a wrapped block is stored whole at the start of the ring
    const blockStart = b;
    b += ID_SIZE;
    const len = e - b < textLen ? Math.max(0, e - b) : textLen;
    const textHole = data.hole(blockStart, b - blockStart + len);
    if (textHole) {
      yield { problem: { code: textHole.code, message: `printk record ${seq}: text block at 0x${(dataAddr + BigInt(blockStart)).toString(16)}: ${textHole.message}`, ...where } };
      continue;
    }
    record.text = data.bytes.subarray(b, b + len);
    const damage = checkBlock(bHi, bLo, nHi, nLo, sizeBits, textLen, data.u32(blockStart), data.u32(blockStart + 4), idLo, idHi, id);
    if (damage) {
      yield { record, problem: { code: damage.code, message: `printk record ${seq}: ${damage.message}`, ...where } };
      continue;
    }
    yield { record };
  }
}

/**
 * The kernel's own checks of a text block (get_data(), copy_data() in
 * printk_ringbuffer.c), on lpos values as 32-bit halves: a regular block has
 * begin and next in the same wrap (DATA_WRAPS = lpos >> size_bits) with
 * begin < next; a wrapping one has next one wrap ahead and its data at 0.
 */
function checkBlock(bHi: number, bLo: number, nHi: number, nLo: number, sizeBits: number, textLen: number, blockLo: number, blockHi: number, idLo: number, idHi: number, id: bigint): { code: string; message: string } | null {
  const size = 2 ** sizeBits;
  const sameWrap = bHi === nHi && Math.floor(bLo / size) === Math.floor(nLo / size);
  // begin + size: carry into the high half when it passes 2^32.
  const b2Lo = bLo + size;
  const b2Hi = b2Lo >= 0x100000000 ? (bHi + 1) >>> 0 : bHi;
  const nextWrap = b2Hi === nHi && Math.floor((b2Lo % 0x100000000) / size) === Math.floor(nLo / size);
  let dataSize: number;
  if (sameWrap && bLo < nLo) dataSize = nLo - bLo;
  else if (nextWrap) dataSize = nLo % size;
  else return { code: 'printk-desc-damaged', message: `illegal text block lpos ${lposText(bHi, bLo, nHi, nLo)}` };
  if (bLo % 8 !== 0 || nLo % 8 !== 0 || dataSize < 8) return { code: 'printk-desc-damaged', message: `misaligned text block lpos ${lposText(bHi, bLo, nHi, nLo)}` };
  if (dataSize - 8 < textLen) return { code: 'printk-text-damaged', message: `text_len ${textLen} is longer than its block (${dataSize - 8} bytes)` };
  if (blockLo !== idLo || (blockHi & 0x3fffffff) !== idHi) {
    const blockId = ((BigInt(blockHi) << 32n) | BigInt(blockLo)) & DESC_ID_MASK;
    return { code: 'printk-text-damaged', message: `text block holds descriptor id ${blockId}, not ${id} (overwritten)` };
  }
  return null;
}

function lposText(bHi: number, bLo: number, nHi: number, nLo: number): string {
  return `begin 0x${((BigInt(bHi) << 32n) | BigInt(bLo)).toString(16)} next 0x${((BigInt(nHi) << 32n) | BigInt(nLo)).toString(16)}`;
}


