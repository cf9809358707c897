import type { AnyRecord } from '@vmpipe/records';

export interface RenderOptions {
  /** Highlight error records in red. Callers pass true only when stdout is a TTY. */
  color: boolean;
  /**
   * Print each dump's `source` block (with vmpipe's facts about the file) even
   * when the stream has other records for that dump. Without it the source
   * block shows only for a dump that has nothing else to show, and a `system`
   * record takes KERNEL and [PARTIAL DUMP] from it into crash's `sys` block.
   */
  header?: boolean;
  /** Show `vmcoreinfo` records (the note's text); hidden by default, as crash's `sys` does not print it. */
  vmcoreinfo?: boolean;
  /** Show `cpu` records (bt's register blocks); hidden by default. */
  cpus?: boolean;
}

/** What the stream has told us about one dump so far (from its `source` record). */
export interface DumpInfo {
  arch?: string;
  endian?: 'little' | 'big';
  pageSize?: number;
}

/** Shared by every layout of one Renderer. */
export interface RenderContext {
  readonly opts: RenderOptions;
  /** Facts learnt from the dump's `source` record, if it came by earlier in the stream. */
  dumpInfo(dump: unknown): DumpInfo;
  /** The dump's `source` record itself, if it came by earlier in the stream. */
  source(dump: unknown): AnyRecord | undefined;
}

/** How one kind (or family of kinds) of record is shown. */
export interface Layout {
  /**
   * A multi-line block (the `sys` block, a register block): the renderer sets
   * it off from whatever comes before and after with one blank line. Line
   * layouts (`rd` lines, errors, JSON) stay tight so they read as one listing.
   */
  readonly block: boolean;
  /** Lines for this record; a grouping layout may hold some back. */
  render(record: AnyRecord): string[];
  /** Lines held back. Called when another layout or another dump takes over, and at end of stream. */
  flush(): string[];
}

/** A layout is made per Renderer, so grouping state never leaks between streams. */
export type LayoutFactory = (ctx: RenderContext) => Layout;

/** crash's `sys` labels are right-aligned so the colons line up (`LOAD AVERAGE` is the longest). */
export function label(name: string, value: string): string {
  return `${name.padStart(12)}: ${value}`;
}

/** Reads a record's `0x` hex string; null when it is not one. */
export function parseHex(value: unknown): bigint | null {
  if (typeof value !== 'string' || !/^0x[0-9a-f]+$/i.test(value)) return null;
  return BigInt(value);
}

/** A value as crash prints it with `%0<digits>lx`: no 0x, lowercase, zero-padded, never cut. */
export function hexDigits(value: bigint, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** A layout for records that need no state: one call, its lines. */
export function stateless(block: boolean, render: (record: AnyRecord) => string[]): Layout {
  return { block, render, flush: () => [] };
}

/** A table as crash prints one (`ps`, `kmem -s`): its header before the first row of each run of rows. */
export function table(header: string, row: (record: AnyRecord) => string): Layout {
  let started = false;
  return {
    block: false,
    render(record) {
      const lines = started ? [row(record)] : [header, row(record)];
      started = true;
      return lines;
    },
    flush() {
      started = false;
      return [];
    },
  };
}
