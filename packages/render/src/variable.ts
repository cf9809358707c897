import type { AnyRecord } from '@vmpipe/records';
import { type LayoutFactory } from './layout.js';
import { renderObject } from './object.js';

// crash's `p VAR` (gdb's print with crash's per-CPU names): `VAR = $N = VALUE`
// for a scalar, `per_cpu(VAR, CPU) = $N = ...` for a per-CPU value, and a
// struct's members one per line below `{`, as struct-decode's objects print.
// N counts the values printed, as gdb's history does.

export const variableLayout: LayoutFactory = () => {
  let n = 0;
  return {
    block: false,
    render(r: AnyRecord) {
      n++;
      const label = typeof r.cpu === 'number' ? `per_cpu(${String(r.name)}, ${r.cpu})` : String(r.name);
      const v = r.value;
      if (v === null || typeof v !== 'object') {
        // gdb prints integers in decimal, pointers in hex; the record holds integers past 2^53 as hex.
        const isInt = typeof v === 'string' && /^-?0x[0-9a-f]+$/.test(v) && typeof r.type === 'string' && !r.type.includes('*');
        const shown = isInt ? BigInt(v).toString() : typeof v === 'string' && !/^-?0x/.test(v) ? JSON.stringify(v) : String(v);
        return [`${label} = $${n} = ${shown}`];
      }
      const body = renderObject({ ...r, kind: 'object', value: Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [`[${i}]`, x])) : v }) ?? [JSON.stringify(v)];
      return [`${label} = $${n} = {`, ...body.slice(1, -1), '}'];
    },
    flush: () => [],
  };
};
