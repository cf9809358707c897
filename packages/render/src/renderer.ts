import type { AnyRecord } from '@vmpipe/records';
import type { DumpInfo, Layout, RenderContext, RenderOptions } from './layout.js';
import { layouts } from './registry.js';
import { fallbackLayout } from './fallback.js';

/** Kinds shown only when asked for, with the option that asks (crash's `sys` prints neither). */
const SHOWN_WHEN: Readonly<Record<string, 'vmcoreinfo' | 'cpus'>> = { vmcoreinfo: 'vmcoreinfo', cpu: 'cpus' };

/**
 * Records in, the lines a kernel engineer reads out. Stateful: `rd` lines
 * gather words from consecutive mem records, and a `source` record waits to
 * see what follows it (see RenderOptions.header), so call flush() at end of stream.
 */
export class Renderer {
  private readonly ctx: RenderContext;
  private readonly made = new Map<string, Layout>();
  private readonly dumps = new Map<string, DumpInfo>();
  private readonly sources = new Map<string, AnyRecord>();
  private readonly hiddenCounts = new Map<string, number>();
  private active: Layout | null = null; // the layout that may still hold lines
  private activeDump: string | undefined; // the dump those held lines belong to
  private pending: AnyRecord | null = null; // a source record waiting for what follows it
  private dump: string | undefined; // the dump of the last record shown
  private shownDump: string | undefined; // the dump of the lines printed last
  private printed = false;
  private lastBlock = false;
  private afterSeparator = false;

  constructor(opts: RenderOptions) {
    this.ctx = {
      opts,
      dumpInfo: (dump) => (typeof dump === 'string' && this.dumps.get(dump)) || {},
      source: (dump) => (typeof dump === 'string' ? this.sources.get(dump) : undefined),
    };
  }

  render(record: AnyRecord): string[] {
    const out: string[] = [];
    const option = Object.hasOwn(SHOWN_WHEN, record.kind) ? SHOWN_WHEN[record.kind]! : undefined;
    if (option && !this.ctx.opts[option]) {
      this.hiddenCounts.set(record.kind, (this.hiddenCounts.get(record.kind) ?? 0) + 1);
      return out;
    }
    const dump = typeof record.dump === 'string' ? record.dump : undefined;
    if (record.kind === 'source' && dump !== undefined) {
      // Held until we see whether the dump has anything else to show.
      this.flushActive(out);
      this.showPending(out);
      this.learn(dump, record);
      this.pending = record;
      return out;
    }
    if (this.pending) {
      const same = dump === this.pending.dump;
      if (same && record.kind === 'system') this.pending = null; // the sys block takes it in
      else if (same && !this.ctx.opts.header) this.pending = null; // the dump has something else to show
      else this.showPending(out);
    }
    const layout = this.layoutFor(record.kind);
    // Pending lines belong to what came before: out they go before anything new.
    if (this.active && (layout !== this.active || (dump !== undefined && dump !== this.activeDump))) this.flushActive(out);
    // Records without a dump (some errors) belong to the dump being shown.
    if (dump !== undefined) this.dump = dump;
    this.emit(out, layout, layout.render(record), this.dump);
    this.active = layout;
    this.activeDump = this.dump;
    return out;
  }

  flush(): string[] {
    const out: string[] = [];
    this.flushActive(out);
    this.showPending(out);
    return out;
  }

  /** How many records of each kind were left out (vmcoreinfo, cpu), so a caller can say how to see them. */
  hidden(): ReadonlyMap<string, number> {
    return this.hiddenCounts;
  }

  private flushActive(out: string[]): void {
    if (this.active) this.emit(out, this.active, this.active.flush(), this.activeDump);
    this.active = null;
  }

  /** A source record nothing else took in: its own block. */
  private showPending(out: string[]): void {
    const record = this.pending;
    if (!record) return;
    this.pending = null;
    this.dump = record.dump as string;
    this.emit(out, this.layoutFor('source'), this.layoutFor('source').render(record), this.dump);
  }

  private layoutFor(kind: string): Layout {
    const key = Object.hasOwn(layouts, kind) ? kind : '';
    let layout = this.made.get(key);
    if (!layout) {
      layout = (key ? layouts[key]! : fallbackLayout)(this.ctx);
      this.made.set(key, layout);
    }
    return layout;
  }

  /**
   * A `--- dump ---` separator goes before the first lines of a dump other than
   * the one printed last (never at the top); blocks are set off by a blank
   * line, except at the top and under a separator.
   */
  private emit(out: string[], layout: Layout, lines: string[], dump: string | undefined): void {
    if (lines.length === 0) return;
    if (dump !== undefined) {
      if (this.shownDump !== undefined && dump !== this.shownDump) {
        out.push(`--- ${dump} ---`);
        this.afterSeparator = true;
      }
      this.shownDump = dump;
    }
    if (this.printed && !this.afterSeparator && (layout.block || this.lastBlock)) out.push('');
    // A loop, not push(...lines): a huge record's lines would overflow the argument stack.
    for (const line of lines) out.push(line);
    this.printed = true;
    this.afterSeparator = false;
    this.lastBlock = layout.block;
  }

  /** What later layouts need from the source record: arch for registers, byte order for ASCII, the record for `sys`. */
  private learn(dump: string, record: AnyRecord): void {
    const info: DumpInfo = {};
    if (typeof record.arch === 'string') info.arch = record.arch;
    if (record.endian === 'little' || record.endian === 'big') info.endian = record.endian;
    if (typeof record.pageSize === 'number') info.pageSize = record.pageSize;
    this.dumps.set(dump, info);
    this.sources.set(dump, record);
  }
}
