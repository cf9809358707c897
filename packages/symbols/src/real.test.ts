/**
 * The real 6.1 dump (fixtures/real) against crash 8.0.2 and drgn 0.0.22 on
 * the same dump with the matching vmlinux: fixtures/real/expected/
 * crash.vmcore.kdump-zlib.{sym-*,rd-s-*}.txt and drgn.vmcore.kdump-zlib.symbol.txt,
 * each with its .cmd. crash prints offsets in decimal (`panic+375`), the
 * stream in hex (`panic+0x177`): compared as numbers.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDump, type Dump } from '@vmpipe/dump';
import { formatResolved, HexResolver, annotate, parseSystemMap, readSystemMap, symbolsFor, SymbolFileError, SymbolTable, relocate, matchSymbols, readKallsyms, kallsymsCachePath, systemMapCachePath, type DumpSymbols } from './index.js';
import { createHash } from 'node:crypto';
import { writeCacheEntry } from '@vmpipe/cache';
import { gunzipSync } from 'node:zlib';
import { kernelMemory, type KernelMemory } from '@vmpipe/addrxlat';

const REAL = fileURLToPath(new URL('../../../fixtures/real/', import.meta.url));
const DUMP = REAL + 'vmcore.kdump-zlib';
const MAP = REAL + 'System.map.gz';
const EXPECTED = REAL + 'expected/';
const VMLINUX = '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64'; // not committable (~300 MB): tests that need it skip without it
const have = existsSync(DUMP) && existsSync(MAP);
const real = have ? test : test.skip;

let cached: { dump: Dump; kallsyms: DumpSymbols; map: DumpSymbols } | undefined;
function load() {
  if (!cached) {
    const dump = openDump(DUMP);
    cached = { dump, kallsyms: symbolsFor(dump), map: symbolsFor(dump, { systemMap: MAP, prefer: 'system-map' }) };
  }
  return cached;
}

/** crash `sym ADDR` lines: `<addr> (<type>) <name>[+<decimal>] [<file>: <line>]`, ` [module]` for modules. */
function crashSym(file: string): { addr: bigint; type: string; name: string; offset: bigint; module?: string } {
  const line = readFileSync(EXPECTED + file, 'latin1').split('\n')[0]!;
  const m = /^([0-9a-f]+) \((.)\) ([^\s+]+)(?:\+(\d+))?(?: \[(\S+)\])?/.exec(line);
  if (!m) throw new Error(`unexpected crash output in ${file}: ${line}`);
  const r: { addr: bigint; type: string; name: string; offset: bigint; module?: string } = { addr: BigInt('0x' + m[1]), type: m[2]!, name: m[3]!, offset: BigInt(m[4] ?? 0) };
  if (m[5]) r.module = m[5];
  return r;
}

const CRASH_SYM_FILES = [
  'sym-ffffffff89dccf31', // text, offset 0 (panic)
  'sym-ffffffff8943d023', // text (stop_this_cpu+99, cpu 0's RIP)
  'sym-ffffffff89aa8a06', // local text after a noreturn call (sysrq_handle_crash+22)
  'sym-ffffffff8ae1ab40', // data (init_task+256)
  'sym-ffffffff8aff9b70', // data (init_uts_ns+16)
  'sym-ffffffff8b7ac864', // bss (slab_debugfs_root+4)
  'sym-ffffffff8a7ecb34', // rodata (__ksymtab_path_get)
];

real('kallsyms decodes from the dump: count, encoding, and the VMCOREINFO symbols agree', (t) => {
  const { dump, kallsyms } = load();
  t.is(kallsyms.source, 'kallsyms');
  t.is(kallsyms.kallsymsEncoding, 'absolute-percpu'); // x86_64 SMP 6.1: CONFIG_KALLSYMS_ABSOLUTE_PERCPU
  t.is(kallsyms.table.size, 87347);
  // (SYMBOL(node_online_map) is &node_states[N_ONLINE], no symbol of its own)
  for (const name of ['_stext', 'init_uts_ns', 'init_top_pgt', 'prb', 'vmap_area_list']) {
    t.is<bigint | undefined, bigint | undefined>(kallsyms.table.lookup(name)[0]?.addr, dump.vmcoreinfo!.symbol(name), name);
  }
});

real('crash sym ADDR: text, data, bss, rodata resolve to crash\'s symbol and offset (kallsyms and System.map)', (t) => {
  const { kallsyms, map } = load();
  for (const file of CRASH_SYM_FILES) {
    const want = crashSym(`crash.vmcore.kdump-zlib.${file}.txt`);
    for (const s of [kallsyms, map]) {
      const r = s.table.resolve(want.addr);
      t.truthy(r, `${s.source} ${file}`);
      t.is(r!.symbol.name, want.name, `${s.source} ${file}`);
      t.is(r!.offset, want.offset, `${s.source} ${file}`);
      t.is(r!.symbol.type, want.type, `${s.source} ${file}`);
    }
  }
  t.is(formatResolved(kallsyms.table.resolve(0xffffffff89dcd0a8n)!), 'panic+0x177');
});

real('aliases: jiffies_64\'s address resolves to jiffies, as crash says (the first alias in kallsyms order)', (t) => {
  const want = crashSym('crash.vmcore.kdump-zlib.sym-ffffffff8ae079c0.txt');
  t.is(want.name, 'jiffies');
  t.is(load().kallsyms.table.resolve(want.addr)!.symbol.name, 'jiffies');
});

real('per-cpu offsets do not resolve (crash: "sym: invalid address: 31980"), but the name is found', (t) => {
  const { kallsyms } = load();
  t.regex(readFileSync(EXPECTED + 'crash.vmcore.kdump-zlib.sym-31980.txt', 'latin1'), /invalid address/);
  t.is(kallsyms.table.resolve(0x31980n), undefined);
  t.is(kallsyms.table.resolve(0x319c0n), undefined);
  const byName = crashSym('crash.vmcore.kdump-zlib.sym-runqueues.txt');
  t.is(kallsyms.table.lookup('runqueues')[0]!.addr, byName.addr);
});

real('crash sym NAME and sym -q sysrq_handle: same addresses and types', (t) => {
  const { kallsyms } = load();
  for (const file of ['sym-panic', 'sym-init_uts_ns']) {
    const want = crashSym(`crash.vmcore.kdump-zlib.${file}.txt`);
    const got = kallsyms.table.lookup(want.name)[0]!;
    t.is(got.addr, want.addr);
    t.is(got.type, want.type);
  }
  const lines = readFileSync(EXPECTED + 'crash.vmcore.kdump-zlib.sym-q-sysrq_handle.txt', 'latin1').trim().split('\n');
  const got = kallsyms.table.search(/sysrq_handle/).map((s) => `${s.addr.toString(16)} (${s.type}) ${s.name}`);
  t.deepEqual(got, lines);
});

/** crash `rd -s` lines: address, then two cells per line: a hex word or `name[+decimal]`. */
function crashRdS(file: string): { addr: bigint; cell: string }[] {
  const out: { addr: bigint; cell: string }[] = [];
  for (const line of readFileSync(EXPECTED + file, 'latin1').split('\n')) {
    const m = /^([0-9a-f]+):\s+(.*)$/.exec(line);
    if (!m) continue;
    const cells = m[2]!.replace(/rd: .*$/, '').trim().split(/\s+/);
    cells.forEach((cell, i) => out.push({ addr: BigInt('0x' + m[1]) + BigInt(8 * i), cell }));
  }
  return out;
}

for (const file of ['rd-s-ffffcf8400013a38-32', 'rd-s-ffffcf8400003fc0-32', 'rd-s-ffffffff8ae1aa40-32']) {
  real(`crash ${file.replace(/-/g, ' ').replace('rd s', 'rd -s')}: word by word, the same symbol and offset`, (t) => {
    const { dump, kallsyms } = load();
    const resolver = new HexResolver(kallsyms.table);
    const cells = crashRdS(`crash.vmcore.kdump-zlib.${file}.txt`);
    t.true(cells.length >= 8);
    let symbolic = 0;
    const aliases: string[] = [];
    for (const { addr, cell } of cells) {
      // The words as the dump holds them, through the same translation vmcore-extract uses.
      const word = '0x' + new DataView(readVirt(dump, addr, 8).buffer).getBigUint64(0, true).toString(16);
      const r = resolver.resolve(word);
      if (/^[0-9a-f]{16}$/.test(cell)) {
        t.is(BigInt('0x' + cell), BigInt(word), `${addr.toString(16)} value`);
        t.is(r, null, `${addr.toString(16)}: crash shows no symbol for ${cell}`);
        continue;
      }
      symbolic++;
      const m = /^([^+]+)(?:\+(\d+))?$/.exec(cell)!;
      t.truthy(r, `${addr.toString(16)}: crash shows ${cell}`);
      if (m[1]!.startsWith('.')) {
        // crash's vmlinux symtab has local labels (.LC3, .data) that kallsyms leaves out: the word still resolves, to a real symbol.
        continue;
      }
      t.is(r!.offset, BigInt(m[2] ?? 0), `${addr.toString(16)}`);
      if (r!.symbol.name !== m[1]) {
        // Aliases: crash names init_thread_union where kallsyms' first alias (what the kernel prints) is init_stack.
        t.true(kallsyms.table.lookup(m[1]!).some((s) => s.addr === r!.symbol.addr), `${addr.toString(16)}: ${m[1]} is an alias of ${r!.symbol.name}`);
        aliases.push(`${m[1]}=${r!.symbol.name}`);
      }
    }
    t.true(symbolic > 0);
    t.true(aliases.every((a) => a === 'init_thread_union=init_stack'), aliases.join(' '));
  });
}

function readVirt(dump: Dump, vaddr: bigint, length: number): Uint8Array {
  return Uint8Array.from(memoryOf(dump).readBytes(vaddr, length));
}
const memories = new Map<Dump, KernelMemory>();
function memoryOf(dump: Dump): KernelMemory {
  let m = memories.get(dump);
  if (!m) memories.set(dump, (m = kernelMemory(dump)));
  return m;
}

real('drgn prog.symbol(): the same symbol and offset wherever drgn finds one', (t) => {
  const { kallsyms } = load();
  const lines = readFileSync(EXPECTED + 'drgn.vmcore.kdump-zlib.symbol.txt', 'latin1').trim().split('\n');
  let compared = 0;
  for (const line of lines) {
    const [addrText, name, symAddr, , , , off] = line.split(' ');
    const r = kallsyms.table.resolve(BigInt('0x' + addrText));
    if (name === 'LookupError') {
      // drgn respects symtab sizes: sysrq_handle_crash+22 is just past the function's 22 bytes (the return address of a
      // noreturn call), which kallsyms, crash and the kernel still name; per-cpu offsets and module addresses resolve nowhere.
      if (addrText === 'ffffffff89aa8a06') t.is(formatResolved(r!), 'sysrq_handle_crash+0x16');
      else t.is(r, undefined, addrText);
      continue;
    }
    compared++;
    t.is(r!.symbol.addr, BigInt(symAddr!), addrText);
    t.is(r!.offset, BigInt(off!.slice(1)), addrText);
    // drgn names jiffies_64 where kallsyms (and crash) pick the alias jiffies.
    if (name !== 'jiffies_64') t.is(r!.symbol.name, name, addrText);
  }
  t.true(compared >= 8);
});

real('kallsyms from the dump equals System.map after KASLR, for every text symbol', (t) => {
  const { kallsyms, map } = load();
  const key = (s: { name: string; addr: bigint; type: string }) => `${s.addr.toString(16)} ${s.type} ${s.name}`;
  const text = (ss: readonly { name: string; addr: bigint; type: string }[]) => ss.filter((s) => s.type === 'T' || s.type === 't').map(key).sort();
  const k = text(kallsyms.table.symbols);
  const m = text(map.table.symbols);
  t.is(k.length, 46471);
  t.is(k.length, m.length);
  t.deepEqual(k, m);
  t.is(map.offset, 0x8400000n); // VMCOREINFO KERNELOFFSET
});

real('System.map: per-cpu symbols stay at their offsets, the image moves by KERNELOFFSET', (t) => {
  const { map } = load();
  t.is(map.table.lookup('runqueues')[0]!.addr, 0x31980n);
  t.is(map.table.lookup('_stext')[0]!.addr, 0xffffffff89400000n);
});

real('System.map with junk lines: the junk is counted and reported, the symbols still load', (t) => {
  const text = gunzipSync(readFileSync(MAP)).toString('latin1');
  const lines = text.split('\n');
  lines.splice(10, 0, 'this is not a symbol', 'ffffffff8100zzzz T broken');
  const parsed = parseSystemMap(lines.join('\n'));
  t.is(parsed.junkLines, 2);
  t.is(parsed.junkSamples[0]!.line, 11);
  t.is(parsed.symbols.length, 87361);
  const match = matchSymbols(parsed.symbols, load().dump.vmcoreinfo);
  t.true(match.ok);
  t.is(new SymbolTable(relocate(parsed.symbols, match.offset)).resolve(0xffffffff89dcd0a8n)!.offset, 375n);
  t.is(readSystemMap(MAP).junkLines, 0);
});

real('a System.map from another build is refused, and used with --force', (t) => {
  const { dump } = load();
  const text = gunzipSync(readFileSync(MAP)).toString('latin1').replace(/^ffffffff82bf9b60 D init_uts_ns$/m, 'ffffffff82bf9b80 D init_uts_ns');
  const shifted = parseSystemMap(text);
  const match = matchSymbols(shifted.symbols, dump.vmcoreinfo);
  t.false(match.ok);
  t.regex(match.reason!, /init_uts_ns is 0xffffffff8aff9b80 in the file .* but 0xffffffff8aff9b60 in VMCOREINFO/);
  const file = join(mkdtempSync(join(tmpdir(), 'vmpipe-sym-')), 'System.map');
  writeFileSync(file, text);
  const err = t.throws(() => symbolsFor(dump, { systemMap: file }), { instanceOf: SymbolFileError });
  t.regex(err!.message, /^System.map and vmcore do not match: init_uts_ns .* \(--force uses it anyway\)$/);
  t.is(err!.reason, 'mismatch');
  const forced = symbolsFor(dump, { systemMap: file, force: true, prefer: 'system-map' });
  t.is(forced.source, 'system-map');
  t.regex(forced.notes.join('\n'), /does not match the dump .* used because of --force/);
});

const vm = have && existsSync(VMLINUX) ? test : test.skip;

vm('vmlinux symtab: build-id matches, sizes known, nm letters equal System.map\'s for every symbol in both', (t) => {
  const { dump, map } = load();
  const s = symbolsFor(dump, { vmlinux: VMLINUX, prefer: 'vmlinux' });
  t.is(s.source, 'vmlinux');
  const panic = s.table.lookup('panic')[0]!;
  t.is(panic.size, 756); // drgn: panic 0xffffffff89dccf31 756
  t.is(panic.addr, 0xffffffff89dccf31n);
  const inMap = new Map(map.table.symbols.map((x) => [`${x.addr} ${x.name}`, x.type]));
  let same = 0;
  for (const x of s.table.symbols) {
    const type = inMap.get(`${x.addr} ${x.name}`);
    if (type === undefined) continue;
    t.is(x.type, type, x.name);
    same++;
  }
  t.true(same > 87000);
});

real('annotate: rd -s of the panic stack gets wordsSym like crash\'s, records without address fields pass through', (t) => {
  const { kallsyms } = load();
  const resolver = new HexResolver(kallsyms.table);
  const mem = { kind: 'mem', dump: DUMP, space: 'virtual', addr: '0xffffcf8400013a78', width: 8, words: ['0xffffffff89dcd0a8', '0x8'] };
  const { record } = annotate(mem, resolver);
  t.deepEqual(record.wordsSym, ['panic+0x177', null]);
  t.is(record.addrSym, null);
  const log = { kind: 'log', dump: DUMP, seq: 1, text: 'x' };
  t.is(annotate(log, resolver).record, log);
});

/** Every symbol of a table as one text: name, type letter, address (whole tables compared). */
const whole = (k: { symbols: readonly { name: string; type: string; addr: bigint; module?: string }[] }) =>
  k.symbols.map((s) => `${s.type} ${s.name} ${s.addr.toString(16)}${s.module ? ` [${s.module}]` : ''}`).join('\n');

/** A memory that counts the bytes read through it. */
function counting(mem: KernelMemory) {
  const c = { bytes: 0, readBytes: (a: bigint, n: number) => ((c.bytes += n), mem.readBytes(a, n)) };
  return c;
}

const headOf = (path: string) => {
  const file = readFileSync(path);
  const first = file.indexOf(10);
  return { format: file.subarray(0, first).toString(), head: JSON.parse(file.subarray(first + 1, file.indexOf(10, first + 1)).toString()) as Record<string, unknown>, payload: file.subarray(file.indexOf(10, first + 1) + 1) };
};

test('kallsyms comes from the cache by build-id on the second run: the same whole table, encoding and name lookups, reading a fraction of the dump', (t) => {
  if (!have) return t.pass('fixture absent');
  const dump = openDump(DUMP);
  const mem = counting(kernelMemory(dump));
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-kallsyms-'));
  const uncached = readKallsyms(mem, dump.vmcoreinfo!, { cache: false });
  const missBytes = mem.bytes;
  const first = readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir });
  const buildId = dump.vmcoreinfo!.get('BUILD-ID')!;
  t.true(existsSync(kallsymsCachePath(buildId, dir)));
  mem.bytes = 0;
  const second = readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir });
  t.true(mem.bytes < missBytes / 20, `a hit reads ${mem.bytes} bytes of the dump, a miss ${missBytes}`);
  t.is(second.symbols.length, 87347);
  t.is(whole(second), whole(uncached));
  t.is(whole(first), whole(uncached));
  t.is(second.encoding, uncached.encoding);
  t.is(second.bigLengths, uncached.bigLengths);
  t.truthy(second.nameOrder, 'the hit carries the order by name');
  // The table built with the cached order by name answers every name as the one built without it.
  const hinted = new SymbolTable(second.symbols, undefined, { nameOrder: second.nameOrder! });
  const plain = new SymbolTable(uncached.symbols);
  const names = [...new Set(uncached.symbols.map((s) => s.name)), 'no_such_symbol', ''];
  t.deepEqual(names.map((n) => whole({ symbols: hinted.lookup(n) })), names.map((n) => whole({ symbols: plain.lookup(n) })));
  // The table over the packed symbols (what symbolsFor builds on a hit): the same names, addresses, resolutions and extents.
  t.truthy(second.packed, 'the hit is packed');
  const packed = new SymbolTable(second.packed!);
  t.is(packed.size, plain.size);
  t.deepEqual(names.map((n) => whole({ symbols: packed.lookup(n) })), names.map((n) => whole({ symbols: plain.lookup(n) })));
  const at = (tb: SymbolTable, a: bigint) => {
    const r = tb.resolve(a);
    return r ? `${formatResolved(r)} ${tb.extent(r.symbol)}` : '-';
  };
  const probes = plain.symbols.filter((_, i) => i % 97 === 0).flatMap((s) => [s.addr, s.addr + 1n, s.addr - 1n]);
  t.deepEqual(probes.map((a) => at(packed, a)), probes.map((a) => at(plain, a)));
  t.deepEqual(packed.resolvableRanges, plain.resolvableRanges);
  t.is(whole(packed), whole(plain));
});

test('a kallsyms cache entry of another kernel under this build-id is not used, nor a damaged one', (t) => {
  const other = fileURLToPath(new URL('../../../fixtures/scenarios/6.12.117+deb12-cloud-amd64/seed/vmcore.kdump', import.meta.url));
  if (!have || !existsSync(other)) return t.pass('fixtures absent');
  const dump = openDump(DUMP);
  const dump612 = openDump(other);
  const mem = counting(kernelMemory(dump));
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-kallsyms-'));
  const uncached = readKallsyms(mem, dump.vmcoreinfo!, { cache: false });
  const missBytes = mem.bytes;
  const buildId = dump.vmcoreinfo!.get('BUILD-ID')!;
  const path = kallsymsCachePath(buildId, dir);
  // The 6.12 kernel's entry, relabelled as this build (a reused or colliding id): as is, then with this build's count.
  readKallsyms(kernelMemory(dump612), dump612.vmcoreinfo!, { cacheDir: dir });
  const foreign = headOf(kallsymsCachePath(dump612.vmcoreinfo!.get('BUILD-ID')!, dir));
  t.not(foreign.head.count, uncached.symbols.length);
  for (const head of [{ ...foreign.head, buildId }, { ...foreign.head, buildId, count: uncached.symbols.length }]) {
    writeCacheEntry(path, foreign.format, head, foreign.payload);
    mem.bytes = 0;
    const got = readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir });
    t.is(whole(got), whole(uncached));
    t.true(mem.bytes >= missBytes, 'the whole table was read from the dump again');
  }
  // This kernel's own entry with other kallsyms_offsets (a stale entry of a rebuilt kernel with the same id and names).
  readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir });
  const own = headOf(path);
  t.is(own.head.buildId, buildId);
  const shifted = Buffer.from(own.payload);
  const offsetsAt = shifted.length - uncached.symbols.length * 4;
  for (let i = offsetsAt; i < shifted.length; i += 4) shifted.writeUInt32LE((shifted.readUInt32LE(i) + 16) >>> 0, i);
  writeCacheEntry(path, own.format, own.head, shifted);
  mem.bytes = 0;
  t.is(whole(readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir })), whole(uncached));
  t.true(mem.bytes >= missBytes, 'offsets that differ from the dump\'s sampled ones are a miss');
  // A damaged file (one byte of the payload changed, or cut short) is a miss, and is written anew.
  for (const damage of [(b: Buffer) => ((b[b.length - 100] ^= 1), b), (b: Buffer) => b.subarray(0, b.length - 7)]) {
    writeFileSync(path, damage(Buffer.from(readFileSync(path))));
    mem.bytes = 0;
    t.is(whole(readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir })), whole(uncached));
    t.true(mem.bytes >= missBytes, 'a damaged entry is a miss');
    mem.bytes = 0;
    t.is(whole(readKallsyms(mem, dump.vmcoreinfo!, { cacheDir: dir })), whole(uncached));
    t.true(mem.bytes < missBytes / 20, 'and the entry written again is a hit');
  }
});

test('a parsed System.map comes from the cache by the file\'s size and sha256: the same whole map; a damaged entry or a changed file is not used', (t) => {
  if (!have) return t.pass('fixture absent');
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-sysmap-'));
  const parsed = readSystemMap(MAP, { cache: false });
  const first = readSystemMap(MAP, { cacheDir: dir });
  const sha = createHash('sha256').update(readFileSync(MAP)).digest('hex');
  const path = systemMapCachePath(sha, dir);
  t.true(existsSync(path));
  // Another directory holding only the entry: what a fresh process finds.
  const fresh = mkdtempSync(join(tmpdir(), 'vmpipe-sysmap-'));
  writeFileSync(systemMapCachePath(sha, fresh), readFileSync(path));
  const hit = readSystemMap(MAP, { cacheDir: fresh });
  t.not(hit, first, 'read from the entry, not the first parse');
  t.truthy(hit.nameOrder);
  t.is(whole(hit), whole(parsed));
  t.is(whole(first), whole(parsed));
  t.is(hit.junkLines, parsed.junkLines);
  // Damaged: a miss (parsed again, same map).
  const bytes = Buffer.from(readFileSync(path));
  bytes[bytes.length - 1] ^= 1;
  const damaged = mkdtempSync(join(tmpdir(), 'vmpipe-sysmap-'));
  writeFileSync(systemMapCachePath(sha, damaged), bytes);
  const again = readSystemMap(MAP, { cacheDir: damaged });
  t.falsy(again.nameOrder, 'parsed, not read from the damaged entry');
  t.is(whole(again), whole(parsed));
  // The same file name with other content (one symbol's address changed, a junk line added) is its own entry.
  const changed = join(fresh, 'System.map');
  const text = gunzipSync(readFileSync(MAP)).toString('latin1').replace(/^([0-9a-f]{16}) T panic$/m, 'ffffffff81000123 T panic') + 'not a symbol line\n';
  writeFileSync(changed, text);
  const other = readSystemMap(changed, { cacheDir: fresh });
  t.is(other.symbols.find((s) => s.name === 'panic')!.addr, 0xffffffff81000123n);
  t.is(other.junkLines, 1);
  t.is(readSystemMap(changed, { cacheDir: fresh }).junkLines, 1);
  // The table built with the cached order by name answers every name as the one built without it, after KASLR too.
  const dump = openDump(DUMP);
  const viaCache = symbolsFor(dump, { systemMap: MAP, prefer: 'system-map' });
  const names = [...new Set(parsed.symbols.map((s) => s.name))];
  const plain = new SymbolTable(relocate(parsed.symbols, dump.vmcoreinfo!.kernelOffset ?? 0n));
  t.is(whole(viaCache.table), whole(plain));
  t.deepEqual(names.map((n) => whole({ symbols: viaCache.table.lookup(n) })), names.map((n) => whole({ symbols: plain.lookup(n) })));
});
