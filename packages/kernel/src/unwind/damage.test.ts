/**
 * Bad input for the unwinder: the shipped dump's memory with words changed
 * or pages taken away (an overlay; nothing is written to the dump). A loop, an
 * excluded stack page, a return address outside any symbol or ORC table, and
 * the depth bound each end or bend the trace in the documented way.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KernelMemoryBase, MemoryError, type KernelMemory } from '@vmpipe/addrxlat';

type ReadOptions = Parameters<KernelMemory['read']>[2];
import { Program } from '../program.js';
import { cpu_stack_trace, Unwinder } from './index.js';

const DUMP = fileURLToPath(new URL('../../../../fixtures/real/vmcore.kdump-zlib', import.meta.url));
const real = existsSync(DUMP) ? test : test.skip;

/** The dump's memory with some 8-byte words replaced and some ranges unreadable. */
class Damaged extends KernelMemoryBase {
  readonly arch;
  readonly pageSize;
  constructor(private readonly inner: KernelMemory, private readonly words: Map<bigint, bigint>, private readonly excluded: [bigint, bigint][] = []) {
    super();
    this.arch = inner.arch;
    this.pageSize = inner.pageSize;
  }
  translate(v: bigint) {
    return this.inner.translate(v);
  }
  read(v: bigint, length: number, options?: ReadOptions) {
    return this.inner.read(v, length, options);
  }
  override readBytes(v: bigint, length: number): Uint8Array {
    for (const [s, e] of this.excluded) if (v < e && v + BigInt(length) > s) throw new MemoryError('page-excluded', v > s ? v : s, 'the dump level excluded this page (test overlay)');
    const b = Uint8Array.from(this.inner.readBytes(v, length));
    const dv = new DataView(b.buffer);
    for (const [a, w] of this.words) if (a >= v && a + 8n <= v + BigInt(length)) dv.setBigUint64(Number(a - v), w, true);
    return b;
  }
}

/** One program for the file: the overlays share its types and symbols. */
let shared: Program | undefined;
const open = () => (shared ??= Program.open(DUMP));
test.after.always(() => shared?.close());

function damaged(words: [bigint, bigint][], excluded: [bigint, bigint][] = []) {
  const base = open();
  const prog = Program.fromParts({ path: DUMP, mem: new Damaged(base.mem, new Map(words), excluded), types: base.types, symbols: base.kernelSymbols.table, dump: base.theDump });
  return prog;
}

// CPU 1's stack (see unwind.test.ts): ksys_write's frame keeps the caller's rbp at 0xffffcf8400013c10 (CFA - 32),
// from which do_syscall_64's frame (sp_reg BP) is found; write_sysrq_trigger's return address is at ...3b30.
real('a saved rbp pointing back down the stack: the trace stops with stack-loop, not a loop', (t) => {
  const prog = damaged([[0xffffcf8400013c10n, 0xffffcf8400013b00n]]);
  const trace = cpu_stack_trace(new Unwinder(prog), 1);
  t.is(trace.end.reason, 'error');
  t.is(trace.end.code, 'stack-loop');
  t.is(trace.frames[trace.frames.length - 1]!.function, 'do_syscall_64');
});

real('an excluded stack page: the frames before it, then an error naming page-excluded', (t) => {
  const prog = damaged([], [[0xffffcf8400013b00n, 0xffffcf8400013c00n]]);
  const trace = cpu_stack_trace(new Unwinder(prog), 1);
  t.is(trace.end.code, 'page-excluded');
  t.deepEqual(trace.frames.map((f) => f.function), ['pvpanic_panic_notify', 'atomic_notifier_call_chain', 'panic', 'sysrq_handle_crash']);
});

real('a return address in no symbol and no ORC table: an unnamed frame, then a scan finds the caller; everything after is unreliable', (t) => {
  const prog = damaged([[0xffffcf8400013b30n, 0xffffffffc1234567n]]);
  const trace = cpu_stack_trace(new Unwinder(prog), 1);
  const bad = trace.frames.find((f) => f.pc === 0xffffffffc1234567n)!;
  t.is(bad.function, undefined);
  const after = trace.frames.slice(trace.frames.indexOf(bad) + 1);
  t.is(after[0]!.method, 'scan');
  t.is(after[0]!.function, 'proc_reg_write');
  t.true(after.every((f) => !f.reliable));
  t.deepEqual(after.map((f) => f.function).slice(1, 4), ['vfs_write', 'ksys_write', 'do_syscall_64']);
  t.is(trace.end.reason, 'user-mode');
});

real('depth is bounded', (t) => {
  const base = open();
  const u = new Unwinder(base);
  const trace = u.unwind(
    { pc: 0xffffffffc0597230n, sp: 0xffffcf8400013a38n, bp: 1n, signal: true },
    u.stacksFor(0xffff8dce811f9800n, 1),
    3,
  );
  t.is(trace.frames.length, 3);
  t.is(trace.end.reason, 'depth');
});
