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

export class Vmcoreinfo {
  readonly entries: Record<string, string> = {};
  readonly problems: VmcoreinfoLineProblem[] = [];

  constructor(readonly raw: string) {
    const lines = raw.split('\n');
    lines.forEach((text, i) => {
      const line = text.replace(/\0+$/, '');
      if (line === '') return;
      const eq = line.indexOf('=');
      if (eq <= 0) {
        this.problems.push({ line: i + 1, text: line });
        return;
      }
      this.entries[line.slice(0, eq)] = line.slice(eq + 1);
    });
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
      if (!m) continue;
      const family = families[m[1] as keyof typeof families];
      if (family === 'symbols') {
        const v = parseHexValue(value);
        if (v !== undefined) out.symbols[m[2]!] = '0x' + v.toString(16);
      } else if (/^-?[0-9]+$/.test(value)) {
        const n = Number(value);
        out[family][m[2]!] = Number.isSafeInteger(n) ? n : value;
      }
    }
    return out;
  }

  get(key: string): string | undefined {
    return this.entries[key];
  }

  get osrelease(): string | undefined {
    return this.entries['OSRELEASE'];
  }

  get pageSize(): number | undefined {
    return this.number('PAGESIZE');
  }

  /** KERNELOFFSET is written as bare hex (`%lx`). */
  get kernelOffset(): bigint | undefined {
    const v = this.entries['KERNELOFFSET'];
    return v === undefined ? undefined : parseHexValue(v);
  }

  /** CRASHTIME is seconds since the epoch, in decimal. */
  get crashTime(): number | undefined {
    return this.number('CRASHTIME');
  }

  /** SYMBOL(x)=hex address (`%lx`). */
  symbol(name: string): bigint | undefined {
    const v = this.entries[`SYMBOL(${name})`];
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

  numberOf(name: string): bigint | undefined {
    const v = this.entries[`NUMBER(${name})`];
    return v !== undefined && /^-?[0-9]+$/.test(v) ? BigInt(v) : undefined;
  }

  private number(key: string): number | undefined {
    const v = this.entries[key];
    if (v === undefined || !/^-?[0-9]+$/.test(v)) return undefined;
    return Number(v);
  }
}

function parseHexValue(v: string): bigint | undefined {
  return /^(0x)?[0-9a-f]+$/i.test(v) ? BigInt(v.startsWith('0x') ? v : '0x' + v) : undefined;
}
