/**
 * The system summary crash's `sys` prints, from the dump alone: the utsname
 * the kernel keeps in `init_uts_ns` (VMCOREINFO `SYMBOL(init_uts_ns)` +
 * `OFFSET(uts_namespace.name)`: struct new_utsname, six `char[65]`, from
 * include/uapi/linux/utsname.h), else the kdump header's copy.
 */
import { MemoryError, type KernelMemory } from '@vmpipe/addrxlat';
import { memberAt } from '@vmpipe/types';
import { cString } from '@vmpipe/bytes';
import { UTSNAME_FIELDS, type Utsname } from '@vmpipe/dump';
import { cpuOnline } from './cpumask.js';
import { nr_cpu_ids } from './percpu.js';
import { for_each_task, idle_task } from './tasks.js';
import { readInt, struct, typedFactsUnavailable } from './read.js';
import { timekeeperSeconds } from './timekeeping.js';
import type { Program } from './program.js';

export const NEW_UTS_LEN = 65;
export type UtsFields = Utsname;

/** init_uts_ns.name read from memory; null when VMCOREINFO lacks the entries. Throws MemoryError when unreadable. */
export function readUtsname(mem: KernelMemory, entries: Readonly<Record<string, string>>): UtsFields | null {
  const sym = entries['SYMBOL(init_uts_ns)'];
  if (sym === undefined || !/^[0-9a-f]+$/i.test(sym)) return null;
  const off = Number(entries['OFFSET(uts_namespace.name)'] ?? 'x');
  if (!Number.isInteger(off)) return null;
  const bytes = mem.readBytes(BigInt('0x' + sym) + BigInt(off), NEW_UTS_LEN * UTSNAME_FIELDS.length);
  const out = {} as UtsFields;
  UTSNAME_FIELDS.forEach((name, i) => (out[name] = cString(bytes, i * NEW_UTS_LEN, NEW_UTS_LEN)));
  return out;
}

/** crash's uptime format (kernel.c convert_time()): `HH:MM:SS`, with `N days, ` in front past a day. */
export function uptimeText(nsec: bigint): string {
  let secs = nsec / 1_000_000_000n;
  const days = secs / 86400n;
  secs %= 86400n;
  const two = (n: bigint) => n.toString().padStart(2, '0');
  const hms = `${two(secs / 3600n)}:${two((secs % 3600n) / 60n)}:${two(secs % 60n)}`;
  return days > 0n ? `${days} day${days === 1n ? '' : 's'}, ${hms}` : hms;
}

const E820_USABLE = /^(?:BIOS-e820|e820): \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable$/;

/**
 * RAM the firmware handed the kernel: the `usable` ranges of the e820 map the
 * kernel logs at boot (arch/x86/kernel/e820.c e820__print_table(), "BIOS-e820:
 * [mem 0x...-0x...] usable"). This is the MEMORY crash's `sys` shows for
 * these dumps; the dump's own ranges also count holes and reserved space.
 * null when the log does not have the map (it scrolled out, or not x86).
 */
export function e820UsableBytes(lines: Iterable<string>): bigint | null {
  let total = 0n;
  let seen = false;
  for (const line of lines) {
    const m = E820_USABLE.exec(line);
    if (!m) {
      if (seen && !line.startsWith('BIOS-e820') && !line.startsWith('e820')) break;
      continue;
    }
    seen = true;
    total += BigInt('0x' + m[2]) - BigInt('0x' + m[1]) + 1n;
  }
  return seen ? total : null;
}

/**
 * The load average as the kernel prints it (kernel/sched/loadavg.c, fs/proc/loadavg.c):
 * `avenrun[3]`, fixed point with FSHIFT 11 bits; LOAD_INT and two digits of LOAD_FRAC.
 */
export function loadAverage(prog: Program): [number, number, number] | null {
  const at = prog.symbol('avenrun');
  if (at === undefined) return null;
  const FSHIFT = 11n;
  const FIXED_1 = 1n << FSHIFT;
  const loads = [0, 1, 2].map((i) => {
    const x = readInt(prog, at + BigInt(i * 8), 8, false) + FIXED_1 / 200n; // the kernel rounds (+ FIXED_1/200) before printing
    const int = x >> FSHIFT;
    const frac = ((x & (FIXED_1 - 1n)) * 100n) >> FSHIFT;
    return Number(int) + Number(frac) / 100;
  });
  return loads as [number, number, number];
}

/** A fact crash's `sys` shows that could not be read: which (an error-record code) and why. */
export interface SystemProblem {
  code: 'utsname-unreadable' | 'crash-time-unreadable' | 'cpu-online-unreadable' | 'load-average-unreadable' | 'tasks-unreadable';
  message: string;
}

/** What crash's `sys` says about a dump, each fact with where it came from. */
export interface SystemFacts {
  uts: UtsFields | null;
  utsSource: 'init_uts_ns' | 'kdump-header' | 'none';
  cpus: number;
  cpusOffline?: number;
  memoryBytes: bigint;
  memorySource: 'e820' | 'dump-ranges';
  crashTime?: Date;
  crashTimeSource?: 'kdump-header' | 'vmcoreinfo' | 'timekeeper';
  /** the timestamp of the last log record */
  uptimeNsec: bigint | null;
  loadAverage?: [number, number, number];
  /** the CPU clock crash prints after MACHINE (`cpu_khz` / 1000) */
  mhz?: number;
  /** every task: each thread of each process on the task lists, and each other online CPU's idle task (crash's TASKS) */
  tasks?: number;
  /** why the facts that need types and symbols are absent */
  note?: string;
  problems: SystemProblem[];
}

/**
 * The `sys` facts, chosen the way crash chooses them: utsname from init_uts_ns
 * (else the kdump header's copy); MEMORY from the e820 map in the log (else the
 * dump's ranges); DATE from the dump header, VMCOREINFO's CRASHTIME, else the
 * timekeeper; CPUs offline from __cpu_online_mask; UPTIME from the last log
 * record. `logLines` is the log's text and timestamps, in order.
 */
export function systemFacts(prog: Program, log: readonly { text: string; tsNsec: bigint | null }[]): SystemFacts {
  const dump = prog.theDump;
  const problems: SystemProblem[] = [];
  let uts: UtsFields | null = null;
  let utsSource: SystemFacts['utsSource'] = 'none';
  try {
    uts = readUtsname(prog.mem, dump.vmcoreinfo?.trusted() ?? {});
    if (uts) utsSource = 'init_uts_ns';
  } catch (err) {
    problems.push({ code: 'utsname-unreadable', message: `init_uts_ns: ${(err as Error).message}` });
  }
  if (!uts && dump.utsname) {
    uts = dump.utsname;
    utsSource = 'kdump-header';
  }
  let memoryBytes = e820UsableBytes(log.map((r) => r.text));
  const memorySource: SystemFacts['memorySource'] = memoryBytes !== null ? 'e820' : 'dump-ranges';
  if (memoryBytes === null) {
    memoryBytes = 0n;
    for (const r of dump.memoryRanges()) memoryBytes += r.end - r.start;
  }
  let last: bigint | null = null;
  for (let i = log.length - 1; i >= 0 && last === null; i--) last = log[i]!.tsNsec;
  const facts: SystemFacts = { uts, utsSource, cpus: dump.cpus.length, memoryBytes, memorySource, uptimeNsec: last, problems };
  if (dump.crashTime) Object.assign(facts, { crashTime: dump.crashTime, crashTimeSource: 'kdump-header' });
  else if (dump.vmcoreinfo?.crashTime !== undefined) Object.assign(facts, { crashTime: new Date(dump.vmcoreinfo.crashTime * 1000), crashTimeSource: 'vmcoreinfo' });
  const note = typedFactsUnavailable(prog);
  if (note !== undefined) {
    facts.note = note;
    return facts;
  }
  // The header's time is the dump's own statement; the timekeeper is what crash prints without one.
  if (!facts.crashTime) {
    try {
      facts.crashTime = new Date(Number(timekeeperSeconds(prog)) * 1000);
      facts.crashTimeSource = 'timekeeper';
    } catch (err) {
      problems.push({ code: 'crash-time-unreadable', message: `tk_core.timekeeper.xtime_sec: ${(err as Error).message}` });
    }
  }
  try {
    facts.cpusOffline = cpuOnline(prog).offline.length;
  } catch (err) {
    problems.push({ code: 'cpu-online-unreadable', message: `__cpu_online_mask: ${(err as Error).message}` });
  }
  try {
    // As crash counts them (its task table): every task on the lists or in the PID table, and each
    // CPU's idle task (CPU 0's is init_task, on the list); a task_struct the dump lacks is not counted.
    const seen = new Set<bigint>();
    for (const step of for_each_task(prog)) {
      if ('task' in step) seen.add(step.task);
      else problems.push({ code: 'tasks-unreadable', message: `the task list: ${step.corrupt.message}; TASKS counts the readable tasks on the lists and in the PID table` });
    }
    for (let cpu = 0; cpu < (nr_cpu_ids(prog) ?? 0); cpu++) seen.add(idle_task(prog, cpu));
    seen.delete(0n);
    const pidAt = BigInt(memberAt(prog.types, struct(prog, 'task_struct'), 'pid').offset);
    let lost = 0;
    for (const task of seen) {
      try {
        prog.mem.readU32(task + pidAt);
      } catch (err) {
        if (!(err instanceof MemoryError)) throw err;
        lost++;
        problems.push({ code: 'tasks-unreadable', message: `task_struct at 0x${task.toString(16)}: ${err.message}; not counted in TASKS` });
      }
    }
    facts.tasks = seen.size - lost;
  } catch (err) {
    problems.push({ code: 'tasks-unreadable', message: `the task list: ${(err as Error).message}` });
  }
  const khz = prog.symbol('cpu_khz');
  if (khz !== undefined) {
    try {
      facts.mhz = Math.floor(prog.mem.readU32(khz) / 1000);
    } catch {
      // crash prints "unknown Mhz" then, and so does the record's renderer
    }
  }
  try {
    const load = loadAverage(prog);
    if (load) facts.loadAverage = load;
  } catch (err) {
    problems.push({ code: 'load-average-unreadable', message: `avenrun: ${(err as Error).message}` });
  }
  return facts;
}
