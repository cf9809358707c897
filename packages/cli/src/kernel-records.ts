/**
 * Glue from the kernel readers (@vmpipe/kernel) to stream records: `log`,
 * `panic`, `system` and their `error` records (docs/records.md).
 */
import type { Dump } from '@vmpipe/kernel';
import {
  analysePanic,
  decodeText,
  logLines,
  panicTask,
  PrintkUnavailable,
  printkText,
  readPrintk,
  systemFacts,
  timestamp,
  typedFactsUnavailable,
  uptimeText,
  type PanicInfo,
  type PrintkItem,
  type PrintkRecord,
  type Program,
  type TextFormat,
} from '@vmpipe/kernel';
import { errorRecord, EXIT, FatalError, hex, type RecordWriter, type ErrorRecord, type LogRecord, type PanicRecord, type SystemRecord } from '@vmpipe/records';

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
    text: decodeText(r.text),
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
export function* kernelLogRecords(prog: Program, log: KernelLog, keepLines = true): Generator<LogRecord | ErrorRecord> {
  const dump = prog.theDump;
  try {
    for (const item of readPrintk(prog.mem, dump.vmcoreinfo?.trusted() ?? {})) {
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

export function panicInfo(log: KernelLog): PanicInfo {
  return analysePanic(logLines(log.lines));
}

/** The panic record, and an error record when its task could not be read or disagrees with the log. */
export function panicRecords(prog: Program, info: PanicInfo): (PanicRecord | ErrorRecord)[] {
  const dump = prog.theDump;
  const note = typedFactsUnavailable(prog);
  const who = panicTask(note === undefined ? prog : null, info);
  const record = panicRecord(dump, { ...info, cpu: who.cpu, pid: who.pid, comm: who.comm });
  nameNoreturnCallers(prog, record);
  const out: (PanicRecord | ErrorRecord)[] = [record];
  if (who.task !== undefined) record.task = hex(who.task);
  if (who.taskSource) record.taskSource = who.taskSource;
  if (note !== undefined) record.note = note;
  if (who.mismatch) out.push(errorRecord('panic-task-mismatch', `the log's task and the CPU's current task differ: ${who.mismatch}`, { dump: dump.path }));
  if (who.problem) out.push(errorRecord('panic-task-unreadable', `current task: ${who.problem.message}`, { dump: dump.path }));
  return out;
}

/**
 * A printed call trace's `name+0x0/...` below its first frame is a return address at a
 * function's first byte: the call before it was the last instruction of the function in front
 * (a call to a noreturn function such as panic). arm64 prints return addresses with %pS, not
 * x86's %pB, so its trace names the next function (`sysrq_reset_seq_param_set+0x0/0xa0` for
 * `sysrq_handle_crash`). With the dump's symbols at hand, such a frame gets `caller`: the
 * function that made the call, which triage takes for the frame.
 */
export function nameNoreturnCallers(prog: Program, record: PanicRecord): void {
  record.callTrace.forEach((f, i) => {
    if (i === 0 || f.offset !== 0 || typeof f.function !== 'string') return;
    try {
      const at = prog.symbols.lookup(f.function).find((s) => (f.module ? s.module === f.module : !s.module));
      const before = at ? prog.symbols.resolve(at.addr - 1n) : undefined;
      if (before && before.symbol.name !== f.function) f.caller = before.symbol.name;
    } catch {
      /* no symbols: the frame stays as printed */
    }
  });
}

export function panicRecord(dump: Dump, info: PanicInfo): PanicRecord {
  return {
    kind: 'panic',
    dump: dump.path,
    headline: info.headline,
    ...(info.bugLine !== null ? { bugLine: info.bugLine } : {}),
    message: info.message,
    cpu: info.cpu,
    pid: info.pid,
    comm: info.comm,
    event: info.kind,
    taint: info.taint,
    oops: info.oops,
    ...(info.cpuLine !== null ? { cpuLine: info.cpuLine } : {}),
    ...(info.modules !== null ? { modules: info.modules } : {}),
    hardware: info.hardware,
    rip: info.rip,
    code: info.code,
    registers: info.registers,
    // arm64's report parts (absent on x86 reports, whose records stay as they were)
    ...(info.lr !== null ? { lr: info.lr } : {}),
    ...(Object.keys(info.regs).length > 0 ? { regs: Object.fromEntries(Object.entries(info.regs).map(([k, v]) => [k, hex(v)])) } : {}),
    ...(info.esr !== null ? { esr: hex(info.esr) } : {}),
    ...(info.faultAddress !== null ? { faultAddress: hex(info.faultAddress) } : {}),
    ...(info.abort.length > 0 ? { abort: info.abort } : {}),
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

/** The system record (crash's sys), and an error record for each fact that could not be read. */
export function systemRecords(prog: Program, log: KernelLog, info: PanicInfo): (SystemRecord | ErrorRecord)[] {
  const dump = prog.theDump;
  const f = systemFacts(prog, log.lines);
  const out: (SystemRecord | ErrorRecord)[] = f.problems.map((p) => errorRecord(p.code, p.message, { dump: dump.path }));
  const record: SystemRecord = {
    kind: 'system',
    dump: dump.path,
    release: f.uts?.release ?? dump.vmcoreinfo?.osrelease ?? null,
    version: f.uts?.version ?? null,
    machine: f.uts?.machine ?? null,
    nodename: f.uts?.nodename ?? null,
    cpus: f.cpus,
    memoryBytes: Number(f.memoryBytes),
    memorySource: f.memorySource,
    panic: log.unavailable ? null : info.headline,
    utsSource: f.utsSource,
    uptimeNsec: f.uptimeNsec !== null ? Number(f.uptimeNsec) : null,
    uptime: f.uptimeNsec !== null ? uptimeText(f.uptimeNsec) : null,
    crashTime: f.crashTime ? f.crashTime.toISOString() : null,
    format: dump.format,
  };
  if (f.uts?.domainname) record.domainname = f.uts.domainname;
  if (f.crashTimeSource) record.crashTimeSource = f.crashTimeSource;
  if (f.cpusOffline !== undefined) record.cpusOffline = f.cpusOffline;
  if (f.loadAverage) record.loadAverage = f.loadAverage;
  if (f.mhz !== undefined) record.mhz = f.mhz;
  if (f.tasks !== undefined) record.tasks = f.tasks;
  if (f.note !== undefined) record.note = f.note;
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
export async function writeLogText(prog: Program, format: string): Promise<void> {
  if (format !== 'vmcore-dmesg' && format !== 'makedumpfile' && format !== 'crash') {
    throw new FatalError(`--text: "${format}" is not one of vmcore-dmesg, makedumpfile, crash`, EXIT.usage);
  }
  const problem = (p: { message: string }) => process.stderr.write(`vmcore-extract: ${p.message}\n`);
  let pending: (string | Buffer)[] = [];
  let size = 0;
  // The text is bytes (latin1 keeps each byte as it was in the buffer).
  const flush = () => writeOut(Buffer.concat(pending.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
  for (const piece of printkText(prog.mem, prog.theDump.vmcoreinfo?.trusted() ?? {}, format as TextFormat, problem)) {
    pending.push(piece);
    size += piece.length;
    if (size >= 1 << 16) {
      await flush();
      pending = [];
      size = 0;
    }
  }
  await flush();
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
}

/** `--log`, `--panic`, `--sys` (and the default stream's system record): the log is read once and serves all three. */
export async function writeKernelRecords(prog: Program, out: RecordWriter, want: { log?: boolean; panic?: boolean; sys?: boolean }): Promise<void> {
  const log: KernelLog = { lines: [] };
  for (const r of kernelLogRecords(prog, log, want.panic || want.sys)) {
    if (!want.log && r.kind !== 'error') continue;
    if (out.closed) return;
    await out.write(r);
  }
  if (!want.panic && !want.sys) return;
  const info = panicInfo(log);
  if (want.panic && !log.unavailable) for (const r of panicRecords(prog, info)) await out.write(r);
  if (want.sys) for (const r of systemRecords(prog, log, info)) await out.write(r);
}
