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

/**
 * The optional members (caller_id, dev_info, dict_len) that do not fit their
 * structure are left out, each named: the log still reads without them.
 */
export function dropUnfitOptional(layout: PrintkLayout): { layout: PrintkLayout; dropped: string[] } {
  const dropped: string[] = [];
  if (layout.kind === 'lockless') {
    const i = { ...layout.printk_info };
    let dev = layout.dev_printk_info;
    if (i.caller_id !== null && i.caller_id + 4 > i.size) {
      dropped.push(`OFFSET(printk_info.caller_id)=${i.caller_id} ends past SIZE(printk_info)=${i.size}`);
      i.caller_id = null;
    }
    if (i.dev_info !== null && dev && (i.dev_info + dev.subsystem + dev.subsystemLength > i.size || i.dev_info + dev.device + dev.deviceLength > i.size)) {
      dropped.push(`dev_printk_info at OFFSET(printk_info.dev_info)=${i.dev_info} ends past SIZE(printk_info)=${i.size}`);
      i.dev_info = null;
      dev = null;
    }
    return { layout: { ...layout, printk_info: i, dev_printk_info: dev }, dropped };
  }
  if (layout.kind === 'structured') {
    const p = { ...layout.printk_log };
    if (p.dict_len !== null && p.dict_len + 2 > p.size) {
      dropped.push(`OFFSET(printk_log.dict_len)=${p.dict_len} ends past SIZE(printk_log)=${p.size}`);
      p.dict_len = null;
    }
    if (p.caller_id !== null && p.caller_id + 4 > p.size) {
      dropped.push(`OFFSET(printk_log.caller_id)=${p.caller_id} ends past SIZE(printk_log)=${p.size}`);
      p.caller_id = null;
    }
    return { layout: { ...layout, printk_log: p }, dropped };
  }
  return { layout, dropped };
}

/**
 * Members that do not fit the structures VMCOREINFO says hold them: each as
 * `OFFSET(...)=v (+ width) runs past SIZE(...)=n`. A layout with any is not
 * read: every field would be read from the wrong bytes, or past the buffer.
 */
export function printkLayoutProblems(layout: PrintkLayout): string[] {
  const out: string[] = [];
  const fit = (what: string, end: number, within: number, withinName: string) => {
    if (end > within) out.push(`${what} ends at byte ${end}, past ${withinName}=${within}`);
  };
  if (layout.kind === 'lockless') {
    const L = layout;
    const rb = L.printk_ringbuffer.size;
    const c = L.atomic_long_t_counter;
    const d = L.prb_desc_ring;
    const t = L.prb_data_ring;
    for (const [m, end] of [['count_bits', d.count_bits + 4], ['descs', d.descs + 8], ['infos', d.infos + 8], ['head_id', d.head_id + c + 8], ['tail_id', d.tail_id + c + 8]] as const) {
      fit(`OFFSET(printk_ringbuffer.desc_ring)+OFFSET(prb_desc_ring.${m})`, L.printk_ringbuffer.desc_ring + end, rb, 'SIZE(printk_ringbuffer)');
    }
    for (const [m, end] of [['size_bits', t.size_bits + 4], ['data', t.data + 8], ['head_lpos', t.head_lpos + c + 8], ['tail_lpos', t.tail_lpos + c + 8]] as const) {
      fit(`OFFSET(printk_ringbuffer.text_data_ring)+OFFSET(prb_data_ring.${m})`, L.printk_ringbuffer.text_data_ring + end, rb, 'SIZE(printk_ringbuffer)');
    }
    const lpos = Math.max(L.prb_data_blk_lpos.begin, L.prb_data_blk_lpos.next) + 8;
    fit('OFFSET(prb_desc.state_var)', L.prb_desc.state_var + c + 8, L.prb_desc.size, 'SIZE(prb_desc)');
    fit('OFFSET(prb_desc.text_blk_lpos)', L.prb_desc.text_blk_lpos + lpos, L.prb_desc.size, 'SIZE(prb_desc)');
    const i = L.printk_info;
    fit('OFFSET(printk_info.seq)', i.seq + 8, i.size, 'SIZE(printk_info)');
    fit('OFFSET(printk_info.ts_nsec)', i.ts_nsec + 8, i.size, 'SIZE(printk_info)');
    // text_len is a u16 (level and flags after it are read only when caller_id, checked below, follows them).
    fit('OFFSET(printk_info.text_len)', i.text_len + 2, i.size, 'SIZE(printk_info)');
    if (i.caller_id !== null) fit('OFFSET(printk_info.caller_id)', i.caller_id + 4, i.size, 'SIZE(printk_info)');
    if (i.dev_info !== null && L.dev_printk_info) {
      const dv = L.dev_printk_info;
      fit('OFFSET(printk_info.dev_info)+OFFSET(dev_printk_info.subsystem)', i.dev_info + dv.subsystem + dv.subsystemLength, i.size, 'SIZE(printk_info)');
      fit('OFFSET(printk_info.dev_info)+OFFSET(dev_printk_info.device)', i.dev_info + dv.device + dv.deviceLength, i.size, 'SIZE(printk_info)');
    }
    if (L.prb_desc.size === 0) out.push('SIZE(prb_desc) is 0');
    if (L.printk_info.size === 0) out.push('SIZE(printk_info) is 0');
  } else if (layout.kind === 'structured') {
    const p = layout.printk_log;
    fit('OFFSET(printk_log.ts_nsec)', p.ts_nsec + 8, p.size, 'SIZE(printk_log)');
    fit('OFFSET(printk_log.len)', p.len + 2, p.size, 'SIZE(printk_log)');
    // text_len is a u16; facility and flags/level follow it in struct printk_log.
    fit('OFFSET(printk_log.text_len)', p.text_len + 2, p.size, 'SIZE(printk_log)');
    if (p.dict_len !== null) fit('OFFSET(printk_log.dict_len)', p.dict_len + 2, p.size, 'SIZE(printk_log)');
    if (p.caller_id !== null) fit('OFFSET(printk_log.caller_id)', p.caller_id + 4, p.size, 'SIZE(printk_log)');
    if (p.size === 0) out.push('SIZE(printk_log) is 0');
  }
  return out;
}
