#!/usr/bin/env node
// Benchmark: the kernel log of a dump, vmpipe against the reference tools on the same file.
//
//   node tools/bench/log.mjs [KDUMP [ELF]] ...     (default: fixtures/real/vmcore.kdump-zlib, /tmp/vmpipe-real/vmcore.elf)
//   env: VMLINUX (crash needs it; default the -dbg vmlinux under /tmp/dbg), RUNS (default 5)
//
// For each dump, rows:
//   vmpipe --log         the whole command `vmcore-extract DUMP --log > /dev/null`
//   vmpipe start-up      `vmcore-extract DUMP --sys`-free start: `vmcore-extract DUMP` (node, oclif, open the dump)
//   vmpipe work          the log alone, in process: the kernel's printk reader over a Program (translate, read rings, decode text), after warm-up
//   makedumpfile         `makedumpfile --dump-dmesg KDUMP out` (whole command; its start-up is small)
//   vmcore-dmesg         `vmcore-dmesg ELF` on a copy of the ELF dump whose kernel-image PT_LOADs carry kernel-text
//                        vaddrs (vmcore-dmesg needs them; see fixtures/real/expected/vmcore-dmesg.vmcore.ktext.elf.cmd)
//   crash log            `crash -s VMLINUX KDUMP` running `log`, minus crash start-up (`quit` alone), and start-up
// Times are medians of RUNS runs; the ratio column is each time over vmpipe's whole command.
// Goals (issue 4): the whole command under 5% of crash's time; on a large log the work at least as fast as makedumpfile.
//
// A dump with a large log: the real-dump recipe with `log_buf_len=16M printk.devkmsg=on loglevel=4` on the kernel
// command line and an init that writes 160000 lines to /dev/kmsg before `echo c > /proc/sysrq-trigger`
// (MEM_MB=512; the recipe's make.sh edited with sed into a copy, ~2 min under TCG), then
//   node tools/bench/log.mjs WORK/vmcore.kdump-zlib WORK/vmcore.elf
// Its 16 MiB text ring is memblock-allocated, so it sits in the direct map: vmcore-dmesg cannot read it from the
// kernel-text ELF copy (it would need the direct-map PT_LOADs /proc/vmcore has) and shows `failed`.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, readSync, writeSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'packages/cli/bin/vmcore-extract.js');
const RUNS = Number(process.env.RUNS ?? 5);
const VMLINUX = process.env.VMLINUX ?? '/tmp/dbg/x/usr/lib/debug/boot/vmlinux-6.1.0-56-cloud-amd64';
const args = process.argv.slice(2);
const pairs = args.length ? [[args[0], args[1]]] : [[join(root, 'fixtures/real/vmcore.kdump-zlib'), '/tmp/vmpipe-real/vmcore.elf']];

const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
function time(cmd, argv, input) {
  const ts = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'ignore'] });
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0 && r.status !== null && cmd !== 'crash') return null;
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}

/** kernel-text p_vaddr for the PT_LOADs inside the kernel image, as /proc/vmcore has them. */
function ktextCopy(elf, out, physBase) {
  copyFileSync(elf, out);
  const fd = openSync(out, 'r+');
  const h = Buffer.alloc(64);
  readSync(fd, h, 0, 64, 0);
  const phoff = Number(h.readBigUInt64LE(0x20));
  const phnum = h.readUInt16LE(0x38);
  const ph = Buffer.alloc(56 * phnum);
  readSync(fd, ph, 0, ph.length, phoff);
  for (let i = 0; i < phnum; i++) {
    const o = i * 56;
    const paddr = ph.readBigUInt64LE(o + 24);
    // The kernel image: 0x1000000 .. 0x40000000 above phys_base (KERNEL_IMAGE_SIZE is 1 GiB).
    if (ph.readUInt32LE(o) === 1 && paddr >= BigInt(physBase) + 0x1000000n && paddr < BigInt(physBase) + 0x40000000n && paddr < 0x100000000n) {
      ph.writeBigUInt64LE(BigInt.asUintN(64, paddr + 0xffffffff80000000n - BigInt(physBase)), o + 16);
    }
  }
  writeSync(fd, ph, 0, ph.length, phoff);
  closeSync(fd);
}

const { Program, readPrintk, decodeText } = await import(join(root, 'packages/kernel/dist/index.js'));

/** The whole log read once through a fresh program: every record decoded to text, as --log does before JSON. */
function readLog(path) {
  const prog = Program.open(path);
  let n = 0;
  for (const item of readPrintk(prog.mem, prog.theDump.vmcoreinfo?.entries ?? {})) if (item.record) n += decodeText(item.record.text).length >= 0 ? 1 : 0;
  const physBase = Number(prog.theDump.vmcoreinfo?.entries['NUMBER(phys_base)'] ?? 0);
  prog.close();
  return { records: n, physBase };
}

for (const [kdump, elf] of pairs) {
  const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-bench-log-'));
  const rows = [];
  const whole = time(process.execPath, [bin, kdump, '--log']);
  rows.push(['vmpipe --log (whole command)', whole]);
  rows.push(['vmpipe start-up (--vtop 0: the source record only)', time(process.execPath, [bin, kdump, '--vtop', '0'])]);
  let records = 0;
  let physBase = 0;
  for (let i = 0; i < 3; i++) ({ records, physBase } = readLog(kdump)); // warm-up
  const ws = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    readLog(kdump);
    ws.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  rows.push([`vmpipe work (${records} records, in process)`, ws.sort((a, b) => a - b)[Math.floor(RUNS / 2)]]);
  if (have('makedumpfile')) rows.push(['makedumpfile --dump-dmesg', time('sh', ['-c', `rm -f ${tmp}/m.txt; makedumpfile --dump-dmesg ${kdump} ${tmp}/m.txt`])]);
  if (have('vmcore-dmesg') && elf && existsSync(elf)) {
    ktextCopy(elf, join(tmp, 'k.elf'), physBase);
    rows.push(['vmcore-dmesg (kernel-text ELF copy)', time('vmcore-dmesg', [join(tmp, 'k.elf')])]);
  }
  if (have('crash') && existsSync(VMLINUX)) {
    const start = time('crash', ['-s', VMLINUX, kdump], 'quit\n');
    const all = time('crash', ['-s', VMLINUX, kdump], 'log > /dev/null\nquit\n');
    rows.push(['crash start-up', start]);
    rows.push(['crash log (whole session)', all]);
    if (start !== null && all !== null) rows.push(['crash log work (session - start-up; < 0 is noise)', all - start]);
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`\n${kdump}  (median of ${RUNS} runs)`);
  console.table(rows.map(([what, ms]) => ({ what, ms: ms === null ? 'failed' : ms.toFixed(1), 'x vmpipe --log': ms === null || !whole ? '' : (ms / whole).toFixed(2) })));
}
