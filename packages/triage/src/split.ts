/**
 * Console text to crash reports: a log (console, netconsole, pstore, `dmesg`, syslog,
 * `vmcore-extract --text`) holds any number of oopses. Lines are taken one at a time, so a
 * 100 MB log streams in bounded memory; each report becomes one segment the panic analyser
 * reads on its own.
 *
 * Interleaving: when printk's caller id is printed (`[  T123]`, `[    C1]`,
 * CONFIG_PRINTK_CALLER), lines are sorted into one stream per caller first, so two CPUs
 * oopsing at once give two clean reports. Without caller ids, lines of two reports printed
 * at once stay mixed (the kernel gives nothing to sort them by).
 */
import { analysePanic, logLines, type LogLine } from '@vmpipe/kernel';
import type { CrashReport } from './signature.js';

/** One console line with what its prefixes said. */
export interface ConsoleLine {
  text: string;
  /** 1-based line number in the input */
  line: number;
  caller?: string;
  /** ISO 8601 when the prefix carried a wall-clock date */
  time?: string;
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** Prefixes in the order they nest: syslog/journal, level, printk time, caller id. Each captures what it knows. */
const ISO_PREFIX = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(?:\S+\s+kernel:\s?)?/;
const DMESG_T = /^\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) +(\d+) (\d\d:\d\d:\d\d) (\d{4})\] ?/;
/** `Mar  8 17:07:12 host kernel: `, also with a localised month (`июл 27`, `vas. 19`). */
const SYSLOG = /^\S{2,9}\.? +\d+ \d\d:\d\d:\d\d (?:\S+ )?kernel:\s?/;
const OTHERS = [/^<\d+>/, /^kernel:\s?/, /^\[ *\d+\.\d+\] ?/, /^\[[A-Z][a-z]{2} +\d+ \d\d:\d\d\] ?/, /^\[ *\+\d+\.\d+\] ?/, /^\*\* \d+ printk messages dropped \*\* ?/];
const CALLER = /^\[ *([TC]\d+)\] ?/;

export function consoleLine(raw: string, line: number): ConsoleLine {
  // Pasted logs are often indented; indentation never carries meaning for the report's parser.
  let text = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).trimStart();
  // A console interleaves other output with the kernel's: `panic: runtime e[43204.878510] Kernel panic - ...`.
  const stamp = /\[ *\d+\.\d{6}\]/.exec(text);
  if (stamp && stamp.index > 0 && !/^(<\d+>|\[|\d{4}-\d\d-\d\d|\S{2,9}\.? +\d+ \d\d:|kernel:)/.test(text)) text = text.slice(stamp.index);
  const out: ConsoleLine = { text, line };
  for (let round = 0; round < 6; round++) {
    let m: RegExpExecArray | null;
    if ((m = ISO_PREFIX.exec(text))) {
      const d = new Date(m[1]!.replace(' ', 'T').replace(',', '.'));
      if (!Number.isNaN(d.getTime())) out.time = d.toISOString();
    } else if ((m = DMESG_T.exec(text))) {
      const [hh, mm, ss] = m[3]!.split(':').map(Number) as [number, number, number];
      out.time = new Date(Date.UTC(Number(m[4]), MONTHS[m[1]!] ?? 0, Number(m[2]), hh, mm, ss)).toISOString();
    } else if ((m = CALLER.exec(text))) out.caller = m[1]!;
    else m = SYSLOG.exec(text) ?? OTHERS.map((re) => re.exec(text)).find((x) => x !== null) ?? null;
    if (!m) break;
    text = text.slice(m[0].length);
  }
  out.text = text;
  return out;
}

/** Lines that open a report (the analyser's events, the die line, `cut here`, the panic, sysrq). */
const OPENER = [
  /^-+\[ cut here \]-+$/,
  /^(Oops: )?general protection fault/,
  /^BUG: /,
  /^kernel BUG at /,
  /^Unable to handle kernel /,
  /^list_(del|add) corruption|^list_add double add/,
  /^(watchdog: |NMI watchdog: )?(BUG: soft lockup|Watchdog detected hard LOCKUP)/,
  /^(rcu: )?INFO: rcu_\w+ (self-)?detected/,
  /^INFO: task .* blocked for more than/,
  /^WARNING: /,
  /^UBSAN: /,
  /^refcount_t: /,
  /^Kernel panic - not syncing: /,
  /^(sysrq|SysRq ?): Trigger a crash/,
  /^(Oops: )?(invalid opcode|divide error|stack segment): [0-9a-f]{4} \[#\d+\]/,
  /^Oops: [0-9a-f]{4} \[#\d+\]/,
  /^Internal error: .*: [0-9a-f]{1,16} \[#\d+\]/,
  /^PANIC: double fault/,
];
const PANIC_LINE = /^Kernel panic - not syncing: /;
const DIE = /^(Oops: |Internal error: Oops|.*: [0-9a-f]{3,4} )?.*\[#\d+\]/;
/** Lines that open and name a whole report (causes such as `list_del corruption` are left out: a BUG() may follow them). */
const HEAD = /^(WARNING: |kernel BUG at |(Oops: )?general protection fault|BUG: (unable to handle|kernel NULL|soft lockup|scheduling while|sleeping function|KASAN: |Bad page)|(rcu: )?INFO: (task |rcu_)|UBSAN: |(watchdog: |NMI watchdog: )|Unable to handle kernel |(sysrq|SysRq ?): Trigger a crash)/;
/** Panics that end the report before them (an oops, a WARNING with panic_on_warn, a lockup, sysrq), not a report of their own. */
const CONSEQUENCE = /not syncing: (Fatal exception|panic_on_warn|softlockup|hung_task|Hard LOCKUP|hard LOCKUP|Attempted to kill|Aiee|Oops|sysrq triggered crash|stack-protector|corrupted stack|System is deadlocked|Fatal hardware error|KASAN|UBSAN|kernel stack overflow)/;
const END_TRACE = /^-+\[ end (trace|Kernel panic)/;
const FRAME_TEXT = /[\w.]+\+0x[0-9a-f]+\/0x[0-9a-f]+/;
/** A report longer than this is cut (an oops is a few dozen lines; a stall report with every CPU's trace a few hundred). */
const MAX_SEGMENT = 1500;

interface Segment {
  lines: ConsoleLine[];
  /** the report's body began (its `CPU: n PID: n Comm:` or `RIP:` line): a later opener is another report */
  body: boolean;
  /** the die line (`Oops: 0000 [#1]`) was printed: only its panic can follow in this report */
  died: boolean;
  /** a line that names a whole report was printed (not a cause that a BUG() may follow) */
  headed: boolean;
  sawCallTrace: boolean;
  frames: number;
  ended: boolean;
  panicked: boolean;
}

/**
 * Splits one caller's lines into reports. A new opener starts a new report once the current
 * one is past its opening lines (its task line or RIP printed, its call trace, or its `end
 * trace`), so the lines of one report
 * (`BUG: ...`, `#PF: ...`, `Oops: ... [#1]`, `Kernel panic - not syncing: Fatal exception`)
 * stay together.
 */
class Splitter {
  private cur: Segment | null = null;
  private context: ConsoleLine[] = [];

  push(l: ConsoleLine, emit: (s: ConsoleLine[]) => void): void {
    const opener = OPENER.some((re) => re.test(l.text));
    const cur = this.cur;
    // A console that printed the line twice (two consoles interleaved) has not started a new report.
    const repeated = cur !== null && cur.lines[cur.lines.length - 1]?.text === l.text;
    if (cur && opener && !repeated && this.closable(cur, l.text)) {
      emit(cur.lines);
      this.cur = null;
      this.context = [];
    }
    if (this.cur) {
      this.add(this.cur, l);
      if (this.cur.lines.length >= MAX_SEGMENT) {
        emit(this.cur.lines);
        this.cur = null;
      }
    } else if (opener) {
      this.cur = { lines: [...this.context], body: false, died: false, headed: false, sawCallTrace: false, frames: 0, ended: false, panicked: false };
      this.context = [];
      this.add(this.cur, l);
    } else {
      // A line or two before the opener: a WARN() message printed before its `cut here` by old kernels.
      this.context.push(l);
      if (this.context.length > 2) this.context.shift();
    }
  }

  end(emit: (s: ConsoleLine[]) => void): void {
    if (this.cur) emit(this.cur.lines);
    this.cur = null;
  }

  private add(s: Segment, l: ConsoleLine): void {
    s.lines.push(l);
    const t = l.text;
    if (/^\s*Call Trace:/.test(t) || /^\s*(Backtrace|Call trace):/.test(t)) s.sawCallTrace = true;
    else if (s.sawCallTrace && FRAME_TEXT.test(t)) s.frames++;
    // (Not old kernels' `IP:` line: it comes before the die line, inside the opening.)
    if (/^(CPU: \d+ (UID: \d+ )?PID: \d+ Comm: |RIP: |PC is at |NIP \[|pc : )/.test(t)) s.body = true;
    if (DIE.test(t)) s.died = true;
    if (HEAD.test(t)) s.headed = true;
    if (END_TRACE.test(t)) s.ended = true;
    if (PANIC_LINE.test(t)) s.panicked = true;
  }

  private closable(s: Segment, text: string): boolean {
    // The panic after an oops is the end of that oops's report, also after its `---[ end trace ]---`
    // (arm64 and x86 print the die line's report, end it, then panic with `Fatal exception`).
    if (PANIC_LINE.test(text)) return s.panicked || (s.ended && !(s.died && CONSEQUENCE.test(text))) || (s.headed && !CONSEQUENCE.test(text));
    // Nothing but the panic's own lines follows a panic.
    if (s.panicked) return true;
    if (s.ended || s.frames > 0 || s.body || s.lines.length > 200) return true;
    // A report cut off before its body, then another: a second die line, or a new report's
    // opening line after one that already named its report.
    return (s.died && !DIE.test(text)) || (s.headed && (HEAD.test(text) || /cut here/.test(text)));
  }
}

/** Streaming: feed lines, get reports (each an array of console lines) as they complete. */
export class ReportSplitter {
  private readonly byCaller = new Map<string, Splitter>();
  private readonly out: ConsoleLine[][] = [];
  private sawAny = false;

  push(l: ConsoleLine): ConsoleLine[][] {
    this.sawAny = true;
    const key = l.caller ?? '';
    let s = this.byCaller.get(key);
    if (!s) this.byCaller.set(key, (s = new Splitter()));
    s.push(l, (seg) => this.out.push(seg));
    return this.drain();
  }

  end(): ConsoleLine[][] {
    for (const s of this.byCaller.values()) s.end((seg) => this.out.push(seg));
    return this.drain().sort((a, b) => a[0]!.line - b[0]!.line);
  }

  get empty(): boolean {
    return !this.sawAny;
  }

  private drain(): ConsoleLine[][] {
    return this.out.splice(0, this.out.length);
  }
}

/** A report's lines read by the panic analyser. */
export function reportOf(segment: ConsoleLine[]): CrashReport & { line: number } {
  // Blank lines are console noise here (old kernels print them inside the page-table dump;
  // captures double newlines): the analyser reads a report's lines as consecutive.
  segment = segment.filter((l) => l.text.trim() !== '');
  if (segment.length === 0) segment = [{ text: '', line: 1 }];
  const lines: LogLine[] = logLines(segment.map((l) => ({ text: l.text, seq: BigInt(l.line), tsNsec: null })));
  const info = analysePanic(lines, { warnings: true });
  const texts = segment.map((l) => l.text);
  const head = info.seq === null ? 0 : Math.max(0, segment.findIndex((l) => BigInt(l.line) === info.seq));
  // When the report began: its headline's date, else the nearest dated line after it.
  const time = segment.slice(head).find((l) => l.time !== undefined)?.time ?? segment.find((l) => l.time !== undefined)?.time ?? null;
  return {
    headline: info.headline,
    kind: info.kind,
    message: info.message,
    bugLine: info.bugLine,
    oops: info.oops,
    rip: info.rip,
    lr: info.lr,
    taint: info.taint,
    cpu: info.cpu,
    pid: info.pid,
    comm: info.comm,
    callTrace: info.callTrace,
    lines: texts.slice(head),
    crashTime: time,
    line: segment[head]?.line ?? segment[0]?.line ?? 1,
  };
}
