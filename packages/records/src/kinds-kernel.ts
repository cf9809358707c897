/**
 * Record kinds about what the kernel said and was: `log`, `panic`, `system`
 * (docs/records.md). Contract fields (shared/design/RECORDS.md) first.
 */
import type { Hex } from './kinds.js';

export interface LogRecord {
  kind: 'log';
  dump: string;
  /** printk_info.seq (lockless ringbuffer); older buffers: position in the buffer from 0 */
  seq: number;
  /** nanoseconds since boot (exact below 2^53 ns, about 104 days); null when the record has no stamp */
  tsNsec: number | null;
  /** syslog level 0–7, null when unknown */
  level: number | null;
  /** the record's text: no prefix, no trailing newline, inner newlines kept */
  text: string;
  /** `[   12.345678]`, computed exactly from ts_nsec */
  timestamp?: string;
  facility?: number;
  /** `T123` (task) or `C1` (CPU) */
  callerId?: string;
  subsystem?: string;
  device?: string;
  /** lockless ringbuffer: descriptor state (`committed` records were still open to continuation) */
  state?: 'committed' | 'finalized';
}

export interface TraceFrameRecord {
  function: string;
  offset: number;
  size: number;
  module?: string;
  reliable: boolean;
  addr?: Hex;
  line: string;
  /** a return address printed as `name+0x0`: the function that made the (noreturn) call, from the dump's symbols */
  caller?: string;
}

export interface PanicRecord {
  kind: 'panic';
  dump: string;
  headline: string;
  /** the `kernel BUG at ...` line when a line printed before it (list corruption, bad page, KASAN, refcount) is the headline */
  bugLine?: string;
  message: string | null;
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  /** panic, oops, bug, gpf, page-fault, null-deref, list-corruption, soft-lockup, hard-lockup, rcu-stall, hung-task, warning, kasan, oom, sysrq-crash, none */
  event: string;
  taint: string | null;
  oops: string | null;
  /** the report's `CPU: 1 PID: 105 Comm: ... Tainted: ...` line as printed (cpu, pid, comm come from it) */
  cpuLine?: string;
  /** the report's `Modules linked in:` list as printed (`crashmod(OE) qemu_fw_cfg`) */
  modules?: string;
  hardware: string | null;
  rip: string | null;
  code: string | null;
  registers: string[];
  /** arm64: the `lr : ...` line as printed */
  lr?: string;
  /** the register values the report printed as numbers (arm64: sp, x0..x29, pstate; pc/lr in user mode), named as cpu records name them */
  regs?: Record<string, Hex>;
  /** arm64: the ESR of `Mem abort info:` */
  esr?: Hex;
  /** arm64: the address of `Unable to handle kernel ... at virtual address ...` */
  faultAddress?: Hex;
  /** arm64: the `Mem abort info:` / `Data abort info:` / page-table lines as printed */
  abort?: string[];
  callTrace: TraceFrameRecord[];
  /** the log record the headline came from */
  seq: number | null;
  timestamp: string | null;
  /** the crashing CPU's current task_struct (per-CPU pcpu_hot.current_task / current_task; needs types) */
  task?: Hex;
  /** where cpu/pid/comm came from: the log's `CPU: N PID: P Comm: C` line, or the panic CPU's current task */
  taskSource?: 'log' | 'current_task';
  /** why `task` is absent (no types or symbols) */
  note?: string;
}

export interface SystemRecord {
  kind: 'system';
  dump: string;
  release: string | null;
  version: string | null;
  machine: string | null;
  nodename: string | null;
  cpus: number;
  memoryBytes: number;
  /** `e820`: the usable RAM of the e820 map in the log (what crash sys shows); `dump-ranges`: the dump's memory ranges */
  memorySource: 'e820' | 'dump-ranges';
  /** the panic headline */
  panic: string | null;
  /** where the utsname came from: `init_uts_ns` in memory or the kdump `header` */
  utsSource: 'init_uts_ns' | 'kdump-header' | 'none';
  /** the last log record's ts_nsec: the uptime at the crash, to the last printk (crash reads jiffies) */
  uptimeNsec: number | null;
  /** crash's UPTIME format */
  uptime: string | null;
  /** ISO 8601 UTC from the kdump header or VMCOREINFO CRASHTIME, else the timekeeper's xtime_sec (crash's DATE) */
  crashTime: string | null;
  format: string;
  domainname?: string;
  /** where crashTime came from */
  crashTimeSource?: 'kdump-header' | 'vmcoreinfo' | 'timekeeper';
  /** CPUs below nr_cpu_ids not in __cpu_online_mask (crash's `[OFFLINE: n]`; needs types) */
  cpusOffline?: number;
  /** the 1, 5 and 15 minute load averages as the kernel prints them (avenrun; crash's LOAD AVERAGE) */
  loadAverage?: [number, number, number];
  /** the CPU clock in MHz (`cpu_khz` / 1000, crash's `MACHINE: x86_64  (2300 Mhz)`) */
  mhz?: number;
  /** how many tasks the dump holds (crash's TASKS) */
  tasks?: number;
  /** why crashTime/cpusOffline from memory are absent (no types or symbols) */
  note?: string;
}

/** One stack frame (`backtrace`; docs/records.md#frame). Innermost first. */
export interface FrameRecord {
  kind: 'frame';
  dump: string;
  pid: number;
  comm: string;
  /** the task_struct */
  task: Hex;
  /** the CPU the task was running on at the crash */
  cpu?: number;
  /** a task that was not running: the CPU it last ran on (task_cpu()), as crash's bt header shows it */
  taskCpu?: number;
  level: number;
  pc: Hex;
  sp: Hex;
  /** where pc was read (crash bt's `#N [addr]`); for an exception frame, its pt_regs */
  slot?: Hex;
  function: string | null;
  offset: number | null;
  /** `function+0xoff/0xsize` as the kernel prints it */
  text?: string;
  module?: string;
  reliable: boolean;
  /** `lr` (arm64): the caller of an interrupted function that had not stored its frame record, from lr */
  method: 'regs' | 'orc' | 'fp' | 'scan' | 'exception' | 'lr';
  /** `overflow`, `sdei-normal`, `sdei-critical`: arm64's */
  stack?: 'task' | 'irq' | 'nmi' | 'df' | 'db' | 'mce' | 'vc' | 'vc2' | 'entry' | 'overflow' | 'sdei-normal' | 'sdei-critical';
  /** exception frames: the saved registers, named as cpu records name them */
  regs?: Record<string, Hex>;
  partial?: boolean;
  user?: boolean;
  /** --frames: the stack words from sp up to the next frame's slot */
  words?: Hex[];
  /** --lines: the source file and line of pc (of pc - 1 for a return address), from the vmlinux's DWARF */
  file?: string;
  line?: number;
  /** arm64: the return address as the stack held it, signed with pointer authentication (pc has the KERNELPACMASK bits restored) */
  signedPc?: Hex;
  /** arm64: how the kernel's own trace (%pS of the raw pc) prints a return address whose `bl` ends the previous function (a noreturn call): `sysrq_reset_seq_param_set+0x0/0xa0` */
  printedAs?: string;
  /** arm64: the frame pointer in this frame (the frame record it set up), crash's arm64 bt bracket */
  fp?: Hex;
  /** arm64 kernel-mode exception frames: x30 with its PAC stripped, and its symbol+decimal (crash's LR:) */
  lr?: Hex;
  lrText?: string;
}
