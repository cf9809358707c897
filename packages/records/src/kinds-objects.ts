/**
 * Record kinds about the kernel's objects: `module`, `task`, `memory-summary`,
 * `slab-cache`, `addr-info` (docs/records.md). Contract fields
 * (shared/design/RECORDS.md) first.
 */
import type { Hex } from './kinds.js';

export interface ModuleRegionRecord {
  /** the kernel's name: core_layout, init_layout (up to 6.3), mem[MOD_TEXT] ... (6.4+) */
  name: string;
  base: Hex;
  size: number;
}

export interface ModuleRecord {
  kind: 'module';
  dump: string;
  name: string;
  /** core text start, crash `mod`'s BASE */
  base: Hex;
  /** core size, crash `mod`'s SIZE */
  size: number;
  regions: ModuleRegionRecord[];
  /** live, coming, going (enum module_state without MODULE_STATE_) */
  state: string | null;
  /** taint letters (kernel/panic.c), '' when untainted; null when the kernel has no module.taints */
  taints: string | null;
  /** the struct module address (crash's MODULE) */
  addr: Hex;
  /** `struct module`, so struct-decode can decode the record in place */
  type: 'struct module';
  /** module_refcount(): refcnt - 1; null without CONFIG_MODULE_UNLOAD */
  refcount: number | null;
  /** how many kallsyms symbols the module has */
  symbols: number;
  /** module.taints as a hex mask */
  taintMask?: Hex;
  /** with --modules DIR: the module's .ko there (crash mod -S's OBJECT FILE), null when none fits */
  ko?: string | null;
  /** with --sections: section name -> where the loader put it (/sys/module/NAME/sections); null when that list cannot be read */
  sections?: Record<string, Hex> | null;
  /** how the .ko was matched: `build-id` (the note in memory), `vermagic` (the dump's release), `name` */
  koMatch?: 'build-id' | 'vermagic' | 'name';
  /** why no .ko fits (none of that name; build-id or release differs) */
  koProblem?: string;
}

export interface TaskRecord {
  kind: 'task';
  dump: string;
  /** the task_struct address */
  task: Hex;
  pid: number;
  tgid: number;
  ppid: number;
  comm: string;
  /** crash's ps ST: RU IN UN ST TR ZO DE SW WA PA ID NE */
  state: string;
  /** task_struct.__state (6.x; .state before) */
  stateValue: number;
  /** task_struct.exit_state */
  exitState: number;
  cpu: number;
  /** crash's `>`: the current task of its CPU at the crash */
  running: boolean;
  prio: number;
  /** cred->uid */
  uid: number | null;
  /** resident pages as get_mm_rss() counts them (MM_FILEPAGES + MM_ANONPAGES + MM_SHMEMPAGES, per-CPU and per-task deltas summed in), 0 for kernel threads */
  rssPages: number;
  /** bytes: rssPages * page size (crash's RSS column is KiB) */
  rss: number;
  /** bytes of address space (mm->total_vm pages * page size; crash's VSZ is KiB) */
  vsz: number;
  /** rssPages as a percentage of totalram_pages (crash's %MEM); null when totalram is unknown */
  memPercent: number | null;
  /** a kernel thread (no mm): crash prints its comm in brackets */
  kernelThread: boolean;
  /** the thread group leader's task_struct */
  leader: Hex;
  /** the parent's task_struct (real_parent) */
  parent: Hex;
  /** sched_info.last_arrival (ns, crash ps -l) */
  lastArrival: number | string;
  /** start_time (ns since boot, ps -t START TIME) */
  startTime: number | string;
  utime: number | string;
  stime: number | string;
  /** `struct task_struct`, so struct-decode can decode the record in place */
  type: 'struct task_struct';
  addr: Hex;
  /** where the task was found: tasks (init_task.tasks and thread lists), idle (a runqueue's idle task) or pid (only the PID table, init_pid_ns.idr: the lists broke before it) */
  via: 'tasks' | 'idle' | 'pid';
  /** members that could not be read (the task_struct straddles a page the dump lacks; `mm->rss_stat`, `mm->total_vm`: its mm_struct or a CPU's rss counters is not in the dump); they read as 0 */
  missing?: string[];
  /** crash ps -t's RUN TIME: whole seconds from the task's start to the crash (jiffies_64 and HZ from tick_nsec); absent when they cannot be read */
  runTime?: number;
  /** render hint: `ps-l` prints crash's `ps -l` line, `ps-t` its `ps -t` block; else a `ps` row */
  style?: 'ps-l' | 'ps-t';
}

export interface PagesBytes {
  pages: number;
  bytes: number;
}

export interface MemorySummaryRecord {
  kind: 'memory-summary';
  dump: string;
  total: PagesBytes;
  free: PagesBytes;
  used: PagesBytes;
  shared: PagesBytes;
  buffers: PagesBytes;
  cached: PagesBytes;
  slab: PagesBytes;
  hugeTotal: PagesBytes;
  hugeFree: PagesBytes;
  swapTotal: PagesBytes;
  swapUsed: PagesBytes;
  swapFree: PagesBytes;
  commitLimit: PagesBytes;
  committed: PagesBytes;
  pageSize: number;
}

export interface SlabCacheRecord {
  kind: 'slab-cache';
  dump: string;
  /** the kmem_cache address */
  cache: Hex;
  name: string;
  /** kmem_cache.object_size */
  objectSize: number;
  /** objects in use (total minus free on the node partial lists and the per-CPU slabs) */
  allocated: number;
  total: number;
  slabs: number;
  /** bytes of one slab: PAGE_SIZE << oo order */
  slabSize: number;
  /** kmem_cache.size: the stride between objects */
  size: number;
  /** why the counts are incomplete (a slab page the dump excluded) */
  note?: string;
}

export interface AddrInfoRecord {
  kind: 'addr-info';
  dump: string;
  addr: Hex;
  /** struct-page, slab-object, free-page, page, vmalloc, stack, kernel-text, kernel-data, module, unknown */
  what: string;
  symbol?: { name: string; offset: number; type: string; module?: string };
  /** the struct page behind the address (or the address itself, for a struct page) */
  page?: {
    page: Hex; pfn: number; phys: Hex; flags: Hex; flagNames: string[]; refcount: number; mapcount: number;
    mapping: Hex; index: Hex; head: Hex; order: number; tail: boolean;
  };
  slab?: {
    cache: Hex; name: string; slab: Hex; slabStart: Hex; objects: number; inuse: number; freeObjects: number;
    object: Hex; objectSize: number; free: boolean; cpu?: number;
    /** the cache's counts, as the slab-cache record has them */
    allocated?: number; total?: number; slabs?: number; slabSize?: number;
  };
  free?: { page: Hex; order: number; index: number };
  vmalloc?: { area: Hex; vm: Hex; start: Hex; end: Hex; size: number; caller?: Hex };
  task?: { task: Hex; pid: number; comm: string; cpu: number; state: string; running: boolean; panic: boolean; of?: [number, number] };
  notes?: string[];
}
