import type { AnyRecord } from '@vmpipe/records';
import type { DumpInfo, Layout, RenderContext, RenderOptions } from './layout.js';
import { layouts } from './registry.js';
import { fallbackLayout } from './fallback.js';

/**
 * Records in, the lines a kernel engineer reads out. Stateful: `rd` lines
 * gather words from consecutive mem records, so call flush() at end of stream.
 */
export class Renderer {
  private readonly ctx: RenderContext;
  private readonly made = new Map<string, Layout>();
  private readonly dumps = new Map<string, DumpInfo>();
  private active: Layout | null = null; // the layout that may still hold lines
  private dump: string | undefined; // the dump of the lines printed last
  private printed = false;
  private lastBlock = false;
  private afterSeparator = false;

  constructor(opts: RenderOptions) {
    this.ctx = { opts, dumpInfo: (dump) => (typeof dump === 'string' && this.dumps.get(dump)) || {} };
  }

  render(record: AnyRecord): string[] {
    const out: string[] = [];
    const layout = this.layoutFor(record.kind);
    const dump = typeof record.dump === 'string' ? record.dump : undefined;
    // Pending lines belong to what came before: out they go before anything new.
    if (this.active && (layout !== this.active || (dump !== undefined && dump !== this.dump))) {
      this.emit(out, this.active, this.active.flush());
    }
    // Records without a dump (some errors) belong to the dump being shown.
    if (dump !== undefined) {
      if (this.dump !== undefined && dump !== this.dump) {
        out.push(`--- ${dump} ---`);
        this.afterSeparator = true;
      }
      this.dump = dump;
    }
    if (record.kind === 'source' && dump !== undefined) this.learn(dump, record);
    this.emit(out, layout, layout.render(record));
    this.active = layout;
    return out;
  }

  flush(): string[] {
    const out: string[] = [];
    if (this.active) this.emit(out, this.active, this.active.flush());
    this.active = null;
    return out;
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

  /** Blocks are set off by a blank line, except at the top and under a separator. */
  private emit(out: string[], layout: Layout, lines: string[]): void {
    if (lines.length === 0) return;
    if (this.printed && !this.afterSeparator && (layout.block || this.lastBlock)) out.push('');
    // A loop, not push(...lines): a huge record's lines would overflow the argument stack.
    for (const line of lines) out.push(line);
    this.printed = true;
    this.afterSeparator = false;
    this.lastBlock = layout.block;
  }

  /** What later layouts need from the source record: arch for registers, byte order for ASCII. */
  private learn(dump: string, record: AnyRecord): void {
    const info: DumpInfo = {};
    if (typeof record.arch === 'string') info.arch = record.arch;
    if (record.endian === 'little' || record.endian === 'big') info.endian = record.endian;
    if (typeof record.pageSize === 'number') info.pageSize = record.pageSize;
    this.dumps.set(dump, info);
  }
}
