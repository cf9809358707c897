import type { AnyRecord } from '@vmpipe/records';
import { label, type LayoutFactory } from './layout.js';
import { crashDate, systemLayout } from './source.js';

/**
 * The `system` block of source.ts, with the lines crash's `sys` has between
 * CPUS and NODENAME that the kernel readers now fill: DATE (the dump's crash
 * time) and UPTIME (to the last printk; crash reads jiffies), and CPUS's
 * `[OFFLINE: n]`.
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
      if (at < 0) return lines;
      // crash's sys: `CPUS: 2 [OFFLINE: 1]` when some CPUs below nr_cpu_ids were offline.
      const cpus = typeof record.cpusOffline === 'number' && record.cpusOffline > 0 ? `${lines[at]} [OFFLINE: ${record.cpusOffline}]` : lines[at]!;
      return [...lines.slice(0, at), cpus, ...extra, ...lines.slice(at + 1)];
    },
  };
};
