/**
 * Glue from the kernel readers (@vmpipe/kernel) to stream records: `log`,
 * `panic`, `system` and their `error` records (docs/records.md).
 */
import type { Dump } from '@vmpipe/dump';
import { kernelMemory, type KernelMemory } from '@vmpipe/addrxlat';
import {
  analysePanic,
  e820UsableBytes,
  logLines,
  panicTask,
  PrintkUnavailable,
  printkText,
  readPrintk,
  readUtsname,
  cpuOnline,
  timekeeperSeconds,
  timestamp,
  typedFactsUnavailable,
  uptimeText,
  type Program,
  type PanicInfo,
  type PrintkItem,
  type PrintkRecord,
  type TextFormat,
} from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type RecordWriter, type ErrorRecord, type LogRecord, type PanicRecord, type SystemRecord } from '@vmpipe/records';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Kernel text is bytes: UTF-8 when it is valid UTF-8, else each byte as one character (latin1). */
function decode(bytes: Buffer): string {
  // Nearly all kernel text is ASCII, which latin1 decodes the same and faster.
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.toString('latin1');
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function problemRecord(dump: Dump, p: NonNullable<PrintkItem['problem']>): ErrorRecord {
  const loc: Record<string, unknown> = { dump: dump.path };
  if (p.addr !== undefined) loc.addr = hex(p.addr);
  if (p.seq !== undefined) loc.seq = Number(p.seq);
  if (p.id !== undefined) loc.descId = Number(p.id);
  return errorRecord(p.code, p.message, loc);
}

export function unavailableRecord(dump: Dump, err: PrintkUnavailable): ErrorRecord {
  const loc: Record<string, unknown> = { dump: dump.path };
  if (err.missing.length) loc.missing = err.missing;
  if (err.addr !== undefined) loc.addr = hex(err.addr);
  return errorRecord(err.code, err.message, loc);
}

function toLogRecord(dump: Dump, r: PrintkRecord): LogRecord {
  const record: LogRecord = {
    kind: 'log',
    dump: dump.path,
    seq: Number(r.seq),
    tsNsec: r.tsNsec === null ? null : Number(r.tsNsec),
    level: r.level,
    text: decode(r.text),
  };
  if (r.tsNsec !== null) record.timestamp = timestamp(r.tsNsec);
  if (r.facility !== null) record.facility = r.facility;
  if (r.callerId !== null) record.callerId = r.callerId;
  if (r.subsystem) record.subsystem = r.subsystem;
  if (r.device) record.device = r.device;
  if (r.state) record.state = r.state;
  return record;
}

/**
 * The log as read once: `stream` gets the log and error records in log order;
 * `lines` (when asked for) keeps what the panic and uptime need, not the records.
 */
export interface KernelLog {
  lines: { text: string; seq: bigint; tsNsec: bigint | null }[];
  unavailable?: PrintkUnavailable;
}

/** Log and error records in log order, filling `log` as it goes (a generator: a long log streams). */
export function* kernelLogRecords(dump: Dump, mem: KernelMemory, log: KernelLog, keepLines = true): Generator<LogRecord | ErrorRecord> {
  const entries = dump.vmcoreinfo?.entries ?? {};
  try {
    for (const item of readPrintk(mem, entries)) {
      // A record the kernel's own readers would reject is an error record, not a log record.
      if (item.problem) yield problemRecord(dump, item.problem);
      else if (item.record) {
        if (item.record.dataless === 'lost') continue;
        const record = toLogRecord(dump, item.record);
        if (keepLines) log.lines.push({ text: record.text, seq: item.record.seq, tsNsec: item.record.tsNsec });
        yield record;
      }
    }
  } catch (err) {
    if (!(err instanceof PrintkUnavailable)) throw err;
    log.unavailable = err;
    yield unavailableRecord(dump, err);
  }
}

/** The whole log read at once (for library users and the benchmark). */
export function readKernelLog(dump: Dump, mem: KernelMemory): KernelLog & { stream: (LogRecord | ErrorRecord)[] } {
  const log: KernelLog = { lines: [] };
  const stream = [...kernelLogRecords(dump, mem, log)];
  return { ...log, stream };
}

/** `--text`: the log exactly as vmcore-dmesg / makedumpfile --dump-dmesg print it. */
export function* logText(dump: Dump, mem: KernelMemory, format: TextFormat, problems: (message: string) => void): Generator<string | Buffer> {
  yield* printkText(mem, dump.vmcoreinfo?.entries ?? {}, format, (p) => problems(p.message));
}

export function panicInfo(log: KernelLog): PanicInfo {
  return analysePanic(logLines(log.lines));
}

/** The program when it has the types and symbols the typed facts need, or the note saying why not. */
export type Typed = { prog: Program } | { note: string };

function typedOrNull(typed?: Typed): Program | null {
  return typed && 'prog' in typed ? typed.prog : null;
}

/** The panic record, and an error record when its task could not be read or disagrees with the log. */
export function panicRecords(dump: Dump, info: PanicInfo, typed?: Typed): (PanicRecord | ErrorRecord)[] {
  const k = typedOrNull(typed);
  const who = panicTask(k, info);
  const record = panicRecord(dump, { ...info, cpu: who.cpu, pid: who.pid, comm: who.comm });
  const out: (PanicRecord | ErrorRecord)[] = [record];
  if (who.task !== undefined) record.task = hex(who.task);
  if (who.taskSource) record.taskSource = who.taskSource;
  if (typed && 'note' in typed) record.note = typed.note;
  if (who.mismatch) out.push(errorRecord('panic-task-mismatch', `the log's task and the CPU's current task differ: ${who.mismatch}`, { dump: dump.path }));
  if (who.problem) out.push(errorRecord('panic-task-unreadable', `current task: ${who.problem.message}`, { dump: dump.path }));
  return out;
}

export function panicRecord(dump: Dump, info: PanicInfo): PanicRecord {
  return {
    kind: 'panic',
    dump: dump.path,
    headline: info.headline,
    message: info.message,
    cpu: info.cpu,
    pid: info.pid,
    comm: info.comm,
    event: info.kind,
    taint: info.taint,
    oops: info.oops,
    hardware: info.hardware,
    rip: info.rip,
    code: info.code,
    registers: info.registers,
    callTrace: info.callTrace.map((f) => {
      const frame: PanicRecord['callTrace'][number] = { function: f.function, offset: f.offset, size: f.size, reliable: f.reliable, line: f.line };
      if (f.module !== undefined) frame.module = f.module;
      if (f.addr !== undefined) frame.addr = hex(f.addr);
      return frame;
    }),
    seq: info.seq === null ? null : Number(info.seq),
    timestamp: info.tsNsec === null ? null : timestamp(info.tsNsec),
  };
}

export function systemRecord(dump: Dump, mem: KernelMemory, log: KernelLog, info: PanicInfo, typed?: Typed): (SystemRecord | ErrorRecord)[] {
  const out: (SystemRecord | ErrorRecord)[] = [];
  let uts: ReturnType<typeof readUtsname> = null;
  let utsSource: SystemRecord['utsSource'] = 'none';
  try {
    uts = readUtsname(mem, dump.vmcoreinfo?.entries ?? {});
    if (uts) utsSource = 'init_uts_ns';
  } catch (err) {
    out.push(errorRecord('utsname-unreadable', `init_uts_ns: ${(err as Error).message}`, { dump: dump.path }));
  }
  if (!uts && dump.utsname) {
    uts = dump.utsname;
    utsSource = 'kdump-header';
  }
  let memoryBytes = e820UsableBytes(log.lines.map((r) => r.text));
  const memorySource: SystemRecord['memorySource'] = memoryBytes !== null ? 'e820' : 'dump-ranges';
  if (memoryBytes === null) {
    memoryBytes = 0n;
    for (const r of dump.memoryRanges()) memoryBytes += r.end - r.start;
  }
  const last = [...log.lines].reverse().find((r) => r.tsNsec !== null);
  let crashTime = dump.crashTime ?? (dump.vmcoreinfo?.crashTime !== undefined ? new Date(dump.vmcoreinfo.crashTime * 1000) : undefined);
  let crashTimeSource: SystemRecord['crashTimeSource'] = dump.crashTime ? 'kdump-header' : crashTime ? 'vmcoreinfo' : undefined;
  const k = typedOrNull(typed);
  let cpusOffline: number | undefined;
  if (k) {
    // The header's time is the dump's own statement; the timekeeper is what crash prints without one.
    if (!crashTime) {
      try {
        crashTime = new Date(Number(timekeeperSeconds(k)) * 1000);
        crashTimeSource = 'timekeeper';
      } catch (err) {
        out.push(errorRecord('crash-time-unreadable', `tk_core.timekeeper.xtime_sec: ${(err as Error).message}`, { dump: dump.path }));
      }
    }
    try {
      cpusOffline = cpuOnline(k).offline.length;
    } catch (err) {
      out.push(errorRecord('cpu-online-unreadable', `__cpu_online_mask: ${(err as Error).message}`, { dump: dump.path }));
    }
  }
  const record: SystemRecord = {
    kind: 'system',
    dump: dump.path,
    release: uts?.release ?? dump.vmcoreinfo?.osrelease ?? null,
    version: uts?.version ?? null,
    machine: uts?.machine ?? null,
    nodename: uts?.nodename ?? null,
    cpus: dump.cpus.length,
    memoryBytes: Number(memoryBytes),
    memorySource,
    panic: log.unavailable ? null : info.headline,
    utsSource,
    uptimeNsec: last?.tsNsec != null ? Number(last.tsNsec) : null,
    uptime: last?.tsNsec != null ? uptimeText(last.tsNsec) : null,
    crashTime: crashTime ? crashTime.toISOString() : null,
    format: dump.format,
  };
  if (uts?.domainname) record.domainname = uts.domainname;
  if (crashTimeSource) record.crashTimeSource = crashTimeSource;
  if (cpusOffline !== undefined) record.cpusOffline = cpusOffline;
  if (typed && 'note' in typed) record.note = typed.note;
  out.push(record);
  return out;
}

/** `--text=TOOL` is `--text --text-format TOOL`: oclif flags cannot take an optional value. */
export function splitTextFlag(argv: string[]): string[] {
  return argv.flatMap((a) => (a.startsWith('--text=') ? ['--text', '--text-format', a.slice('--text='.length)] : [a]));
}

async function writeOut(chunk: string | Buffer): Promise<void> {
  if (!process.stdout.write(chunk)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
}

/** `--text`: no records, just the log as the tool prints it; problems as lines on stderr. */
export async function writeLogText(dump: Dump, format: string): Promise<void> {
  if (format !== 'vmcore-dmesg' && format !== 'makedumpfile' && format !== 'crash') {
    throw new FatalError(`--text: "${format}" is not one of vmcore-dmesg, makedumpfile, crash`, EXIT.usage);
  }
  const mem = kernelMemory(dump);
  let pending: (string | Buffer)[] = [];
  let size = 0;
  try {
    for (const piece of logText(dump, mem, format, (m) => process.stderr.write(`vmcore-extract: ${m}\n`))) {
      pending.push(piece);
      size += piece.length;
      if (size >= 1 << 16) {
        await writeOut(Buffer.concat(pending.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
        pending = [];
        size = 0;
      }
    }
  } catch (err) {
    if (err instanceof PrintkUnavailable) throw new FatalError(err.message, EXIT.badFormat);
    throw err;
  }
  // The text is bytes (latin1 keeps each byte as it was in the buffer).
  await writeOut(Buffer.concat(pending.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
}

/**
 * `--log`, `--panic`, `--sys`: the log is read once and serves all three. `--panic` and `--sys`
 * also use the dump's types (BTF) when it has them; `kernelTypes` loads them before the source
 * record is written, so that record can say where the types came from.
 */
export function kernelTypes(prog: Program, want: { panic?: boolean; sys?: boolean }): Typed | undefined {
  if (!want.panic && !want.sys) return undefined;
  const note = typedFactsUnavailable(prog);
  return note === undefined ? { prog } : { note };
}

export async function writeKernelRecords(
  dump: Dump,
  mem: KernelMemory,
  out: RecordWriter,
  want: { log?: boolean; panic?: boolean; sys?: boolean },
  typed: Typed | undefined,
): Promise<void> {
  const log: KernelLog = { lines: [] };
  for (const r of kernelLogRecords(dump, mem, log, want.panic || want.sys)) {
    if (!want.log && r.kind !== 'error') continue;
    if (out.closed) return;
    await out.write(r);
  }
  if (!typed) return;
  const info = panicInfo(log);
  if (want.panic && !log.unavailable) for (const r of panicRecords(dump, info, typed)) await out.write(r);
  if (want.sys) for (const r of systemRecord(dump, mem, log, info, typed)) await out.write(r);
}
