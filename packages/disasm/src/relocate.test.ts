import test from 'ava';
import { EM_AARCH64, EM_X86_64, R_X86_64_64, R_X86_64_PLT32 } from '@vmpipe/elf';
import { Aarch64Disassembler } from './aarch64.js';
import { aarch64PltTarget, applyRelocation } from './relocate.js';
import { Disassembler } from './x86_64.js';

// Relocated words are read back by the disassemblers (capstone for A64, iced for x86), so each
// expectation is what a real decoder says the loader's write means, per the psABI/aaelf64 rule.

const words = (...w: number[]) => {
  const b = new Uint8Array(w.length * 4);
  const v = new DataView(b.buffer);
  w.forEach((x, i) => v.setUint32(i * 4, x >>> 0, true));
  return b;
};
const hex = (v: bigint) => `0x${v.toString(16)}`;

test('arm64 instruction relocations: capstone reads each field back as S+A, S+A-P or the page', async (t) => {
  const P = 0xffff800008001234n;
  const SA = 0xffff80000a345678n; // 36 MiB ahead: inside B/BL's reach
  // [stored word with a zero immediate, relocation type, S+A, what capstone prints for the written word]
  const cases: [number, number, bigint, string][] = [
    [0x94000000, 283, SA, `bl ${hex(SA)}`], // R_AARCH64_CALL26
    [0x14000000, 282, P - 0x40n, `b ${hex(P - 0x40n)}`], // R_AARCH64_JUMP26, backwards
    [0x90000004, 275, SA, `adrp x4, ${hex(SA & ~0xfffn)}`], // R_AARCH64_ADR_PREL_PG_HI21
    [0x90000004, 275, 0xffff800000000010n, 'adrp x4, 0xffff800000000000'], // a page behind: negative immhi:immlo
    [0x91000084, 277, SA, 'add x4, x4, #0x678'], // R_AARCH64_ADD_ABS_LO12_NC
    [0x39400081, 278, SA, 'ldrb w1, [x4, #1656]'], // R_AARCH64_LDST8_ABS_LO12_NC: bytes
    [0x79400081, 284, SA, 'ldrh w1, [x4, #1656]'], // LDST16: imm12 = lo12 / 2
    [0xb9400081, 285, SA, 'ldr w1, [x4, #1656]'], // LDST32: / 4
    [0xf9400081, 286, SA, 'ldr x1, [x4, #1656]'], // LDST64: / 8
    [0x3dc00080, 299, 0xffff80000a345670n, 'ldr q0, [x4, #1648]'], // LDST128: / 16
    [0x54000000, 280, P + 0x40n, `b.eq ${hex(P + 0x40n)}`], // R_AARCH64_CONDBR19
    [0xb4000000, 280, P - 0x100n, `cbz x0, ${hex(P - 0x100n)}`], // CONDBR19 on CBZ, backwards
    [0x36000000, 279, P + 0x20n, `tbz w0, #0, ${hex(P + 0x20n)}`], // R_AARCH64_TSTBR14
    [0x58000000, 273, P + 0x800n, `ldr x0, ${hex(P + 0x800n)}`], // R_AARCH64_LD_PREL_LO19
    [0x10000000, 274, P - 0x3n, `adr x0, ${hex(P - 0x3n)}`], // R_AARCH64_ADR_PREL_LO21: byte offset, immlo used
  ];
  const dis = await Aarch64Disassembler.create({});
  for (const [stored, type, sa, want] of cases) {
    const b = words(stored);
    t.true(applyRelocation(EM_AARCH64, type, new DataView(b.buffer), 0, sa, P), `type ${type}`);
    t.is(dis.all(b, P)[0]!.text, want, `type ${type}`);
  }
  dis.free();
});

test('arm64 data relocations: ABS64, ABS32, ABS16, PREL64, PREL32, PREL16', (t) => {
  const P = 0xffff800008001000n;
  const at = (type: number, size: number, sa: bigint) => {
    const v = new DataView(new ArrayBuffer(8));
    t.true(applyRelocation(EM_AARCH64, type, v, 0, sa, P));
    return size === 8 ? v.getBigUint64(0, true) : size === 4 ? BigInt(v.getUint32(0, true)) : BigInt(v.getUint16(0, true));
  };
  t.is(at(257, 8, 0xffff80000a345678n), 0xffff80000a345678n);
  t.is(at(258, 4, 0x12345678n), 0x12345678n);
  t.is(at(259, 2, 0x1234n), 0x1234n);
  t.is(at(260, 8, P - 8n), BigInt.asUintN(64, -8n));
  t.is(at(261, 4, P + 0x10n), 0x10n);
  t.is(at(261, 4, P - 4n), 0xfffffffcn, 'PREL32 backwards: two\'s complement');
  t.is(at(262, 2, P + 2n), 2n);
});

test('a B/BL out of reach is the loader\'s PLT: unwritten without an entry, written to the entry with one', async (t) => {
  const P = 0xffff800008000000n;
  const far = P + (1n << 28n); // 256 MiB: past imm26's ±128 MiB
  const b = words(0x94000000);
  const v = new DataView(b.buffer);
  t.false(applyRelocation(EM_AARCH64, 283, v, 0, far, P));
  t.is(v.getUint32(0, true), 0x94000000, 'left as stored');
  const entry = P + 0x1000n;
  t.true(applyRelocation(EM_AARCH64, 283, v, 0, far, P, (sa, p) => (sa === far && p === P ? entry : undefined)));
  const dis = await Aarch64Disassembler.create({});
  t.is(dis.all(b, P)[0]!.text, `bl ${hex(entry)}`);
  dis.free();
  t.false(applyRelocation(EM_AARCH64, 275, new DataView(new ArrayBuffer(4)), 0, far << 20n, P), 'not a branch: no PLT asked');
  t.false(applyRelocation(EM_AARCH64, 263, new DataView(new ArrayBuffer(8)), 0, 0n, P), 'a MOVW relocation is not applied');
});

test('aarch64PltTarget reads the module loader\'s veneer as capstone does', async (t) => {
  const at = 0xffff800010000ff0n;
  // adrp x16, 0xffff800008123000 (-0x7edd pages: immhi:immlo two's complement); add x16, x16, #0x456; br x16
  const pages = BigInt.asUintN(21, -0x7eddn);
  const adrp = 0x90000010 | (Number(pages & 3n) << 29) | (Number(pages >> 2n) << 5);
  const entry = words(adrp, 0x91000210 | (0x456 << 10), 0xd61f0200);
  const dis = await Aarch64Disassembler.create({});
  t.deepEqual(dis.all(entry, at).map((i) => i.text), ['adrp x16, 0xffff800008123000', 'add x16, x16, #0x456', 'br x16']);
  dis.free();
  t.is(aarch64PltTarget(entry, at), 0xffff800008123456n);
  t.is(aarch64PltTarget(words(adrp, 0x91000210, 0xd61f0220), at), undefined, 'br x17 is not the loader\'s entry');
  t.is(aarch64PltTarget(entry.subarray(0, 8), at), undefined, 'cut short');
});

test('x86_64: PLT32 is S+A-P, so iced reads the call\'s target; R_X86_64_64 is S+A', (t) => {
  const P = 0xffffffffc0001000n; // the call's rel32 field, one byte into `e8 00 00 00 00`
  const target = 0xffffffff81234560n; // msleep, say: the addend -4 accounts for the rel32's place
  const b = Uint8Array.from([0xe8, 0, 0, 0, 0]);
  t.true(applyRelocation(EM_X86_64, R_X86_64_PLT32, new DataView(b.buffer), 1, target - 4n, P + 1n));
  const dis = new Disassembler({});
  t.is(dis.all(b, P)[0]!.text, `call ${target.toString(16)}`);
  dis.free();
  const v = new DataView(new ArrayBuffer(8));
  t.true(applyRelocation(EM_X86_64, R_X86_64_64, v, 0, target, P));
  t.is(v.getBigUint64(0, true), target);
  t.false(applyRelocation(EM_X86_64, 283, v, 0, target, P), 'an arm64 type on x86_64 is not applied');
});
