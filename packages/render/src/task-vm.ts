import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, stateless, type LayoutFactory } from './layout.js';

// crash's `vm` (memory.c: vm_area_dump): the task line, the mm with its page
// table root, RSS and TOTAL_VM in KiB, then one line per VMA (START, END, FLAGS
// in hex, and the mapped file). crash 8.0.2 cannot list 6.1's VMAs (it looks
// for mm_struct.mmap, gone with the maple tree); the lines follow crash 9.0.2's.

const hx = (v: unknown) => hexDigits(parseHex(v) ?? 0n, 0);

/** crash's mkstring(s, size, CENTER|LJUST): centred, the odd space on the right; longer strings as they are. */
function center(s: string, size: number): string {
  const extra = size - s.length;
  if (extra <= 0) return s;
  const left = Math.floor(extra / 2);
  return ' '.repeat(left) + s + ' '.repeat(extra - left);
}

function vm(r: AnyRecord): string[] {
  const lines = [`PID: ${String(r.pid).padEnd(9)}TASK: ${hexDigits(parseHex(r.task) ?? 0n, 16)}  CPU: ${String(r.cpu).padEnd(5)}COMMAND: "${String(r.comm)}"`];
  if (parseHex(r.mm) === 0n || r.mm === undefined) return [...lines, '       MM               PGD          RSS    TOTAL_VM', '0                 0                 0k        0k  '];
  const kib = (v: unknown) => `${Math.floor(Number(v ?? 0) / 1024)}k`;
  lines.push('       MM               PGD          RSS    TOTAL_VM');
  lines.push(`${hexDigits(parseHex(r.mm) ?? 0n, 16)}  ${hexDigits(parseHex(r.pgd) ?? 0n, 16)}  ${center(kib(r.rss), 6)}  ${center(kib(r.totalVm), 8)}`);
  lines.push('      VMA           START       END     FLAGS FILE');
  for (const v of Array.isArray(r.vmas) ? (r.vmas as Record<string, unknown>[]) : []) {
    // memory.c PRINT_VMA_DATA: "%6llx" flags, then a space and the file (a space alone for anonymous memory)
    lines.push(`${hexDigits(parseHex(v.vma) ?? 0n, 16)} ${hx(v.start).padStart(10)} ${hx(v.end).padStart(10)} ${hx(v.flags).padStart(6)} ${String(v.file ?? '')}`);
  }
  return lines;
}

export const taskVmLayout: LayoutFactory = () => stateless(true, vm);
