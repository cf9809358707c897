/**
 * Which printk buffer a kernel has, and where its fields are, from VMCOREINFO
 * alone (kernel/printk/printk.c `log_buf_vmcoreinfo_setup()`, the entries
 * makedumpfile and kexec-tools' vmcore-dmesg read):
 *
 * - `lockless`: the lockless ringbuffer of Linux 5.10+
 *   (kernel/printk/printk_ringbuffer.h): `SYMBOL(prb)` and the SIZE/OFFSET
 *   entries of printk_ringbuffer, prb_desc_ring, prb_desc, prb_data_blk_lpos,
 *   printk_info, prb_data_ring, atomic_long_t.
 * - `structured`: the variable-length record buffer of 3.5–5.9: `log_buf`,
 *   `log_buf_len`, `log_first_idx`, `log_next_idx` and `printk_log`
 *   (called `log` before 3.11).
 * - `plain`: the byte stream of older kernels: `log_buf`, `log_buf_len`, `log_end`.
 */

type Entries = Readonly<Record<string, string>>;

export interface LocklessLayout {
  kind: 'lockless';
  prb: bigint;
  printk_ringbuffer: { size: number; desc_ring: number; text_data_ring: number };
  prb_desc_ring: { count_bits: number; descs: number; infos: number; head_id: number; tail_id: number };
  prb_desc: { size: number; state_var: number; text_blk_lpos: number };
  prb_data_blk_lpos: { begin: number; next: number };
  printk_info: {
    size: number;
    seq: number;
    ts_nsec: number;
    text_len: number;
    caller_id: number | null;
    dev_info: number | null;
  };
  dev_printk_info: { subsystem: number; subsystemLength: number; device: number; deviceLength: number } | null;
  prb_data_ring: { size_bits: number; data: number; head_lpos: number; tail_lpos: number };
  atomic_long_t_counter: number;
}

export interface StructuredLayout {
  kind: 'structured';
  log_buf: bigint;
  log_buf_len: bigint;
  log_first_idx: bigint;
  log_next_idx: bigint;
  /** struct printk_log (struct log before 3.11) */
  printk_log: { size: number; ts_nsec: number; len: number; text_len: number; dict_len: number | null; caller_id: number | null };
}

export interface PlainLayout {
  kind: 'plain';
  log_buf: bigint;
  log_buf_len: bigint;
  log_end: bigint;
}

export type PrintkLayout = LocklessLayout | StructuredLayout | PlainLayout;

/** What is missing when no layout can be built: the keys of the layout the entries come closest to. */
export interface PrintkLayoutMissing {
  kind: 'missing';
  /** the layout the dump seems to have (`lockless` when SYMBOL(prb) is there, ...), or null when nothing is */
  closest: PrintkLayout['kind'] | null;
  missing: string[];
}

class Keys {
  readonly missing: string[] = [];
  constructor(private readonly entries: Entries) {}

  symbol(name: string): bigint {
    const key = `SYMBOL(${name})`;
    const v = this.entries[key];
    if (v === undefined || !/^[0-9a-f]+$/i.test(v)) {
      this.missing.push(key);
      return 0n;
    }
    return BigInt('0x' + v);
  }

  /** OFFSET/SIZE/LENGTH: decimal. */
  num(key: string): number {
    const v = this.entries[key];
    if (v === undefined || !/^[0-9]+$/.test(v)) {
      this.missing.push(key);
      return 0;
    }
    return Number(v);
  }

  optional(key: string): number | null {
    const v = this.entries[key];
    return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : null;
  }

  has(key: string): boolean {
    return this.entries[key] !== undefined;
  }
}

function lockless(entries: Entries): LocklessLayout | PrintkLayoutMissing {
  const k = new Keys(entries);
  const devInfo = k.optional('OFFSET(printk_info.dev_info)');
  const subsystem = k.optional('OFFSET(dev_printk_info.subsystem)');
  const device = k.optional('OFFSET(dev_printk_info.device)');
  const layout: LocklessLayout = {
    kind: 'lockless',
    prb: k.symbol('prb'),
    printk_ringbuffer: {
      size: k.num('SIZE(printk_ringbuffer)'),
      desc_ring: k.num('OFFSET(printk_ringbuffer.desc_ring)'),
      text_data_ring: k.num('OFFSET(printk_ringbuffer.text_data_ring)'),
    },
    prb_desc_ring: {
      count_bits: k.num('OFFSET(prb_desc_ring.count_bits)'),
      descs: k.num('OFFSET(prb_desc_ring.descs)'),
      infos: k.num('OFFSET(prb_desc_ring.infos)'),
      head_id: k.num('OFFSET(prb_desc_ring.head_id)'),
      tail_id: k.num('OFFSET(prb_desc_ring.tail_id)'),
    },
    prb_desc: {
      size: k.num('SIZE(prb_desc)'),
      state_var: k.num('OFFSET(prb_desc.state_var)'),
      text_blk_lpos: k.num('OFFSET(prb_desc.text_blk_lpos)'),
    },
    prb_data_blk_lpos: {
      begin: k.num('OFFSET(prb_data_blk_lpos.begin)'),
      next: k.num('OFFSET(prb_data_blk_lpos.next)'),
    },
    printk_info: {
      size: k.num('SIZE(printk_info)'),
      seq: k.num('OFFSET(printk_info.seq)'),
      ts_nsec: k.num('OFFSET(printk_info.ts_nsec)'),
      text_len: k.num('OFFSET(printk_info.text_len)'),
      caller_id: k.optional('OFFSET(printk_info.caller_id)'),
      dev_info: devInfo,
    },
    dev_printk_info:
      devInfo !== null && subsystem !== null && device !== null
        ? {
            subsystem,
            subsystemLength: k.optional('LENGTH(printk_info_subsystem)') ?? 16,
            device,
            deviceLength: k.optional('LENGTH(printk_info_device)') ?? 48,
          }
        : null,
    prb_data_ring: {
      size_bits: k.num('OFFSET(prb_data_ring.size_bits)'),
      data: k.num('OFFSET(prb_data_ring.data)'),
      head_lpos: k.num('OFFSET(prb_data_ring.head_lpos)'),
      tail_lpos: k.num('OFFSET(prb_data_ring.tail_lpos)'),
    },
    atomic_long_t_counter: k.num('OFFSET(atomic_long_t.counter)'),
  };
  return k.missing.length ? { kind: 'missing', closest: 'lockless', missing: k.missing } : layout;
}

function structured(entries: Entries): StructuredLayout | PrintkLayoutMissing {
  const k = new Keys(entries);
  // 3.5–3.10 called the record `struct log`; 3.11 renamed it `struct printk_log`.
  const name = k.has('SIZE(printk_log)') || !k.has('SIZE(log)') ? 'printk_log' : 'log';
  const layout: StructuredLayout = {
    kind: 'structured',
    log_buf: k.symbol('log_buf'),
    log_buf_len: k.symbol('log_buf_len'),
    log_first_idx: k.symbol('log_first_idx'),
    log_next_idx: k.symbol('log_next_idx'),
    printk_log: {
      size: k.num(`SIZE(${name})`),
      ts_nsec: k.num(`OFFSET(${name}.ts_nsec)`),
      len: k.num(`OFFSET(${name}.len)`),
      text_len: k.num(`OFFSET(${name}.text_len)`),
      // exported since 3.11 (dict_len) and 4.19 with CONFIG_PRINTK_CALLER (caller_id)
      dict_len: k.optional(`OFFSET(${name}.dict_len)`),
      caller_id: k.optional(`OFFSET(${name}.caller_id)`),
    },
  };
  return k.missing.length ? { kind: 'missing', closest: 'structured', missing: k.missing } : layout;
}

function plain(entries: Entries): PlainLayout | PrintkLayoutMissing {
  const k = new Keys(entries);
  const layout: PlainLayout = { kind: 'plain', log_buf: k.symbol('log_buf'), log_buf_len: k.symbol('log_buf_len'), log_end: k.symbol('log_end') };
  return k.missing.length ? { kind: 'missing', closest: 'plain', missing: k.missing } : layout;
}

/**
 * The layout the entries describe, chosen as makedumpfile and vmcore-dmesg
 * choose: `prb` first, then `log_first_idx` (or a printk_log size), then `log_end`.
 */
export function printkLayout(entries: Entries): PrintkLayout | PrintkLayoutMissing {
  if (entries['SYMBOL(prb)'] !== undefined) return lockless(entries);
  if (
    entries['SYMBOL(log_first_idx)'] !== undefined ||
    entries['SIZE(printk_log)'] !== undefined ||
    entries['SIZE(log)'] !== undefined
  ) {
    return structured(entries);
  }
  if (entries['SYMBOL(log_end)'] !== undefined) return plain(entries);
  if (entries['SYMBOL(log_buf)'] !== undefined) {
    // A log_buf with neither record layout nor log_end: say what the structured layout lacks.
    return structured(entries);
  }
  return { kind: 'missing', closest: null, missing: ['SYMBOL(prb)', 'SYMBOL(log_buf)'] };
}
