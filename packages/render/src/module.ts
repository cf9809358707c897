import type { AnyRecord } from '@vmpipe/records';
import { parseHex, hexDigits, type LayoutFactory } from './layout.js';

// crash's `mod` (kernel.c: cmd_mod/do_module_cmd): a header, then per module
// the struct module address, the name left-justified to the longest name,
// BASE (TEXT_BASE on 6.4+) and SIZE (decimal) of the core layout, and the object file column.
// A row whose record names its .ko (module-list --modules) shows that path as
// crash `mod -S` does; the others say `(not loaded)` as crash does without
// `mod -S`, with `[CONFIG_KALLSYMS]` as the symbols came from the module's kallsyms.
// Rows are sorted by base address, as crash's module table is.

function center(text: string, width: number): string {
  const left = Math.floor((width - text.length) / 2);
  return (' '.repeat(Math.max(0, left)) + text).padEnd(width);
}

export const moduleLayout: LayoutFactory = () => {
  let held: AnyRecord[] = [];
  return {
    block: false,
    render(record) {
      held.push(record);
      return [];
    },
    flush() {
      if (held.length === 0) return [];
      // crash lists modules by address (its module table is sorted), the kernel's list newest first.
      const rows = held.sort((a, b) => Number((parseHex(a.base) ?? 0n) - (parseHex(b.base) ?? 0n)));
      held = [];
      const nameWidth = Math.max(4, ...rows.map((r) => String(r.name ?? '').length));
      const sizeWidth = Math.max(4, ...rows.map((r) => String(r.size ?? '').length));
      // crash 9 heads the column TEXT_BASE where modules have mem[] regions (6.4+, its MODULE_MEMORY())
      const memory = rows.some((r) => Array.isArray(r.regions) && r.regions.some((g: { name?: string }) => String(g.name).startsWith('mem[')));
      const lines = [`${center('MODULE', 16)}  ${'NAME'.padEnd(nameWidth)}  ${center(memory ? 'TEXT_BASE' : 'BASE', 16)}  ${'SIZE'.padStart(sizeWidth)}  OBJECT FILE`];
      for (const r of rows) {
        const addr = parseHex(r.addr) ?? 0n;
        const base = parseHex(r.base) ?? 0n;
        // With module-list --modules, the .ko found: crash `mod -S` prints the path and a space after it.
        const file = typeof r.ko === 'string' ? `${r.ko} ` : '(not loaded)  [CONFIG_KALLSYMS]';
        lines.push(`${hexDigits(addr, 16)}  ${String(r.name).padEnd(nameWidth)}  ${hexDigits(base, 16)}  ${String(r.size).padStart(sizeWidth)}  ${file}`);
      }
      return lines;
    },
  };
};
