/**
 * A task's memory map, as crash `vm` shows it: the VMAs of `mm_struct`, kept
 * from 6.1 in the maple tree `mm->mm_mt` (lib/maple_tree.c,
 * include/linux/maple_tree.h), before it in `mm->mmap` (a list through vm_next).
 * Maple tree entries: a node pointer ("enode") has bit 1 set and carries the
 * node type in bits 3-6 (maple_dense 0, maple_leaf_64 1, maple_range_64 2,
 * maple_arange_64 3); the node is at the pointer with its low 8 bits cleared.
 * Range and leaf nodes hold 15 pivots and 16 slots, arange nodes 9 and 10; a
 * leaf's slots are the VMAs, an internal node's the child enodes; NULL slots
 * are gaps or unused. The VMAs come out sorted by vm_start.
 */
import { KernelReadError } from './read.js';
import { StructLayout } from './struct-view.js';
import { d_path } from './files.js';
import type { Program } from './program.js';

export interface Vma {
  vma: bigint;
  start: bigint;
  end: bigint;
  flags: bigint;
  /** the mapped file's path, or '' for an anonymous mapping */
  file: string;
}

const MAX_NODES = 1 << 16;
const isNode = (v: bigint) => (v & 3n) === 2n && v > 4096n;

/** mt_for_each over a maple tree: every non-NULL leaf entry, left to right. */
export function mt_entries(prog: Program, tree: bigint): bigint[] {
  const mt = StructLayout.of(prog, 'maple_tree');
  const node = StructLayout.of(prog, 'maple_node');
  const rangeSlot = BigInt(node.offset('mr64.slot'));
  const arangeSlot = BigInt(node.offset('ma64.slot'));
  const out: bigint[] = [];
  let nodes = 0;
  const walk = (entry: bigint, depth: number) => {
    if (entry === 0n) return;
    if (!isNode(entry)) {
      out.push(entry);
      return;
    }
    if (++nodes > MAX_NODES || depth > 32) throw new KernelReadError('maple tree', `more than ${MAX_NODES} nodes or 32 levels: damaged`);
    const type = Number((entry >> 3n) & 0xfn);
    const addr = entry & ~0xffn;
    const [slotOff, count] = type === 3 ? [arangeSlot, 10] : [rangeSlot, 16];
    const slots = prog.mem.readBytes(addr + slotOff, count * 8);
    const v = new DataView(slots.buffer, slots.byteOffset, slots.byteLength);
    for (let i = 0; i < count; i++) {
      const s = v.getBigUint64(i * 8, true);
      if (s === 0n) continue;
      if (type === 1) {
        if (!isNode(s) && (s & 7n) === 0n) out.push(s); // a leaf: its entries
      } else if (type === 2 || type === 3) walk(s, depth + 1);
    }
  };
  walk(prog.mem.readU64(tree + BigInt(mt.offset('ma_root'))), 0);
  return out;
}

/** for_each_vma: the VMAs of the mm_struct at `mm`, by start address. */
export function for_each_vma(prog: Program, mm: bigint): Vma[] {
  const mmL = StructLayout.of(prog, 'mm_struct');
  const vmaL = StructLayout.of(prog, 'vm_area_struct');
  const fileL = StructLayout.of(prog, 'file');
  let addrs: bigint[];
  if (mmL.has('mm_mt')) addrs = mt_entries(prog, mm + BigInt(mmL.offset('mm_mt')));
  else {
    // before 6.1: the list from mm->mmap through vm_next
    addrs = [];
    for (let v = prog.mem.readU64(mm + BigInt(mmL.offset('mmap'))); v !== 0n && addrs.length < MAX_NODES; v = prog.mem.readU64(v + BigInt(vmaL.offset('vm_next')))) addrs.push(v);
  }
  const out: Vma[] = [];
  for (const a of addrs) {
    const v = vmaL.read(prog, a);
    const filePtr = v.int('vm_file');
    let file = '';
    if (filePtr !== 0n) {
      try {
        const f = fileL.read(prog, filePtr);
        file = d_path(prog, f.int('f_path.mnt'), f.int('f_path.dentry'));
      } catch (err) {
        file = `<${(err as Error).message}>`;
      }
    }
    out.push({ vma: a, start: v.int('vm_start'), end: v.int('vm_end'), flags: v.int('vm_flags'), file });
  }
  return out.sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
}
