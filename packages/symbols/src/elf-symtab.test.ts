/**
 * vmlinux symtabs written here by a small ELF-64 writer (gABI layout: header,
 * section contents, section header table), so each nm letter rule and each
 * bad input has its own file.
 */
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDump } from '@vmpipe/dump';
import { readVmlinuxSymbols, EM_AARCH64, EM_X86_64 } from './elf-symtab.js';
import { SymbolFileError } from './system-map.js';
import { symbolsFor } from './symbols-for.js';

const dir = mkdtempSync(join(tmpdir(), 'vmpipe-elf-'));
let n = 0;

interface Section {
  name: string;
  type: number;
  flags: number;
  addr: bigint;
  data: Buffer;
  link?: number;
  entsize?: number;
}
interface Sym {
  name: string;
  value: bigint;
  size: number;
  bind: number;
  type: number;
  shndx: number;
}

const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const [LOCAL, GLOBAL, WEAK] = [0, 1, 2];
const [NOTYPE, OBJECT, FUNC, SECTION, FILE] = [0, 1, 2, 3, 4];

function buildIdNote(id: string): Buffer {
  const desc = Buffer.from(id, 'hex');
  const b = Buffer.alloc(12 + 4 + desc.length);
  b.writeUInt32LE(4, 0);
  b.writeUInt32LE(desc.length, 4);
  b.writeUInt32LE(3, 8); // NT_GNU_BUILD_ID
  b.write('GNU\0', 12, 'latin1');
  desc.copy(b, 16);
  return b;
}

/** Sections 1..: .text, .data, .bss, __ksymtab, .note.gnu.build-id, .symtab, .strtab, .shstrtab. */
function writeElf(opts: { machine?: number; buildId?: string; syms: Sym[] }): string {
  const strtab: number[] = [0];
  const symtab = Buffer.alloc(24 * (opts.syms.length + 1));
  opts.syms.forEach((s, i) => {
    const at = 24 * (i + 1);
    symtab.writeUInt32LE(strtab.length, at);
    strtab.push(...Buffer.from(s.name + '\0', 'latin1'));
    symtab[at + 4] = (s.bind << 4) | s.type;
    symtab.writeUInt16LE(s.shndx, at + 6);
    symtab.writeBigUInt64LE(s.value, at + 8);
    symtab.writeBigUInt64LE(BigInt(s.size), at + 16);
  });
  const sections: Section[] = [
    { name: '', type: 0, flags: 0, addr: 0n, data: Buffer.alloc(0) },
    { name: '.text', type: 1, flags: SHF_ALLOC | SHF_EXECINSTR, addr: 0xffffffff81000000n, data: Buffer.alloc(16) },
    { name: '.data', type: 1, flags: SHF_ALLOC | SHF_WRITE, addr: 0xffffffff82a00000n, data: Buffer.alloc(16) },
    { name: '.bss', type: 8, flags: SHF_ALLOC | SHF_WRITE, addr: 0xffffffff832b1000n, data: Buffer.alloc(0) },
    { name: '__ksymtab', type: 1, flags: SHF_ALLOC, addr: 0xffffffff823e3ea0n, data: Buffer.alloc(16) },
    { name: '.note.gnu.build-id', type: 7, flags: SHF_ALLOC, addr: 0n, data: opts.buildId ? buildIdNote(opts.buildId) : Buffer.alloc(0) },
    { name: '.symtab', type: 2, flags: 0, addr: 0n, data: symtab, link: 7, entsize: 24 },
    { name: '.strtab', type: 3, flags: 0, addr: 0n, data: Buffer.from(strtab) },
    { name: '.shstrtab', type: 3, flags: 0, addr: 0n, data: Buffer.alloc(0) },
  ];
  const shstr: number[] = [0];
  const nameOff = sections.map((s) => {
    if (!s.name) return 0;
    const off = shstr.length;
    shstr.push(...Buffer.from(s.name + '\0', 'latin1'));
    return off;
  });
  sections[8]!.data = Buffer.from(shstr);
  const parts: Buffer[] = [Buffer.alloc(64)];
  let offset = 64;
  const offsets = sections.map((s) => {
    const at = offset;
    if (s.type !== 8) {
      parts.push(s.data);
      offset += s.data.length;
    }
    return at;
  });
  const shoff = offset;
  const sh = Buffer.alloc(64 * sections.length);
  sections.forEach((s, i) => {
    const at = 64 * i;
    sh.writeUInt32LE(nameOff[i]!, at);
    sh.writeUInt32LE(s.type, at + 4);
    sh.writeBigUInt64LE(BigInt(s.flags), at + 8);
    sh.writeBigUInt64LE(s.addr, at + 16);
    sh.writeBigUInt64LE(BigInt(offsets[i]!), at + 24);
    sh.writeBigUInt64LE(BigInt(s.type === 8 ? 0x1000 : s.data.length), at + 32);
    sh.writeUInt32LE(s.link ?? 0, at + 40);
    sh.writeBigUInt64LE(BigInt(s.entsize ?? 0), at + 56);
  });
  parts.push(sh);
  const head = parts[0]!;
  head.write('\x7fELF', 0, 'latin1');
  head[4] = 2; // ELFCLASS64
  head[5] = 1; // ELFDATA2LSB
  head[6] = 1;
  head.writeUInt16LE(2, 16); // ET_EXEC
  head.writeUInt16LE(opts.machine ?? EM_X86_64, 18);
  head.writeUInt32LE(1, 20);
  head.writeBigUInt64LE(BigInt(shoff), 40);
  head.writeUInt16LE(64, 52);
  head.writeUInt16LE(64, 58);
  head.writeUInt16LE(sections.length, 60);
  head.writeUInt16LE(8, 62);
  const path = join(dir, `vmlinux-${n++}`);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

/** Link-time addresses of the fixture kernel (System.map), so the real dump's VMCOREINFO can check them. */
const SYMS: Sym[] = [
  { name: 'vmlinux.c', value: 0n, size: 0, bind: LOCAL, type: FILE, shndx: 0xfff1 },
  { name: '', value: 0xffffffff81000000n, size: 0, bind: LOCAL, type: SECTION, shndx: 1 },
  { name: '_text', value: 0xffffffff81000000n, size: 0, bind: GLOBAL, type: NOTYPE, shndx: 1 },
  { name: '_stext', value: 0xffffffff81000000n, size: 0, bind: GLOBAL, type: NOTYPE, shndx: 1 },
  { name: 'panic', value: 0xffffffff819ccf31n, size: 756, bind: GLOBAL, type: FUNC, shndx: 1 },
  { name: 'sysrq_handle_crash', value: 0xffffffff816a89f0n, size: 22, bind: LOCAL, type: FUNC, shndx: 1 },
  { name: 'init_uts_ns', value: 0xffffffff82bf9b60n, size: 432, bind: GLOBAL, type: OBJECT, shndx: 2 },
  { name: 'slab_debugfs_root', value: 0xffffffff833ac860n, size: 8, bind: LOCAL, type: OBJECT, shndx: 3 },
  { name: '__ksymtab_path_get', value: 0xffffffff823ecb34n, size: 0, bind: LOCAL, type: NOTYPE, shndx: 4 },
  { name: 'arch_cpu_idle', value: 0xffffffff81001000n, size: 16, bind: WEAK, type: FUNC, shndx: 1 },
  { name: 'kexec_control_code_size', value: 0x1ean, size: 0, bind: GLOBAL, type: NOTYPE, shndx: 0xfff1 },
  { name: 'printk_undefined', value: 0n, size: 0, bind: GLOBAL, type: FUNC, shndx: 0 },
  { name: '_end', value: 0xffffffff83830000n, size: 0, bind: GLOBAL, type: NOTYPE, shndx: 3 },
];
const FIXTURE_BUILD_ID = '3b43fad5034874490492495d552c0af6a5fab235';

test('nm letters from section flags and binding, sizes kept, file/section/undefined symbols left out', (t) => {
  const v = readVmlinuxSymbols(writeElf({ buildId: FIXTURE_BUILD_ID, syms: SYMS }));
  t.is(v.machine, EM_X86_64);
  t.is(v.buildId, FIXTURE_BUILD_ID);
  const letters = Object.fromEntries(v.symbols.map((s) => [s.name, s.type]));
  // The letters System.map (nm) gives these symbols in the fixture kernel.
  t.deepEqual(letters, { _text: 'T', _stext: 'T', panic: 'T', sysrq_handle_crash: 't', init_uts_ns: 'D', slab_debugfs_root: 'b', __ksymtab_path_get: 'r', arch_cpu_idle: 'W', kexec_control_code_size: 'A', _end: 'B' });
  t.is(v.symbols.find((s) => s.name === 'panic')!.size, 756);
});

test('not ELF, missing, a directory, 32-bit: clear errors', (t) => {
  const text = join(dir, 'not-elf');
  writeFileSync(text, 'ffffffff81000000 T _stext\n');
  t.throws(() => readVmlinuxSymbols(text), { instanceOf: SymbolFileError, message: /: not an ELF file$/ });
  t.throws(() => readVmlinuxSymbols(join(dir, 'missing')), { instanceOf: SymbolFileError, message: /: no such file$/ });
  t.throws(() => readVmlinuxSymbols(dir), { instanceOf: SymbolFileError, message: /: is a directory$/ });
  const elf32 = Buffer.alloc(64);
  elf32.write('\x7fELF', 0, 'latin1');
  elf32[4] = 1;
  writeFileSync(join(dir, 'elf32'), elf32);
  t.throws(() => readVmlinuxSymbols(join(dir, 'elf32')), { instanceOf: SymbolFileError, message: /: 32-bit ELF is not supported \(only ELF64\)$/ });
});

const DUMP = fileURLToPath(new URL('../../../fixtures/real/vmcore.kdump-zlib', import.meta.url));
const real = existsSync(DUMP) ? test : test.skip;

real('a vmlinux for another arch is refused whatever --force says', (t) => {
  const dump = openDump(DUMP);
  try {
    const path = writeElf({ machine: EM_AARCH64, buildId: FIXTURE_BUILD_ID, syms: SYMS });
    for (const force of [false, true]) {
      const err = t.throws(() => symbolsFor(dump, { vmlinux: path, force }), { instanceOf: SymbolFileError });
      t.is(err!.message, `vmlinux ${path}: an ELF file for arm64 (aarch64), but the dump is x86_64`);
    }
  } finally {
    dump.close();
  }
});

real('build-id: a mismatched vmlinux is refused like crash refuses it, --force uses it; the matching one is relocated by KERNELOFFSET', (t) => {
  const dump = openDump(DUMP);
  try {
    const other = writeElf({ buildId: '00112233445566778899aabbccddeeff00112233', syms: SYMS });
    const err = t.throws(() => symbolsFor(dump, { vmlinux: other }), { instanceOf: SymbolFileError });
    t.is(err!.message, `vmlinux and vmcore do not match: build-id 00112233445566778899aabbccddeeff00112233 (vmlinux) vs ${FIXTURE_BUILD_ID} (VMCOREINFO BUILD-ID) (--force uses it anyway)`);
    t.is(err!.reason, 'mismatch');
    t.is(symbolsFor(dump, { vmlinux: other, force: true, prefer: 'vmlinux' }).source, 'vmlinux');

    const good = writeElf({ buildId: FIXTURE_BUILD_ID, syms: SYMS });
    const s = symbolsFor(dump, { vmlinux: good, prefer: 'vmlinux' });
    t.is(s.offset, 0x8400000n);
    const r = s.table.resolve(0xffffffff89dcd0a8n)!; // crash: panic+375
    t.is(r.symbol.name, 'panic');
    t.is(r.offset, 375n);
    t.is(s.table.lookup('kexec_control_code_size')[0]!.addr, 0x1ean); // absolute: not moved
    // Given but not preferred: kallsyms from the dump wins, the file was still checked.
    t.is(symbolsFor(dump, { vmlinux: good }).source, 'kallsyms');
  } finally {
    dump.close();
  }
});
