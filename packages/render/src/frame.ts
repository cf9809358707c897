import type { AnyRecord } from '@vmpipe/records';
import { hexDigits, parseHex, type LayoutFactory } from './layout.js';
import { digitsOf, X86_64_BLOCK } from './cpu.js';

/**
 * frame records as crash's `bt` prints them (x86_64.c: x86_64_print_stack_entry,
 * x86_64_print_eframe_regs): a `PID: ... TASK: ... CPU: ... COMMAND: "..."`
 * line when the task changes, ` #N [stack address] function at pc [module]` per frame
 * (the stack address is where pc was read, crash's bracket), and for an
 * exception frame `[exception RIP: name+decimal]` (kernel mode only) and the
 * register block. Frames a guess found end with `(unreliable: scan)`; with
 * --frames the stack words follow, two to a line, as `bt -f` shows them.
 */
/** crash's print_task_header() line (bt, ps -l, ps -t). */
export function taskHeader(r: AnyRecord): string {
  const task = parseHex(r.task);
  const cpu = r.cpu !== undefined ? String(r.cpu) : r.taskCpu !== undefined ? String(r.taskCpu) : '-'; // a sleeping task: the CPU it last ran on, as crash shows
  return `PID: ${String(r.pid ?? '-').padEnd(8)} TASK: ${task === null ? '?' : task.toString(16)}  CPU: ${cpu.padEnd(3)}  COMMAND: "${String(r.comm ?? '')}"`;
}

/** crash's symbol+decimal (rd -s, exception RIP) */
function decimalName(r: AnyRecord): string {
  if (typeof r.function !== 'string') return parseHex(r.pc)?.toString(16).padStart(16, '0') ?? '?';
  const off = typeof r.offset === 'number' && r.offset !== 0 ? `+${r.offset}` : '';
  return `${r.function}${off}`;
}

function regBlock(regs: Record<string, unknown>): string[] {
  return X86_64_BLOCK.map((row) => '    ' + row.map((c) => `${c.label}: ${digitsOf(regs[c.names.find((n) => n in regs) ?? c.names[0]!], c.digits)}`).join('  '));
}

/**
 * An arm64 exception frame as crash's arm64_print_exception_frame prints it
 * (64-bit): kernel mode `PC:`/`LR:` with their symbols and `SP:`/`PSTATE:`, user
 * mode `PC: LR: SP:` on one line; X29..X0 three to a row; user mode ends with
 * `ORIG_X0: SYSCALLNO: PSTATE:`.
 */
function arm64RegBlock(r: AnyRecord, regs: Record<string, unknown>): string[] {
  const reg = (name: string) => digitsOf(regs[name], 16);
  const pstate = digitsOf(regs['pstate'], 8);
  const lines: string[] = [];
  if (r.user) lines.push(`     PC: ${reg('pc')}   LR: ${reg('x30')}   SP: ${reg('sp')}`);
  else {
    const pcName = typeof r.function === 'string' ? `[${decimalName(r)}]` : '[unknown or invalid address]';
    const lrName = typeof r.lrText === 'string' ? `[${r.lrText}]` : '[unknown or invalid address]';
    lines.push(`     PC: ${reg('pc')}  ${pcName}`, `     LR: ${r.lr !== undefined ? digitsOf(r.lr, 16) : reg('x30')}  ${lrName}`, `     SP: ${reg('sp')}  PSTATE: ${pstate}`);
  }
  for (let top = 29; top >= 0; top -= 3) {
    lines.push('    ' + [top, top - 1, top - 2].map((i) => `${i < 10 ? ' ' : ''}X${i}: ${reg(`x${i}`)}`).join('  '));
  }
  if (r.user) lines.push(`    ORIG_X0: ${reg('orig_x0')}  SYSCALLNO: ${(parseHex(regs['syscallno']) ?? 0n).toString(16)}  PSTATE: ${pstate}`);
  return lines;
}

export const frameLayout: LayoutFactory = () => {
  let lastTask: string | undefined;
  let level = 0;
  return {
    block: false,
    render(r: AnyRecord): string[] {
      const lines: string[] = [];
      const key = `${String(r.dump)} ${String(r.task)} ${String(r.cpu)}`;
      if (key !== lastTask || r.level === 0) {
        if (lastTask !== undefined) lines.push('');
        lines.push(taskHeader(r));
        lastTask = key;
        level = 0;
      }
      if (r.method === 'exception' && typeof r.regs === 'object' && r.regs !== null) {
        const regs = r.regs as Record<string, unknown>;
        if ('pstate' in regs) lines.push(...arm64RegBlock(r, regs));
        else {
          if (!r.user) lines.push(`    [exception RIP: ${decimalName(r)}]`);
          lines.push(...regBlock(regs));
        }
        if (r.user) return lines;
        // The interrupted function has no line of its own in crash; its frame goes on from here.
      }
      const at = parseHex(r.slot) ?? parseHex(r.sp);
      const pc = parseHex(r.pc);
      const name = typeof r.function === 'string' ? r.function : '(unknown)';
      const module = typeof r.module === 'string' ? ` [${r.module}]` : '';
      if (r.method !== 'exception') {
        const mark = r.reliable === false ? `  (unreliable: ${String(r.method)})` : '';
        // arm64 (crash's arm64_print_stackframe_entry): the frame pointer in brackets and the branch, pc - 4
        const fp = parseHex(r.fp);
        const shownAt = fp ?? at;
        const shownPc = fp !== null && pc !== null ? pc - 4n : pc;
        lines.push(`${`#${level}`.padStart(3)} [${shownAt === null ? '?' : hexDigits(shownAt, 16)}] ${name} at ${shownPc === null ? '?' : hexDigits(shownPc, 16)}${module}${mark}`);
        level++;
      }
      // crash bt -l: the source line under the frame
      if (typeof r.file === 'string' && typeof r.line === 'number') lines.push(`    ${r.file}: ${r.line}`);
      if (Array.isArray(r.words)) {
        const base = parseHex(r.sp) ?? 0n;
        const words = r.words as unknown[];
        for (let i = 0; i < words.length; i += 2) {
          const cells = words.slice(i, i + 2).map((w) => digitsOf(w, 16)).join(' ');
          lines.push(`    ${hexDigits(base + BigInt(i * 8), 16)}: ${cells} `);
        }
      }
      return lines;
    },
    flush: () => [],
  };
};
