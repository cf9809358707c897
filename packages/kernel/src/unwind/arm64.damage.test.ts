/**
 * Bad input for the arm64 unwinder: the real pauth dump's memory (see
 * arm64.real.test.ts for where it lives) with frame-record words changed or a
 * stack page taken away (an overlay; nothing is written to the dump). A
 * record pointing back down the stack, a misaligned frame pointer and an
 * unreadable stack page each end the trace with an error after the frames
 * before them. Skips with a log line without the dump.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { MemoryError, type KernelMemory } from '@vmpipe/addrxlat';
import { panicCpu } from '../panic-task.js';
import { Program } from '../program.js';
import { cpu_stack_trace, Unwinder } from './index.js';

const KERNEL = '6.1.0-56-cloud-arm64';
const DUMP = `${process.env['VMPIPE_ARM64_DUMPS'] ?? `/work/refs/arm64/dumps/${KERNEL}`}/pauth/qemu.kdump-zlib`;
const MAP = process.env['VMPIPE_ARM64_SYSTEM_MAP'] ?? `/work/refs/arm64/${KERNEL}/System.map`;
const have = existsSync(DUMP) && existsSync(MAP);

/**
 * The dump's memory with some 8-byte words replaced and some ranges unreadable: an object whose
 * prototype is the real Aarch64Memory (so ptrauth_strip_kernel_insn_pac still knows it for arm64's)
 * with its own readBytes, which the scalar reads go through.
 */
function overlay(inner: KernelMemory, words: Map<bigint, bigint>, excluded: [bigint, bigint][] = []): KernelMemory {
  const o = Object.create(inner) as KernelMemory;
  o.readBytes = (v: bigint, length: number): Uint8Array => {
    for (const [s, e] of excluded) if (v < e && v + BigInt(length) > s) throw new MemoryError('page-excluded', v > s ? v : s, 'the dump level excluded this page (test overlay)');
    const b = Uint8Array.from(inner.readBytes(v, length));
    const dv = new DataView(b.buffer);
    for (const [a, w] of words) if (a >= v && a + 8n <= v + BigInt(length)) dv.setBigUint64(Number(a - v), w, true);
    return b;
  };
  return o;
}

let shared: Program | undefined;
const open = () => (shared ??= Program.open(DUMP, { systemMap: MAP }));
test.after.always(() => shared?.close());

function damaged(words: [bigint, bigint][], excluded: [bigint, bigint][] = []): Program {
  const base = open();
  return Program.fromParts({ path: DUMP, mem: overlay(base.mem, new Map(words), excluded), types: base.types, symbols: base.kernelSymbols.table, dump: base.theDump });
}

/** The crashing CPU's trace on the undamaged dump, and the frame of `fn` read from a frame record (its record is at slot - 8). */
function recordOf(fn: string) {
  const prog = open();
  const cpu = panicCpu(prog)!;
  const trace = cpu_stack_trace(new Unwinder(prog), cpu);
  const i = trace.frames.findIndex((f) => f.function === fn && f.method === 'fp');
  return { cpu, trace, i, record: trace.frames[i]!.slot! - 8n };
}

test('a frame record pointing back down the stack: stack-loop, the frames before it kept', (t) => {
  if (!have) return void (t.log(`skipped: ${DUMP} or ${MAP} is not here`), t.pass());
  const { cpu, trace, i, record } = recordOf('vfs_write');
  const tr = cpu_stack_trace(new Unwinder(damaged([[record, record - 0x40n]])), cpu);
  t.is(tr.end.reason, 'error');
  t.is(tr.end.code, 'stack-loop');
  t.deepEqual(tr.frames.slice(0, i + 1).map((f) => f.pc), trace.frames.slice(0, i + 1).map((f) => f.pc));
});

test('a misaligned frame pointer: bad-frame-pointer', (t) => {
  if (!have) return void (t.log(`skipped: ${DUMP} or ${MAP} is not here`), t.pass());
  const { cpu, i, record } = recordOf('ksys_write');
  const tr = cpu_stack_trace(new Unwinder(damaged([[record, record + 0x43n]])), cpu);
  t.is(tr.end.code, 'bad-frame-pointer');
  t.is(tr.frames.length, i + 1);
});

test('a frame pointer off every stack, and an excluded stack page: the trace ends with why', (t) => {
  if (!have) return void (t.log(`skipped: ${DUMP} or ${MAP} is not here`), t.pass());
  const { cpu, record } = recordOf('__handle_sysrq');
  const off = cpu_stack_trace(new Unwinder(damaged([[record, 0xffff000012345670n]])), cpu);
  t.is(off.end.code, 'off-stack');
  const page = record & ~0xfffn;
  const gone = cpu_stack_trace(new Unwinder(damaged([], [[page, page + 0x1000n]])), cpu);
  t.is(gone.end.reason, 'error');
  t.is(gone.end.code, 'page-excluded');
  t.true(gone.frames.length > 3);
});
