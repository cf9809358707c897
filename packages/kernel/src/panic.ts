/**
 * What went wrong, read from the kernel log the way a kernel engineer reads
 * it: the report the kernel printed (lib/bug.c, arch/x86/kernel/dumpstack.c
 * `__die()`/`show_regs()`, arch/x86/mm/fault.c, arch/arm64/kernel/traps.c `die()`,
 * arch/arm64/kernel/process.c `__show_regs()`, arch/arm64/mm/fault.c `die_kernel_fault()` and
 * `mem_abort_decode()`, kernel/panic.c `panic()` and
 * `__warn()`, kernel/watchdog.c, lib/list_debug.c), parsed into its parts.
 *
 * The headline is the first line that says what went wrong: for an oops the
 * line that opens its report (after `------------[ cut here ]------------`,
 * or the lines before the `[#1]` die line: `BUG: unable to handle page fault
 * ...`, `list_del corruption. ...`, `kernel BUG at ...`), never the
 * `Kernel panic - not syncing: Fatal exception` that follows it.
 */

export type PanicKind =
  | 'panic'
  | 'oops'
  | 'bug'
  | 'gpf'
  | 'page-fault'
  | 'null-deref'
  | 'list-corruption'
  | 'soft-lockup'
  | 'hard-lockup'
  | 'rcu-stall'
  | 'hung-task'
  | 'warning'
  | 'kasan'
  | 'ubsan'
  | 'oom'
  | 'sysrq-crash'
  | 'none';

export interface TraceFrame {
  function: string;
  offset: number;
  size: number;
  module?: string;
  /** false for frames the unwinder printed with `?` (a stale address found on the stack) */
  reliable: boolean;
  /** the address old kernels printed as `[<ffffffff81234567>]` */
  addr?: bigint;
  /** the line as printed */
  line: string;
}

export interface PanicInfo {
  kind: PanicKind;
  headline: string;
  /**
   * The `kernel BUG at ...` (or die) line when an earlier line that says what went wrong took
   * the headline (see `causeBeforeBug`); null otherwise.
   */
  bugLine: string | null;
  /** the `Kernel panic - not syncing: ...` line, when there is one */
  message: string | null;
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  /** the `CPU: 1 PID: 105 Comm: ... Tainted: ... <release> <version>` line cpu, pid and comm came from, as printed */
  cpuLine: string | null;
  /** `Not tainted`, or the flags after `Tainted: ` as printed (`G           OE`) */
  taint: string | null;
  tainted: boolean | null;
  /** the oops line with the die counter: `Oops: 0000 [#1] PREEMPT SMP NOPTI` */
  oops: string | null;
  hardware: string | null;
  modules: string | null;
  rip: string | null;
  /** the bytes of the `Code:` line as printed (`<0f>` marks the faulting byte, arm64 `(f9400042)` the faulting word) */
  code: string | null;
  registers: string[];
  /** arm64: the `lr : __handle_sysrq+0x90/0x19c` line as printed (the caller a leaf function's trace leaves out) */
  lr: string | null;
  /**
   * The register values the report printed as numbers, by the names cpu records use: arm64's
   * `sp`, `x0`..`x29` (`x30` in user mode), `pstate`, `pmr_save`, and `pc`/`lr` when printed as
   * numbers (user mode) rather than as `%pS` symbols. Empty for x86 reports (their lines are in
   * `registers`).
   */
  regs: Record<string, bigint>;
  /** arm64: `ESR = 0x...` of the `Mem abort info:` block (the exception syndrome of the fault) */
  esr: bigint | null;
  /** arm64: the address of `Unable to handle kernel ... at virtual address dead000000000108` */
  faultAddress: bigint | null;
  /** arm64: the `Mem abort info:` / `Data abort info:` block and page-table lines before the die line, as printed */
  abort: string[];
  callTrace: TraceFrame[];
  /** where the headline is: the log record's seq and timestamp */
  seq: bigint | null;
  tsNsec: bigint | null;
}

export interface LogLine {
  text: string;
  seq: bigint | null;
  tsNsec: bigint | null;
}

/** Records (which may hold several lines each) as lines. */
export function logLines(records: Iterable<{ text: string; seq: bigint | null; tsNsec: bigint | null }>): LogLine[] {
  const out: LogLine[] = [];
  for (const r of records) {
    for (const text of r.text.split('\n')) out.push({ text, seq: r.seq, tsNsec: r.tsNsec });
  }
  return out;
}

/** Lines that say what went wrong, and the kind each one names. Order matters: first match wins. */
const EVENTS: [RegExp, PanicKind][] = [
  [/^(Oops: )?general protection fault/, 'gpf'],
  [/^BUG: unable to handle (page fault|kernel paging request)/, 'page-fault'],
  [/^BUG: kernel NULL pointer dereference|^BUG: unable to handle kernel NULL pointer dereference|^Unable to handle kernel NULL pointer dereference/, 'null-deref'],
  // arm/arm64 arch/arm64/mm/fault.c die_kernel_fault(): paging request, execute from non-executable
  // memory, write to read-only memory, access to user memory outside uaccess routines
  [/^Unable to handle kernel /, 'page-fault'],
  [/^list_(del|add) corruption|^list_add double add/, 'list-corruption'],
  [/^(watchdog: |NMI watchdog: )?BUG: soft lockup/, 'soft-lockup'],
  [/^(watchdog: |NMI watchdog: )?Watchdog detected hard LOCKUP|^NMI watchdog: hard LOCKUP/, 'hard-lockup'],
  [/^rcu: INFO: rcu_\w+ (self-)?detected stall|^INFO: rcu_\w+ (self-)?detected stall/, 'rcu-stall'],
  [/^INFO: task .* blocked for more than/, 'hung-task'],
  [/^BUG: KASAN: /, 'kasan'],
  [/^UBSAN: /, 'ubsan'],
  [/^kernel BUG at /, 'bug'],
  [/^BUG: /, 'bug'],
  [/^WARNING: /, 'warning'],
  [/^Out of memory and no killable processes/, 'oom'],
];

const SYSRQ_CRASH = /^(sysrq|SysRq ?): Trigger a crash/;
const CUT_HERE = /^-+\[ cut here \]-+$/;
const END_TRACE = /^-+\[ end (trace|Kernel panic)/;
const PANIC_LINE = /^Kernel panic - not syncing: /;
/**
 * The die line: `Oops: 0000 [#1] SMP`, `invalid opcode: 0000 [#1] ...`, `general protection fault: 0000 [#1] ...`;
 * arm64's `Internal error: Oops: 0000000096000004 [#1] SMP`, `Internal error: Oops - BUG: 00000000f2000800 [#1] SMP`
 * (arch/arm64/kernel/traps.c `__die()`: `"Internal error: %s: %016lx [#%d]"`), arm's `Internal error: Oops: 17 [#2] ARM`.
 */
const DIE_LINE = /^(Oops: |Oops\b|.*: [0-9a-f]{4} |Internal error: .*: [0-9a-f]{1,16} )\[#\d+\]/;
/**
 * arm/arm64 fault reports between `Unable to handle kernel ...` and the die line: arch/arm64/mm/fault.c
 * `mem_abort_decode()` (`Mem abort info:`, `  ESR = 0x...`, `  EC = ...`, `Data abort info:`, ...),
 * `show_pte()` (`[dead000000000108] address between user and kernel address ranges`,
 * `swapper pgtable: 4k pages, ...`, `[0000000000000000] pgd=...`), arm's `pgd = 6f458410`.
 */
const ABORT_INFO = [
  /^\s*(Mem|Data|Instruction) abort info:/,
  /^\s*(ESR|EC|SET|EA|FSC|IFSC|DFSC|ISV|CM|GCS|SAS|Access size|ISS2?|FnV|S1PTW|WnR) = /,
  /^\s*\[[0-9a-f]{8,16}\] /,
  /^\s*(user|swapper) pgtable: /,
  /^\s*pgd = [0-9a-f]+\s*$/,
];
/** Lines of an oops report between its opening line and the die line. */
const PREAMBLE = [CUT_HERE, /^#PF: /, /^(PGD|P4D|PUD|PMD|PTE) /, /^IP: /, /^BUG: /, /^kernel BUG at /, /^list_(del|add) /, /^Unable to handle /, /^invalid opcode/, ...ABORT_INFO];
/** How far before the die line its report may open (arm64's abort decoding prints up to ~16 lines there). */
const PREAMBLE_WINDOW = 24;

function eventKind(text: string): PanicKind | null {
  for (const [re, kind] of EVENTS) if (re.test(text)) return kind;
  return null;
}

const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.{1,16}?) (?:Kdump: loaded )?(Not tainted|Tainted: (.*?))\s+\S+ #/;
const FRAME = /^\s*(?:\[<([0-9a-f]+)>\]\s*)?(\? )?([^\s+?]+)\+0x([0-9a-f]+)\/0x([0-9a-f]+)(?:\s+\[([^\]\s]+)[^\]]*\])?\s*$/;
const TRACE_MARKER = /^\s*<\/?(TASK|IRQ|NMI|EOI|SOFTIRQ)>\s*$/;
const REGISTER_LINE = /^(RSP|RAX|RDX|RBP|R10|R13|FS|CS|CR2|DR0|DR3|PKRU):/;
/**
 * arm64 arch/arm64/kernel/process.c `__show_regs()`: `pstate: 80400005 (Nzcv daif +PAN ...)`, `pc : %pS`,
 * `lr : %pS` (numbers in user mode), `sp : %016llx`, `pmr_save: %08llx`, then `x29: %016llx x28: ...`
 * three to a line (`x%-2d`: `x9 : `).
 */
const ARM64_REGISTER_LINE = /^(pstate|pc |lr |sp |pmr_save|x\d{1,2} ?): /;
/** arm/arm64 `die_kernel_fault()`: `Unable to handle kernel paging request at virtual address dead000000000100`. */
const FAULT_ADDRESS = /^Unable to handle kernel .* at virtual address ([0-9a-f]{1,16})\b/;
const ARM64_VALUE = /\b(x\d{1,2}|sp|pc|lr|pstate|pmr_save) ?: ([0-9a-f]{8,16})\b(?!\+)/g;

function stripLevel(text: string): string {
  return text.replace(/^\s+$/, '');
}

/** Where the report starts: walk back from `at` over the lines an oops prints before it. */
function reportStart(lines: LogLine[], at: number): number {
  let start = at;
  for (let j = at - 1; j >= 0 && at - j <= PREAMBLE_WINDOW; j--) {
    const t = lines[j]!.text;
    if (CUT_HERE.test(t)) return j + 1;
    if (PREAMBLE.some((re) => re.test(t)) || eventKind(t) !== null) {
      start = j;
      continue;
    }
    // A WARN()/BUG message printed just after `cut here` and before the WARNING/BUG line.
    if (j > 0 && CUT_HERE.test(lines[j - 1]!.text)) return j;
    break;
  }
  return start;
}

/**
 * `warnings`: a log without a panic whose first report is a WARNING names that WARNING (triage
 * buckets warnings; a dump's panic record does not take a warning it survived as its cause).
 */
export function analysePanic(lines: LogLine[], opts: { warnings?: boolean } = {}): PanicInfo {
  const info: PanicInfo = {
    kind: 'none',
    headline: 'no panic message in the log: the dump was taken without a panic (sysrq, NMI, a hang, or a snapshot of a live system)',
    bugLine: null,
    message: null,
    cpu: null,
    pid: null,
    comm: null,
    cpuLine: null,
    taint: null,
    tainted: null,
    oops: null,
    hardware: null,
    modules: null,
    rip: null,
    code: null,
    registers: [],
    lr: null,
    regs: {},
    esr: null,
    faultAddress: null,
    abort: [],
    callTrace: [],
    seq: null,
    tsNsec: null,
  };
  const texts = lines.map((l) => stripLevel(l.text));
  let panicAt = -1;
  for (let i = texts.length - 1; i >= 0; i--) {
    if (PANIC_LINE.test(texts[i]!)) {
      panicAt = i;
      break;
    }
  }
  if (panicAt >= 0) info.message = texts[panicAt]!;

  let head = -1;
  // 1. An oops: the first die line ([#1]) is what went wrong first.
  const dieAt = texts.findIndex((t, i) => t.includes('[#') && DIE_LINE.test(t) && (panicAt < 0 || i < panicAt));
  if (dieAt >= 0) {
    info.oops = texts[dieAt]!;
    head = reportStart(lines, dieAt);
  } else if (panicAt >= 0) {
    // 2. A panic without an oops: the last report before it (WARNING with panic_on_warn,
    //    soft lockup with softlockup_panic, hung task, ...), unless a finished trace lies between.
    for (let i = panicAt - 1; i >= 0; i--) {
      const t = texts[i]!;
      if (END_TRACE.test(t) || PANIC_LINE.test(t)) break;
      if (eventKind(t) !== null) {
        head = reportStart(lines, i);
        break;
      }
    }
  } else {
    // 3. No panic at all: a report that did not panic is still the best lead.
    const at = texts.findIndex((t) => eventKind(t) !== null && (opts.warnings === true || eventKind(t) !== 'warning'));
    if (at >= 0) head = reportStart(lines, at);
  }

  if (head >= 0) {
    const cause = causeBeforeBug(texts, head);
    if (cause >= 0) {
      info.bugLine = texts[head]!;
      head = cause;
    }
    info.headline = texts[head]!;
    info.kind = eventKind(texts[head]!) ?? (dieAt >= 0 ? kindOfDie(texts[dieAt]!) : 'bug');
    // A WARN message line opens the report: the WARNING line after it names the kind.
    if (eventKind(texts[head]!) === null) {
      for (let i = head + 1; i < Math.min(texts.length, head + 4); i++) {
        const k = eventKind(texts[i]!);
        if (k) {
          info.kind = k;
          break;
        }
      }
    }
    info.seq = lines[head]!.seq;
    info.tsNsec = lines[head]!.tsNsec;
  } else if (panicAt >= 0) {
    info.headline = texts[panicAt]!;
    info.kind = 'panic';
    info.seq = lines[panicAt]!.seq;
    info.tsNsec = lines[panicAt]!.tsNsec;
    for (let i = panicAt - 1; i >= 0 && panicAt - i <= 5; i--) {
      if (SYSRQ_CRASH.test(texts[i]!)) info.kind = 'sysrq-crash';
    }
  } else {
    return info;
  }

  const from = head >= 0 ? head : panicAt;
  readReport(texts, from, info);
  for (let i = from; info.cpu === null && i < Math.min(texts.length, from + 3); i++) fallbackTask(texts[i]!, info);
  return info;
}

/**
 * Lines printed before a `BUG()` that say what went wrong, where the BUG line only says where:
 * CONFIG_DEBUG_LIST's `list_del corruption. prev->next should be ...` (lib/list_debug.c, via
 * CHECK_DATA_CORRUPTION with CONFIG_BUG_ON_DATA_CORRUPTION: pr_err, then BUG(), whose
 * `cut here` comes after the message since 4.x), `BUG: Bad page state` (mm/page_alloc.c
 * bad_page()), a KASAN report such as `slab-out-of-bounds`, `refcount_t: underflow`.
 */
const CAUSES = [/^list_(del|add) corruption/, /^list_add double add/, /^BUG: Bad page (state|map)/, /^BUG: KASAN: /, /^refcount_t: /];
/** How far back before the BUG report a cause may be (a bad-page report prints its page dump and a stack in between). */
const CAUSE_WINDOW = 60;

/**
 * The line that says what went wrong when the report at `head` is a `kernel BUG at ...` or a
 * bare die line that only says where: the nearest cause line before it (kept out of the
 * headline until now), not across an earlier oops or finished trace. -1 when there is none.
 */
export function causeBeforeBug(texts: string[], head: number): number {
  const line = texts[head]!;
  if (!/^kernel BUG at /.test(line) && !/^(invalid opcode|Oops): [0-9a-f]{4} \[#/.test(line)) return -1;
  for (let i = head - 1; i >= 0 && head - i <= CAUSE_WINDOW; i--) {
    const t = texts[i]!;
    if (CAUSES.some((re) => re.test(t))) return i;
    if (END_TRACE.test(t) || DIE_LINE.test(t) || PANIC_LINE.test(t)) break;
  }
  return -1;
}

function kindOfDie(line: string): PanicKind {
  if (/general protection fault/.test(line)) return 'gpf';
  if (/^invalid opcode/.test(line) || /^Internal error: Oops - BUG: /.test(line)) return 'bug';
  return 'oops';
}

/** The parts of the report that follow its opening line. */
function readReport(texts: string[], from: number, info: PanicInfo): void {
  const end = Math.min(texts.length, from + 400);
  let trace = -1;
  for (let i = from; i < end; i++) {
    const t = texts[i]!;
    if (i > from && END_TRACE.test(t)) break;
    let m: RegExpExecArray | null;
    if (info.faultAddress === null && trace < 0 && (m = FAULT_ADDRESS.exec(t))) info.faultAddress = BigInt('0x' + m[1]!);
    if (info.cpu === null && (m = CPU_LINE.exec(t))) {
      info.cpu = Number(m[1]);
      info.pid = Number(m[2]);
      info.comm = m[3]!;
      info.cpuLine = t;
      info.tainted = m[4] !== 'Not tainted';
      info.taint = info.tainted ? m[5]!.trimEnd() : 'Not tainted';
    } else if (info.hardware === null && t.startsWith('Hardware name: ')) info.hardware = t.slice('Hardware name: '.length);
    else if (info.modules === null && t.startsWith('Modules linked in:')) info.modules = t.slice('Modules linked in:'.length).trim();
    else if (info.rip === null && /^R?IP: /.test(t)) info.rip = t;
    else if (info.code === null && t.startsWith('Code: ')) info.code = t.slice('Code: '.length);
    else if (info.rip !== null && trace < 0 && REGISTER_LINE.test(t)) info.registers.push(t);
    else if (trace < 0 && ARM64_REGISTER_LINE.test(t)) arm64Registers(t, info);
    else if (trace < 0 && info.rip === null && ABORT_INFO.some((re) => re.test(t))) arm64Abort(t, info);
    else if (trace < 0 && /^\s*Call [Tt]race:/.test(t)) {
      trace = i;
      for (let j = i + 1; j < end; j++) {
        const line = texts[j]!;
        if (TRACE_MARKER.test(line)) continue;
        const f = FRAME.exec(line);
        if (!f) {
          // The trace of a task that entered from user space ends with its user registers.
          if (/^\s*(RIP|Code|RSP|RAX|RDX|RBP|R10|R13): /.test(line)) {
            if (info.rip === null && line.startsWith('RIP: ')) info.rip = line;
            else if (info.code === null && line.startsWith('Code: ')) info.code = line.slice('Code: '.length);
            else if (REGISTER_LINE.test(line)) info.registers.push(line);
            continue;
          }
          break;
        }
        const frame: TraceFrame = {
          function: f[3]!,
          offset: parseInt(f[4]!, 16),
          size: parseInt(f[5]!, 16),
          reliable: f[2] === undefined,
          line: line.trim(),
        };
        if (f[1] !== undefined) frame.addr = BigInt('0x' + f[1]);
        if (f[6] !== undefined) frame.module = f[6];
        info.callTrace.push(frame);
      }
    }
  }
}

/** An arm64 `__show_regs()` line: the pc line is the report's `rip`, the others go to `registers`; numbers to `regs`. */
function arm64Registers(line: string, info: PanicInfo): void {
  if (line.startsWith('pc : ')) {
    if (info.rip !== null) return;
    info.rip = line;
  } else {
    info.registers.push(line);
    if (line.startsWith('lr : ') && info.lr === null) info.lr = line;
  }
  for (const m of line.matchAll(ARM64_VALUE)) {
    // `pc : foo+0x1c/0x30` is a symbol; only the numbers printed in user mode are values.
    if (line.slice(m.index + m[0].length).startsWith('+')) continue;
    info.regs[m[1]!] = BigInt('0x' + m[2]!);
  }
}

/** arm64's `Mem abort info:` block: kept as printed; its `ESR = 0x...` as a number. */
function arm64Abort(line: string, info: PanicInfo): void {
  info.abort.push(line);
  const m = /^\s*ESR = 0x([0-9a-f]{1,16})\b/.exec(line);
  if (m && info.esr === null) info.esr = BigInt('0x' + m[1]!);
}

/** Reports that name the task in their own line: `WARNING: CPU: 2 PID: 3920 at ...`, `soft lockup - CPU#51 stuck for 22s! [pacd:140354]`. */
function fallbackTask(line: string, info: PanicInfo): void {
  let m = /CPU: (\d+) PID: (\d+) at /.exec(line);
  if (m) {
    info.cpu = Number(m[1]);
    info.pid = Number(m[2]);
    return;
  }
  m = /CPU#(\d+) stuck for \d+s! \[(.+):(\d+)\]/.exec(line);
  if (m) {
    info.cpu = Number(m[1]);
    info.comm = m[2]!;
    info.pid = Number(m[3]);
  }
}
