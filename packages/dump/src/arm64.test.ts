/**
 * arm64 dumps as QEMU 7.2 writes them (tools/recipes/arm64): the ELF (program headers at 192,
 * e_ehsize 8, one PT_LOAD whose p_vaddr is the physical address, no "QEMU" notes) and the
 * kdump-compressed file (block_size 65536 on a 4K-page guest, utsname empty but for machine
 * "Unknown"). pr_pid is the vCPU number + 1 (qemu target/arm/arch_dump.c).
 *
 * Real values come from the recipe's own records of each run, committed beside the cut dump:
 * registers.txt (QEMU's HMP `info registers -a` taken after the stop, before the dumps) and
 * console.log (the kernel's own lines: "CPU: N PID: 101", "Kernel Offset:", "PHYS_OFFSET:",
 * "Linux version"). The uncut dumps in /work/refs/arm64 are read too when they are there.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pagePattern } from '@vmpipe/mkdump';
import { openDump, type Dump } from './index.js';
import { Vmcoreinfo } from './vmcoreinfo.js';
import { repoRoot } from './testing/real.js';
import { dumpFile } from './test-helpers.js';

const KVER = '6.1.0-56-cloud-arm64';
const NAMES = ['pauth', 'nopauth'] as const;
const fixtureDir = (name: string) => join(repoRoot, 'fixtures', 'arm64', KVER, name);
const uncutDir = (name: string) => join('/work/refs/arm64/dumps', KVER, name);

/** QEMU's `info registers -a`: "CPU#N" then NAME=hex pairs (X00..X30, PC, SP, PSTATE). */
function parseInfoRegisters(text: string): Map<number, Record<string, bigint>> {
  const out = new Map<number, Record<string, bigint>>();
  const parts = text.split(/^CPU#(\d+)$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const regs: Record<string, bigint> = {};
    for (const m of parts[i + 1]!.matchAll(/\b(X\d\d|PC|SP|PSTATE)=([0-9a-f]+)/g)) {
      const name = m[1]!.startsWith('X') ? `x${Number(m[1]!.slice(1))}` : m[1]!.toLowerCase();
      regs[name] = BigInt('0x' + m[2]!);
    }
    out.set(Number(parts[i]), regs);
  }
  return out;
}

/** The console's facts about the crash. */
function consoleFacts(text: string) {
  const cpu = /CPU: (\d+) PID: (\d+) Comm: (\S+) Not tainted (\S+)/.exec(text)!;
  return {
    cpu: Number(cpu[1]),
    pid: Number(cpu[2]),
    release: cpu[4]!,
    kernelOffset: BigInt(/Kernel Offset: (0x[0-9a-f]+) from/.exec(text)![1]!),
    physOffset: BigInt(/PHYS_OFFSET: (0x[0-9a-f]+)/.exec(text)![1]!),
    version: /Linux version \S+ \(.*?\) \(.*\) (#1 SMP .*)$/m.exec(text)![1]!.trim(),
    pauth: /Features\s*:.* paca pacg/.test(text),
  };
}

function bytesAt(d: Dump, paddr: bigint, length: number): Buffer {
  const chunks = d.readPhysical(paddr, length);
  const parts = chunks.map((c) => {
    if (!('bytes' in c)) throw new Error(`0x${c.paddr.toString(16)}: ${c.problem.message}`);
    return c.bytes;
  });
  return Buffer.concat(parts);
}

const cString = (b: Buffer) => b.toString('latin1', 0, b.indexOf(0) < 0 ? b.length : b.indexOf(0));

/** Every check a real arm64 QEMU dump must pass, against the run's registers.txt and console.log. */
function checkRealDump(t: import('ava').ExecutionContext, d: Dump, refDir: string, format: Dump['format']) {
  const regsRef = parseInfoRegisters(readFileSync(join(refDir, 'registers.txt'), 'utf8'));
  const facts = consoleFacts(readFileSync(join(refDir, 'console.log'), 'utf8'));
  t.is(d.arch, 'arm64');
  t.is(d.format, format);
  t.is(d.producer, 'qemu');
  t.is(d.pageSize, 4096);
  t.deepEqual(d.warnings, []);
  t.is(d.vmcoreinfo?.osrelease, facts.release);
  t.is(d.vmcoreinfo?.kernelOffset, facts.kernelOffset);
  // PHYS_OFFSET is printed "%llx" as the u64 it is: a "negative" one under linear-map randomisation
  t.is(d.vmcoreinfo?.numberOf('PHYS_OFFSET'), facts.physOffset);
  // GENMASK(63, VA_BITS) when the kernel signs return addresses (arch/arm64/include/asm/pointer_auth.h)
  t.is(d.vmcoreinfo?.numberOf('KERNELPACMASK'), facts.pauth ? 0xffff000000000000n : 0n);
  t.is(d.vmcoreinfo?.numberOf('TCR_EL1_T1SZ'), 64n - d.vmcoreinfo!.numberOf('VA_BITS')!);
  // one cpu record per vCPU, by QEMU's pr_pid - 1, registers as QEMU itself printed them
  t.deepEqual(d.cpus.map((c) => [c.cpu, c.prPid, c.prPidMeaning]), [[0, 1, 'cpu-plus-one'], [1, 2, 'cpu-plus-one']]);
  for (const c of d.cpus) {
    const want = regsRef.get(c.cpu)!;
    t.is(Object.keys(c.regs).length, 34);
    for (const [name, value] of Object.entries(c.regs)) t.is(value, want[name], `cpu ${c.cpu} ${name}`);
  }
  // init_uts_ns in the kernel image: physical = virtual - kimage_voffset (arch/arm64/include/asm/memory.h)
  const vaddr = d.vmcoreinfo!.symbol('init_uts_ns')!;
  const kimageVoffset = d.vmcoreinfo!.numberOf('kimage_voffset')!;
  const uts = bytesAt(d, vaddr - kimageVoffset + BigInt(d.vmcoreinfo!.offset('uts_namespace.name')!), 6 * 65);
  t.is(cString(uts.subarray(0, 65)), 'Linux');
  t.is(cString(uts.subarray(130, 195)), facts.release);
  t.is(cString(uts.subarray(195, 260)), facts.version);
  t.is(cString(uts.subarray(260, 325)), 'aarch64');
}

for (const name of NAMES) {
  const dir = fixtureDir(name);
  const cut = join(dir, 'vmcore.kdump');
  test(`arm64 ${name}: the cut QEMU kdump (fixtures/arm64) against QEMU's registers and the console`, (t) => {
    if (!existsSync(cut)) {
      // only pauth is committed (the fixture budget): nopauth's cut is made on demand
      t.log(`no ${cut}: make it with tools/recipes/arm64/make.sh ${name} && LEAN=1 tools/recipes/arm64/cut.sh ${name}`);
      t.pass();
      return;
    }
    const d = openDump(cut);
    try {
      checkRealDump(t, d, dir, 'kdump-compressed');
      const facts = consoleFacts(readFileSync(join(dir, 'console.log'), 'utf8'));
      t.is(facts.pid, 101);
      t.is(facts.cpu, name === 'pauth' ? 1 : 0);
    } finally {
      d.close();
    }
  });

  const uncut = uncutDir(name);
  for (const [file, format] of [['qemu.elf', 'elf'], ['qemu.kdump-zlib', 'kdump-compressed'], ['qemu.kdump-zlib.flat', 'flattened']] as const) {
    test(`arm64 ${name}: the uncut ${file} (when /work/refs/arm64 holds it)`, (t) => {
      const path = join(uncut, file);
      if (!existsSync(path)) {
        t.log(`no ${path}: run tools/recipes/arm64/make.sh ${name} to check QEMU's own arm64 forms`);
        t.pass();
        return;
      }
      const d = openDump(path);
      try {
        checkRealDump(t, d, uncut, format);
        // 256 MB at 0x40000000 (QEMU virt's RAM base), all of it in every form
        t.deepEqual(d.memoryRanges(), [{ start: 0x40000000n, end: 0x50000000n }]);
        t.deepEqual(d.pageCounts(), format === 'elf' ? { present: 65536, excluded: 0, lost: 0 } : { present: 65536, excluded: 0 });
      } finally {
        d.close();
      }
    });
  }
}

test('arm64 kdump: a QEMU header (block_size 64 KiB, VMCOREINFO PAGESIZE=4096) reads as 4K pages cut out of 64K blocks', async (t) => {
  const block = 65536;
  const { path } = await dumpFile({
    format: 'kdump',
    arch: 'arm64',
    pageSize: block,
    vmcoreinfo: 'OSRELEASE=6.1.0-test\nPAGESIZE=4096\nNUMBER(PHYS_OFFSET)=0xffffcb09c0000000\n',
    utsname: { sysname: '', nodename: '', release: '', version: '', machine: 'Unknown', domainname: '' },
    // QEMU writes CPU 0 first; written here backwards, the records still come out by pr_pid - 1
    cpus: [
      { prstatusPid: 2, regs: { pc: 0xffffa23e00cfb888n, sp: 0xffff80000800bf10n } },
      { prstatusPid: 1, regs: { pc: 0xffffa23e00426ae8n } },
    ],
    ranges: [{ paddr: 0x40000000n, pages: 4 }],
    dumpLevel: 1,
  });
  const d = openDump(path);
  try {
    t.is(d.producer, 'qemu');
    t.is(d.pageSize, 4096);
    t.deepEqual(d.warnings, []);
    t.deepEqual(d.pageCounts(), { present: 64, excluded: 0 });
    t.deepEqual(d.cpus.map((c) => [c.cpu, c.prPid, c.prPidMeaning, c.regs['pc']]), [
      [0, 1, 'cpu-plus-one', 0xffffa23e00426ae8n],
      [1, 2, 'cpu-plus-one', 0xffffa23e00cfb888n],
    ]);
    // the 4K page at 0x40011000 is bytes 0x1000..0x2000 of the second 64K block
    const second = pagePattern(0x40010000 / block, block);
    t.deepEqual(bytesAt(d, 0x40011000n, 4096), Buffer.from(second.subarray(0x1000, 0x2000)));
    t.is(d.vmcoreinfo?.numberOf('PHYS_OFFSET'), 0xffffcb09c0000000n);
  } finally {
    d.close();
  }
});

test('arm64 ELF: QEMU\'s header (e_phoff 192, e_ehsize 8) without "QEMU" notes is QEMU\'s; pr_pid is a CPU, not a PID', async (t) => {
  const spec = {
    format: 'elf' as const,
    arch: 'arm64' as const,
    vmcoreinfo: 'OSRELEASE=6.1.0-test\nPAGESIZE=4096\n',
    cpus: [{ prstatusPid: 1, regs: { pc: 1n } }, { prstatusPid: 2, regs: { pc: 2n } }],
    ranges: [{ paddr: 0x40000000n, pages: 2, vaddr: 0x40000000n }],
  };
  const qemu = openDump((await dumpFile({ ...spec, elf: { phoff: 192, ehsize: 8 } })).path);
  const kdump = openDump((await dumpFile(spec)).path);
  try {
    t.is(qemu.producer, 'qemu');
    t.deepEqual(qemu.cpus.map((c) => c.prPidMeaning), ['cpu-plus-one', 'cpu-plus-one']);
    // a kernel's own /proc/vmcore: pr_pid is the task's PID
    t.is(kdump.producer, 'kdump');
    t.deepEqual(kdump.cpus.map((c) => [c.cpu, c.prPidMeaning]), [[0, 'pid'], [1, 'pid']]);
  } finally {
    qemu.close();
    kdump.close();
  }
});

test('VMCOREINFO: arm64 writes its NUMBER() lines as 0x-hex (arch/arm64/kernel/crash_core.c "0x%llx"); others stay decimal', (t) => {
  const info = new Vmcoreinfo(
    ['NUMBER(VA_BITS)=48', 'NUMBER(kimage_voffset)=0xffffa23dc0200000', 'NUMBER(PHYS_OFFSET)=0x40000000', 'NUMBER(TCR_EL1_T1SZ)=0x10', 'NUMBER(phys_base)=-1033895936', 'NUMBER(bad)=0xfffffffffffffffff', 'NUMBER(worse)=0x', ''].join('\n'),
  );
  t.is(info.numberOf('VA_BITS'), 48n);
  t.is(info.numberOf('kimage_voffset'), 0xffffa23dc0200000n);
  t.is(info.numberOf('TCR_EL1_T1SZ'), 16n);
  t.is(info.numberOf('phys_base'), -1033895936n);
  t.deepEqual(info.grouped().numbers, { VA_BITS: 48, kimage_voffset: '0xffffa23dc0200000', PHYS_OFFSET: 0x40000000, TCR_EL1_T1SZ: 16, phys_base: -1033895936 });
  t.deepEqual(info.invalid.map((i) => i.key), ['NUMBER(bad)', 'NUMBER(worse)']);
});
