import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { aarch64EffectiveAddress, Aarch64Disassembler, parseObjdumpAarch64, splitAarch64Comment, type Aarch64MemoryOperand } from './index.js';
import { compareWithListing } from './listing.test-helper.js';

const EXPECTED = fileURLToPath(new URL('../../../fixtures/arm64/6.1.0-56-cloud-arm64/expected/', import.meta.url));

/**
 * Names for addresses as objdump gave them in the same listing (`<panic>`,
 * `<kallsyms_token_index+0xb5900>`): what is compared here is the decoding and
 * spelling; naming an address is the symbol table's job (tested in
 * @vmpipe/symbols), and objdump's own names keep the fixture small (no
 * System.map of the arm64 kernel in the repo).
 */
function namesOf(listing: string): (addr: bigint) => string | undefined {
  const names = new Map<bigint, string>();
  for (const m of listing.matchAll(/\b([0-9a-f]{16}) <([^>]+)>/g)) names.set(BigInt(`0x${m[1]}`), m[2]!);
  return (a) => names.get(a);
}

async function compareListing(t: import('ava').ExecutionContext, file: string, minFunctions: number): Promise<void> {
  const text = readFileSync(EXPECTED + file, 'latin1');
  const d = await Aarch64Disassembler.create({ symbolize: namesOf(text) });
  compareWithListing(t, file, parseObjdumpAarch64(text), minFunctions, (bytes, addr) => d.all(bytes, addr), (o, r) => {
    const ref = splitAarch64Comment(r.text);
    const mine = o.comment ? `${o.text} // ${o.comment}` : o.text;
    const theirs = ref.comment ? `${ref.insn} // ${ref.comment}` : ref.insn;
    return o.addr !== r.addr || o.length !== 4 || mine !== theirs ? `ours "${mine}", objdump "${theirs}"` : undefined;
  }, 'same text as aarch64-linux-gnu-objdump 2.40');
  d.free();
}

test('the functions on the arm64 crash stacks decode as aarch64-linux-gnu-objdump 2.40 prints them', async (t) => {
  await compareListing(t, 'objdump.vmlinux.stack.txt', 40);
});

test('64 sampled arm64 kernel functions decode as aarch64-linux-gnu-objdump 2.40 prints them', async (t) => {
  await compareListing(t, 'objdump.vmlinux.sample.txt', 60);
});

test('edge words as objdump -b binary prints them: udf, an undefined word, literals, movn, pauth/bti hints', async (t) => {
  await compareListing(t, 'objdump.edge.txt', 1);
  const d = await Aarch64Disassembler.create();
  const [udf, bad] = d.all(Uint8Array.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x20]), 0xffff800008010000n);
  t.is(udf!.flow, 'exception');
  t.true(bad!.bad);
  const tail = d.all(Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0x1f, 0x20]), 0n);
  t.is(tail.length, 2);
  t.true(tail[1]!.truncated);
  d.free();
});

test('operands decomposed: stp pre-index, ldp post-index, register index, effective addresses; flow', async (t) => {
  const d = await Aarch64Disassembler.create({ symbolize: (a) => (a === 0xffff800008b9d474n ? 'panic' : undefined) });
  // stp x29, x30, [sp, #-16]! ; ldp x29, x30, [sp], #64 ; ldr x0, [x1, x2, lsl #3] ; ldr w3, [x3, #3512] ; bl panic ; b.ne ; ret
  const words = [0xa9bf7bfd, 0xa8c47bfd, 0xf8627820, 0xb94db863, 0x940f1e05, 0x54000761, 0xd65f03c0];
  const bytes = Uint8Array.from(words.flatMap((w) => [w & 255, (w >>> 8) & 255, (w >>> 16) & 255, w >>> 24]));
  const [stp, ldp, ldr, ldrw, bl, bne, ret] = d.all(bytes, 0xffff8000087d5c50n);
  t.is(stp!.text, 'stp x29, x30, [sp, #-16]!');
  const m0 = stp!.operands[2] as Aarch64MemoryOperand;
  t.like(m0, { kind: 'memory', base: 'sp', displacement: -16n, writeback: 'pre', size: 16 });
  t.is(aarch64EffectiveAddress(m0, { sp: 0xffff80000a003e40n }), 0xffff80000a003e30n);
  t.is(ldp!.text, 'ldp x29, x30, [sp], #64');
  const m1 = ldp!.operands[2] as Aarch64MemoryOperand;
  t.like(m1, { base: 'sp', displacement: 64n, writeback: 'post' });
  t.is(aarch64EffectiveAddress(m1, { sp: 0x1000n }), 0x1000n);
  t.is(ldr!.text, 'ldr x0, [x1, x2, lsl #3]');
  const m2 = ldr!.operands[1] as Aarch64MemoryOperand;
  t.like(m2, { base: 'x1', index: 'x2', scale: 8, size: 8 });
  t.is(aarch64EffectiveAddress(m2, { x1: 0x1000n, x2: 3n }), 0x1018n);
  t.is(aarch64EffectiveAddress(m2, { x1: 0x1000n }), undefined);
  t.is(ldrw!.text, 'ldr w3, [x3, #3512]');
  t.is((ldrw!.operands[1] as Aarch64MemoryOperand).size, 4);
  t.is(bl!.text, 'bl ffff800008b9d474 <panic>');
  t.is(bl!.flow, 'call');
  t.is(bl!.target, 0xffff800008b9d474n);
  t.is(bl!.targetSymbol, 'panic');
  t.is(bne!.flow, 'cond-jump');
  t.is(bne!.comment, 'b.any');
  t.is(ret!.flow, 'return');
  d.free();
});
