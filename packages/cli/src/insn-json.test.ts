// The insn record's JSON, written by hand as bytes (insn-json.ts), against what JSON.stringify
// wrote from an object per record and per operand, over the fixture kernel's sampled functions.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ByteLines } from '@vmpipe/records';
import { Disassembler, parseObjdump } from '@vmpipe/disasm';
import { hexBytes, InsnJson } from './insn-json.js';

const EXPECTED = fileURLToPath(new URL('../../../fixtures/real/expected/', import.meta.url));
const symbolize = (a: bigint) => `sym_${(a & 0xfffn).toString(16)}`;

test('insn record JSON: the hand-written parts parse to the fields JSON.stringify wrote', (t) => {
  const fns = parseObjdump(readFileSync(EXPECTED + 'objdump.vmlinux.sample.txt', 'latin1'));
  const d = new Disassembler({ symbolize });
  const json = new InsnJson();
  const hex = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16)}`;
  let n = 0;
  for (const fn of fns) {
    for (const i of d.all(Uint8Array.from(fn.insns.flatMap((x) => [...x.bytes])), fn.addr)) {
      const p = json.parts(i);
      // what the command built before: an object per record and per operand, then JSON.stringify
      const want: Record<string, unknown> = { bytes: Buffer.from(i.bytes).toString('hex').replace(/(..)(?!$)/g, '$1 '), text: i.text, mnemonic: i.mnemonic, length: i.length };
      if (i.prefixes.length) want.prefixes = i.prefixes;
      want.operandText = i.operandText;
      want.operands = i.operands.map((o) => {
        if (o.kind === 'immediate') return { kind: o.kind, value: hex(o.value) };
        if (o.kind === 'target') return { kind: o.kind, target: hex(o.target) };
        if (o.kind !== 'memory') return { ...o };
        const m: Record<string, unknown> = { kind: 'memory' };
        if (o.segment) m.segment = o.segment;
        if (o.base) m.base = o.base;
        if (o.index) m.index = o.index;
        m.scale = o.scale;
        m.displacement = o.displacement < 0n ? `-0x${(-o.displacement).toString(16)}` : hex(o.displacement);
        m.size = o.size;
        if (o.target !== undefined) m.target = hex(o.target);
        return m;
      });
      want.flow = i.flow;
      if (i.target !== undefined) want.target = hex(i.target);
      if (i.targetSymbol) want.targetSym = i.targetSymbol;
      if (i.comment) want.comment = i.comment;
      t.is(`{${(p.head + p.tail).slice(1)}}`, JSON.stringify(want));
      n++;
    }
  }
  t.log(`${n} instructions`);
});


test('insn record JSON: the bytes written are the text parts gives, escapes included', (t) => {
  const json = new InsnJson();
  const out = new ByteLines();
  const ins = new Disassembler({ symbolize: () => 'a"b\\c\u0001\u00e9' }).all(Uint8Array.from([0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x05, 0x10, 0, 0, 0]), 0xffffffff81000000n);
  for (const i of ins) {
    json.writeHead(out, i);
    json.writeTail(out, i);
    const p = json.parts(i);
    t.is(out.textSince(0), p.head + p.tail);
    t.is(JSON.parse(`{${(p.head + p.tail).slice(1)}}`).bytes, hexBytes(i.bytes));
  }
  t.is(JSON.parse(`{${(json.parts(ins[0]!).head + json.parts(ins[0]!).tail).slice(1)}}`).targetSym, 'a"b\\c\u0001\u00e9');
});
