/**
 * What crash `ps` says about each task, read from `struct task_struct`
 * (include/linux/sched.h) and its `mm_struct`/`cred`:
 *  - state: `__state` (5.14+) or `state`, and `exit_state`, as crash's two
 *    letters (task_state_string() in crash's task.c; the bits of
 *    include/linux/sched.h: TASK_INTERRUPTIBLE 0x1, TASK_UNINTERRUPTIBLE 0x2,
 *    __TASK_STOPPED 0x4, __TASK_TRACED 0x8, EXIT_DEAD 0x10, EXIT_ZOMBIE 0x20,
 *    TASK_PARKED 0x40, TASK_DEAD 0x80, TASK_WAKEKILL 0x100, TASK_WAKING 0x200,
 *    TASK_NOLOAD 0x400, TASK_NEW 0x800);
 *  - cpu: `task_struct.cpu` or `thread_info.cpu` (task_cpu());
 *  - rss: what the kernel's get_mm_rss() (include/linux/mm.h) counts,
 *    MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES of `mm->rss_stat`, each counter
 *    summed exactly and clamped at 0 (see get_mm_counter_sum below), as crash 9
 *    prints it (crash 8.0.2 left MM_SHMEMPAGES out);
 *  - vsz: `mm->total_vm` pages.
 * Kernel threads have no mm: rss and vsz 0 (crash prints their comm in brackets).
 */
import { per_cpu_ptr } from './percpu.js';
import { currentTaskAddress } from './sched.js';
import { StructLayout, type StructView } from './struct-view.js';
import { for_each_task, idle_task, type TaskStep } from './tasks.js';
import { cpuOnline } from './cpumask.js';
import { KernelReadError } from './read.js';
import type { ListCorruption } from './list.js';
import type { Program } from './program.js';

export interface TaskInfo {
  task: bigint;
  pid: number;
  tgid: number;
  ppid: number;
  comm: string;
  state: string;
  stateValue: number;
  exitState: number;
  cpu: number;
  running: boolean;
  prio: number;
  uid: number | null;
  rssPages: number;
  vszPages: number;
  kernelThread: boolean;
  leader: bigint;
  parent: bigint;
  mm: bigint;
  lastArrival: bigint;
  startTime: bigint;
  utime: bigint;
  stime: bigint;
  /** tasks: init_task.tasks and the thread lists; idle: a runqueue's idle task; pid: only the PID table (init_pid_ns.idr) reached it, the lists broke before it */
  via: 'tasks' | 'idle' | 'pid';
  /** members that could not be read (the task_struct straddles a page the dump lacks; `mm->rss_stat`, `mm->total_vm`: its mm_struct or a CPU's rss counters is not in the dump); they read as 0 */
  missing?: string[];
}

export type TaskInfoStep =
  | { info: TaskInfo }
  | { corrupt: ListCorruption; walk?: 'tasks' | 'threads' | 'pid-table' }
  | { unreadable: bigint; message: string; via?: 'pid' };

// The mm counters, include/linux/mm_types_task.h: an anonymous enum, so not
// looked up by name; MM_SHMEMPAGES (3) exists since 4.5, when NR_MM_COUNTERS became 4.
const MM_FILEPAGES = 0;
const MM_ANONPAGES = 1;
const MM_SHMEMPAGES = 3;

/** crash's ps ST letters for a task's state and exit_state. */
export function task_state_letters(state: number, exitState: number): string {
  if (exitState & 0x20) return 'ZO'; // EXIT_ZOMBIE
  if (exitState & 0x10) return 'DE'; // EXIT_DEAD
  if (state === 0) return 'RU';
  if (state & 0x1) return 'IN';
  if (state & 0x2) return state & 0x400 ? 'ID' : 'UN'; // TASK_IDLE = UNINTERRUPTIBLE | NOLOAD
  if (state & 0x4) return 'ST';
  if (state & 0x8) return 'TR';
  if (state & 0x40) return 'PA';
  if (state & 0x80) return 'DE';
  if (state & 0x100) return 'WK';
  if (state & 0x200) return 'WA';
  if (state & 0x800) return 'NE';
  return '??';
}

/** The layouts used for every task, resolved once. */
class Layouts {
  readonly task: StructLayout;
  readonly mm: StructLayout;
  readonly cred: StructLayout | undefined;
  readonly statePath: string;
  readonly cpuPath: string | undefined;
  /** the counters get_mm_rss() adds up, those this kernel has */
  readonly rssCounters: number[];
  /** SPLIT_RSS_COUNTING (up to 6.1): each task caches deltas in task_struct.rss_stat */
  readonly splitRss: boolean;
  constructor(prog: Program) {
    this.task = StructLayout.of(prog, 'task_struct');
    this.mm = StructLayout.of(prog, 'mm_struct');
    this.cred = prog.types.lookup('struct', 'cred') !== undefined ? StructLayout.of(prog, 'cred') : undefined;
    this.statePath = this.task.has('__state') ? '__state' : 'state';
    this.cpuPath = this.task.has('cpu') ? 'cpu' : this.task.has('thread_info.cpu') ? 'thread_info.cpu' : undefined;
    this.task.only([
      'pid', 'tgid', 'comm', this.statePath, 'exit_state', ...(this.cpuPath ? [this.cpuPath] : []), 'prio', 'mm', 'real_parent', 'group_leader', 'cred',
      'sched_info.last_arrival', 'start_time', 'utime', 'stime', ...[MM_FILEPAGES, MM_ANONPAGES, MM_SHMEMPAGES].map((i) => `rss_stat.count[${i}]`),
    ]);
    this.rssCounters = [MM_FILEPAGES, MM_ANONPAGES];
    if (this.mm.has(`rss_stat.count[${MM_SHMEMPAGES}]`) || this.mm.has(`rss_stat[${MM_SHMEMPAGES}]`)) this.rssCounters.push(MM_SHMEMPAGES);
    this.splitRss = this.task.has(`rss_stat.count[${MM_ANONPAGES}]`);
  }
}

/**
 * Counter `i` of mm->rss_stat, exactly: an atomic_long_t up to 6.1 (plus `cached`, the
 * per-task SPLIT_RSS_COUNTING deltas not yet folded in by sync_mm_rss()), a percpu_counter
 * from 6.2 whose per-CPU deltas are added as percpu_counter_sum() does, over every CPU
 * below nr_cpu_ids (a panic stops the other CPUs without folding their deltas).
 * The kernel's get_mm_counter() reads only the atomic, or only percpu_counter.count
 * (percpu_counter_read_positive: off by up to the batch per CPU); its
 * get_mm_counter_sum() and crash 9's get_task_mem_usage() sum the per-CPU deltas too.
 * Clamped at 0, as get_mm_counter() and percpu_counter_sum_positive() clamp.
 */
function get_mm_counter_sum(prog: Program, l: Layouts, mm: StructView, i: number, cpus: number[], cached: bigint): bigint {
  let v: bigint;
  if (l.mm.has(`rss_stat.count[${i}].counter`)) v = mm.int(`rss_stat.count[${i}].counter`) + cached;
  else if (l.mm.has(`rss_stat[${i}].count`)) {
    v = mm.int(`rss_stat[${i}].count`);
    const counters = mm.int(`rss_stat[${i}].counters`);
    if (counters !== 0n) for (const cpu of cpus) v += BigInt.asIntN(32, BigInt(prog.mem.readU32(per_cpu_ptr(prog, counters, cpu))));
  } else throw new KernelReadError('mm_struct.rss_stat', 'neither count[] (up to 6.1) nor percpu counters (6.2+) in these types');
  return v < 0n ? 0n : v;
}

/** get_mm_rss(): the resident pages of the mm, each counter as get_mm_counter_sum() reads it; `cached`: SPLIT_RSS_COUNTING deltas by counter. */
function get_mm_rss(prog: Program, l: Layouts, mm: StructView, cpus: number[], cached: Map<number, bigint> | undefined): bigint {
  return l.rssCounters.reduce((sum, i) => sum + get_mm_counter_sum(prog, l, mm, i, cpus, cached?.get(i) ?? 0n), 0n);
}

/**
 * Every task as crash `ps` lists it: for_each_task (init_task, the processes on
 * init_task.tasks and their threads), with each CPU's idle task (rq->idle) after
 * init_task, as crash shows swapper/N. A damaged list ends in a `corrupt` step;
 * an unreadable task_struct is an `unreadable` step and the walk goes on.
 */
export function* for_each_task_info(prog: Program): Generator<TaskInfoStep> {
  const l = new Layouts(prog);
  // Every CPU below nr_cpu_ids, online or not: a panic takes the other CPUs
  // offline (crash sys: OFFLINE), yet their current and idle tasks are still there.
  let cpus: number[] = [0];
  try {
    cpus = Array.from({ length: cpuOnline(prog).nrCpuIds }, (_, i) => i);
  } catch {
    // no nr_cpu_ids: CPU 0 alone
  }
  const current = new Map<bigint, number>();
  const idle: bigint[] = [];
  for (const cpu of cpus) {
    try {
      current.set(currentTaskAddress(prog, cpu).task, cpu);
    } catch {
      // a CPU without a readable current task marks no one as running
    }
    try {
      if (cpu > 0) idle.push(idle_task(prog, cpu));
    } catch {
      // no runqueues: the other idle tasks are not shown
    }
  }
  const views: { v: StructView; via: TaskInfo['via'] }[] = [];
  const steps: TaskInfoStep[] = [];
  const seen = new Set<bigint>();
  const take = (addr: bigint, via: TaskInfo['via'], pid?: number) => {
    if (seen.has(addr)) return;
    seen.add(addr);
    try {
      views.push({ v: l.task.readPartial(prog, addr), via });
    } catch (err) {
      const which = pid !== undefined ? ` (PID ${pid} in the PID table)` : via === 'pid' ? ' (a thread of a task found in the PID table)' : '';
      steps.push({ unreadable: addr, message: `task_struct at 0x${addr.toString(16)}${which} cannot be read: ${(err as Error).message}`, ...(via === 'pid' ? { via } : {}) });
    }
  };
  let first = true;
  for (const step of for_each_task(prog) as Generator<TaskStep>) {
    if ('corrupt' in step) {
      steps.push({ corrupt: step.corrupt, ...(step.walk ? { walk: step.walk } : {}) });
      continue;
    }
    take(step.task, step.via ?? 'tasks', step.pid);
    if (first) {
      first = false;
      for (const t of idle) take(t, 'idle');
    }
  }
  // rss, with SPLIT_RSS_COUNTING: every task on an mm caches deltas of that mm's counters
  // (add_mm_counter_fast() when task->mm == mm), so they are summed by mm, not by thread
  // group (crash 9 sums by tgid, and clamps each task's delta at 0 before adding it).
  const cachedByMm = new Map<bigint, Map<number, bigint>>();
  if (l.splitRss) {
    for (const { v } of views) {
      try {
        const mm = v.int('mm');
        if (mm === 0n) continue;
        const deltas = l.rssCounters.map((i) => [i, v.int(`rss_stat.count[${i}]`)] as const);
        const c = cachedByMm.get(mm) ?? new Map<number, bigint>();
        for (const [i, d] of deltas) c.set(i, (c.get(i) ?? 0n) + d);
        cachedByMm.set(mm, c);
      } catch {
        // a task_struct partly missing from the dump: its deltas are lost, and its mm's rss is short by them
      }
    }
  }
  // per mm: undefined where the dump lacks what is needed (the mm_struct, or a CPU's counters)
  const mms = new Map<bigint, { rss?: bigint; vsz?: bigint }>();
  const pidOf = new Map<bigint, number>();
  for (const { v } of views) {
    try {
      pidOf.set(v.addr, v.num('pid'));
    } catch {
      // reported below
    }
  }
  for (const { v: whole, via } of views) {
    // Members of a task_struct that straddles a page the dump lacks: the ones that cannot be
    // read are named in `missing` and read as 0; pid and comm must be there.
    const missing: string[] = [];
    const v = {
      addr: whole.addr,
      int: (path: string): bigint => {
        try {
          return whole.int(path);
        } catch (err) {
          if (!(err instanceof KernelReadError) || whole.missing.length === 0) throw err;
          missing.push(path);
          return 0n;
        }
      },
      num: (path: string) => Number(v.int(path)),
      opt: (path: string) => (whole.has(path) ? v.int(path) : undefined),
    };
    let pid: number;
    let comm: string;
    try {
      pid = whole.num('pid');
      comm = whole.str('comm');
    } catch (err) {
      steps.push({ unreadable: whole.addr, message: `task_struct at 0x${whole.addr.toString(16)}: ${(err as Error).message}` });
      continue;
    }
    const mmAddr = v.int('mm');
    let rss = 0n;
    let vsz = 0n;
    if (mmAddr !== 0n) {
      let m = mms.get(mmAddr);
      if (!m) {
        m = {};
        try {
          const mm = l.mm.read(prog, mmAddr);
          m.vsz = mm.int('total_vm');
          m.rss = get_mm_rss(prog, l, mm, cpus, cachedByMm.get(mmAddr));
        } catch {
          // the mm_struct or a per-CPU counter is not in the dump: named in `missing`, read as 0
        }
        mms.set(mmAddr, m);
      }
      if (m.rss === undefined) missing.push('mm->rss_stat');
      if (m.vsz === undefined) missing.push('mm->total_vm');
      rss = m.rss ?? 0n;
      vsz = m.vsz ?? 0n;
    }
    const parent = v.int('real_parent');
    let uid: number | null = null;
    if (l.cred) {
      try {
        uid = prog.mem.readU32(v.int('cred') + BigInt(l.cred.offset('uid')));
      } catch {
        uid = null;
      }
    }
    const stateValue = v.num(l.statePath);
    const exitState = v.num('exit_state');
    let ppid = pidOf.get(parent);
    if (ppid === undefined) {
      try {
        ppid = prog.mem.readU32(parent + BigInt(l.task.offset('pid')));
      } catch {
        ppid = 0;
      }
    }
    steps.push({
      info: {
        task: v.addr,
        pid,
        tgid: v.num('tgid'),
        // The idle tasks (pid 0) are nobody's children in the process tree; crash prints PPID 0 for them too.
        ppid: parent === v.addr || pid === 0 ? 0 : ppid,
        comm,
        state: task_state_letters(stateValue, exitState),
        stateValue,
        exitState,
        cpu: l.cpuPath ? v.num(l.cpuPath) : 0,
        running: current.has(v.addr),
        prio: v.num('prio'),
        uid,
        rssPages: Number(rss),
        vszPages: Number(vsz),
        kernelThread: mmAddr === 0n,
        leader: v.int('group_leader'),
        parent,
        mm: mmAddr,
        lastArrival: v.opt('sched_info.last_arrival') ?? 0n,
        startTime: v.opt('start_time') ?? 0n,
        utime: v.opt('utime') ?? 0n,
        stime: v.opt('stime') ?? 0n,
        via,
        ...(missing.length ? { missing } : {}),
      },
    });
  }
  yield* steps;
}

/** `_totalram_pages` (5.0+) or `totalram_pages`: the pages the buddy allocator manages. */
export function totalram_pages(prog: Program): number {
  const a = prog.symbol('_totalram_pages') ?? prog.symbol('totalram_pages');
  if (a === undefined) throw new KernelReadError('totalram_pages', 'no such kernel symbol');
  return Number(prog.mem.readU64(a));
}

/**
 * The kernel's HZ, which nothing in a dump states: from `tick_nsec`, which
 * kernel/time/ntp.c sets to TICK_NSEC = (NSEC_PER_SEC + HZ/2) / HZ (NTP may
 * nudge it by a few ns; rounding undoes that). undefined when it cannot be read.
 */
export function kernel_hz(prog: Program): number | undefined {
  const at = prog.symbol('tick_nsec');
  if (at === undefined) return undefined;
  try {
    const tick = Number(prog.mem.readU64(at));
    if (tick < 100_000 || tick > 100_000_000) return undefined; // HZ between 10 and 10000
    return Math.round(1e9 / tick);
  } catch {
    return undefined;
  }
}

/**
 * Jiffies since boot, as crash's get_uptime() takes them: `jiffies_64` less
 * INITIAL_JIFFIES ((unsigned int)(-300*HZ), include/linux/jiffies.h), with the
 * same correction for a counter that has wrapped past 32 bits.
 */
export function uptime_jiffies(prog: Program, hz: number): bigint | undefined {
  const at = prog.symbol('jiffies_64');
  if (at === undefined) return undefined;
  let j: bigint;
  try {
    j = prog.mem.readU64(at);
  } catch {
    return undefined;
  }
  const initial = BigInt.asUintN(32, BigInt(-300 * hz));
  const wrapped = j & 0xffffffff00000000n;
  if (wrapped) return ((j & 0xffffffffn) | (wrapped - 0x100000000n)) + BigInt(300 * hz);
  return BigInt.asUintN(64, j - initial);
}

/**
 * crash `ps -t`'s RUN TIME in whole seconds (task.c convert_start_time()):
 * the uptime in jiffies less the task's start_time (ns) cut to whole seconds
 * times HZ, 0 for a task that started "after" that.
 */
export function task_run_time(uptimeJiffies: bigint, hz: number, startTimeNs: bigint): number {
  const start = (startTimeNs / 1_000_000_000n) * BigInt(hz);
  return start > uptimeJiffies ? 0 : Number((uptimeJiffies - start) / BigInt(hz));
}
