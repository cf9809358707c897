/**
 * Dumps of older kernels for the structured and plain printk buffers, made
 * with the project's dump writer (tools/mkdump): 4 MiB of physical memory,
 * the kernel image mapped at __START_KERNEL_map by 2 MiB pages through real
 * page tables (PGD[511] -> PUD[510] -> PMD[0..1], Intel SDM 4.5), and the
 * VMCOREINFO entries as those kernels export them (kernel/printk/printk.c
 * log_buf_vmcoreinfo_setup() of 4.19; kernel/kexec.c of 3.4).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeDumpFile, type DumpSpec } from '@vmpipe/mkdump';

export const KTEXT = 0xffffffff80000000n;
const PGD = 0x100000;
const PAGE = 4096;

/** Physical memory of the test kernel: writes bytes at kernel-text vaddrs (paddr = vaddr - KTEXT). */
export class KernelImage {
  readonly mem = Buffer.alloc(4 << 20);
  constructor() {
    // PGD at 0x100000 (init_top_pgt), PUD at 0x101000, PMD at 0x102000; entries present|rw|accessed|dirty.
    this.mem.writeBigUInt64LE(BigInt(PGD + PAGE) | 0x63n, PGD + 511 * 8);
    this.mem.writeBigUInt64LE(BigInt(PGD + 2 * PAGE) | 0x63n, PGD + PAGE + 510 * 8);
    this.mem.writeBigUInt64LE(0x0n | 0xe3n, PGD + 2 * PAGE); // 2 MiB page (PS)
    this.mem.writeBigUInt64LE(0x200000n | 0xe3n, PGD + 2 * PAGE + 8);
  }

  set(vaddr: bigint, bytes: Uint8Array): this {
    this.mem.set(bytes, Number(vaddr - KTEXT));
    return this;
  }

  u64(vaddr: bigint, value: bigint): this {
    this.mem.writeBigUInt64LE(value, Number(vaddr - KTEXT));
    return this;
  }

  u32(vaddr: bigint, value: number): this {
    this.mem.writeUInt32LE(value, Number(vaddr - KTEXT));
    return this;
  }

  /** VMCOREINFO every x86_64 kernel of these years exports for translation. */
  static baseInfo(release: string): string {
    return `OSRELEASE=${release}\nPAGESIZE=4096\nSYMBOL(init_top_pgt)=${(KTEXT + BigInt(PGD)).toString(16)}\nNUMBER(phys_base)=0\nKERNELOFFSET=0\n`;
  }

  async write(vmcoreinfo: string, opts: { excludedVaddrs?: bigint[]; format?: DumpSpec['format'] } = {}): Promise<string> {
    const path = join(mkdtempSync(join(tmpdir(), 'vmpipe-printk-')), 'vmcore');
    const mem = this.mem;
    await writeDumpFile(path, {
      format: opts.format ?? 'kdump',
      vmcoreinfo,
      ranges: [{ paddr: 0n, pages: mem.length / PAGE }],
      content: (pfn) => mem.subarray(pfn * PAGE, (pfn + 1) * PAGE),
      excluded: (opts.excludedVaddrs ?? []).map((v) => Number((v - KTEXT) / BigInt(PAGE))),
      cpus: [{ prstatusPid: 1, regs: {} }],
    });
    return path;
  }
}

/** One struct printk_log record of 4.19 with CONFIG_PRINTK_CALLER: 20-byte header (packed, aligned 4), text, padding to 4. */
export function printkLog(r: { tsNsec: bigint; text: string; level: number; facility?: number; callerId?: number; flags?: number }): Buffer {
  const text = Buffer.from(r.text, 'latin1');
  const len = (20 + text.length + 3) & ~3;
  const b = Buffer.alloc(len);
  b.writeBigUInt64LE(r.tsNsec, 0);
  b.writeUInt16LE(len, 8);
  b.writeUInt16LE(text.length, 10);
  b.writeUInt16LE(0, 12); // dict_len
  b[14] = r.facility ?? 0;
  b[15] = ((r.level & 7) << 5) | ((r.flags ?? 2) & 0x1f);
  b.writeUInt32LE(r.callerId ?? 1, 16);
  text.copy(b, 20);
  return b;
}

export const STRUCTURED_4_19 = (sym: { log_buf: bigint; log_buf_len: bigint; log_first_idx: bigint; clear_idx: bigint; log_next_idx: bigint }) =>
  [
    `SYMBOL(log_buf)=${sym.log_buf.toString(16)}`,
    `SYMBOL(log_buf_len)=${sym.log_buf_len.toString(16)}`,
    `SYMBOL(log_first_idx)=${sym.log_first_idx.toString(16)}`,
    `SYMBOL(clear_idx)=${sym.clear_idx.toString(16)}`,
    `SYMBOL(log_next_idx)=${sym.log_next_idx.toString(16)}`,
    'SIZE(printk_log)=20',
    'OFFSET(printk_log.ts_nsec)=0',
    'OFFSET(printk_log.len)=8',
    'OFFSET(printk_log.text_len)=10',
    'OFFSET(printk_log.dict_len)=12',
    'OFFSET(printk_log.caller_id)=16',
    '',
  ].join('\n');

export const PLAIN_3_4 = (sym: { log_buf: bigint; log_end: bigint; log_buf_len: bigint; logged_chars: bigint }) =>
  [
    `SYMBOL(log_buf)=${sym.log_buf.toString(16)}`,
    `SYMBOL(log_end)=${sym.log_end.toString(16)}`,
    `SYMBOL(log_buf_len)=${sym.log_buf_len.toString(16)}`,
    `SYMBOL(logged_chars)=${sym.logged_chars.toString(16)}`,
    '',
  ].join('\n');
