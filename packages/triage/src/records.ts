/**
 * Signatures from a record stream: `panic` records (vmcore-extract --panic), with `frame`
 * records (backtrace) standing in for the call trace the log did not keep, and `source` /
 * `system` records giving the release and crash time of each dump.
 */
import type { AnyRecord, SignatureRecord } from '@vmpipe/records';
import { signatureOf, type CrashReport, type ReportFrame } from './signature.js';

interface Pending {
  dump: string;
  release: string | null;
  crashTime: string | null;
  panic: AnyRecord | null;
  frames: { level: number; frame: ReportFrame }[];
  firstPid?: number | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/** A `panic` record as the report it was read from. */
export function reportOfPanic(p: AnyRecord): CrashReport {
  const trace = Array.isArray(p.callTrace) ? (p.callTrace as AnyRecord[]) : [];
  return {
    headline: str(p.headline) ?? '',
    kind: str(p.event) ?? 'panic',
    message: str(p.message),
    bugLine: str(p.bugLine),
    oops: str(p.oops),
    rip: str(p.rip),
    lr: str(p.lr),
    taint: str(p.taint),
    cpu: num(p.cpu),
    pid: num(p.pid),
    comm: str(p.comm),
    callTrace: trace
      .filter((f) => typeof f.function === 'string')
      // `caller`: the function that made a noreturn call, where the trace printed the next one (arm64's %pS)
      .map((f) => {
        const name = typeof f.caller === 'string' ? f.caller : (f.function as string);
        return typeof f.module === 'string' ? { function: name, module: f.module, reliable: f.reliable !== false } : { function: name, reliable: f.reliable !== false };
      }),
  };
}

/**
 * Feed records in stream order; a dump's signature comes out once a record of another dump
 * (or the end) shows that dump's records are over.
 */
export class RecordTriage {
  private readonly pending = new Map<string, Pending>();
  private last: string | null = null;

  push(r: AnyRecord): SignatureRecord[] {
    const dump = str(r.dump);
    if (dump === null) return [];
    const out = this.last !== null && this.last !== dump ? this.finish(this.last) : [];
    this.last = dump;
    let p = this.pending.get(dump);
    if (!p) this.pending.set(dump, (p = { dump, release: null, crashTime: null, panic: null, frames: [] }));
    if (r.kind === 'source') {
      p.release ??= str(r.release);
      p.crashTime ??= str(r.crashTime);
    } else if (r.kind === 'system') {
      p.release = str(r.release) ?? p.release;
      p.crashTime ??= str(r.crashTime);
    } else if (r.kind === 'panic') p.panic = r;
    else if (r.kind === 'frame' && typeof r.function === 'string') {
      // Only the crashing task's stack: the first task unwound, or the one the panic names.
      const pid = num(r.pid);
      // Without a panic record naming the task, the first task unwound (backtrace starts with the crashing one).
      p.firstPid ??= pid;
      const want = p.panic ? num(p.panic.pid) : p.firstPid;
      if (want === null || pid === null || pid === want) {
        p.frames.push({ level: num(r.level) ?? p.frames.length, frame: { function: r.function, reliable: r.reliable !== false, ...(typeof r.module === 'string' ? { module: r.module } : {}) } });
      }
    }
    return out;
  }

  end(): SignatureRecord[] {
    return [...this.pending.keys()].flatMap((d) => this.finish(d));
  }

  private finish(dump: string): SignatureRecord[] {
    const p = this.pending.get(dump);
    this.pending.delete(dump);
    if (!p || (!p.panic && p.frames.length === 0)) return [];
    const report: CrashReport = p.panic
      ? reportOfPanic(p.panic)
      : { headline: '', kind: 'unknown', message: null, rip: null, taint: null, callTrace: [] };
    const unwound = p.frames.sort((a, b) => a.level - b.level).map((f) => f.frame);
    let note: string | undefined;
    if (report.callTrace.length === 0 && unwound.length > 0) {
      report.callTrace = unwound;
      note = p.panic ? 'title from the unwound stack: the log printed no call trace' : 'no panic record (no log read, or it could not be): title from the unwound stack';
    }
    report.release = p.release;
    report.crashTime = p.crashTime;
    const sig = signatureOf(report, { dump });
    if (note !== undefined && !p.panic) {
      sig.corrupted = true;
      sig.reason = note;
    } else if (note !== undefined) sig.note = note;
    return [sig];
  }
}
