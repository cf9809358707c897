/**
 * Stack traces from the dump alone, as arch/x86/kernel/unwind_orc.c walks
 * them (unwind_next_frame): ORC first; where ORC has no entry, a
 * frame-pointer guess (the kernel's own orc_fp_entry); where that fails too,
 * a scan for the next return address (crash `bt -t`), after which ORC is tried
 * again. Frames found by a guess, and every frame after one, are
 * `reliable: false`.
 *
 * Where a trace starts:
 * - a CPU's saved registers (NT_PRSTATUS; QEMU's pr_pid is the CPU + 1, so the
 *   caller picks the CPU, never by pr_pid): the frame at rip, looked up at rip
 *   itself (it was interrupted, not called);
 * - a sleeping task: `task->thread.sp` points at the `struct
 *   inactive_task_frame` __switch_to_asm pushed; its ret_addr returns into
 *   __schedule (or ret_from_fork for a task that never ran) and the task's sp
 *   is just above it (__unwind_start).
 *
 * Exception frames: ORC_TYPE_REGS (a whole pt_regs) and REGS_PARTIAL (the
 * iret frame) give the interrupted context; each becomes a frame with
 * `regs`, the next lookup uses its ip itself; a user-mode pt_regs ends the
 * trace (the syscall or user fault entry). Stacks switch where ORC says so
 * (SP_INDIRECT at the top of the IRQ stack); each read must fall on a stack of
 * the task or its CPU, and sp must grow on the same stack, else the trace
 * ends with an error: a loop, an excluded page or a corrupt stack cannot make
 * it run forever (and depth is bounded).
 */
import { MemoryError } from '@vmpipe/addrxlat';
import { findType, memberAt, sizeOf } from '@vmpipe/types';
import type { SymbolTable } from '@vmpipe/symbols';
import { struct } from '../read.js';
import type { Program } from '../program.js';
import { OrcUnwinder, type OrcEntry } from './orc.js';
import { fpStep } from './fp.js';
import { scanForReturn } from './scan.js';
import { IRET_FRAME_OFFSET, PT_REGS_SIZE, readPtRegs, userMode, type Regs } from './ptregs.js';
import { cpuStacks, stackOf, taskStack, type StackKind, type StackRange } from './stacks.js';

/** `lr`: arm64, the caller of an interrupted function that had not stored its frame record yet (arm64.ts) */
export type FrameMethod = 'regs' | 'orc' | 'fp' | 'scan' | 'exception' | 'lr';

export interface Frame {
  level: number;
  pc: bigint;
  /** the stack pointer in this frame (for a caller: its sp after the call returns) */
  sp: bigint;
  /** where pc was read from the stack: crash's `#N [addr]` */
  slot?: bigint;
  method: FrameMethod;
  reliable: boolean;
  /** which stack sp is on */
  stack?: StackKind;
  function?: string;
  offset?: number;
  size?: number;
  module?: string;
  /** exception frames: the saved registers (only the iret frame's when `partial`) */
  regs?: Regs;
  partial?: boolean;
  /** exception frames: the saved context was user mode (the trace ends here) */
  user?: boolean;
}

export type EndReason = 'end-of-stack' | 'user-mode' | 'error' | 'depth';

export interface Trace {
  frames: Frame[];
  end: { reason: EndReason; code?: string; message?: string; addr?: bigint };
}

export interface StartRegs {
  pc: bigint;
  sp: bigint;
  bp: bigint;
  /** all registers, when known (a CPU's saved state) */
  regs?: Regs;
  /** look up pc itself (interrupted) rather than pc - 1 (a return address) */
  signal: boolean;
  /** where pc was read, for a sleeping task's first frame */
  slot?: bigint;
}

export const MAX_FRAMES = 256;

class StackError extends Error {
  constructor(readonly code: string, readonly addr: bigint, message: string) {
    super(message);
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/** One unwinder per program: the ORC tables, the symbols and each CPU's stacks are read once. */
export class Unwinder {
  private orcSlot?: OrcUnwinder | Error;
  private readonly cpuStackCache = new Map<number, { stacks: StackRange[]; problems: string[] }>();
  readonly notes: string[] = [];

  constructor(readonly prog: Program) {}

  get orc(): OrcUnwinder | Error {
    if (!this.orcSlot) {
      try {
        this.orcSlot = new OrcUnwinder(this.prog);
      } catch (err) {
        this.orcSlot = err as Error;
        this.notes.push(`no ORC: ${(err as Error).message}`);
      }
    }
    return this.orcSlot;
  }

  get symbols(): SymbolTable {
    return this.prog.symbols;
  }

  cpuStacks(cpu: number): { stacks: StackRange[]; problems: string[] } {
    let s = this.cpuStackCache.get(cpu);
    if (!s) {
      s = cpuStacks(this.prog, cpu);
      this.cpuStackCache.set(cpu, s);
    }
    return s;
  }

  /** The stacks a task's frames may be on: its own, and its CPU's when it was running. */
  stacksFor(task: bigint, cpu?: number): StackRange[] {
    const out: StackRange[] = [taskStack(this.prog, task)];
    if (cpu !== undefined) out.push(...this.cpuStacks(cpu).stacks);
    return out;
  }

  private frameLayout?: { threadSp: bigint; bp: bigint; ret: bigint; size: bigint; retFromFork: bigint | undefined };

  /** Where a sleeping task resumes: its inactive_task_frame (thread.sp). */
  sleepingStart(task: bigint): StartRegs {
    const prog = this.prog;
    if (!this.frameLayout) {
      const f = findType(prog.types, 'struct inactive_task_frame');
      this.frameLayout = {
        threadSp: BigInt(memberAt(prog.types, struct(prog, 'task_struct'), 'thread.sp').offset),
        bp: BigInt(memberAt(prog.types, f, 'bp').offset),
        ret: BigInt(memberAt(prog.types, f, 'ret_addr').offset),
        size: BigInt(sizeOf(prog.types, f.id)),
        retFromFork: prog.symbol('ret_from_fork_asm') ?? prog.symbol('ret_from_fork'),
      };
    }
    const l = this.frameLayout;
    const tsp = prog.mem.readU64(task + l.threadSp);
    const pc = prog.mem.readU64(tsp + l.ret);
    const bp = prog.mem.readU64(tsp + l.bp);
    return { pc, sp: tsp + l.size, bp, signal: pc === l.retFromFork, slot: tsp + l.ret };
  }

  /**
   * Names a pc: function, offset, size and module. A return address is looked
   * up at pc - 1, as the kernel's %pB does: a call to a noreturn function can
   * be a function's last instruction, its return address the next function's
   * first byte.
   */
  name(frame: Frame, returnAddress = frame.method === 'orc' || frame.method === 'fp' || frame.method === 'scan'): Frame {
    const r = this.symbols.resolve(returnAddress ? frame.pc - 1n : frame.pc);
    if (r) {
      frame.function = r.symbol.name;
      frame.offset = Number(r.offset) + (returnAddress ? 1 : 0);
      const size = this.symbols.extent(r.symbol);
      if (size !== undefined) frame.size = size;
      if (r.symbol.module) frame.module = r.symbol.module;
    }
    return frame;
  }

  private isText(a: bigint): boolean {
    const r = this.symbols.resolve(a);
    return r !== undefined && 'tTwW'.includes(r.symbol.type);
  }

  /** Unwinds from `start` over `stacks`; never throws for what the dump's memory says. */
  unwind(start: StartRegs, stacks: StackRange[], maxFrames = MAX_FRAMES): Trace {
    const prog = this.prog;
    const frames: Frame[] = [];
    const read = (addr: bigint, len = 8): bigint => {
      const s = stackOf(stacks, addr);
      if (!s || addr + BigInt(len) > s.end) throw new StackError('off-stack', addr, `${hex(addr)} is on no stack of this task or its CPU`);
      return prog.mem.readU64(addr);
    };
    let pc = start.pc;
    let sp = start.sp;
    let bp = start.bp;
    let regs: Regs | undefined = start.regs;
    let fullRegs = start.regs !== undefined;
    let signal = start.signal;
    let reliable = true;
    const push = (f: Omit<Frame, 'level' | 'stack'>, returnAddress?: boolean) => {
      const frame: Frame = { level: frames.length, ...f };
      const s = stackOf(stacks, f.sp) ?? stackOf(stacks, f.sp - 1n);
      if (s) frame.stack = s.kind;
      frames.push(this.name(frame, returnAddress));
    };
    push({ pc, sp, method: 'regs', reliable: true, ...(start.slot !== undefined ? { slot: start.slot } : {}) }, !start.signal);
    const fail = (err: unknown): Trace => {
      if (err instanceof StackError) return { frames, end: { reason: 'error', code: err.code, message: err.message, addr: err.addr } };
      if (err instanceof MemoryError) return { frames, end: { reason: 'error', code: err.code, message: `stack read failed: ${err.message}`, addr: err.addr } };
      throw err;
    };
    const orcs = this.orc;
    for (;;) {
      if (frames.length >= maxFrames) return { frames, end: { reason: 'depth', code: 'depth', message: `stopped after ${maxFrames} frames` } };
      if (regs && fullRegs && userMode(regs)) return { frames, end: { reason: 'user-mode' } };
      const prevSp = sp;
      const prevStack = stackOf(stacks, sp);
      let entry: OrcEntry | undefined;
      if (!(orcs instanceof Error)) entry = orcs.find(signal ? pc : pc - 1n)?.entry;
      try {
        if (entry && entry.type === 'end_of_stack') return { frames, end: { reason: 'end-of-stack' } };
        const step = entry && entry.type !== 'undefined' && entry.type !== 'unknown' ? this.orcStep(entry, { sp, bp, regs, fullRegs }, read) : undefined;
        if (step) {
          if (!step.ok) throw new StackError(step.code, sp, step.message);
          ({ pc, sp, bp } = step);
          signal = entry!.signal;
          if (step.regs) {
            regs = step.regs;
            fullRegs = !step.partial;
            const user = userMode(step.regs);
            push({ pc, sp, method: 'exception', reliable, regs: step.regs, slot: step.regsAt, ...(step.partial ? { partial: true } : {}), ...(user ? { user: true } : {}) });
            if (user) return { frames, end: { reason: 'user-mode' } };
          } else {
            regs = undefined;
            fullRegs = false;
            push({ pc, sp, method: 'orc', reliable, slot: step.slot });
          }
        } else {
          // No ORC for pc: a frame-pointer guess, then a scan, both unreliable from here on.
          reliable = false;
          const why = orcs instanceof Error ? orcs.message : entry ? `the ORC entry for ${hex(pc)} is ${entry.type}` : `no ORC entry covers ${hex(pc)}`;
          let guessed = false;
          try {
            const f = fpStep(bp, read);
            if (f.sp > sp && this.isText(f.pc) && stackOf(stacks, f.sp - 1n)) {
              ({ pc, sp, bp } = f);
              push({ pc, sp, method: 'fp', reliable: false, slot: f.slot });
              guessed = true;
            }
          } catch {
            /* bp is no frame pointer: scan */
          }
          if (!guessed) {
            const s = stackOf(stacks, sp);
            const hit = s ? scanForReturn(prog, sp, s.end, (a) => this.isText(a)) : undefined;
            if (!hit) return { frames, end: { reason: 'error', code: 'no-unwind-info', message: `${why}, and neither frame pointers nor a scan of the stack find a caller`, addr: pc } };
            pc = hit.pc;
            sp = hit.slot + 8n;
            push({ pc, sp, method: 'scan', reliable: false, slot: hit.slot });
          }
          signal = false;
          regs = undefined;
          fullRegs = false;
        }
      } catch (err) {
        return fail(err);
      }
      // Prevent a loop on bad data: on the same stack, sp must grow.
      const nowStack = stackOf(stacks, sp) ?? stackOf(stacks, sp - 1n);
      if (prevStack && nowStack === prevStack && sp <= prevSp) {
        frames.pop();
        return { frames, end: { reason: 'error', code: 'stack-loop', message: `stack going in the wrong direction at ${hex(frames[frames.length - 1]?.pc ?? pc)}: sp ${hex(sp)} after ${hex(prevSp)}`, addr: sp } };
      }
      if (!nowStack) {
        return { frames, end: { reason: 'error', code: 'off-stack', message: `sp ${hex(sp)} is on no stack of this task or its CPU`, addr: sp } };
      }
    }
  }

  /** One ORC step (unwind_next_frame's body), or why it cannot be taken. */
  private orcStep(
    orc: OrcEntry,
    st: { sp: bigint; bp: bigint; regs: Regs | undefined; fullRegs: boolean },
    read: (a: bigint, len?: number) => bigint,
  ): ({ ok: true; pc: bigint; sp: bigint; bp: bigint; slot?: bigint; regs?: Regs; regsAt?: bigint; partial?: boolean }) | { ok: false; code: string; message: string } {
    const reg = (name: keyof Regs): bigint | undefined => (st.regs && st.fullRegs ? st.regs[name] : undefined);
    let sp: bigint;
    let indirect = false;
    const off = BigInt(orc.spOffset);
    switch (orc.spReg) {
      case 'sp':
        sp = st.sp + off;
        break;
      case 'bp':
        sp = st.bp + off;
        break;
      case 'sp_indirect':
        sp = st.sp;
        indirect = true;
        break;
      case 'bp_indirect':
        sp = st.bp + off;
        indirect = true;
        break;
      case 'r10':
      case 'r13':
      case 'di':
      case 'dx':
      case 'ax': {
        const name = orc.spReg === 'di' ? 'rdi' : orc.spReg === 'dx' ? 'rdx' : orc.spReg === 'ax' ? 'rax' : orc.spReg;
        const v = reg(name as keyof Regs);
        if (v === undefined) return { ok: false, code: 'missing-register', message: `the ORC entry needs ${name}, which this frame did not save` };
        sp = v;
        break;
      }
      default:
        return { ok: false, code: 'bad-orc', message: `unknown ORC sp_reg ${orc.spReg}` };
    }
    if (indirect) {
      sp = read(sp);
      if (orc.spReg === 'sp_indirect') sp += off;
    }
    let pc: bigint;
    let newSp: bigint;
    let slot: bigint | undefined;
    let regs: Regs | undefined;
    let regsAt: bigint | undefined;
    let partial = false;
    switch (orc.type) {
      case 'call':
        slot = sp - 8n;
        pc = read(slot);
        newSp = sp;
        break;
      case 'regs':
        read(sp + BigInt(PT_REGS_SIZE) - 8n); // the whole pt_regs must be on the stack
        regs = readPtRegs(this.prog, sp);
        regsAt = sp;
        pc = regs.rip!;
        newSp = regs.rsp!;
        break;
      case 'regs_partial':
        read(sp + 32n);
        regs = readPtRegs(this.prog, sp - BigInt(IRET_FRAME_OFFSET), true);
        regsAt = sp - BigInt(IRET_FRAME_OFFSET);
        partial = true;
        pc = regs.rip!;
        newSp = regs.rsp!;
        break;
      default:
        return { ok: false, code: 'bad-orc', message: `unknown ORC entry type ${orc.type}` };
    }
    let bp = st.bp;
    switch (orc.bpReg) {
      case 'undefined':
        if (regs && !partial) bp = regs.rbp!;
        break;
      case 'prev_sp':
        bp = read(sp + BigInt(orc.bpOffset));
        break;
      case 'bp':
        bp = read(st.bp + BigInt(orc.bpOffset));
        break;
      default:
        return { ok: false, code: 'bad-orc', message: `unknown ORC bp_reg ${orc.bpReg}` };
    }
    return { ok: true, pc, sp: newSp, bp, ...(slot !== undefined ? { slot } : {}), ...(regs ? { regs, regsAt: regsAt!, partial } : {}) };
  }
}
