/**
 * One signature per crash: a title in syzbot's style (the crash type and the guilty function,
 * the rules of syzkaller's pkg/report/linux.go read as facts), the guilty frame, and a hash
 * of the top meaningful frames that KASLR, PIDs, offsets and line numbers do not change.
 *
 * Input is what the panic analyser (@vmpipe/kernel analysePanic) makes of a report, whether
 * it came from a dump's log, a `panic` record, or console text; triage never reads dump bytes.
 */
import { createHash } from 'node:crypto';
import type { SignatureRecord } from '@vmpipe/records';
import { frameIn, frameName, isGeneric, isWaiting, stripSuffix } from './frames.js';

export interface ReportFrame {
  function: string;
  module?: string;
  reliable: boolean;
}

/** A crash report as the panic analyser reads it (PanicInfo and the `panic` record both fit). */
export interface CrashReport {
  headline: string;
  /** the analyser's event kind: gpf, null-deref, page-fault, bug, list-corruption, warning, ... */
  kind: string;
  message: string | null;
  bugLine?: string | null;
  oops?: string | null;
  rip: string | null;
  /** arm64's `lr : foo+0x60/0x98 [mod]` line: the caller of the faulting function when the trace skips it */
  lr?: string | null;
  taint: string | null;
  cpu?: number | null;
  pid?: number | null;
  comm?: string | null;
  callTrace: ReportFrame[];
  /** the report's own lines, when there is text (KASAN's access line, the kernel release) */
  lines?: string[];
  release?: string | null;
  crashTime?: string | null;
}

/** How many meaningful frames the hash covers (ABRT hashes a handful; more makes inlining noise split buckets). */
export const HASH_FRAMES = 4;

interface Rule {
  crashType: string;
  /** the title with `%s` where the guilty function goes; no `%s` when the title names none */
  format: string;
  /** where to look for the guilty frame first */
  from: 'rip' | 'trace' | 'headline' | 'lock';
  /** more frames to skip for this kind of report (stripped names) */
  skip?: RegExp;
  waiting?: boolean;
}

function sanitize(text: string): string {
  // Addresses, numbers and PIDs vary between boots; titles must not.
  return text
    .replace(/\b(0x)?[0-9a-f]{8,16}\b/g, 'ADDR')
    .replace(/\b\d+\b/g, 'N')
    .trim();
}

/** The title rule for a report, by its headline (first match wins). */
function ruleFor(r: CrashReport): Rule {
  const h = r.headline;
  let m: RegExpExecArray | null;
  const near = [h, ...(r.lines ?? []).slice(0, 4)];
  if (/^list_(del|add) corruption|^list_add double add/.test(h) || (r.bugLine && /lib\/list_debug\.c/.test(r.bugLine)) || near.some((l) => /^(kernel BUG|WARNING: ).* at \S*lib\/list_debug\.c/.test(l))) {
    return { crashType: 'list corruption', format: 'BUG: corrupted list in %s', from: 'headline' };
  }
  if (near.some((l) => /Watchdog detected hard LOCKUP|^NMI watchdog: hard LOCKUP/.test(l))) {
    return { crashType: 'hard lockup', format: 'watchdog: hard LOCKUP in %s', from: 'rip', skip: NMI_MACHINERY };
  }
  if (/^BUG: KASAN: /.test(h)) {
    m = /^BUG: KASAN: ([a-z-]+(?: or [a-z-]+)?) /.exec(h);
    let what = m?.[1] ?? 'invalid-access';
    if (/double-free|invalid-free/.test(what)) return { crashType: 'KASAN', format: 'KASAN: invalid-free in %s', from: 'headline', skip: /^(slab_\w+|kfree|kmem_cache_free|vfree|vunmap)$/ };
    const access = (r.lines ?? []).map((l) => /^(Read|Write) (of size|at addr)/.exec(l)?.[1]).find((x) => x !== undefined);
    if (access) what = `${what} ${access}`;
    return { crashType: 'KASAN', format: `KASAN: ${what} in %s`, from: 'headline' };
  }
  if (/^UBSAN: /.test(h)) {
    m = /^UBSAN: (.*?) in /.exec(h);
    const what = m ? m[1]! : 'undefined-behaviour';
    return { crashType: 'UBSAN', format: `UBSAN: ${what === 'Undefined behaviour' ? 'undefined-behaviour' : what} in %s`, from: 'trace', skip: /ubsan|overflow/ };
  }
  if (/^refcount_t: /.test(h)) return { crashType: 'refcount', format: 'WARNING: refcount bug in %s', from: 'headline' };
  // A WARN() message opens its report; the WARNING line after it says where (and may read like another kind).
  if (/^WARNING: /.test(h) || r.kind === 'warning') return warningRule(r);
  if (/^BUG: Bad page (state|map)/.test(h)) return { crashType: 'bad page', format: /map/.test(h) ? 'BUG: Bad page map' : 'BUG: Bad page state', from: 'trace' };
  if (/general protection fault/.test(h)) return { crashType: 'GPF', format: 'general protection fault in %s', from: 'rip' };
  if (/NULL pointer dereference/.test(h)) return { crashType: 'NULL dereference', format: 'BUG: unable to handle kernel NULL pointer dereference in %s', from: 'rip' };
  if (/^(BUG: )?[Uu]nable to handle (page fault|kernel paging request)|^BUG: unable to handle kernel$/.test(h)) {
    return { crashType: 'paging request', format: 'BUG: unable to handle kernel paging request in %s', from: 'rip' };
  }
  // arm64 die_kernel_fault()'s other messages; syzbot titles `access to user memory` so, the rest (execute
  // from non-executable memory, write to read-only memory) are paging requests to it only by their regexp.
  if (/^Unable to handle kernel access to user memory/.test(h)) return { crashType: 'paging request', format: 'BUG: unable to handle kernel access to user memory in %s', from: 'rip' };
  if (/^Unable to handle kernel /.test(h)) return { crashType: 'paging request', format: 'BUG: unable to handle kernel paging request in %s', from: 'rip' };
  if (/BUG: soft lockup/.test(h)) return { crashType: 'soft lockup', format: 'BUG: soft lockup in %s', from: 'rip' };
  if (/rcu_\w+ (self-)?detected(?: expedited)? stall|rcu: INFO: rcu_\w+ (self-)?detected/.test(h)) {
    return { crashType: 'RCU stall', format: 'INFO: rcu detected stall in %s', from: 'rip', skip: /^(rcu_\w+|apic_timer_interrupt|\w*sysvec_apic_timer_interrupt|hrtimer_interrupt|__hrtimer_run_queues|tick_\w+|update_process_times|__sysvec_\w+)$/ };
  }
  if (/^INFO: task .* blocked for more than/.test(h)) return { crashType: 'hung task', format: 'INFO: task hung in %s', from: 'trace', waiting: true };
  if ((m = /^kernel BUG at (\S+?)(:\d+)?!?$/.exec(h))) {
    if (/^mm\/usercopy\.c/.test(m[1]!)) return { crashType: 'BUG', format: 'BUG: bad usercopy in %s', from: 'trace', skip: /usercopy|^__check/ };
    return { crashType: 'BUG', format: 'kernel BUG in %s', from: 'rip', skip: /^skb_/ };
  }
  if ((m = /^BUG: (scheduling while atomic|sleeping function called from invalid context|spinlock \w+(?: \w+)?|rwlock \w+(?: \w+)?|using \w+\(\) in preemptible|stack guard page was hit|workqueue lockup|Bad rss-counter state)/.exec(h))) {
    let what = m[1]!.replace(/^(spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU).*$/, '$1 $2');
    if (/^using \w+\(\) in preemptible/.test(what)) what += ' code';
    if (what === 'workqueue lockup' || what === 'Bad rss-counter state') return { crashType: 'BUG', format: `BUG: ${what}`, from: 'trace' };
    return { crashType: 'BUG', format: `BUG: ${what} in %s`, from: 'trace', skip: SLEEPING };
  }
  if (/^BUG: /.test(h)) return { crashType: 'BUG', format: `${sanitize(h.replace(/ (at|for address|in process)\b.*$/, '').replace(/[:,].*$/, ''))} in %s`, from: 'trace' };
  if (/^(Oops: )?(invalid opcode)/.test(h)) return { crashType: 'BUG', format: 'invalid opcode in %s', from: 'rip' };
  if (/^(Oops: )?divide.error/.test(h)) return { crashType: 'divide error', format: 'divide error in %s', from: 'rip' };
  if (/^(Oops: )?stack segment/.test(h)) return { crashType: 'stack segment', format: 'stack segment fault in %s', from: 'rip' };
  if (/^PANIC: double fault/.test(h)) return { crashType: 'double fault', format: 'PANIC: double fault in %s', from: 'rip' };
  if (/^Kernel panic - not syncing: Hard LOCKUP/.test(h)) return { crashType: 'hard lockup', format: 'kernel panic: Hard LOCKUP', from: 'trace', skip: NMI_MACHINERY };
  if (r.kind === 'sysrq-crash') return { crashType: 'sysrq', format: `kernel panic: ${panicText(r.message ?? h)}`, from: 'trace' };
  if (/^Kernel panic - not syncing: /.test(h)) {
    const text = panicText(h);
    if ((m = /^stack-protector: Kernel stack is corrupted in: ([\w.]+)/.exec(text))) return { crashType: 'panic message', format: `kernel panic: stack is corrupted in ${stripSuffix(m[1]!)}`, from: 'trace' };
    // init's exit code says how it died, not where: syzbot's title leaves it out.
    if (/^Attempted to kill init!/.test(text)) return { crashType: 'panic message', format: 'kernel panic: Attempted to kill init!', from: 'trace' };
    return { crashType: 'panic message', format: `kernel panic: ${text}`, from: 'trace' };
  }
  if (/^Oops/.test(h)) return { crashType: 'oops', format: 'Oops in %s', from: 'rip' };
  // arm64's die line with no report before it (synchronous external abort, undefined instruction, ...): syzbot's `Internal error in`.
  if (/^Internal error: /.test(h)) return { crashType: 'oops', format: 'Internal error in %s', from: 'rip' };
  // No report text at all (frame records without a panic record): the stack alone names it.
  if (h === '') return { crashType: 'unknown', format: 'crash in %s', from: 'trace' };
  return { crashType: 'unknown', format: `${sanitize(h).slice(0, 80)} in %s`, from: 'trace' };
}

/** The hard-lockup detector's own path (perf NMI → watchdog): the interrupted code is below it. */
const NMI_MACHINERY = /^(watchdog_\w+|__perf_event_overflow|perf_event_overflow|perf_event_nmi_handler|perf_prepare_sample|intel_pmu_\w+|x86_pmu_\w+|amd_pmu_\w+|nmi_handle|nmi_panic|default_do_nmi|do_nmi|exc_nmi|end_repeat_nmi|repeat_nmi|\w*_nmi_handler|ghes_\w+|arch_trigger_\w+|hardlockup_\w+)$/;

/** Sleeping in atomic context: the scheduler's and the allocator's frames lead to whoever slept. */
const SLEEPING = /^(schedule|__schedule|__schedule_bug|schedule_debug|preempt_\w+|debug_\w+|_cond_resched|__cond_resched|___might_sleep|__might_sleep|might_sleep|__might_resched|(__)?kmalloc\w*|kzalloc|kmem_cache_alloc\w*|__alloc_pages\w*|alloc_pages\w*|__get_free_pages|get_zeroed_page|vmalloc\w*|__vmalloc\w*)$/;

/** `Kernel panic - not syncing: ` taken off; what varies between boots made constant. */
function panicText(line: string): string {
  return sanitize(line.replace(/^Kernel panic - not syncing: /, '')).replace(/[ .]+$/, '');
}

/** syzbot's WARNING titles: by file for the kinds that have their own title, else `WARNING in <function of the WARNING line>`. */
function warningRule(r: CrashReport): Rule {
  const line = [r.headline, ...(r.lines ?? [])].find((l) => /^WARNING: /.test(l)) ?? r.headline;
  if (/lib\/refcount\.c|refcount_warn_saturate/.test(line)) return { crashType: 'refcount', format: 'WARNING: refcount bug in %s', from: 'headline' };
  if (/^WARNING: (possible circular locking dependency|possible recursive locking|inconsistent lock state|possible irq lock inversion)/.test(line)) {
    return { crashType: 'lockdep', format: /inconsistent/.test(line) ? 'inconsistent lock state in %s' : 'possible deadlock in %s', from: 'lock' };
  }
  if (/^WARNING: suspicious RCU usage/.test(line)) return { crashType: 'lockdep', format: 'WARNING: suspicious RCU usage in %s', from: 'trace', skip: /rcu|kmem|slab/ };
  if (/kernel\/locking\/lockdep\.c/.test(line)) return { crashType: 'lockdep', format: 'WARNING: locking bug in %s', from: 'trace' };
  if (/lib\/debugobjects\.c/.test(line)) return { crashType: 'WARNING', format: 'WARNING: ODEBUG bug in %s', from: 'trace', skip: /^(debug_\w+|\w*timer_\w+|\w*work_\w+|__free_\w+|kfree|vfree)$/ };
  if (/mm\/usercopy\.c/.test(line)) return { crashType: 'WARNING', format: 'WARNING: bad usercopy in %s', from: 'trace', skip: /usercopy|^__check/ };
  return { crashType: 'WARNING', format: 'WARNING in %s', from: 'headline' };
}

/** Frames in the order the rule reads them: the headline's or the RIP's function first, then the call trace. */
function candidates(r: CrashReport, rule: Rule): { frames: ReportFrame[]; unreliableOnly: boolean; lead: number } {
  const out: ReportFrame[] = [];
  const lead = rule.from === 'headline' ? headlineFrame(r) : rule.from === 'rip' ? ripFrame(r.rip) ?? pcFrame(r.lines) : null;
  if (lead) out.push({ ...lead, reliable: true });
  // arm64: a function that faults before it saves its frame record (a leaf) is missing its caller in the
  // trace, which unwinds from the frame pointer; `lr :` names that caller. When lr is in another function
  // than pc it is the return address into the caller (a call made by the faulting function would have
  // left lr inside it), so it comes next; when the trace has it anyway the repeat is hashed once.
  const lr = rule.from === 'rip' && lead ? lrFrame(r.lr) : null;
  const withLr = lr !== null && stripSuffix(lr.function) !== stripSuffix(lead!.function);
  if (withLr) out.push({ ...lr, reliable: true });
  if (rule.from === 'lock') out.push(...lockFrames(r.lines).map((f) => ({ ...f, reliable: true })));
  // A WARNING's headline names its function; otherwise the RIP names where it trapped.
  if (rule.from === 'headline' && !lead) {
    const rip = ripFrame(r.rip) ?? pcFrame(r.lines);
    if (rip) out.push({ ...rip, reliable: true });
  }
  // What runs inside panic() or the oops path (notifiers, kmsg dumpers, QEMU's pvpanic) is
  // never the bug: an unwound stack starts there, so the trace is read from below it.
  let inner = -1;
  r.callTrace.forEach((f, i) => {
    if (/^(panic|vpanic|nmi_panic|oops_end|die|__die)$/.test(stripSuffix(f.function))) inner = i;
  });
  const below = inner >= 0 ? r.callTrace.slice(inner + 1) : r.callTrace;
  const reliable = below.filter((f) => f.reliable);
  let trace = reliable.length ? reliable : below;
  // arm64's trace starts at pc itself: with lr put after pc, that first frame would come back after lr.
  if (withLr && trace.length > 0 && stripSuffix(trace[0]!.function) === stripSuffix(lead!.function)) trace = trace.slice(1);
  out.push(...trace);
  return { frames: out, unreliableOnly: reliable.length === 0 && r.callTrace.length > 0, lead: out.length - trace.length };
}

function headlineFrame(r: CrashReport): { function: string; module?: string } | null {
  const line = [r.headline, ...(r.lines ?? [])].find((l) => /^WARNING: /.test(l)) ?? r.headline;
  // `BUG: KASAN: use-after-free in foo+0x12/0x34`, `WARNING: CPU: 1 PID: 2 at fs/x.c:5 foo+0x1/0x2 [mod]`;
  // 2.6-era `WARNING: at fs/x.c:5 foo()` names it without an offset.
  const f = frameIn(line) ?? frameIn(r.headline);
  if (f) return f;
  const m = / in ([A-Za-z_][\w.]*)(?: \(.*\))?\s*$/.exec(r.headline) ?? / at \S+ ([A-Za-z_][\w.]*)\(\)/.exec(line);
  return m ? { function: m[1]! } : null;
}

/**
 * `RIP: 0010:deferred_split_scan+0x109/0x270`, `IP: [<ffffffff8123>] foo+0x1/0x2`, decoded by
 * decode_stacktrace.sh (`RIP: 0010:foo (fs/x.c:12)`); user-space RIPs (`0033:0x47b7a0`) name nothing.
 */
function ripFrame(rip: string | null): { function: string; module?: string } | null {
  if (!rip || /^R?IP: 0033:/.test(rip)) return null;
  const decoded = /^R?IP: [0-9a-f]{4}:([A-Za-z_][\w.]*) \(/.exec(rip);
  return frameIn(rip) ?? (decoded ? { function: decoded[1]! } : null);
}

/** arm64's `lr : vmpipe_seed_thread+0x60/0x98 [crashmod]` (a user-mode `lr : 0000ffff...` names nothing). */
function lrFrame(lr: string | null | undefined): { function: string; module?: string } | null {
  return lr ? frameIn(lr) : null;
}

/** Where other architectures print the faulting PC: arm's `PC is at foo+0x18/0x64`, powerpc's `NIP [c0123] foo+0x8/0x10`. */
function pcFrame(lines: string[] | undefined): { function: string; module?: string } | null {
  const l = (lines ?? []).slice(0, 40).find((x) => /^(PC is at |NIP \[)/.test(x));
  return l ? frameIn(l) : null;
}

/**
 * lockdep: where the lock is being taken (`... is trying to acquire lock:` then `ffff... (&wp->lock){+.+.}, at: foo+0x22b/0x1550`),
 * then where the lock already held was taken (`but task is already holding lock:`), for when the first is a generic helper.
 */
function lockFrames(lines: string[] | undefined): { function: string; module?: string }[] {
  const all = lines ?? [];
  const out: { function: string; module?: string }[] = [];
  for (const opener of [/is trying to acquire lock:?$/, /but task is already holding lock:?$/]) {
    const i = all.findIndex((l) => opener.test(l.trim()));
    if (i < 0) continue;
    const at = all.slice(i + 1, i + 4).map((l) => /\bat: (.*)$/.exec(l)?.[1]).find((x) => x !== undefined);
    const f = at === undefined ? null : frameIn(at) ?? (/^([A-Za-z_][\w.]*)/.exec(at.trim()) ? { function: /^([A-Za-z_][\w.]*)/.exec(at.trim())![1]! } : null);
    if (f) out.push(f);
  }
  return out;
}

/** The release from the report's `CPU: 1 PID: 2 Comm: x Not tainted 6.1.0-56-cloud-amd64 #1` line. */
export function releaseIn(lines: string[]): string | null {
  for (const l of lines) {
    const m = /^CPU: \d+ (?:UID: \d+ )?PID: \d+ Comm: .{1,16}? (?:Kdump: loaded )?(?:Not tainted|Tainted: [A-Z ]*?)\s+(\S+) #/.exec(l);
    if (m) return m[1]!;
  }
  return null;
}

export function hashOf(crashType: string, frames: string[], fallback: string): string {
  const text = frames.length ? `${crashType}\n${frames.join('\n')}` : `${crashType}\n${fallback}`;
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export type Locator = { dump: string } | { log: string; line?: number };

/** The signature of one crash report. */
export function signatureOf(r: CrashReport, where: Locator): SignatureRecord {
  if (r.kind === 'none') return noCrash(r, where);
  const rule = ruleFor(r);
  const { frames, unreliableOnly, lead } = candidates(r, rule);
  const skip = (name: string) => {
    const n = stripSuffix(name);
    return isGeneric(n) || (rule.skip?.test(n) ?? false) || (rule.waiting === true && isWaiting(n));
  };
  const meaningful = frames.filter((f) => !skip(f.function));
  const guiltyFrame = meaningful[0] ?? null;
  const guilty = guiltyFrame ? frameName(guiltyFrame.function) : null;
  const named = rule.format.includes('%s');
  // No guilty frame: name the deepest frame that is not reporting machinery, the nearest to the
  // culprit the report got to before it was cut off (the signature is marked corrupted).
  const fallback = [...frames].reverse().find((f) => !isGeneric(f.function)) ?? frames[frames.length - 1];
  const title = named ? rule.format.replace('%s', guilty ?? (fallback ? frameName(fallback.function) : 'unknown')) : rule.format;
  // The hash: names only, in order, a repeated name (recursion, a frame both in RIP and trace) once.
  const hashed: string[] = [];
  for (const f of meaningful) {
    const n = frameName(f.function);
    if (hashed[hashed.length - 1] !== n) hashed.push(n);
    if (hashed.length === HASH_FRAMES) break;
  }
  let reason: string | undefined;
  if (/^Kernel panic - not syncing: (Fatal exception|panic_on_warn set|hung_task: blocked tasks|softlockup: hung tasks)/.test(r.headline)) {
    reason = 'the report before the panic is missing: only its consequence was printed (log cut off)';
  } else if (named && frames.length === 0) reason = r.rip === null && (r.lines?.length ?? 0) > 0 ? 'no call trace: the report is cut off' : 'no call trace';
  else if (unreliableOnly && (guiltyFrame === null || frames.indexOf(guiltyFrame) >= lead)) reason = 'frames all unreliable (printed with ?)';
  else if (named && guilty === null) reason = 'only generic frames: the report is cut off before the guilty one';
  else if (rule.crashType === 'unknown') reason = 'unrecognised report';
  const lines = r.lines ?? [];
  const sig: SignatureRecord = {
    kind: 'signature',
    title,
    crashType: rule.crashType,
    guilty,
    hash: hashOf(rule.crashType, hashed, named ? title : sanitize(r.headline)),
    release: r.release ?? releaseIn(lines),
    taint: r.taint,
    crashTime: r.crashTime ?? null,
    corrupted: reason !== undefined,
    ...where,
    headline: r.headline,
    frames: hashed,
    cpu: r.cpu ?? null,
    pid: r.pid ?? null,
    comm: r.comm ?? null,
    trace: traceOf(r),
  };
  if (guiltyFrame?.module !== undefined) sig.module = guiltyFrame.module;
  if (reason !== undefined) sig.reason = reason;
  return sig;
}

/** A dump whose log cannot be read (and no unwound stack came with it) still answers, marked. */
export function unreadSignature(dump: string, reason: string, release: string | null, crashTime: string | null): SignatureRecord {
  return {
    kind: 'signature',
    title: 'unreadable crash',
    crashType: 'unknown',
    guilty: null,
    hash: hashOf('unknown', [], 'unreadable'),
    release,
    taint: null,
    crashTime,
    corrupted: true,
    reason,
    dump,
    headline: reason,
    frames: [],
    trace: [],
  };
}

/** A log with nothing wrong in it still answers, marked. */
function noCrash(r: CrashReport, where: Locator): SignatureRecord {
  return {
    kind: 'signature',
    title: 'no crash report',
    crashType: 'none',
    guilty: null,
    hash: hashOf('none', [], ''),
    release: r.release ?? null,
    taint: null,
    crashTime: r.crashTime ?? null,
    corrupted: true,
    reason: 'no oops, BUG, WARNING, lockup or panic in the log',
    ...where,
    headline: r.headline,
    frames: [],
    trace: [],
  };
}

const TRACE_LINES = 48;

/** The example trace a person reads first: what went wrong, where, the stack. */
function traceOf(r: CrashReport): string[] {
  const lines = r.lines ?? [];
  if (lines.length) return lines.slice(0, TRACE_LINES);
  const out = [r.headline];
  if (r.bugLine) out.push(r.bugLine);
  if (r.rip) out.push(r.rip);
  if (r.lr) out.push(r.lr);
  if (r.callTrace.length) out.push('Call Trace:', ...r.callTrace.map((f) => ` ${f.reliable ? '' : '? '}${f.function}${f.module ? ` [${f.module}]` : ''}`));
  return out.slice(0, TRACE_LINES);
}
