import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSystemMap, SymbolTable } from '@vmpipe/symbols';
import { Disassembler, effectiveAddress, normalizeText, parseObjdump, splitComment, type Instruction, type MemoryOperand } from './index.js';
import { compareWithListing } from './listing.test-helper.js';

const EXPECTED = fileURLToPath(new URL('../../../fixtures/real/expected/', import.meta.url));
const MAP = fileURLToPath(new URL('../../../fixtures/real/System.map.gz', import.meta.url));

// The vmlinux's own symbols (fixture System.map, unrelocated): objdump names targets from the same symtab.
const table = new SymbolTable(readSystemMap(MAP).symbols);
// objdump also names per-CPU offsets (`# 1fb40 <__preempt_count>`), which the kernel's own lookup (and crash) leave bare.
const perCpu = table.symbols.filter((s) => s.addr < 0x100000n);
function symbolize(addr: bigint): string | undefined {
  const r = table.resolve(addr);
  const name = (s: { name: string; addr: bigint }) => (addr === s.addr ? s.name : `${s.name}+0x${(addr - s.addr).toString(16)}`);
  if (r) return name(r.symbol);
  const p = perCpu.filter((s) => s.addr <= addr).pop();
  return p ? name(p) : undefined;
}

/** `ffffffff8106b730 <__fentry__>` → address and name; alias names at one address are the same answer. */
function sameSymbolic(ours: string, theirs: string): boolean {
  if (ours === theirs) return true;
  const strip = (s: string) => s.replace(/ <([^>]*)>/g, '');
  if (strip(ours) !== strip(theirs)) return false;
  const names = (s: string) => [...s.matchAll(/<([^>+]+)(?:\+0x([0-9a-f]+))?>/g)].map((m) => ({ name: m[1]!, off: BigInt(`0x${m[2] ?? '0'}`) }));
  const a = names(ours);
  const b = names(theirs);
  if (a.length !== b.length) return false;
  // A different name for the same address: both must be symbols there (aliases such as __x86_indirect_thunk_array/_rax).
  return a.every((x, i) => {
    const y = b[i]!;
    const ax = table.lookup(x.name).map((s) => s.addr + x.off);
    const by = table.lookup(y.name).map((s) => s.addr + y.off);
    return ax.some((v) => by.includes(v));
  });
}

function compareListing(t: import('ava').ExecutionContext, file: string, minFunctions: number): void {
  const d = new Disassembler({ symbolize });
  compareWithListing(t, file, parseObjdump(readFileSync(EXPECTED + file, 'latin1')), minFunctions, (bytes, addr) => d.all(bytes, addr), (o, r) => {
    const ref = splitComment(r.text);
    const mine = o.comment ? `${o.text} # ${o.comment}` : o.text;
    const theirs = ref.comment ? `${ref.insn} # ${ref.comment}` : ref.insn;
    const same = o.addr === r.addr && o.length === r.bytes.length && sameSymbolic(normalizeText(mine), theirs);
    return same ? undefined : `ours "${mine}" (${o.length} bytes), objdump "${theirs}" (${r.bytes.length} bytes)`;
  }, 'same text, offsets and lengths as objdump');
}

test('the functions on the fixture crash stack decode as objdump 2.40 prints them (vmlinux bytes)', (t) => {
  compareListing(t, 'objdump.vmlinux.stack.txt', 18);
});

test('64 sampled kernel functions decode as objdump 2.40 prints them', (t) => {
  compareListing(t, 'objdump.vmlinux.sample.txt', 64);
});

test('edge bytes: (bad) and the walk goes on, ud2 then code, a cut-off instruction', (t) => {
  const [fn] = parseObjdump(readFileSync(EXPECTED + 'objdump.edge.txt', 'latin1'));
  const bytes = Uint8Array.from(fn!.insns.flatMap((i) => [...i.bytes]));
  const ours = new Disassembler().all(bytes, fn!.addr);
  // objdump splits the cut-off `48 8b` as `rex.W` + `.byte 0x8b`; we keep it as one truncated entry.
  const whole = fn!.insns.slice(0, -2);
  t.deepEqual(ours.slice(0, whole.length).map((i) => [i.addr, normalizeText(i.text)]), whole.map((i) => [i.addr, normalizeText(i.text)]));
  const last = ours[ours.length - 1]!;
  t.is(last.addr, fn!.insns[fn!.insns.length - 2]!.addr);
  t.true(last.truncated);
  t.deepEqual([...last.bytes], [0x48, 0x8b]);
  t.true(ours[0]!.bad);
  const ud2 = ours.find((i) => i.mnemonic === 'ud2')!;
  t.is(ud2.flow, 'exception');
});

test('operands decomposed; the seed: 0x98(%rdx) with rdx = ffffe2843fa00080 is ffffe2843fa00118', (t) => {
  const d = new Disassembler();
  const [mov] = d.all(Uint8Array.from([0x4c, 0x8b, 0x82, 0x98, 0, 0, 0]), 0xffffffff8972a000n) as [Instruction];
  t.is(mov.text, 'mov 0x98(%rdx),%r8');
  t.deepEqual(mov.operands, [
    { kind: 'memory', base: 'rdx', scale: 1, displacement: 0x98n, displacementSize: 4, size: 8 },
    { kind: 'register', register: 'r8' },
  ]);
  const m = mov.operands[0] as MemoryOperand;
  t.is(effectiveAddress(m, { rdx: 0xffffe2843fa00080n }), 0xffffe2843fa00118n);
  t.is(effectiveAddress(m, { rax: 1n }), undefined);
  // `cmpb $0xa,-0x1(%rdx,%rax,1)` from panic: base + index*scale + negative displacement
  const [cmp] = d.all(Uint8Array.from([0x80, 0x7c, 0x02, 0xff, 0x0a]), 0n) as [Instruction];
  t.is(cmp.text, 'cmpb $0xa,-0x1(%rdx,%rax,1)');
  t.deepEqual(cmp.operands[0], { kind: 'immediate', value: 0xan });
  t.is(effectiveAddress(cmp.operands[1] as MemoryOperand, { rdx: 0x1000n, rax: 0x10n }), 0x100fn);
  // RIP-relative: the absolute address is known without registers; %gs: needs the per-CPU base
  const [inc] = d.all(Uint8Array.from([0x65, 0xff, 0x05, 0x9d, 0x2b, 0x65, 0x7e]), 0xffffffff819ccf9cn) as [Instruction];
  t.is(inc.text, 'incl %gs:0x7e652b9d(%rip)');
  t.is(inc.comment, '1fb40');
  t.is(effectiveAddress(inc.operands[0] as MemoryOperand, {}), undefined);
  t.is(effectiveAddress(inc.operands[0] as MemoryOperand, {}, () => 0xffff8dcebfc80000n), 0xffff8dcebfc9fb40n);
});

test('--intel: objdump -M intel spelling for memory operands and targets', (t) => {
  const d = new Disassembler({ syntax: 'intel', symbolize: (a) => (a === 0xffffffff8106b730n ? '__fentry__' : undefined) });
  const [mov, call] = d.all(Uint8Array.from([0x4c, 0x8b, 0x82, 0x98, 0, 0, 0, 0xe8, 0x3b, 0x2d, 0x9c, 0xff]), 0xffffffff816a89e9n);
  t.is(mov!.text, 'mov r8,QWORD PTR [rdx+0x98]');
  t.is(call!.text, 'call ffffffff8106b730 <__fentry__>');
  t.is(normalizeText(call!.operandText), 'ffffffff8106b730 <__fentry__>');
});

test('remembered forms: a branch and a RIP-relative operand at another address print as a fresh decode does', (t) => {
  // call __fentry__ (rel32), jmp rel8, jne rel32, mov 0x98(%rdx),%r8, lea RIP-relative, incl %gs:RIP-relative
  const code = Uint8Array.from([0xe8, 0x3b, 0x2d, 0x9c, 0xff, 0xeb, 0x10, 0x0f, 0x85, 0x00, 0x01, 0x00, 0x00, 0x4c, 0x8b, 0x82, 0x98, 0, 0, 0, 0x48, 0x8d, 0x25, 0x51, 0x3f, 0xa0, 0x01, 0x65, 0xff, 0x05, 0x9d, 0x2b, 0x65, 0x7e]);
  const named = (a: bigint) => `f+0x${a.toString(16).slice(-3)}`;
  const warm = new Disassembler({ symbolize: named });
  const at = [0xffffffff816a89e9n, 0xffffffff81000000n, 0xffffffff81234567n];
  warm.all(code, at[0]!);
  const other = Uint8Array.from(code);
  other[1] = 0x10; // another rel32: the same form
  other[23] = 0x52; // another disp32
  for (const [bytes, addr] of [[code, at[1]!], [code, at[2]!], [other, at[1]!]] as const) {
    const fresh = new Disassembler({ symbolize: named }).all(bytes, addr);
    const again = warm.all(bytes, addr);
    t.deepEqual(again, fresh);
  }
  const [call] = warm.all(other, at[1]!);
  t.is(call!.target, at[1]! + 5n + BigInt.asIntN(32, 0xff9c2d10n));
  t.is(call!.text, `call ${call!.target!.toString(16)} <${named(call!.target!)}>`);
});
