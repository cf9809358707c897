// The pieces that let the Disassembler skip iced for instructions it has seen (x86-length,
// byte-map, walk), checked against objdump's listings of the fixture kernel and against the
// generator they must agree with.
import test from 'ava';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { ElfFile } from '@vmpipe/elf';
import { fileURLToPath } from 'node:url';
import { ByteStringMap } from './byte-map.js';
import { Disassembler, parseObjdump, type Instruction } from './index.js';
import { x86InstructionLength } from './x86-length.js';

const EXPECTED = fileURLToPath(new URL('../../../fixtures/real/expected/', import.meta.url));
// objdump -d -w of the fixture's vmlinux (commands in fixtures/real/expected/README): the functions on the
// crash stack and 64 sampled ones, with their bytes.
const functions = ['objdump.vmlinux.stack.txt', 'objdump.vmlinux.sample.txt'].flatMap((f) => parseObjdump(readFileSync(EXPECTED + f, 'latin1')));

test('x86InstructionLength is objdump 2.40\'s length for every instruction of the listings, or 0 (ask iced) for fewer than 1 in 1000', (t) => {
  let n = 0;
  let unknown = 0;
  const wrong: string[] = [];
  for (const fn of functions) {
    const bytes = Uint8Array.from(fn.insns.flatMap((i) => [...i.bytes]));
    let pos = 0;
    for (const i of fn.insns) {
      const guess = x86InstructionLength(bytes, pos, bytes.length);
      n++;
      if (guess === 0) unknown++;
      else if (guess !== i.bytes.length) wrong.push(`${fn.name} ${i.addr.toString(16)} ${i.text}: ${guess}, objdump ${i.bytes.length}`);
      pos += i.bytes.length;
    }
  }
  t.true(n > 3000, `${n} instructions`);
  t.deepEqual(wrong, []);
  t.true(unknown * 1000 < n, `${unknown} of ${n} unknown`);
});

test('x86InstructionLength over the fixture kernel\'s whole .text (the -dbg vmlinux in /work/refs): iced\'s length or 0', (t) => {
  const vmlinux = '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
  if (!existsSync(vmlinux)) {
    t.log(`skipped: no ${vmlinux} (tools/recipes/real-dump/README says where it comes from)`);
    t.pass();
    return;
  }
  const text = ElfFile.open(vmlinux).section('.text')!;
  const bytes = new Uint8Array(text.size);
  const fd = openSync(vmlinux, 'r');
  readSync(fd, bytes, 0, text.size, text.offset);
  closeSync(fd);
  let n = 0;
  let unknown = 0;
  let wrong = 0;
  new Disassembler().walk(bytes, text.addr, (s) => {
    const guess = x86InstructionLength(bytes, s.offset, bytes.length);
    const length = s.insn.length; // a branch form's first instruction has this one's length too
    n++;
    if (guess === 0) unknown++;
    else if (guess !== length && !s.insn.bad) wrong++;
  });
  t.true(n > 6_000_000, `${n} instructions`);
  t.is(wrong, 0);
  t.true(unknown < 100, `${unknown} unknown`);
});

test('x86InstructionLength: prefixes, REX.W imm64, moffs, VEX, and 0 where Intel and AMD differ or the bytes run out', (t) => {
  const len = (hex: string) => {
    const b = Uint8Array.from(hex.split(' ').map((x) => parseInt(x, 16)));
    return x86InstructionLength(b, 0, b.length);
  };
  t.is(len('48 b8 88 77 66 55 44 33 22 11'), 10); // movabs $0x1122334455667788,%rax
  t.is(len('66 b8 34 12'), 4); // mov $0x1234,%ax
  t.is(len('48 a1 88 77 66 55 44 33 22 11'), 10); // movabs 0x1122334455667788,%rax
  t.is(len('66 2e 0f 1f 84 00 00 00 00 00'), 10); // cs nopw 0x0(%rax,%rax,1)
  t.is(len('f3 0f 1e fa'), 4); // endbr64
  t.is(len('c5 f8 77'), 3); // vzeroupper
  t.is(len('c4 e3 79 0f c1 08'), 6); // vpalignr $0x8,%xmm1,%xmm0,%xmm0
  t.is(len('f7 05 44 33 22 11 01 00 00 00'), 10); // testl $0x1,0x11223344(%rip)
  t.is(len('66 e8 00 00'), 0); // call with 0x66: rel16 (AMD) or rel32 (Intel)
  t.is(len('48 8b 84'), 0); // ModRM says SIB + disp32 follow, and the bytes end
  t.is(len('62 f1 7c 48 28 c1'), 0); // EVEX: left to iced
});

test('ByteStringMap finds exactly the keys set, with and without a gap, as a Map of strings does', (t) => {
  let seed = 12345;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) % n; // an LCG's low bits repeat quickly
  };
  const map = new ByteStringMap<number>();
  const plain = new Map<string, number>();
  const key = (b: Uint8Array, from: number, to: number, gapFrom: number, gapTo: number) => [...b.subarray(from, gapFrom), ...b.subarray(gapTo, to)].join(',');
  const buf = new Uint8Array(64);
  for (let i = 0; i < 20000; i++) {
    for (let k = 0; k < buf.length; k++) buf[k] = random(4); // few byte values: many shared prefixes and collisions
    const from = random(8);
    const to = from + 1 + random(15);
    const gap = random(3) === 0 ? from + random(to - from) : to;
    const gapTo = gap === to ? to : Math.min(to, gap + 4);
    const k = key(buf, from, to, gap, gapTo);
    const found = map.get(buf, from, to, gap, gapTo);
    t.is(found, plain.get(k));
    if (found === undefined) {
      t.is(map.set(buf, from, to, i, gap, gapTo), plain.size);
      plain.set(k, i);
    }
  }
  t.is(map.size, plain.size);
  t.true(plain.size > 1000);
});

/** What disassemble() yields, as comparable text (bigints and bytes spelled out). */
const spell = (i: Instruction) => JSON.stringify(i, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v instanceof Uint8Array ? [...v].join(' ') : v));

test('walk and disassemble give the same instructions, on a fresh and on a warm Disassembler, stopped and resumed anywhere', (t) => {
  const symbolize = (a: bigint) => `sym_${(a & 0xfffn).toString(16)}`;
  const reference = new Disassembler({ symbolize });
  const warmed = new Disassembler({ symbolize });
  let checked = 0;
  let remembered = 0;
  let branches = 0;
  for (const fn of functions) {
    const bytes = Uint8Array.from(fn.insns.flatMap((i) => [...i.bytes]));
    const expected = reference.all(bytes, fn.addr).map(spell);
    for (const d of [warmed, warmed]) {
      const got: string[] = [];
      // stop after every 7th instruction and go on from there
      let from = 0;
      while (from < bytes.length) {
        let n = 0;
        from = d.walk(bytes, fn.addr, (s) => {
          if (s.remembered >= 0) remembered++;
          if (s.branch >= 0) branches++;
          got.push(spell(d.instructionAt(s)));
          return ++n < 7;
        }, from);
      }
      t.deepEqual(got, expected, fn.name);
      checked += got.length;
    }
  }
  t.true(remembered > checked / 2 && branches > 1000, `${checked} instructions, ${remembered} remembered, ${branches} branch forms`);
});

// Instructions made from a remembered form (a branch's rel, a RIP-relative or a base/index disp,
// or an immediate changed) must be what iced decodes alone: each is decoded again by a fresh Disassembler
// (nothing remembered: iced and the formatting only), in both syntaxes; over the listings, and
// over the first MiB of the -dbg vmlinux's .text where /work/refs has it.
const VMLINUX = '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
function textStart(length: number): { addr: bigint; bytes: Uint8Array } | undefined {
  if (!existsSync(VMLINUX)) return undefined;
  const text = ElfFile.open(VMLINUX).section('.text')!;
  const bytes = new Uint8Array(length);
  const fd = openSync(VMLINUX, 'r');
  readSync(fd, bytes, 0, length, text.offset);
  closeSync(fd);
  return { addr: text.addr, bytes };
}

for (const syntax of ['att', 'intel'] as const) {
  test(`${syntax}: instructions made from remembered forms are iced's own decoding of their bytes`, (t) => {
    const symbolize = (a: bigint) => `sym_${(a & 0xfffn).toString(16)}`;
    const d = new Disassembler({ syntax, symbolize });
    const seen = { made: 0, rip: 0, branch: 0 };
    const code: { name: string; addr: bigint; bytes: Uint8Array }[] = functions.map((fn) => ({ name: fn.name, addr: fn.addr, bytes: Uint8Array.from(fn.insns.flatMap((i) => [...i.bytes])) }));
    const start = textStart(1 << 20);
    if (start) code.push({ name: '.text', ...start });
    else t.log(`the vmlinux's .text skipped: no ${VMLINUX}`);
    for (const { name, addr, bytes } of code) {
      d.walk(bytes, addr, (s) => {
        const made = s.branch >= 0 ? 'branch' : s.ripRelative >= 0 ? 'rip' : s.remembered >= 0 && d.formOf(s.remembered) >= 0 ? 'made' : undefined;
        if (made === undefined) return;
        seen[made]++;
        const own = d.instructionAt(s);
        const fresh = new Disassembler({ syntax, symbolize });
        const alone = fresh.decodeOne(bytes.subarray(s.offset, s.offset + own.length), own.addr)!;
        fresh.free();
        t.is(spell(own), spell(alone), `${name}+0x${s.offset.toString(16)}`);
      });
    }
    t.true(seen.made > 300 && seen.rip > 40 && seen.branch > 1000, JSON.stringify(seen));
    t.log(JSON.stringify(seen));
  });
}
