/**
 * Source lines from the vmlinux's DWARF line tables (crash `bt -l`), against
 * crash 8.0.2's `bt -l` (which looks up each return address itself) and GNU
 * addr2line at the call sites (return address - 1, what `backtrace --lines`
 * shows) on the shipped dump's frames. The vmlinux with DWARF is not in the
 * repo (~280 MB): skipped without it.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { LineTable } from './lines.js';

const VMLINUX = process.env['VMPIPE_VMLINUX_61'] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';
const expected = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../fixtures/real/expected/${name}`, import.meta.url)), 'latin1');
const SLIDE = 0x8400000n; // VMCOREINFO KERNELOFFSET of fixtures/real/vmcore.kdump-zlib

(existsSync(VMLINUX) ? test : test.skip)('every frame of crash bt -l: its line at the return address, and addr2line\'s at the call site', (t) => {
  const table = new LineTable(VMLINUX);
  const text = expected('crash.vmcore.kdump-zlib.bt-l.txt').split('\n');
  const frames: { pc: bigint; file: string; line: number }[] = [];
  for (let i = 0; i < text.length; i++) {
    const f = /^\s*#\d+ \[[0-9a-f]+\] \S+ at ([0-9a-f]+)/.exec(text[i]!);
    const l = /^\s+(\S+): (\d+)$/.exec(text[i + 1] ?? '');
    if (f && l) frames.push({ pc: BigInt('0x' + f[1]), file: l[1]!, line: Number(l[2]) });
  }
  t.is(frames.length, 21);
  for (const f of frames) t.deepEqual(table.lookup(f.pc - SLIDE), { file: f.file, line: f.line }, `crash: ${f.pc.toString(16)}`);
  const calls = expected('addr2line.vmlinux.bt-call-sites.txt').trim().split('\n');
  t.is(calls.length, frames.length);
  frames.forEach((f, i) => {
    const m = /^(.*):(\d+)/.exec(calls[i]!)!;
    t.deepEqual(table.lookup(f.pc - SLIDE - 1n), { file: m[1]!, line: Number(m[2]) }, `addr2line: ${(f.pc - SLIDE - 1n).toString(16)}`);
  });
  t.is(table.lookup(0x1000n), undefined, 'an address in no line table');
});
