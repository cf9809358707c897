import type { AnyRecord } from '@vmpipe/records';
import { parseHex, stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

// crash's `sym` and `sym -q` (symbols.c: show_symbol): `<addr> (<type>) <name>`,
// the address as %lx (not padded: `31980 (D) runqueues`), the offset in
// decimal after a `+` when the address asked about lies inside the symbol
// (`init_task+256`), and ` [module]` for module symbols. crash adds the
// source file and line from DWARF; a symbol record carries none.

function symbolLine(record: AnyRecord): string[] {
  const addr = parseHex(record.lookup) ?? parseHex(record.addr);
  if (addr === null || typeof record.name !== 'string' || typeof record.type !== 'string') return [jsonLine(record)];
  const offset = typeof record.offset === 'number' && record.offset > 0 ? `+${record.offset}` : '';
  const module = typeof record.module === 'string' ? ` [${record.module}]` : '';
  return [`${addr.toString(16)} (${record.type}) ${record.name}${offset}${module}`];
}

export const symbolLayout: LayoutFactory = () => stateless(false, symbolLine);
