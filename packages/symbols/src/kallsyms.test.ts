/**
 * kallsyms tables written here the way scripts/kallsyms lays them out, in a
 * BufferMemory, read back through VMCOREINFO's locations.
 */
import test from 'ava';
import { BufferMemory } from '@vmpipe/addrxlat';
import { Vmcoreinfo } from '@vmpipe/dump';
import { readKallsyms, KallsymsError, hasKallsyms, type KallsymsEncoding } from './kallsyms.js';
import { SymbolTable, formatResolved } from './table.js';

const BASE = 0xffffffff81000000n; // kallsyms_relative_base = _text

interface Sym {
  text: string; // type letter + name
  addr: bigint;
}

/**
 * Token 0x80 is "sysrq_", 0x81 is "handle"; every other token is its own
 * byte. `big`: lengths above 127 take two bytes (6.1+).
 */
function writeTables(syms: Sym[], encoding: KallsymsEncoding, big: boolean, release = '6.1.0-test') {
  const tokens: string[] = Array.from({ length: 256 }, (_, i) => (i >= 0x20 && i < 0x7f ? String.fromCharCode(i) : `\x01${i}`));
  tokens[0x80] = 'sysrq_';
  tokens[0x81] = 'handle';
  const tokenTable: number[] = [];
  const tokenIndex = Buffer.alloc(512);
  tokens.forEach((tok, i) => {
    tokenIndex.writeUInt16LE(tokenTable.length, i * 2);
    for (const c of Buffer.from(tok, 'latin1')) tokenTable.push(c);
    tokenTable.push(0);
  });
  const names: number[] = [];
  for (const s of syms) {
    const codes: number[] = [];
    let rest = s.text;
    while (rest) {
      if (rest.startsWith('sysrq_')) (codes.push(0x80), (rest = rest.slice(6)));
      else if (rest.startsWith('handle')) (codes.push(0x81), (rest = rest.slice(6)));
      else (codes.push(rest.charCodeAt(0)), (rest = rest.slice(1)));
    }
    if (big && codes.length > 127) names.push((codes.length & 0x7f) | 0x80, codes.length >> 7);
    else if (codes.length > 255) throw new Error('too long for one-byte lengths');
    else names.push(codes.length);
    names.push(...codes);
  }
  const offsetsAddr = 0xffffffff82000000n;
  const offsets = Buffer.alloc(syms.length * 8);
  syms.forEach((s, i) => {
    if (encoding === 'absolute') offsets.writeBigUInt64LE(s.addr, i * 8);
    else if (encoding === 'base-relative') offsets.writeUInt32LE(Number(s.addr - BASE), i * 4);
    else if (encoding === 'absolute-percpu') offsets.writeInt32LE(s.addr < BASE ? Number(s.addr) : -Number(s.addr - BASE) - 1, i * 4);
    else offsets.writeInt32LE(Number(s.addr - (offsetsAddr + BigInt(i * 4))), i * 4);
  });
  const at = { names: 0xffffffff82100000n, num: 0xffffffff820ffff0n, base: 0xffffffff820fffe0n, table: 0xffffffff82200000n, index: 0xffffffff82300000n };
  const mem = new BufferMemory()
    .add(offsetsAddr, offsets)
    .add(at.base, Buffer.from(new BigUint64Array([BASE]).buffer))
    .add(at.num, Buffer.from(new Uint32Array([syms.length]).buffer))
    .add(at.names, Uint8Array.from(names))
    .add(at.table, Uint8Array.from(tokenTable))
    .add(at.index, tokenIndex);
  const stext = syms.find((s) => s.text.slice(1) === '_stext')!.addr;
  const lines = [`OSRELEASE=${release}`, `SYMBOL(_stext)=${stext.toString(16)}`, `SYMBOL(kallsyms_names)=${at.names.toString(16)}`, `SYMBOL(kallsyms_num_syms)=${at.num.toString(16)}`, `SYMBOL(kallsyms_token_table)=${at.table.toString(16)}`, `SYMBOL(kallsyms_token_index)=${at.index.toString(16)}`];
  if (encoding === 'absolute') lines.push(`SYMBOL(kallsyms_addresses)=${offsetsAddr.toString(16)}`);
  else lines.push(`SYMBOL(kallsyms_offsets)=${offsetsAddr.toString(16)}`);
  if (encoding !== 'absolute' && encoding !== 'place-relative') lines.push(`SYMBOL(kallsyms_relative_base)=${at.base.toString(16)}`);
  return { mem, info: new Vmcoreinfo(lines.join('\n') + '\n') };
}

const LONG = 'a_very_long_rust_symbol_' + 'x'.repeat(150);
const SYMS: Sym[] = [
  { text: 'Afixed_percpu_data', addr: 0n },
  { text: 'Arunqueues', addr: 0x31980n },
  { text: 'T_text', addr: BASE },
  { text: 'T_stext', addr: BASE },
  { text: 'tsysrq_handle_crash', addr: BASE + 0xaa89f0n },
  { text: 'Tpanic', addr: BASE + 0xdccf31n },
  { text: 'T' + LONG, addr: BASE + 0xdcd300n },
  { text: 'Djiffies', addr: BASE + 0x1a079c0n },
  { text: 'Djiffies_64', addr: BASE + 0x1a079c0n },
  { text: 'B_end', addr: BASE + 0x2830000n },
];

for (const encoding of ['absolute', 'base-relative', 'absolute-percpu', 'place-relative'] as const) {
  test(`kallsyms: ${encoding} addresses, token expansion, two-byte lengths`, (t) => {
    // Per-cpu symbols near zero exist only where the encoding can hold them.
    const syms = encoding === 'absolute' || encoding === 'absolute-percpu' ? SYMS : SYMS.filter((s) => s.addr >= BASE);
    const { mem, info } = writeTables(syms, encoding, true);
    t.true(hasKallsyms(info));
    const k = readKallsyms(mem, info);
    t.is(k.encoding, encoding);
    t.true(k.bigLengths);
    t.deepEqual(k.symbols.map((s) => s.type + s.name), syms.map((s) => s.text));
    t.deepEqual(k.symbols.map((s) => s.addr), syms.map((s) => s.addr));
    const table = new SymbolTable(k.symbols);
    t.is(formatResolved(table.resolve(BASE + 0xdcd0a8n)!), 'panic+0x177');
    t.is(formatResolved(table.resolve(BASE + 0xaa8a06n)!), 'sysrq_handle_crash+0x16');
    t.is(table.resolve(BASE + 0x1a079c8n)!.symbol.name, 'jiffies'); // first alias, as the kernel's get_symbol_pos picks
    t.is(table.lookup(LONG)[0]!.addr, BASE + 0xdcd300n);
  });
}

test('kallsyms: base-relative and absolute-percpu tables that differ only in encoding are told apart by _stext', (t) => {
  // Without per-cpu symbols, the same kernel could be either: each table decodes as what wrote it.
  const syms = SYMS.filter((s) => s.addr >= BASE);
  const b = writeTables(syms, 'base-relative', true);
  t.is(readKallsyms(b.mem, b.info).encoding, 'base-relative');
  const p = writeTables(syms, 'absolute-percpu', true);
  t.is(readKallsyms(p.mem, p.info).encoding, 'absolute-percpu');
});

test('kallsyms: one-byte lengths (before 6.1) are found even when the release says otherwise', (t) => {
  const short = SYMS.filter((s) => !s.text.includes(LONG));
  // Lengths 128..255 would be misread as two bytes: a name of 130 tokens shows the difference.
  const withLong = [...short.slice(0, 6), { text: 'T' + 'y'.repeat(129), addr: BASE + 0xdcd400n }, ...short.slice(6)];
  const { mem, info } = writeTables(withLong, 'absolute-percpu', false, '6.1.0-test');
  const k = readKallsyms(mem, info);
  t.false(k.bigLengths);
  t.is(k.symbols[6]!.name, 'y'.repeat(129));
  const old = writeTables(withLong, 'absolute-percpu', false, '5.15.0');
  t.false(readKallsyms(old.mem, old.info).bigLengths);
});

test('kallsyms: a VMCOREINFO without the tables, or with a wrong _stext, is a KallsymsError', (t) => {
  t.false(hasKallsyms(new Vmcoreinfo('OSRELEASE=5.10.0\nSYMBOL(_stext)=ffffffff81000000\n')));
  t.throws(() => readKallsyms(new BufferMemory(), new Vmcoreinfo('OSRELEASE=5.10.0\n')), { instanceOf: KallsymsError, message: /does not locate the kallsyms tables/ });
  const { mem, info } = writeTables(SYMS, 'absolute-percpu', true);
  const wrong = new Vmcoreinfo(info.raw.replace(/SYMBOL\(_stext\)=\w+/, 'SYMBOL(_stext)=ffffffff91000000'));
  t.throws(() => readKallsyms(mem, wrong), { instanceOf: KallsymsError, message: /no known encoding gives _stext = 0xffffffff91000000/ });
});
