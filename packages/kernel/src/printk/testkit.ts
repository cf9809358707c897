/**
 * Small writers of printk buffers for tests, from the kernel's definitions
 * (printk_ringbuffer.h for 5.10+, struct printk_log for 3.5–5.9), laid out
 * with the VMCOREINFO offsets of Debian's 6.1 kernel (fixtures/real).
 */
import { BufferMemory } from '@vmpipe/addrxlat';

/** The printk entries of fixtures/real's VMCOREINFO (6.1.0-56-cloud-amd64), with this test's symbol address. */
export function locklessEntries(prbSymbol: bigint): Record<string, string> {
  return {
    'SYMBOL(prb)': prbSymbol.toString(16),
    'SIZE(printk_ringbuffer)': '88',
    'OFFSET(printk_ringbuffer.desc_ring)': '0',
    'OFFSET(printk_ringbuffer.text_data_ring)': '48',
    'OFFSET(printk_ringbuffer.fail)': '80',
    'SIZE(prb_desc_ring)': '48',
    'OFFSET(prb_desc_ring.count_bits)': '0',
    'OFFSET(prb_desc_ring.descs)': '8',
    'OFFSET(prb_desc_ring.infos)': '16',
    'OFFSET(prb_desc_ring.head_id)': '24',
    'OFFSET(prb_desc_ring.tail_id)': '32',
    'SIZE(prb_desc)': '24',
    'OFFSET(prb_desc.state_var)': '0',
    'OFFSET(prb_desc.text_blk_lpos)': '8',
    'SIZE(prb_data_blk_lpos)': '16',
    'OFFSET(prb_data_blk_lpos.begin)': '0',
    'OFFSET(prb_data_blk_lpos.next)': '8',
    'SIZE(printk_info)': '88',
    'OFFSET(printk_info.seq)': '0',
    'OFFSET(printk_info.ts_nsec)': '8',
    'OFFSET(printk_info.text_len)': '16',
    'OFFSET(printk_info.caller_id)': '20',
    'OFFSET(printk_info.dev_info)': '24',
    'SIZE(dev_printk_info)': '64',
    'OFFSET(dev_printk_info.subsystem)': '0',
    'LENGTH(printk_info_subsystem)': '16',
    'OFFSET(dev_printk_info.device)': '16',
    'LENGTH(printk_info_device)': '48',
    'SIZE(prb_data_ring)': '32',
    'OFFSET(prb_data_ring.size_bits)': '0',
    'OFFSET(prb_data_ring.data)': '8',
    'OFFSET(prb_data_ring.head_lpos)': '16',
    'OFFSET(prb_data_ring.tail_lpos)': '24',
    'SIZE(atomic_long_t)': '8',
    'OFFSET(atomic_long_t.counter)': '0',
  };
}

export interface RingRecord {
  id: bigint;
  seq: bigint;
  tsNsec: bigint;
  text: string;
  level?: number;
  facility?: number;
  callerId?: number;
  /** desc state: 0 reserved, 1 committed, 2 finalized, 3 reusable */
  state?: number;
  /** text block lpos; computed by the writer when absent */
  begin?: bigint;
  next?: bigint;
  /** id written at the head of the data block (default: id) */
  blockId?: bigint;
  /** id written in state_var (default: id) */
  stateId?: bigint;
  subsystem?: string;
}

export const PRB_SYMBOL = 0xffffffff82000000n;
const PRB = 0xffffffff82001000n;
export const DESCS = 0xffffffff82002000n;
const INFOS = 0xffffffff82010000n;
export const DATA = 0xffffffff82100000n;

/**
 * A lockless ringbuffer of 2^countBits descriptors and 2^sizeBits text bytes.
 * Text blocks are laid out from `startLpos` on, each `[id][text]` aligned to 8,
 * wrapping whole to offset 0 as data_alloc() does.
 */
export function writeRing(records: RingRecord[], opts: { countBits: number; sizeBits: number; startLpos?: bigint; tailId?: bigint; headId?: bigint }): BufferMemory {
  const count = 1 << opts.countBits;
  const size = 1 << opts.sizeBits;
  const descs = Buffer.alloc(count * 24);
  const infos = Buffer.alloc(count * 88);
  const data = Buffer.alloc(size);
  let lpos = opts.startLpos ?? 0n;
  for (const r of records) {
    const text = Buffer.from(r.text, 'latin1');
    let begin = r.begin;
    let next = r.next;
    if (begin === undefined || next === undefined) {
      const blk = BigInt((8 + text.length + 7) & ~7);
      begin = lpos;
      next = lpos + blk;
      // A block that would cross the end of the ring starts over at offset 0 of the next wrap.
      if (begin / BigInt(size) !== (next - 1n) / BigInt(size)) next = ((begin / BigInt(size)) + 1n) * BigInt(size) + blk;
      lpos = next;
    }
    if (r.text.length && begin % 2n === 0n && begin < next) {
      const at = begin / BigInt(size) === (next - 1n) / BigInt(size) ? Number(begin % BigInt(size)) : 0;
      data.writeBigUInt64LE(r.blockId ?? r.id, at);
      text.copy(data, at + 8);
    }
    const slot = Number(r.id % BigInt(count));
    descs.writeBigUInt64LE((BigInt(r.state ?? 2) << 62n) | (r.stateId ?? r.id), slot * 24);
    descs.writeBigUInt64LE(begin, slot * 24 + 8);
    descs.writeBigUInt64LE(next, slot * 24 + 16);
    const i = slot * 88;
    infos.writeBigUInt64LE(r.seq, i);
    infos.writeBigUInt64LE(r.tsNsec, i + 8);
    infos.writeUInt16LE(text.length, i + 16);
    infos[i + 18] = r.facility ?? 0;
    infos[i + 19] = (r.level ?? 6) << 5;
    infos.writeUInt32LE(r.callerId ?? 1, i + 20);
    if (r.subsystem) infos.write(r.subsystem, i + 24, 'latin1');
  }
  const prb = Buffer.alloc(88);
  prb.writeUInt32LE(opts.countBits, 0);
  prb.writeBigUInt64LE(DESCS, 8);
  prb.writeBigUInt64LE(INFOS, 16);
  prb.writeBigUInt64LE(opts.headId ?? records[records.length - 1]!.id, 24);
  prb.writeBigUInt64LE(opts.tailId ?? records[0]!.id, 32);
  prb.writeUInt32LE(opts.sizeBits, 48);
  prb.writeBigUInt64LE(DATA, 56);
  const ptr = Buffer.alloc(8);
  ptr.writeBigUInt64LE(PRB);
  return new BufferMemory().add(PRB_SYMBOL, ptr).add(PRB, prb).add(DESCS, descs).add(INFOS, infos).add(DATA, data);
}
