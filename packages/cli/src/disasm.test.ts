import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { decompress } from 'fzstd';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Renderer } from '@vmpipe/render';
import { runBin, runBinSync } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const real = join(here, '..', '..', '..', 'fixtures', 'real');
const dump = join(real, 'vmcore.kdump-zlib');
const expected = (f: string) => readFileSync(join(real, 'expected', f), 'latin1');
// The -dbg vmlinux of the fixture kernel, outside the repo (see /work/refs/README); the --diff tests need it.
const vmlinux = process.env['VMPIPE_VMLINUX'] ?? '/work/refs/6.1.0-56-cloud-amd64/vmlinux';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rec = any;

function render(records: Rec[]): string[] {
  const r = new Renderer({ color: false });
  return [...records.filter((x) => x.kind === 'insn').flatMap((x) => r.render(x)), ...r.flush()];
}

const withDump = existsSync(dump) ? test : test.skip;
const withVmlinux = existsSync(dump) && existsSync(vmlinux) ? test : test.skip;
if (!existsSync(vmlinux)) {
  test('--diff tests need the fixture kernel\'s vmlinux', (t) => {
    t.log(`skipped: no ${vmlinux} (set VMPIPE_VMLINUX)`);
    t.pass();
  });
}

/**
 * crash 8.0.2's gdb (10.2) and binutils 2.40 spell two things differently:
 * gdb writes `nopw %cs:0x0(...)` where objdump 2.40 writes `cs nopw 0x0(...)`, and gdb names
 * GCC's clones by their DWARF name (`panic_print_sys_info`) where kallsyms has `.part.0`.
 */
function normalize(line: string): string {
  return line
    .replace(/\t((?:data16 )*)cs (nopw)\s+/, (_m, d: string, n: string) => `\t${d}${n} %cs:`)
    .replace(/<([\w]+)\.(?:part|constprop|isra)\.\d+(\+\d+)?>/g, '<$1$2>')
    .replace(/\s+$/, '')
    .replace(/\t(\S+(?: \S+)*?)\s{2,}/, (_m, h: string) => `\t${h} `);
}

const padding = /:\t(int3|nop|xchg|(data16 )*nop[wl]?|(data16 )*cs nopw)\b/;

for (const fn of ['sysrq_handle_crash', '__handle_sysrq', 'write_sysrq_trigger', 'panic', 'proc_reg_write', 'deferred_split_scan', 'pvpanic_panic_notify']) {
  withDump(`disasm DUMP ${fn} | render prints what crash 8.0.2 dis ${fn} prints (memory, [FTRACE NOP], decimal offsets)`, async (t) => {
    const r = await runBin('disasm', [dump, fn]);
    t.is(r.code, 0, r.err);
    const ours = render(r.records()).map(normalize);
    const theirs = expected(`crash.vmcore.kdump-zlib.dis-${fn}.txt`).split('\n').filter(Boolean).map(normalize);
    const n = Math.min(ours.length, theirs.length);
    t.deepEqual(ours.slice(0, n), theirs.slice(0, n));
    // crash takes a vmlinux function's extent from its st_size, we from the next kallsyms symbol
    // (kallsyms has no sizes; modules do): whatever one shows beyond the other is alignment padding.
    for (const extra of [...ours.slice(n), ...theirs.slice(n)]) t.regex(extra, padding);
    t.true(n >= theirs.length - 1, `${theirs.length - n} crash lines beyond ours`);
  });
}

withDump('disasm DUMP ADDR --count 4 crosses into the next function as crash dis ADDR 4 does', async (t) => {
  const ours = render((await runBin('disasm', [dump, 'ffffffff89aa8a06', '--count', '4'])).records()).map(normalize);
  t.deepEqual(ours, expected('crash.vmcore.kdump-zlib.dis-ffffffff89aa8a06-4.txt').split('\n').filter(Boolean).map(normalize));
});

withDump('--around ADDR N: decoded from the function start, the instruction at ADDR current (crash dis -r ends there)', async (t) => {
  const recs = (await runBin('disasm', [dump, '--around', 'ffffffff89dcd0a8', '3'])).records().filter((x) => x.kind === 'insn');
  t.is(recs.length, 7);
  t.like(recs[3], { addr: '0xffffffff89dcd0a8', symbol: 'panic+0x177', current: true });
  const crashR = expected('crash.vmcore.kdump-zlib.dis-r-panic-ret.txt').split('\n').filter(Boolean).map(normalize);
  t.deepEqual(render(recs.slice(0, 4)).map((l) => normalize(l.replace(/^=> /, ''))), crashR.slice(-4));
});

withDump('filter: cpu records get the instructions around rip, the current one with its operands\' effective addresses', async (t) => {
  const cpus = (await runBin('vmcore-extract', [dump])).records().filter((x) => x.kind === 'cpu');
  const recs = (await runBin('disasm', ['--context', '2'], { input: cpus.map((c) => JSON.stringify(c)).join('\n') + '\n' })).records();
  const cpu1 = cpus.find((c) => c.cpu === 1)!;
  const cur = recs.filter((x) => x.kind === 'insn' && x.current);
  t.is(cur.length, 2);
  const mod = cur.find((x) => x.addr === cpu1.regs.rip)!;
  // pvpanic_panic_notify+0x60 [pvpanic]: mov 0x10(%rbx),%rax with rbx from the CPU's registers
  t.like(mod, { symbol: 'pvpanic_panic_notify+0x60 [pvpanic]', text: 'mov 0x10(%rbx),%rax' });
  t.is(mod.operands[0].addr, `0x${(BigInt(cpu1.regs.rbx) + 0x10n).toString(16)}`);
  // records pass through in order, each followed by its instructions
  t.deepEqual(recs.map((x) => x.kind), ['cpu', 'insn', 'insn', 'insn', 'insn', 'insn', 'cpu', 'insn', 'insn', 'insn', 'insn', 'insn']);
});

withDump('the seed\'s question: 0x98 from a struct page is page[2].deferred_list (crash struct page -o: deferred_list at 24, page is 64)', async (t) => {
  const recs = (await runBin('disasm', [dump, 'deferred_split_scan', '--member-of', 'page:r13'])).records();
  const mov = recs.find((x) => x.kind === 'insn' && x.symbol === 'deferred_split_scan+0xa5')!;
  t.is(mov.text, 'mov 0x98(%r13),%rdx'); // crash: <deferred_split_scan+165>: mov 0x98(%r13),%rdx
  t.true(mov.operands[0].member.includes('page[2].deferred_list'), mov.operands[0].member.join(' '));
  t.regex(expected('crash.vmcore.kdump-zlib.struct-o-page.deferred_list.txt'), /\[24\]\s+struct list_head deferred_list;/);
  // only r13-based operands are named with :r13
  t.true(recs.filter((x) => x.kind === 'insn').every((x) => x.operands.every((o: Rec) => !o.member || o.base === 'r13')));
});

withDump('bad input: not code, unknown symbol, an unmapped address, bytes ending mid-instruction', async (t) => {
  const data = await runBin('disasm', [dump, 'init_task']);
  t.is(data.code, 2);
  t.regex(data.err, /^disasm: init_task is not code \(symbol type D\)/);
  const unknown = await runBin('disasm', [dump, 'no_such_function_here']);
  t.is(unknown.code, 2);
  t.regex(unknown.err, /nor a symbol of the dump/);
  const unmapped = await runBin('disasm', [dump, '0xffffffffff000000', '--count', '2']);
  t.is(unmapped.code, 0);
  t.like(unmapped.records().find((x) => x.kind === 'error'), { code: 'not-mapped' });
  // panic+0x3b is a 7-byte mov: 3 bytes of it
  const cut = (await runBin('disasm', [dump, 'panic+0x3b', '--length', '3'])).records().filter((x) => x.kind === 'insn');
  t.like(cut[0], { text: '(bad)', truncated: true, bytes: '44 8a 25' });
});

withDump('--intel', async (t) => {
  const recs = (await runBin('disasm', [dump, 'sysrq_handle_crash', '--intel'])).records().filter((x) => x.kind === 'insn');
  t.is(recs[2].text, 'mov rdi,0xffffffff8a7697b9');
  t.is(recs[1].text, 'call ffffffff89528270 <__rcu_read_unlock>');
});

withVmlinux('--diff: every difference between memory and the vmlinux is one of the boot-time patches, and ftrace is at function starts', async (t) => {
  const reasons = new Map<string, number>();
  const fns = expected('objdump.vmlinux.stack.functions').split('\n').filter(Boolean).slice(0, 8);
  for (const [fn, r] of await Promise.all(fns.map(async (fn) => [fn, await runBin('disasm', [dump, fn, '--diff', '--from-vmlinux', vmlinux])] as const))) {
    const recs = r.records().filter((x) => x.kind === 'insn');
    t.true(recs.length > 0, fn);
    // every traced function starts with its patched `call __fentry__`; GCC's .cold parts are not traced
    t.is(recs.filter((x) => x.reason === 'ftrace' && x.file.length).length, fn.endsWith('.cold') ? 0 : 1, fn);
    for (const r of recs.filter((x) => x.same === false)) {
      reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      if (r.reason === 'ftrace' && r.file.length) t.regex(r.symbol, /^[\w.]+$/, 'ftrace nops sit at offset 0');
      if (r.reason === 'kaslr-relocation') t.is(r.file[0].bytes.length, r.bytes.length);
      // a static call site (the vmlinux's .static_call_sites) names its key; the file calls the key's trampoline
      if (r.reason === 'static-call') t.is(r.staticCall, /<(__SCT__\w+)>/.exec(r.file[0].text)![1]!.replace('__SCT__', '__SCK__'), r.symbol);
      // and an alternative, the feature the kernel names (x86_cap_flags): typeof, the names are checked in @vmpipe/kernel
      if (r.reason === 'alternative') t.is(typeof r.cpuFeatureName, 'string', r.symbol);
    }
  }
  t.log([...reasons].map(([k, v]) => `${k}: ${v}`).join(', '));
  t.true((reasons.get('kaslr-relocation') ?? 0) > 0);
  t.true((reasons.get('static-call') ?? 0) > 0);
  t.false(reasons.has('patched'), 'every difference on these stacks is explained by a pattern or the vmlinux\'s tables');
});

withVmlinux('--lines --vmlinux: each instruction\'s source line is crash dis -l\'s (file: line above each change)', (t) => {
  const crash = readFileSync(join(real, 'expected', 'crash.vmcore.kdump-zlib.dis-l-sysrq_handle_crash.txt'), 'latin1');
  // crash prints `file: line` when the line changes, then the instructions of that line.
  const want = new Map<string, string>();
  let at = '';
  for (const l of crash.split('\n')) {
    const insn = /^0x([0-9a-f]+) </.exec(l);
    if (insn) want.set(insn[1]!, at);
    else if (/: \d+$/.test(l)) at = l;
  }
  t.true(want.size >= 4);
  const r = runBinSync('disasm', [dump, 'sysrq_handle_crash', '--lines', '--vmlinux', vmlinux]);
  t.is(r.code, 0, r.err);
  const insns = r.records().filter((x) => x.kind === 'insn');
  for (const i of insns) {
    const addr = String(i.addr).slice(2);
    if (!want.has(addr)) continue; // past crash's end of the function (kallsyms has no sizes: the padding)
    t.is(`${String(i.sourceFile)}: ${String(i.sourceLine)}`, want.get(addr)!, addr);
  }
  const text = runBinSync('vmpipe-render', ['--color', 'never'], { input: r.out }).out;
  t.is(text.split('\n')[0], crash.split('\n')[0], 'the first line header, as crash prints it');
  t.is((text.match(/: \d+$/gm) ?? []).length >= 3, true);
});

test('--lines without --vmlinux is bad usage', (t) => {
  const r = runBinSync('disasm', [dump, 'panic', '--lines']);
  t.is(r.code, 2);
  t.regex(r.err, /--lines needs --vmlinux FILE/);
});

// BUG()/WARN() sites named from __bug_table, checked against what the kernel itself printed (report_bug) in the scenarios' console logs.
const scenarios = join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64');
const lean = ['--system-map', join(real, 'System.map.gz'), '--btf', join(real, 'vmlinux.btf.zst')];
function reported(scenario: string): { report: string; file: string; line: number; rip: string } {
  const log = readFileSync(join(scenarios, scenario, 'console.log'), 'latin1');
  const m = /(kernel BUG at|WARNING: CPU: \d+ PID: \d+ at) (\S+):(\d+)/.exec(log)!;
  const rip = /RIP: 0010:(\S+?)\/0x[0-9a-f]+/.exec(log)![1]!;
  return { report: m[1]!, file: m[2]!, line: Number(m[3]), rip };
}

withDump('ud2 of BUG(): file and line from the kernel\'s __bug_table, as the listdel scenario\'s oops printed them (same build as the fixture)', async (t) => {
  const want = reported('listdel');
  t.is(want.rip, '__list_del_entry_valid.cold+0x37');
  const recs = (await runBin('disasm', [dump, want.rip, '--count', '1'])).records().filter((x) => x.kind === 'insn');
  t.like(recs[0], { text: 'ud2', bug: { file: want.file, line: want.line, flags: ['BUG'], report: `kernel BUG at ${want.file}:${want.line}!` } });
});

for (const [scenario, flags] of [['warn', ['WARN']], ['bugirq', ['BUG']]] as const) {
  const withScenario = existsSync(join(scenarios, scenario, 'vmcore.kdump')) ? test : test.skip;
  withScenario(`ud2 in a module (${scenario}): the module's own __bug_table, as its console log printed it`, async (t) => {
    const want = reported(scenario);
    const r = await runBin('disasm', [join(scenarios, scenario, 'vmcore.kdump'), want.rip.replace(/ \[\w+\]$/, ''), '--count', '1', ...lean]);
    t.is(r.code, 0, r.err);
    const [ins] = r.records().filter((x) => x.kind === 'insn');
    t.is(ins.text, 'ud2');
    t.like(ins.bug, { file: want.file, line: want.line, flags: [...flags] });
    t.is(ins.bug.report.startsWith(flags[0] === 'WARN' ? 'WARNING: at ' : 'kernel BUG at '), true);
  });
}

const warnDir = join(scenarios, 'warn');
(existsSync(join(warnDir, 'vmcore.kdump')) ? test : test.skip)('--diff --from-module: memory against the .ko with its relocations applied; every difference explained', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-crashmod-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ko = join(dir, 'crashmod.ko');
  writeFileSync(ko, decompress(readFileSync(join(warnDir, 'crashmod.ko.zst'))));
  const r = await runBin('disasm', [join(warnDir, 'vmcore.kdump'), 'vmpipe_warn_thread', '--diff', '--from-module', ko, ...lean]);
  t.is(r.code, 0, r.err);
  const recs = r.records().filter((x) => x.kind === 'insn');
  // the call out of the module: `e8 00 00 00 00` plus an R_X86_64_PLT32 against msleep in the .ko, the real call in memory
  t.like(recs.find((x) => x.text.startsWith('call ')), { same: true, relocated: true, targetSym: 'msleep', bytesFrom: 'memory' });
  // a RIP-relative load of the module's own data: relocated against a section symbol
  t.true(recs.some((x) => x.relocated && x.comment !== undefined));
  t.like(recs[0], { same: false, reason: 'ftrace', note: '[FTRACE NOP]' });
  t.regex(recs[0].file[0].text, /^call [0-9a-f]+ <__fentry__>$/);
  const reasons = new Set(recs.filter((x) => !x.same).map((x) => x.reason));
  t.deepEqual([...reasons].sort(), ['ftrace', 'return-thunk']);
  // the .ko's own tables, relocated: vmpipe_fill's call through a static call is its .static_call_sites entry, whose key field
  // the .ko relocates against __SCT__cond_resched (`readelf -r crashmod.ko`, .rela.static_call_sites)
  const fill = (await runBin('disasm', [join(warnDir, 'vmcore.kdump'), 'vmpipe_fill', '--diff', '--from-module', ko, ...lean])).records().filter((x) => x.kind === 'insn');
  t.like(fill.find((x) => x.reason === 'static-call'), { symbol: 'vmpipe_fill+0x96 [crashmod]', staticCall: '__SCT__cond_resched', text: 'call ffffffffb08116a0 <__cond_resched>' });
  t.false(fill.some((x) => x.reason === 'patched'));
  // without relocations the .ko's bytes differ at every relocation: --from-module alone still reads them as stored
  const stored = (await runBin('disasm', [join(warnDir, 'vmcore.kdump'), 'vmpipe_warn_thread', '--from-module', ko, ...lean])).records().filter((x) => x.kind === 'insn');
  t.like(stored.find((x) => x.text.startsWith('call ') && x.bytes === 'e8 00 00 00 00' && x.symbol.endsWith('+0xa [crashmod]')), { bytesFrom: 'module' });
});

// The x86 records of a walk are written as bytes from pieces (insn-writer.ts); --around writes each
// record from its object (the command's `line`, as JSON.parse/JSON.stringify see it). Both must be the
// same text, byte for byte: branches (local and to other functions), RIP-relative operands, ftrace
// nops, ud2s, the first instruction of each function.
withDump('the byte writer\'s records are, byte for byte, the records the command makes from instruction objects', async (t) => {
  const functions = ['panic', '__handle_sysrq', 'vfs_write', '__schedule', 'do_exit', 'deferred_split_scan', 'kmem_cache_free', 'copy_process', 'sysrq_handle_crash', 'write_sysrq_trigger'];
  let n = 0;
  for (const fn of functions) {
    const [fast, slow] = await Promise.all([runBin('disasm', [dump, fn]), runBin('disasm', [dump, '--around', `${fn}+0x1`, '1000000'])]);
    const fastLines = fast.out.split('\n').filter((l) => l.includes('"kind":"insn"'));
    const slowLines = slow.records().filter((r: Rec) => r.kind === 'insn').map((r: Rec) => {
      delete r.current;
      return JSON.stringify(r);
    });
    t.true(fastLines.length > 3, `${fn}: ${fastLines.length} instructions`);
    t.deepEqual(fastLines, slowLines, fn);
    n += fastLines.length;
  }
  t.log(`${functions.length} functions, ${n} instructions`);
});

// disasm --sites reads the kernel's own tables (__jump_table, .static_call_sites, .altinstructions) from the dump: no vmlinux.
// What each site says is checked against memory read by vmcore-extract: a static call site that calls calls what its key's
// `func` holds; a static key's state is its `enabled` count.
withDump('--sites: static keys and static calls from the dump\'s own tables, each as its key in memory says', async (t) => {
  const r = await runBin('disasm', [dump, 'kmem_cache_free', '--sites']);
  t.is(r.code, 0, r.err);
  const recs = r.records().filter((x) => x.kind === 'insn');
  const word = async (addr: string) => BigInt((await runBin('vmcore-extract', [dump, '--read', addr, '--length', '8'])).records().find((x) => x.kind === 'mem')!.words[0]);
  const keys = recs.filter((x) => x.site?.kind === 'static-key');
  t.true(keys.length >= 4, `${keys.length} static key sites`);
  for (const k of keys) {
    t.regex(k.text, /^(jmp|nop|xchg\s+%ax,%ax)/, `${k.symbol}: a jump label's site is a jump or a nop`);
    t.is(k.site.enabled, (await word(k.site.key)) % (1n << 32n) > 0n, `${k.symbol}: ${k.site.key}.enabled`);
  }
  const calls = recs.filter((x) => x.site?.kind === 'static-call' && x.mnemonic === 'call');
  t.true(calls.length >= 1);
  for (const c of calls) {
    t.regex(c.site.key, /^__SCK__/);
    t.is(BigInt(c.target), await word(c.site.key), `${c.symbol}: calls ${c.site.key}.func`);
  }
  // a module's sites are its struct module's tables: the warn scenario's crashmod calls __cond_resched through a static call
  const warn = join(scenarios, 'warn', 'vmcore.kdump');
  const fill = (await runBin('disasm', [warn, 'vmpipe_fill', ...lean, '--sites'])).records().filter((x) => x.kind === 'insn' && x.site);
  t.is(fill.length, 1);
  t.like(fill[0], { symbol: 'vmpipe_fill+0x96 [crashmod]', mnemonic: 'call', site: { kind: 'static-call', key: '__SCK__cond_resched' } });
  const func = (await runBin('vmcore-extract', [warn, ...lean, '--read', '__SCK__cond_resched', '--length', '8'])).records().find((x) => x.kind === 'mem')!.words[0];
  t.is(fill[0]!.target, func, 'it calls what the key holds');
  // the fast writer is off under --sites: every record still carries what the plain listing has
  const plain = (await runBin('disasm', [dump, 'kmem_cache_free'])).records().filter((x) => x.kind === 'insn');
  t.deepEqual(recs.map(({ site: _s, ...rest }) => rest), plain);
});
