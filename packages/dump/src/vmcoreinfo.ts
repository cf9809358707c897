/**
 * VMCOREINFO: the KEY=VALUE text the kernel exports for dump tools
 * (kernel/crash_core.c, `VMCOREINFO_*` macros; Documentation/admin-guide/kdump/vmcoreinfo.rst).
 * Keys are kept exactly as written ("SYMBOL(prb)", "OFFSET(page.flags)");
 * the typed accessors read the macro families.
 */
export interface VmcoreinfoLineProblem {
  line: number;
  text: string;
}

/** A value that cannot be true: kept in `entries` as written, never given out by the typed accessors. */
export interface VmcoreinfoInvalid {
  key: string;
  value: string;
  reason: string;
}

const HEX_NUMBER = /^0x[0-9a-f]{1,16}$/i;

/** Largest OFFSET/SIZE/LENGTH believed: no kernel structure or array in VMCOREINFO comes near 1 GiB. */
const MAX_LAYOUT = 1 << 30;

export class Vmcoreinfo {
  readonly entries: Record<string, string> = {};
  readonly problems: VmcoreinfoLineProblem[] = [];
  /** Values checked once here, against their macro's format and each other (OFFSET(s.m) < SIZE(s)). */
  readonly invalid: VmcoreinfoInvalid[] = [];
  /**
   * The note ends inside a line (every line the kernel writes ends in a newline): the text
   * was cut short. That last line is kept out of `entries` (a value cut mid-way, `ffffffff8ae1`,
   * would still look like a hex address) and every key that would have followed is missing.
   */
  readonly cutShort: VmcoreinfoLineProblem | undefined;
  private readonly rejected = new Set<string>();

  constructor(readonly raw: string) {
    const lines = raw.split('\n');
    const last = lines.length - 1;
    let cut: VmcoreinfoLineProblem | undefined;
    lines.forEach((text, i) => {
      const line = text.replace(/\0+$/, '');
      if (line === '') return;
      if (i === last) {
        cut = { line: i + 1, text: line };
        return;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) {
        this.problems.push({ line: i + 1, text: line });
        return;
      }
      this.entries[line.slice(0, eq)] = line.slice(eq + 1);
    });
    this.cutShort = cut;
    this.check();
  }

  /** Every value of a known family, checked against its format; layout values against each other. */
  private check(): void {
    const bad = (key: string, reason: string) => {
      this.invalid.push({ key, value: this.entries[key]!, reason });
      this.rejected.add(key);
    };
    for (const [key, value] of Object.entries(this.entries)) {
      const m = /^(SYMBOL|OFFSET|SIZE|LENGTH|NUMBER)\((.*)\)$/.exec(key);
      if (m?.[1] === 'SYMBOL' || key === 'KERNELOFFSET') {
        if (!/^(0x)?[0-9a-f]+$/i.test(value)) bad(key, 'not a hex address');
        else if (value.replace(/^0x/i, '').replace(/^0+/, '').length > 16) bad(key, 'wider than 64 bits');
      } else if (m?.[1] === 'NUMBER') {
        // NUMBER() is `%ld`, but arm64's arch_crash_save_vmcoreinfo() writes its own NUMBER lines
        // as `0x%llx` (kimage_voffset, PHYS_OFFSET, KERNELPACMASK, TCR_EL1_T1SZ, the region bounds).
        if (!/^-?[0-9]+$/.test(value) && !HEX_NUMBER.test(value)) bad(key, 'not a decimal or 0x-hex number');
        else if (BigInt(value) >= 1n << 64n || BigInt(value) < -(1n << 63n)) bad(key, 'wider than 64 bits');
      } else if (m) {
        if (!/^[0-9]+$/.test(value)) bad(key, 'not an unsigned decimal number');
        else if (Number(value) >= MAX_LAYOUT) bad(key, `${m[1]!.toLowerCase()} of 1 GiB or more`);
      } else if (key === 'PAGESIZE') {
        const n = Number(value);
        if (!/^[0-9]+$/.test(value) || n < 512 || n > 1 << 20 || (n & (n - 1)) !== 0) bad(key, 'not a power of two from 512 to 1 MiB');
      } else if (key === 'CRASHTIME') {
        if (!/^[0-9]+$/.test(value) || Number(value) > 253402300799) bad(key, 'not seconds since 1970 before the year 10000');
      }
    }
    for (const key of Object.keys(this.entries)) {
      const m = /^OFFSET\(([^.()]+)\.(.+)\)$/.exec(key);
      if (!m || this.rejected.has(key)) continue;
      const sizeKey = `SIZE(${m[1]})`;
      const size = this.entries[sizeKey];
      if (size === undefined || this.rejected.has(sizeKey)) continue;
      if (Number(this.entries[key]) >= Number(size)) bad(key, `not inside ${sizeKey}=${size}`);
    }
  }

  /** Whether a key's value was refused by the checks (then its accessor answers undefined). */
  isInvalid(key: string): boolean {
    return this.rejected.has(key);
  }

  /**
   * The macro families with their values typed, for scripts: `symbols` (hex strings with 0x),
   * `offsets`, `sizes`, `lengths` (numbers), `numbers` (numbers, or decimal strings past 2^53).
   */
  grouped(): Record<'symbols' | 'offsets' | 'sizes' | 'lengths' | 'numbers', Record<string, string | number>> {
    const out = { symbols: {}, offsets: {}, sizes: {}, lengths: {}, numbers: {} } as Record<'symbols' | 'offsets' | 'sizes' | 'lengths' | 'numbers', Record<string, string | number>>;
    const families = { SYMBOL: 'symbols', OFFSET: 'offsets', SIZE: 'sizes', LENGTH: 'lengths', NUMBER: 'numbers' } as const;
    for (const [key, value] of Object.entries(this.entries)) {
      const m = /^(SYMBOL|OFFSET|SIZE|LENGTH|NUMBER)\((.+)\)$/.exec(key);
      if (!m || this.rejected.has(key)) continue;
      const family = families[m[1] as keyof typeof families];
      if (family === 'symbols') {
        const v = parseHexValue(value);
        if (v !== undefined) out.symbols[m[2]!] = '0x' + v.toString(16);
      } else if (/^-?[0-9]+$/.test(value)) {
        const n = Number(value);
        out[family][m[2]!] = Number.isSafeInteger(n) ? n : value;
      } else if (family === 'numbers' && HEX_NUMBER.test(value)) {
        const n = BigInt(value);
        out.numbers[m[2]!] = n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : '0x' + n.toString(16);
      }
    }
    return out;
  }

  /** A value as written, unless the checks refused it. */
  get(key: string): string | undefined {
    return this.rejected.has(key) ? undefined : this.entries[key];
  }

  /** The entries the checks did not refuse: what kernel readers should be given. */
  trusted(): Record<string, string> {
    if (this.rejected.size === 0) return this.entries;
    return Object.fromEntries(Object.entries(this.entries).filter(([k]) => !this.rejected.has(k)));
  }

  get osrelease(): string | undefined {
    return this.entries['OSRELEASE'];
  }

  get pageSize(): number | undefined {
    return this.number('PAGESIZE');
  }

  /** KERNELOFFSET is written as bare hex (`%lx`). */
  get kernelOffset(): bigint | undefined {
    const v = this.get('KERNELOFFSET');
    return v === undefined ? undefined : parseHexValue(v);
  }

  /** CRASHTIME is seconds since the epoch, in decimal. */
  get crashTime(): number | undefined {
    return this.number('CRASHTIME');
  }

  /** SYMBOL(x)=hex address (`%lx`). */
  symbol(name: string): bigint | undefined {
    const v = this.get(`SYMBOL(${name})`);
    return v === undefined ? undefined : parseHexValue(v);
  }

  /** OFFSET(a.b), SIZE(x), LENGTH(x) are decimal (`%lu`); NUMBER(x) is signed decimal (`%ld`). */
  offset(member: string): number | undefined {
    return this.number(`OFFSET(${member})`);
  }

  size(type: string): number | undefined {
    return this.number(`SIZE(${type})`);
  }

  length(name: string): number | undefined {
    return this.number(`LENGTH(${name})`);
  }

  /** NUMBER(x): signed decimal, or (arm64's own lines) 0x-hex read as the unsigned 64-bit value written. */
  numberOf(name: string): bigint | undefined {
    const v = this.get(`NUMBER(${name})`);
    return v !== undefined && (/^-?[0-9]+$/.test(v) || HEX_NUMBER.test(v)) ? BigInt(v) : undefined;
  }

  private number(key: string): number | undefined {
    const v = this.get(key);
    if (v === undefined || !/^-?[0-9]+$/.test(v)) return undefined;
    return Number(v);
  }
}

function parseHexValue(v: string): bigint | undefined {
  return /^(0x)?[0-9a-f]+$/i.test(v) ? BigInt(v.startsWith('0x') ? v : '0x' + v) : undefined;
}
