import { stateless, type LayoutFactory } from './layout.js';
import { jsonLine } from './fallback.js';

/**
 * The note's text as the kernel wrote it, which is what `help -D` and
 * `readelf -n` show: keeping it verbatim lets people diff it against them.
 */
export const vmcoreinfoLayout: LayoutFactory = () =>
  stateless(true, (record) => {
    if (typeof record.raw !== 'string') return [jsonLine(record)];
    const lines = record.raw.split('\n');
    // The note ends with a newline (and may be NUL-padded); that is no line of its own.
    while (lines.length > 0 && lines[lines.length - 1]!.replace(/\0/g, '') === '') lines.pop();
    return lines;
  });
