import { Args, Flags } from '@oclif/core';
import { cpuRecords, sourceRecord } from '../dump-records.js';
import { errorRecord, EXIT, FatalError, hex, RecordWriter, type AnyRecord, type FrameRecord } from '@vmpipe/records';
import {
  cpu_stack_trace, cpuOnline, for_each_task, idle_task, intMember, LineTable, panicCpu, Program, ptrauth_strip_kernel_insn_pac, stack_trace, StructLayout, task_cpu, stringMember, struct, Unwinder,
  type Arm64Frame, type Frame, type SourceLine, type TaskTrace,
} from '@vmpipe/kernel';
import { programFlags, VmpipeCommand } from '../base.js';
import { kernelLogRecords, panicInfo, type KernelLog } from '../kernel-records.js';

/**
 * backtrace: stack traces unwound from the dump alone (ORC through kallsyms,
 * no vmlinux), like crash's bt / bt -a / foreach bt.
 * Consumes (without DUMP, as a filter): panic, cpu and task records, each
 * followed by its trace. Produces: source, cpu, frame, error.
 */
export default class Backtrace extends VmpipeCommand {
  static override consumes: readonly string[] = ['panic', 'cpu', 'task'];
  static override produces: readonly string[] = ['source', 'cpu', 'frame', 'error'];
  static override summary = 'Stack traces of the crashing task, every CPU or every task (crash bt, bt -a, foreach bt), from the dump alone.';
  static override description = [
    'One frame record per frame: level, pc, sp, function, offset, text (symbol+0xoff/0xsize as the kernel prints it), module, reliable, method (regs, orc, fp, scan, exception); exception frames carry the whole pt_regs as regs. The crashing CPU comes from panic_cpu (else the log\'s CPU line), never from NT_PRSTATUS pr_pid.',
    'Unwinding uses the kernel\'s ORC tables read through kallsyms (every ORC format), module ORC, IRQ/NMI/exception stacks; where ORC has no entry, frame pointers, then a scan for return addresses (reliable: false). A trace that cannot go on ends with an error record saying why. See docs/backtrace.md.',
    'arm64 dumps: frame records (x29), return addresses with pointer authentication stripped (KERNELPACMASK; the signed value as signedPc), pt_regs exception frames, IRQ/overflow/SDEI stacks; a return address past a noreturn call is named by pc - 4, the kernel\'s own name kept as printedAs. Give --system-map: the per-CPU symbols are not in an arm64 kallsyms without KALLSYMS_ALL.',
    'Without DUMP, a filter: a panic record is followed by the crashing CPU\'s trace (crash bt), a cpu record by that CPU\'s (bt -a), a task record by that task\'s (task-list --state UN | backtrace is foreach UN bt); other records pass through.',
    'Exit codes: 0 ok, 2 bad usage (an unknown PID, no crashing CPU), 3 missing file, 4 not a dump, or no symbols or types to unwind with.',
  ].join('\n\n');
  static override examples = [
    '<%= config.bin %> backtrace fixtures/real/vmcore.kdump-zlib | vmpipe-render',
    '<%= config.bin %> backtrace fixtures/real/vmcore.kdump-zlib --all-cpus | vmpipe-render',
    '<%= config.bin %> backtrace fixtures/real/vmcore.kdump-zlib --task 1 --frames',
    '<%= config.bin %> task-list fixtures/real/vmcore.kdump-zlib --format json | jq -c \'select(.comm=="sh")\' | backtrace | vmpipe-render',
    '<%= config.bin %> backtrace fixtures/real/vmcore.kdump-zlib --all-tasks | jq -r \'select(.kind=="frame" and .level==1) | .function\' | sort | uniq -c',
  ];
  static override args = { dump: Args.string({ description: 'the dump (none: a filter of panic, cpu and task records)', ignoreStdin: true }) };
  static override flags = {
    'all-cpus': Flags.boolean({ description: 'the task on every CPU, from each CPU\'s saved registers (crash bt -a)' }),
    task: Flags.string({ description: 'this task: a PID or a task_struct address (repeatable)', helpValue: 'PID|ADDR', multiple: true }),
    'all-tasks': Flags.boolean({ description: 'every task on the task lists (and in the PID table where they break), and each CPU\'s idle task (crash foreach bt)' }),
    frames: Flags.boolean({ description: 'add each frame\'s stack words (crash bt -f)' }),
    lines: Flags.boolean({ description: 'add each frame\'s source file and line from --vmlinux\'s DWARF (crash bt -l)' }),
    ...programFlags,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Backtrace);
    const modes = [flags['all-cpus'] && '--all-cpus', flags.task?.length && '--task', flags['all-tasks'] && '--all-tasks'].filter(Boolean);
    if (modes.length > 1) throw new FatalError(`${modes.join(' and ')}: give one of them`, EXIT.usage);
    if (flags.lines && !flags.vmlinux) throw new FatalError('--lines reads the line tables of a vmlinux with DWARF: give --vmlinux FILE', EXIT.usage);
    this.useProgramFlags(flags);
    const out = this.stream(new RecordWriter());
    const emit = (r: AnyRecord) => out.write(r);
    if (args.dump === undefined) {
      if (modes.length) throw new FatalError(`${modes[0]} needs a DUMP (as a filter, the records on stdin say which traces)`, EXIT.usage);
      const tracers = new Map<Program, Tracer | Error>();
      await this.filter(out, async function* (record, prog) {
        let tracer = tracers.get(prog);
        const first = !tracer;
        if (!tracer) {
          try {
            tracer = new Tracer(prog, prog.path, flags);
          } catch (err) {
            tracer = err as Error;
          }
          tracers.set(prog, tracer);
        }
        yield record;
        if (tracer instanceof Error) {
          if (first) yield errorRecord('dump-unusable', `${prog.path}: ${tracer.message}`, { dump: prog.path }) as AnyRecord;
          return;
        }
        const found: AnyRecord[] = [];
        await tracer.forRecord(record, async (r) => void found.push(r));
        yield* found;
      });
      for (const t of tracers.values()) if (!(t instanceof Error)) t.tellNotes();
      await out.end();
      return;
    }
    const prog = this.program(args.dump);
    const dump = prog.theDump;
    const tracer = new Tracer(prog, args.dump, flags);
    await emit(sourceRecord(prog) as unknown as AnyRecord);
    if (flags['all-cpus']) {
      let cpus: number[];
      try {
        cpus = cpuOnline(prog).online.concat(cpuOnline(prog).offline).sort((a, b) => a - b);
      } catch {
        cpus = dump.cpus.map((c) => c.cpu);
      }
      for (const cpu of cpus) {
        if (dump.cpus.some((c) => c.cpu === cpu)) await tracer.byCpu(cpu, emit, true);
        else await emit(errorRecord('no-registers', `the dump saved no registers for CPU ${cpu}`, { dump: args.dump, cpu }) as AnyRecord);
      }
    } else if (flags.task?.length || flags['all-tasks']) {
      for (const task of flags['all-tasks'] ? allTasks(prog, emit, args.dump) : selectTasks(prog, flags.task!)) {
        const t = await task;
        if (t === undefined) continue;
        await tracer.guarded({ task: hex(t) }, () => stack_trace(tracer.unwinder, t), emit);
      }
    } else {
      await tracer.byCpu(crashingCpu(prog), emit, true);
    }
    tracer.tellNotes();
    await out.end();
  }
}

type Emit = (r: AnyRecord) => Promise<void>;

/** One dump's unwinder and how its traces become records (the generator and the filter share it). */
class Tracer {
  readonly unwinder: Unwinder;
  private readonly lines: ((f: Frame) => SourceLine | undefined) | undefined;

  constructor(private readonly prog: Program, private readonly dump: string, private readonly flags: { frames: boolean; lines: boolean; vmlinux?: string }) {
    const types = prog.tryTypes();
    if (types instanceof Error) throw new FatalError(`cannot unwind without types: ${types.message}`, EXIT.badFormat);
    this.unwinder = new Unwinder(prog);
    this.lines = flags.lines ? sourceLines(prog, flags.vmlinux!) : undefined;
  }

  /** The trace a consumed record asks for: a panic's crashing CPU, a cpu record's CPU, a task record's task. */
  async forRecord(record: AnyRecord, emit: Emit): Promise<void> {
    const r = record as AnyRecord & { cpu?: unknown; task?: unknown };
    if (record.kind === 'task') {
      if (typeof r.task !== 'string' || !/^0x[0-9a-f]+$/i.test(r.task)) return emit(errorRecord('bad-record', 'a task record without a task address', { dump: this.dump }) as AnyRecord);
      const task = BigInt(r.task);
      return this.guarded({ task: r.task }, () => stack_trace(this.unwinder, task), emit);
    }
    if (record.kind === 'cpu' && typeof r.cpu === 'number') return this.byCpu(r.cpu, emit, false);
    if (record.kind === 'panic') {
      let cpu: number;
      try {
        cpu = typeof r.cpu === 'number' ? r.cpu : crashingCpu(this.prog);
      } catch (err) {
        return emit(errorRecord('no-crashing-cpu', (err as Error).message, { dump: this.dump }) as AnyRecord);
      }
      return this.byCpu(cpu, emit, false);
    }
  }

  async byCpu(cpu: number, emit: Emit, withCpuRecord: boolean): Promise<void> {
    const rec = withCpuRecord ? cpuRecords(this.prog.theDump).find((c) => c.cpu === cpu) : undefined;
    if (rec) await emit(rec as unknown as AnyRecord);
    await this.guarded({ cpu }, () => cpu_stack_trace(this.unwinder, cpu), emit);
  }

  async guarded(what: Record<string, unknown>, f: () => TaskTrace, emit: Emit): Promise<void> {
    let trace: TaskTrace;
    try {
      trace = f();
    } catch (err) {
      await emit(errorRecord('task-unreadable', (err as Error).message, { dump: this.dump, ...what }) as AnyRecord);
      return;
    }
    const { prog, dump } = this;
    const ts = struct(prog, 'task_struct');
    const task: TaskFacts = { pid: Number(intMember(prog, trace.task, ts, 'pid')), comm: stringMember(prog, trace.task, ts, 'comm') };
    // the CPU a task last ran on, which crash's bt header shows for a sleeping task too
    try {
      task.taskCpu = task_cpu(prog, trace.task);
    } catch {
      /* the types have no task_struct.cpu nor thread_info.cpu: the header says '-' */
    }
    for (let i = 0; i < trace.frames.length; i++) await emit(frameRecord(prog, dump, trace, trace.frames[i]!, trace.frames[i + 1], task, this.flags.frames, this.lines));
    if (trace.end.reason === 'error' || trace.end.reason === 'depth') {
      await emit(errorRecord(trace.end.code ?? 'unwind', trace.end.message ?? 'the trace stops here', {
        dump, pid: task.pid, task: hex(trace.task), ...(trace.cpu !== undefined ? { cpu: trace.cpu } : {}), ...(trace.end.addr !== undefined ? { addr: hex(trace.end.addr) } : {}),
      }) as AnyRecord);
    }
  }

  tellNotes(): void {
    for (const n of this.unwinder.notes) process.stderr.write(`backtrace: ${n}\n`);
  }
}

/** The CPU that crashed: panic_cpu, else the CPU of the log's `CPU: N PID: P` line. */
function crashingCpu(prog: Program): number {
  const cpu = panicCpu(prog);
  if (cpu !== null) return cpu;
  const log: KernelLog = { lines: [] };
  for (const _ of kernelLogRecords(prog, log)) void _; // fills log.lines
  const info = panicInfo(log);
  if (info.cpu !== null) return info.cpu;
  throw new FatalError('no CPU called panic() (panic_cpu is -1) and the log names none: give --all-cpus or --task', EXIT.usage);
}

/** --task: addresses as given; PIDs found on the task lists (PID 0: every CPU's idle task). */
function* selectTasks(prog: Program, specs: string[]): Generator<Promise<bigint | undefined> | bigint> {
  for (const spec of specs) {
    if (/^0x[0-9a-f]+$/i.test(spec) || /^[0-9a-f]{9,16}$/i.test(spec)) {
      yield BigInt(spec.startsWith('0x') ? spec : '0x' + spec);
      continue;
    }
    if (!/^\d+$/.test(spec)) throw new FatalError(`--task ${spec}: give a PID or a task_struct address`, EXIT.usage);
    const pid = Number(spec);
    const ts = struct(prog, 'task_struct');
    let found = false;
    for (const t of tasksWithIdle(prog)) {
      if (Number(intMember(prog, t, ts, 'pid')) === pid) {
        found = true;
        yield t;
      }
    }
    if (!found) throw new FatalError(`--task ${spec}: no task with that PID on the task lists`, EXIT.usage);
  }
}

/** Every task on the lists, then the idle tasks of CPUs above 0 (on no list). */
function* tasksWithIdle(prog: Program, problems?: (message: string) => void): Generator<bigint> {
  const seen = new Set<bigint>();
  for (const step of for_each_task(prog)) {
    if ('corrupt' in step) {
      problems?.(step.corrupt.message);
      continue;
    }
    if (seen.has(step.task)) continue;
    seen.add(step.task);
    yield step.task;
  }
  let nr = 0;
  try {
    nr = cpuOnline(prog).nrCpuIds;
  } catch {
    nr = prog.dump?.cpus.length ?? 0;
  }
  for (let cpu = 1; cpu < nr; cpu++) {
    try {
      const t = idle_task(prog, cpu);
      if (t !== 0n && !seen.has(t)) {
        seen.add(t);
        yield t;
      }
    } catch {
      /* a CPU whose runqueue cannot be read has no idle task to show */
    }
  }
}

function* allTasks(prog: Program, emit: (r: AnyRecord) => Promise<void>, dump: string): Generator<Promise<bigint | undefined> | bigint> {
  const pending: string[] = [];
  for (const t of tasksWithIdle(prog, (m) => pending.push(m))) {
    while (pending.length) yield emit(errorRecord('list-corrupt', pending.shift()!, { dump }) as AnyRecord).then(() => undefined);
    yield t;
  }
  while (pending.length) yield emit(errorRecord('list-corrupt', pending.shift()!, { dump }) as AnyRecord).then(() => undefined);
}

/** A frame as a record (RECORDS.md `frame`). */
/** --lines: a vmlinux's line table, looked up at link-time addresses (the dump's KASLR offset taken off). */
function sourceLines(prog: Program, vmlinux: string): (f: Frame) => SourceLine | undefined {
  process.stderr.write(`backtrace: reading the line tables of ${vmlinux}...\n`);
  const table = new LineTable(vmlinux);
  const slide = prog.kernelOffset; // a damaged KERNELOFFSET: what the program took instead (its vmcoreinfo-fallback error says which)
  return (f) => {
    if (f.module || f.function === undefined || f.user) return undefined;
    const returnAddress = f.method === 'orc' || f.method === 'fp' || f.method === 'scan' || f.method === 'lr' || (f.method === 'regs' && f.slot !== undefined);
    return table.lookup((returnAddress ? f.pc - 1n : f.pc) - slide);
  };
}

interface TaskFacts {
  pid: number;
  comm: string;
  taskCpu?: number;
}

function frameRecord(prog: Program, dump: string, trace: TaskTrace, f: Frame, next: Frame | undefined, task: TaskFacts, words: boolean, lines?: (f: Frame) => SourceLine | undefined): AnyRecord {
  const r: FrameRecord = {
    kind: 'frame', dump, pid: task.pid, comm: task.comm, task: hex(trace.task), ...(trace.cpu !== undefined ? { cpu: trace.cpu } : {}),
    ...(trace.cpu === undefined && task.taskCpu !== undefined ? { taskCpu: task.taskCpu } : {}),
    level: f.level, pc: hex(f.pc), sp: hex(f.sp), ...(f.slot !== undefined ? { slot: hex(f.slot) } : {}),
    function: f.function ?? null, offset: f.offset ?? null, reliable: f.reliable, method: f.method,
  };
  if (f.function !== undefined) r.text = `${f.function}+0x${f.offset!.toString(16)}${f.size !== undefined ? `/0x${f.size.toString(16)}` : ''}`;
  if (f.module) r.module = f.module;
  const fp = prog.theDump.arch === 'arm64' && f.method !== 'exception' ? arm64FramePointer(prog, next) : undefined;
  if (fp !== undefined) r.fp = hex(fp);
  const src = lines?.(f);
  if (src) {
    r.file = src.file;
    r.line = src.line;
  }
  if (f.stack) r.stack = f.stack;
  if (f.regs) r.regs = Object.fromEntries(Object.entries(f.regs).map(([k, v]) => [k, hex(v!)]));
  // arm64: the link register as the kernel uses it (PAC stripped) and named, as crash's exception frame prints LR
  const a64regs = f.regs as Record<string, bigint | undefined> | undefined;
  if (a64regs?.['x30'] !== undefined && a64regs['pstate'] !== undefined && f.method === 'exception' && !f.user) {
    const lr = ptrauth_strip_kernel_insn_pac(prog, a64regs['x30']);
    r.lr = hex(lr);
    const at = prog.symbols.resolve(lr);
    if (at) r.lrText = `${at.symbol.name}${at.offset ? `+${at.offset}` : ''}`;
  }
  if (f.partial) r.partial = true;
  if (f.user) r.user = true;
  // arm64: the return address as signed with pointer authentication, and the kernel's own %pS name of the raw pc
  const a64 = f as Arm64Frame;
  if (a64.signedPc !== undefined) r.signedPc = hex(a64.signedPc);
  if (a64.printedAs) {
    const p = a64.printedAs;
    r.printedAs = `${p.function}+0x${p.offset.toString(16)}${p.size !== undefined ? `/0x${p.size.toString(16)}` : ''}`;
  }
  if (words && next) {
    // The words between this frame's sp and where the next frame's pc was read (crash bt -f).
    const end = next.slot !== undefined && next.slot >= f.sp ? next.slot + 8n : next.sp;
    const n = Math.min(Number(end - f.sp) / 8, 512);
    if (n > 0) {
      try {
        const b = prog.mem.readBytes(f.sp, n * 8);
        const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
        r.words = Array.from({ length: n }, (_, i) => hex(dv.getBigUint64(i * 8, true)));
      } catch (err) {
        (r as unknown as Record<string, unknown>)['wordsError'] = (err as Error).message;
      }
    }
  }
  return r as unknown as AnyRecord;
}

/**
 * arm64: the frame pointer (x29) while in a frame, the address of the frame record it set up,
 * which crash's arm64 bt prints in brackets: where the next frame's return address was read,
 * less 8 (a record is {fp, lr}), or for an exception frame next, its pt_regs' stackframe.
 */
function arm64FramePointer(prog: Program, next: Frame | undefined): bigint | undefined {
  if (next?.slot === undefined) return undefined;
  if (next.method !== 'exception') return next.method === 'fp' || next.method === 'regs' ? next.slot - 8n : undefined;
  try {
    return next.slot + BigInt(StructLayout.of(prog, 'pt_regs').offset('stackframe'));
  } catch {
    return undefined;
  }
}
