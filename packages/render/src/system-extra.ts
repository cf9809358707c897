import type { AnyRecord } from '@vmpipe/records';
import { label, type LayoutFactory } from './layout.js';
import { crashDate, systemLayout } from './source.js';

/**
 * The `system` block of source.ts, with the lines crash's `sys` has between
 * CPUS and NODENAME that the kernel readers now fill: DATE (the dump's crash
 * time) and UPTIME (to the last printk; crash reads jiffies).
 */
export const systemExtraLayout: LayoutFactory = (ctx) => {
  const base = systemLayout(ctx);
  return {
    block: base.block,
    flush: () => base.flush(),
    render(record: AnyRecord): string[] {
      const lines = base.render(record);
      const extra: string[] = [];
      if (typeof record.crashTime === 'string') extra.push(label('DATE', crashDate(record.crashTime)));
      if (typeof record.uptime === 'string') extra.push(label('UPTIME', record.uptime));
      const at = lines.findIndex((l) => l.startsWith(label('CPUS', '')));
      if (at < 0 || extra.length === 0) return lines;
      return [...lines.slice(0, at + 1), ...extra, ...lines.slice(at + 1)];
    },
  };
};
