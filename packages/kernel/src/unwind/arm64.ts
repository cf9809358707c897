/**
 * arm64 stack traces from the dump alone, as the 6.1 kernel's own unwinder
 * walks them (arch/arm64/kernel/stacktrace.c: unwind_init_from_regs/_task,
 * unwind_next; AAPCS64's frame records): arm64 kernels keep frame pointers,
 * so x29 points at a 16-byte record {previous x29, return address} and the
 * chain of records is the trace.
 *
 * What the kernel's walk does not do and this one adds:
 * - the interrupted function's caller: a CPU's saved registers (or a pt_regs)
 *   can stop a function before its prologue has stored its record (a leaf
 *   function never does); x29 is then still the caller's frame and the
 *   caller is only in lr. The function's first instructions say which
 *   (`mov x29, sp` / `add x29, sp, #n` before pc: its record is set up), as
 *   DWARF CFI would tell drgn;
 * - exception frames: 6.1's kernel_entry (arch/arm64/kernel/entry.S) saves a
 *   pt_regs and makes its `stackframe` member a frame record {x29, pc} of
 *   the interrupted context; a record whose address is a pt_regs' stackframe
 *   with the same x29 and pc, an EL1 pstate and the pt_regs' sp just above
 *   it is that exception (el1h_64_irq, el1h_64_sync, ...): the frame carries
 *   the whole pt_regs and its pc is the interrupted instruction itself;
 * - the end: the record in the task's own pt_regs (task_pt_regs(task)->stackframe)
 *   ends the walk (the kernel's final frame); when that pt_regs is user mode
 *   (EL0) it is shown as an exception frame with `user: true`, as on x86.
 *
 * Return addresses are signed with pointer authentication (paciasp) when the
 * CPU has it: the bits NUMBER(KERNELPACMASK) names are restored
 * (ptrauth_strip_kernel_insn_pac) and the signed value kept as `signedPc`. A
 * return address names its caller by pc - 4, the `bl` itself: a call to a
 * noreturn function can be the last instruction of a function, its return
 * address the next function's first byte (sysrq_handle_crash ends in `bl
 * panic`; the kernel's %pS prints `sysrq_reset_seq_param_set+0x0/0xa0`, kept
 * as `printedAs`).
 *
 * Each read must fall on a stack of the task or its CPU (task, IRQ, overflow,
 * SDEI: arm64-stacks.ts), records must be 8-aligned and move up on the same
 * stack, and a stack left is never re-entered (the kernel's own rules), so
 * damaged memory ends a trace with an error instead of a loop.
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt, sizeOf } from '@vmpipe/types';
import { struct } from '../read.js';
import { ptrauth_strip_kernel_insn_pac } from '../ptrauth.js';
import type { Program } from '../program.js';
import type { Frame, Trace } from './unwind.js';
import type { Regs } from './ptregs.js';
import type { StackKind, StackRange } from './stacks.js';
import { arm64CpuStacks, arm64ThreadSize } from './arm64-stacks.js';

export const ARM64_MAX_FRAMES = 256;

/** arm64 register values by the cpu record's names: x0..x30, sp, pc, pstate. */
export type Arm64Regs = Record<string, bigint>;

export interface Arm64Start {
  pc: bigint;
  fp: bigint;
  sp: bigint;
  /** x30, when the registers are known (a CPU's saved state) */
  lr?: bigint;
  regs?: Arm64Regs;
  /** pc was interrupted (a CPU's registers), not a return address (a sleeping task's saved pc) */
  interrupted: boolean;
}

/** Frame fields arm64 adds (RECORDS.md `frame`: added, never renamed). */
export interface Arm64Frame extends Frame {
  /** the return address as it was on the stack, with its pointer-authentication code */
  signedPc?: bigint;
  /** how the kernel's own trace (%pS of the raw pc) names this frame, when that differs from `function+offset` */
  printedAs?: { function: string; offset: number; size?: number };
}

interface Layout {
  size: bigint;
  regs: bigint;
  sp: bigint;
  pc: bigint;
  pstate: bigint;
  stackframe: bigint;
  origX0?: bigint;
  syscallno?: bigint;
  stack: bigint;
  threadSize: bigint;
  cpuContext?: { fp: bigint; sp: bigint; pc: bigint };
}

const layouts = new WeakMap<Program, Layout>();

/** struct pt_regs, task_struct.stack and thread.cpu_context from the types, once per program. */
function layout(prog: Program): Layout {
  let l = layouts.get(prog);
  if (l) return l;
  const t = prog.types;
  const pr = findType(t, 'struct pt_regs');
  const off = (p: string) => BigInt(memberAt(t, pr, p).offset);
  const ts = struct(prog, 'task_struct');
  let cpuContext: Layout['cpuContext'];
  try {
    const c = (m: string) => BigInt(memberAt(t, ts, `thread.cpu_context.${m}`).offset);
    cpuContext = { fp: c('fp'), sp: c('sp'), pc: c('pc') };
  } catch {
    cpuContext = undefined;
  }
  const optional = (p: string) => {
    try {
      return off(p);
    } catch {
      return undefined;
    }
  };
  l = {
    size: BigInt(sizeOf(t, pr.id)), regs: off('regs'), sp: off('sp'), pc: off('pc'), pstate: off('pstate'), stackframe: off('stackframe'),
    origX0: optional('orig_x0'), syscallno: optional('syscallno'),
    stack: BigInt(memberAt(t, ts, 'stack').offset), threadSize: BigInt(arm64ThreadSize(prog)), cpuContext,
  };
  layouts.set(prog, l);
  return l;
}

/** A pt_regs as the record's registers: x0..x30, sp, pc, pstate, and orig_x0, syscallno (crash prints them for a user-mode frame). Throws MemoryError. */
export function readArm64PtRegs(prog: Program, addr: bigint): Arm64Regs {
  const l = layout(prog);
  const end = Math.max(Number(l.pstate) + 8, l.origX0 !== undefined ? Number(l.origX0) + 8 : 0, l.syscallno !== undefined ? Number(l.syscallno) + 4 : 0);
  const b = prog.mem.readBytes(addr, end);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Arm64Regs = {};
  for (let i = 0; i < 31; i++) out[`x${i}`] = dv.getBigUint64(Number(l.regs) + i * 8, true);
  out['sp'] = dv.getBigUint64(Number(l.sp), true);
  out['pc'] = dv.getBigUint64(Number(l.pc), true);
  out['pstate'] = dv.getBigUint64(Number(l.pstate), true);
  if (l.origX0 !== undefined) out['orig_x0'] = dv.getBigUint64(Number(l.origX0), true);
  // an int (-1: no system call), shown as the 64-bit value crash prints
  if (l.syscallno !== undefined) out['syscallno'] = BigInt.asUintN(64, BigInt(dv.getInt32(Number(l.syscallno), true)));
  return out;
}

/** PSTATE.M[3:0]: 0 = EL0t (user), 4 = EL1t, 5 = EL1h. */
const elOf = (pstate: bigint) => Number((pstate >> 2n) & 3n);

/** task_stack_page(task): [task->stack, + THREAD_SIZE). */
export function arm64TaskStack(prog: Program, task: bigint): StackRange {
  const l = layout(prog);
  const stack = prog.mem.readU64(task + l.stack);
  return { kind: 'task', start: stack, end: stack + l.threadSize };
}

/** A CPU's saved registers (NT_PRSTATUS, by CPU number, never by pr_pid) as a start. */
export function arm64CpuStart(prog: Program, cpu: number): Arm64Start | undefined {
  const state = prog.dump?.cpus.find((c) => c.cpu === cpu);
  const r = state?.regs as Record<string, bigint> | undefined;
  if (!r || r['pc'] === undefined || r['sp'] === undefined) return undefined;
  return { pc: r['pc'], fp: r['x29'] ?? 0n, sp: r['sp'], ...(r['x30'] !== undefined ? { lr: r['x30'] } : {}), regs: { ...r }, interrupted: true };
}

/** Where a sleeping task resumes: thread.cpu_context {fp, sp, pc} that cpu_switch_to saved (thread_saved_pc/fp). */
export function arm64SleepingStart(prog: Program, task: bigint): Arm64Start {
  const l = layout(prog);
  if (!l.cpuContext) throw new Error('task_struct has no thread.cpu_context');
  const c = l.cpuContext;
  return { pc: prog.mem.readU64(task + c.pc), fp: prog.mem.readU64(task + c.fp), sp: prog.mem.readU64(task + c.sp), interrupted: false };
}

const cpuStackCache = new WeakMap<Program, Map<number, { stacks: StackRange[]; problems: string[] }>>();
/** The stacks a task's frames may be on: its own, and its CPU's when it was running there. */
export function arm64StacksFor(prog: Program, task: bigint, cpu?: number, notes?: string[]): StackRange[] {
  const out: StackRange[] = [arm64TaskStack(prog, task)];
  if (cpu === undefined) return out;
  let m = cpuStackCache.get(prog);
  if (!m) cpuStackCache.set(prog, (m = new Map()));
  let s = m.get(cpu);
  if (!s) {
    s = arm64CpuStacks(prog, cpu) as { stacks: StackRange[]; problems: string[] };
    m.set(cpu, s);
    for (const p of s.problems) if (notes && !notes.includes(p)) notes.push(p);
  }
  return out.concat(s.stacks);
}

const WORDS_SCANNED = 32;
const MOV_X29_SP = 0x910003fd; // mov x29, sp  (add x29, sp, #0)
const isSetFp = (w: number) => (w & 0xffc003ff) >>> 0 === MOV_X29_SP; // add x29, sp, #imm12
const isStpFpLrPre = (w: number) => (w & 0xffc07fff) >>> 0 === 0xa9807bfd; // stp x29, x30, [sp, #-n]!
const isStpFpLr = (w: number) => (w & 0xffc07fff) >>> 0 === 0xa9007bfd; // stp x29, x30, [sp, #n]
const isSubSp = (w: number) => (w & 0xff8003ff) >>> 0 === 0xd10003ff; // sub sp, sp, #imm12{, lsl #12}

interface Prologue {
  /** the instruction after which x29 is this function's record (`mov x29, sp`), if any before `pc` */
  setUp: boolean;
  /** this function's CFA (its caller's sp) from its record's address, when the prologue says */
  cfaFromFp?: bigint;
}

/**
 * What a function's first instructions say about its frame record: whether it
 * is set up before `pc`, and how far above the record the caller's sp is
 * (`stp x29, x30, [sp, #-n]!; mov x29, sp`: n; `sub sp, sp, #m; stp x29, x30,
 * [sp, #k]; add x29, sp, #k`: m - k).
 */
function prologue(prog: Program, start: bigint, pc: bigint): Prologue {
  let words: Uint8Array;
  try {
    words = prog.mem.readBytes(start, WORDS_SCANNED * 4);
  } catch {
    return { setUp: true }; // code unreadable: trust x29, as the kernel does
  }
  const dv = new DataView(words.buffer, words.byteOffset, words.byteLength);
  let sub = 0n;
  let pre = 0n;
  for (let i = 0; i < WORDS_SCANNED; i++) {
    const w = dv.getUint32(i * 4, true);
    const at = start + BigInt(i * 4);
    if (isSubSp(w)) sub += BigInt((w >>> 10) & 0xfff) << ((w >>> 22) & 1 ? 12n : 0n);
    else if (isStpFpLrPre(w)) pre = -BigInt.asIntN(7, BigInt((w >>> 15) & 0x7f)) * 8n;
    else if (isStpFpLr(w)) void 0;
    else if (isSetFp(w)) {
      const k = BigInt((w >>> 10) & 0xfff);
      return { setUp: pc > at, cfaFromFp: pre + sub - k };
    }
    if ((w & 0xfc000000) >>> 0 === 0x94000000 || w === 0xd65f03c0) break; // a bl or ret before any record: a leaf
  }
  return { setUp: false };
}

/** Linker section markers that share an address with the function there (`__irqentry_text_start` = `gic_handle_irq`). */
const SECTION_MARKER = /^(_stext|_text|__\w+_text_(start|end)|__\w+_start|__\w+_end)$/;

/** symbols.resolve, naming a function rather than a section marker at the same address, as the kernel's kallsyms does. */
function functionName(symbols: Program['symbols'], addr: bigint): ReturnType<Program['symbols']['resolve']> {
  const r = symbols.resolve(addr);
  if (!r || !SECTION_MARKER.test(r.symbol.name)) return r;
  const all = symbols.symbols;
  let lo = 0;
  let hi = all.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (all[mid]!.addr < r.symbol.addr) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < all.length && all[i]!.addr === r.symbol.addr; i++) {
    const s = all[i]!;
    if (!SECTION_MARKER.test(s.name) && 'tTwW'.includes(s.type)) return { symbol: s, offset: r.offset };
  }
  return r;
}

class StackError extends Error {
  constructor(readonly code: string, readonly addr: bigint, message: string) {
    super(message);
  }
}
const hex = (v: bigint) => `0x${v.toString(16)}`;
const stackOf = (stacks: readonly StackRange[], a: bigint) => stacks.find((s) => a >= s.start && a < s.end);

/**
 * Walks the frame records from `start` over `stacks` (the task's own first).
 * `finalRecord` is task_pt_regs(task)->stackframe. Never throws for what the
 * dump's memory says.
 */
export function arm64Unwind(prog: Program, start: Arm64Start, stacks: StackRange[], maxFrames = ARM64_MAX_FRAMES): Trace {
  const l = layout(prog);
  const frames: Arm64Frame[] = [];
  const symbols = prog.symbols;
  const taskStack = stacks[0]!;
  const finalRecord = taskStack.end - l.size + l.stackframe;
  const read = (a: bigint, len = 8): bigint => {
    const s = stackOf(stacks, a);
    if (!s || a + BigInt(len) > s.end) throw new StackError('off-stack', a, `${hex(a)} is on no stack of this task or its CPU`);
    return prog.mem.readU64(a);
  };
  /** Names a frame: an interrupted pc by itself, a return address by pc - 4 (the bl). */
  const push = (f: Omit<Arm64Frame, 'level' | 'stack'>, returnAddress: boolean) => {
    const frame: Arm64Frame = { level: frames.length, ...f };
    const s = stackOf(stacks, f.sp) ?? stackOf(stacks, f.sp - 1n);
    if (s) frame.stack = s.kind;
    const r = functionName(symbols, returnAddress ? f.pc - 4n : f.pc);
    if (r) {
      frame.function = r.symbol.name;
      frame.offset = Number(r.offset) + (returnAddress ? 4 : 0);
      const size = symbols.extent(r.symbol);
      if (size !== undefined) frame.size = size;
      if (r.symbol.module) frame.module = r.symbol.module;
      if (returnAddress) {
        // The kernel's %pS names the raw address: past a noreturn call that is the next function.
        const raw = functionName(symbols, f.pc);
        if (raw && raw.symbol !== r.symbol) {
          const rs = symbols.extent(raw.symbol);
          frame.printedAs = { function: raw.symbol.name, offset: Number(raw.offset), ...(rs !== undefined ? { size: rs } : {}) };
        }
      }
    }
    frames.push(frame);
    return frame;
  };
  const fail = (err: unknown): Trace => {
    if (err instanceof StackError) return { frames, end: { reason: 'error', code: err.code, message: err.message, addr: err.addr } };
    if (err instanceof MemoryError) return { frames, end: { reason: 'error', code: err.code, message: `stack read failed: ${err.message}`, addr: err.addr } };
    throw err;
  };
  const functionStart = (pc: bigint) => {
    const r = symbols.resolve(pc);
    return r && 'tTwW'.includes(r.symbol.type) ? r.symbol : undefined;
  };
  /**
   * After an interrupted pc (a CPU's registers or a pt_regs): when its function
   * has not set up its record, its caller is in lr; push that frame.
   */
  const interruptedCaller = (pc: bigint, lr: bigint | undefined, sp: bigint, reliable: boolean) => {
    const fn = functionStart(pc);
    if (!fn || lr === undefined) return;
    const p = prologue(prog, fn.addr, pc);
    if (p.setUp) return;
    const ret = ptrauth_strip_kernel_insn_pac(prog, lr);
    if (!functionStart(ret - 4n)) return;
    // The exception vectors are no function: lr there is the interrupted code's, maybe stale.
    const vectors = fn.name === 'vectors' || fn.name.startsWith('__bp_harden_el1_vectors');
    push({ pc: ret, sp, method: 'lr', reliable: reliable && !vectors, ...(ret !== lr ? { signedPc: lr } : {}) }, true);
  };

  let fp = start.fp;
  let pc = start.pc;
  let sp = start.sp;
  push({ pc, sp, method: 'regs', reliable: true }, !start.interrupted);
  if (start.interrupted) interruptedCaller(pc, start.lr, sp, true);
  const left = new Set<StackRange>();
  let current = stackOf(stacks, fp);
  try {
    for (;;) {
      if (frames.length >= maxFrames) return { frames, end: { reason: 'depth', code: 'depth', message: `stopped after ${maxFrames} frames` } };
      if (fp === 0n) return { frames, end: { reason: 'end-of-stack' } };
      if (fp & 7n) throw new StackError('bad-frame-pointer', fp, `frame pointer ${hex(fp)} is not 8-aligned`);
      const s = stackOf(stacks, fp);
      if (!s || fp + 16n > s.end) throw new StackError('off-stack', fp, `frame record ${hex(fp)} is on no stack of this task or its CPU`);
      if (s !== current) {
        if (left.has(s)) throw new StackError('stack-loop', fp, `frame record ${hex(fp)} goes back to a ${s.kind} stack already left`);
        if (current) left.add(current);
        current = s;
      }
      // The task's own pt_regs: the last record (user entry, or a kernel thread's ret_from_fork).
      if (fp === finalRecord && s === taskStack) {
        const at = fp - l.stackframe;
        const regs = readArm64PtRegs(prog, at);
        // Kernel threads and idle tasks leave it zeroed: only a user pt_regs has a pc.
        if (elOf(regs['pstate']!) === 0 && regs['pc'] !== 0n) {
          push({ pc: regs['pc']!, sp: regs['sp']!, method: 'exception', reliable: true, regs: regs as Regs, slot: at, user: true }, false);
          return { frames, end: { reason: 'user-mode' } };
        }
        return { frames, end: { reason: 'end-of-stack' } };
      }
      const nextFp = read(fp);
      const rawPc = read(fp + 8n);
      // An exception's pt_regs around this record?
      const at = fp - l.stackframe;
      const rs = stackOf(stacks, at);
      if (rs === s && at + l.size <= s.end && rawPc !== 0n) {
        const regs = readArm64PtRegs(prog, at);
        const el = elOf(regs['pstate']!);
        if (regs['x29'] === nextFp && regs['pc'] === rawPc && (el === 1 || el === 2) && regs['sp'] === at + l.size) {
          push({ pc: regs['pc']!, sp: regs['sp']!, method: 'exception', reliable: true, regs: regs as Regs, slot: at }, false);
          interruptedCaller(regs['pc']!, regs['x30'], regs['sp']!, true);
          pc = regs['pc']!;
          sp = regs['sp']!;
          if (nextFp !== 0n && stackOf(stacks, nextFp) === s && nextFp <= fp) throw new StackError('stack-loop', nextFp, `frame record ${hex(nextFp)} below ${hex(fp)} on the same stack`);
          fp = nextFp;
          continue;
        }
      }
      if (rawPc === 0n) return { frames, end: { reason: 'end-of-stack' } };
      const ret = ptrauth_strip_kernel_insn_pac(prog, rawPc);
      // The caller's sp: the CFA of the function whose record this is (the newest frame's: its prologue says how far above the record).
      const last = frames[frames.length - 1]!;
      const lastInterrupted = last.method === 'exception' || (last.method === 'regs' && start.interrupted);
      const owner = functionStart(lastInterrupted ? last.pc : last.pc - 4n);
      const cfa = owner ? prologue(prog, owner.addr, owner.addr + 0x1000n).cfaFromFp : undefined;
      sp = cfa !== undefined && cfa >= 16n ? fp + cfa : fp + 16n;
      pc = ret;
      push({ pc, sp, method: 'fp', reliable: true, slot: fp + 8n, ...(ret !== rawPc ? { signedPc: rawPc } : {}) }, true);
      if (nextFp !== 0n && stackOf(stacks, nextFp) === s && nextFp <= fp) throw new StackError('stack-loop', nextFp, `frame record ${hex(nextFp)} is not above ${hex(fp)} on the same stack`);
      fp = nextFp;
    }
  } catch (err) {
    return fail(err);
  }
}

export type { StackKind };
