/**
 * Damaged VMCOREINFO, as every command meets it: a real dump (the seed scenario, Linux
 * 6.1.0-56-cloud-amd64, made by makedumpfile 1.7.2) written again by the project's dump
 * writer (tools/mkdump) with the same memory, registers and header facts and one VMCOREINFO
 * change. Each command's stream starts with the dump's problems as error records
 * (Program.problems, written by the command base), then gives the clean dump's answers where
 * the fallback finds the true value, or its documented one-line failure and exit code.
 */
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDump, type DumpSpec } from '@vmpipe/mkdump';
import { Program } from '@vmpipe/kernel';
import { runBinSync as run } from './run-bin.test-helper.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLEAN = join(here, '..', '..', '..', 'fixtures', 'scenarios', '6.1.0-56-cloud-amd64', 'seed', 'vmcore.kdump');
const tmp = mkdtempSync(join(tmpdir(), 'vmpipe-vmcoreinfo-'));

type Rec = Record<string, unknown> & { kind: string };

/** The clean dump's pages, registers and header facts, read once. */
let cleanSpec: Omit<DumpSpec, 'vmcoreinfo'> & { vmcoreinfo: string } | undefined;
function readClean(): NonNullable<typeof cleanSpec> {
  if (cleanSpec) return cleanSpec;
  const prog = Program.open(CLEAN);
  try {
    const d = prog.theDump;
    const range = d.memoryRanges();
    if (range.length !== 1) throw new Error('the seed dump has one memory range');
    const size = BigInt(d.pageSize);
    const first = Number(range[0]!.start / size);
    const pages = Number((range[0]!.end - range[0]!.start) / size);
    const content = new Map<number, Uint8Array>();
    const excluded: number[] = [];
    for (let pfn = first; pfn < first + pages; pfn++) {
      const chunk = d.readPhysical(BigInt(pfn) * size, d.pageSize)[0]!;
      if ('bytes' in chunk) content.set(pfn, chunk.bytes);
      else excluded.push(pfn);
    }
    const physBase = (d as { physBase?: bigint }).physBase;
    cleanSpec = {
      format: 'kdump',
      codec: 'none',
      pageSize: d.pageSize,
      vmcoreinfo: d.vmcoreinfo!.raw,
      utsname: d.utsname!,
      ...(d.crashTime ? { crashTime: Math.floor(d.crashTime.getTime() / 1000) } : {}),
      cpus: d.cpus.map((c) => ({ prstatusPid: c.prPid, regs: c.regs })),
      ranges: [{ paddr: range[0]!.start, pages }],
      content: (pfn, pageSize) => content.get(pfn) ?? new Uint8Array(pageSize),
      excluded,
      ...(d.dumpLevel !== undefined ? { dumpLevel: d.dumpLevel } : {}),
      ...(physBase !== undefined ? { physBase } : {}),
    };
    const info = d.vmcoreinfo!;
    truth.kernelOffset = '0x' + info.kernelOffset!.toString(16);
    truth.stext = '0x' + info.symbol('_stext')!.toString(16);
    truth.initTopPgt = '0x' + info.symbol('init_top_pgt')!.toString(16);
    return cleanSpec;
  } finally {
    prog.close();
  }
}

/** The clean dump written again by mkdump (uncompressed pages: quick to write) with one of CASES applied to its VMCOREINFO text. */
async function dump(name: keyof typeof CASES): Promise<string> {
  if (dumps[name]) return dumps[name]!;
  const spec = readClean();
  const path = join(tmp, name);
  writeFileSync(path, (await writeDump({ ...spec, vmcoreinfo: CASES[name](spec.vmcoreinfo) })).bytes);
  return (dumps[name] = path);
}

/** A command's records on the rewritten clean dump, run once. */
async function cleanRun(cmd: 'backtrace' | 'task-list' | 'sym-resolve'): Promise<Rec[]> {
  if (!clean[cmd]) clean[cmd] = run(cmd, cmd === 'sym-resolve' ? [await dump('clean'), '--search', 'vmpipe_'] : [await dump('clean')]).records();
  return clean[cmd]!;
}

const line = (key: string) => new RegExp(`^${key.replace(/[()]/g, '\\$&')}=.*\\n`, 'm');
/** A record without what names its dump file or how its pages are stored (the only differences a rewrite makes). */
const same = (r: Rec) => {
  const { dump: _d, compression: _c, ...rest } = r;
  return JSON.stringify(rest);
};
const errorsOf = (recs: Rec[]) => recs.filter((r) => r.kind === 'error').map((r) => `${String(r.code)}:${String(r.field ?? r.line ?? '')}`);

/** A stream's head: the source record (when the command writes one), the error records right after it (the dump's problems), and the rest. */
function head(recs: Rec[]): { source: Rec | undefined; problems: Rec[]; rest: Rec[] } {
  const source = recs[0]?.kind === 'source' ? recs[0] : undefined;
  const after = source ? recs.slice(1) : recs;
  const n = after.findIndex((r) => r.kind !== 'error' || !/^(vmcoreinfo-|dump-|note-)/.test(String(r.code)));
  const problems = n < 0 ? after : after.slice(0, n);
  return { source, problems, rest: after.slice(problems.length) };
}
const codes = (recs: Rec[]) => recs.map((r) => `${String(r.code)}:${String(r.field ?? r.line ?? '')}`);

const have = existsSync(CLEAN);
test.after.always(() => rmSync(tmp, { recursive: true, force: true })); // five uncompressed dumps of 160 MiB of memory
const maybe = have ? test.serial : test.skip;
if (!have) console.log(`skipped: ${CLEAN} is not here`);

const dumps: Record<string, string> = {};
/** The clean dump's own values, which the fallbacks must find again (readClean sets them). */
const truth = { kernelOffset: '', stext: '', initTopPgt: '' };
const clean: Record<string, Rec[]> = {};
const CASES = {
  clean: (s: string) => s,
  kerneloffset: (s: string) => s.replace(line('KERNELOFFSET'), 'KERNELOFFSET=zz\n'),
  noroot: (s: string) => s.replace(line('SYMBOL(init_top_pgt)'), '').replace(line('SYMBOL(swapper_pg_dir)'), 'SYMBOL(swapper_pg_dir)=ffffffffzz\n'),
  // The note cut inside SYMBOL(init_top_pgt)'s value: the partial value, a valid-looking hex
  // number, and every key after it (KERNELOFFSET, CRASHTIME, ...) are lost.
  truncated: (s: string) => s.slice(0, s.indexOf('SYMBOL(init_top_pgt)=') + 'SYMBOL(init_top_pgt)=ffffffffxx'.length),
  // Cut before kallsyms is located and without a page-table root: nothing can translate.
  hopeless: (s: string) => s.slice(0, s.indexOf('SYMBOL(swapper_pg_dir)=') + 'SYMBOL(swapper'.length),
};

maybe('the rewritten clean dump tells no problems and answers as the original does', async (t) => {
  t.timeout(600_000);
  const bt = await cleanRun('backtrace');
  await cleanRun('task-list');
  await cleanRun('sym-resolve');
  t.deepEqual(errorsOf(bt), []);
  t.is(bt[0]!.kind, 'source');
  // The frames as on the original (its cpu record differs: QEMU's notes, which the rewrite leaves out).
  const frames = (recs: Rec[]) => recs.filter((r) => r.kind === 'frame').map(same);
  t.true(frames(bt).length > 5);
  t.deepEqual(frames(bt), frames(run('backtrace', [CLEAN]).records()));
  t.deepEqual(clean['sym-resolve']!.map(same), run('sym-resolve', [CLEAN, '--search', 'vmpipe_']).records().map(same));
  t.true(clean['sym-resolve']!.length > 3);
  t.true(clean['task-list']!.filter((r) => r.kind === 'task').length > 50);
  t.deepEqual(errorsOf(clean['task-list']!), []);
});

const COMMANDS = (dump: string) => [['backtrace', [dump]], ['task-list', [dump]], ['sym-resolve', [dump, '--search', 'vmpipe_']]] as const;

/** Runs backtrace, task-list and sym-resolve on a damaged dump: each exits 0, tells `want` first (after its source record) and then answers as on the clean dump. */
async function damagedButRight(t: import('ava').ExecutionContext, name: keyof typeof CASES, want: string[]): Promise<Rec[][]> {
  t.timeout(600_000);
  const told: Rec[][] = [];
  for (const [cmd, args] of COMMANDS(await dump(name))) {
    const r = run(cmd, [...args]);
    await cleanRun(cmd);
    t.is(r.code, 0, `${cmd}: ${r.err}`);
    const h = head(r.records());
    t.is(h.source !== undefined, cmd !== 'sym-resolve', `${cmd}: a source record first where the command writes one`);
    t.deepEqual(codes(h.problems), want, `${cmd}: the problems first`);
    t.true(h.rest.length > 0 && h.rest.length === head(clean[cmd]!).rest.length, `${cmd}: as many answers as on the clean dump`);
    t.deepEqual(h.rest.map(same), head(clean[cmd]!).rest.map(same), `${cmd}: the clean dump's answers`);
    told.push(h.problems);
  }
  return told;
}

maybe('KERNELOFFSET=zz: every stream starts with the damage and the offset taken instead, then the clean answers', async (t) => {
  for (const problems of await damagedButRight(t, 'kerneloffset', ['vmcoreinfo-invalid:KERNELOFFSET', 'vmcoreinfo-fallback:KERNELOFFSET'])) {
    const fallback = problems[1]!;
    // The clean dump's own KERNELOFFSET, found again from SYMBOL(_stext).
    t.is(fallback.used, truth.kernelOffset);
    t.is(fallback.from, 'SYMBOL(_stext)');
    t.is(fallback.message, `KERNELOFFSET unusable: the KASLR offset ${truth.kernelOffset} is SYMBOL(_stext) ${truth.stext} less x86_64's link address 0xffffffff81000000`);
  }
});

maybe('the page-table root lost (init_top_pgt gone, swapper_pg_dir garbled): translation through kallsyms\' init_top_pgt, the clean answers', async (t) => {
  for (const problems of await damagedButRight(t, 'noroot', ['vmcoreinfo-invalid:SYMBOL(swapper_pg_dir)', 'vmcoreinfo-fallback:SYMBOL(init_top_pgt)'])) {
    t.is(problems[1]!.used, truth.initTopPgt); // the clean VMCOREINFO's SYMBOL(init_top_pgt)
    t.is(problems[1]!.from, 'kallsyms');
  }
});

maybe('a VMCOREINFO note cut short: the cut line and the lost keys are said, the fallbacks give the clean answers', async (t) => {
  // The cut line is SYMBOL(init_top_pgt): swapper_pg_dir (the same page) is the root; KERNELOFFSET is found again.
  for (const problems of await damagedButRight(t, 'truncated', ['vmcoreinfo-truncated:SYMBOL(init_top_pgt)', 'vmcoreinfo-fallback:KERNELOFFSET', 'vmcoreinfo-fallback:SYMBOL(init_top_pgt)'])) {
    t.is(problems[0]!.value, truth.initTopPgt.slice(2, 12), 'the partial value is shown, not used');
    t.is(problems[1]!.used, truth.kernelOffset);
    t.is(problems[2]!.used, truth.initTopPgt);
    t.is(problems[2]!.from, 'SYMBOL(swapper_pg_dir)');
  }
});

maybe('a note cut before the root and kallsyms: the documented one-line failure, exit 4; vmcore-extract still tells the damage', async (t) => {
  t.timeout(600_000);
  const hopeless = await dump('hopeless');
  // The stream still says why (the run fails before it has a source record to write).
  const told = ['vmcoreinfo-truncated:7', 'vmcoreinfo-fallback:KERNELOFFSET', 'vmcoreinfo-fallback:NUMBER(phys_base)'];
  for (const cmd of ['backtrace', 'task-list'] as const) {
    const r = run(cmd, [hopeless]);
    t.is(r.code, 4, cmd);
    t.deepEqual(codes(r.records()), told, `${cmd}: the problems, then the failure`);
    t.is(r.err.trim().split('\n').length, 1, `${cmd}: one line`);
    t.regex(r.err, new RegExp(`^${cmd}: .*cannot translate kernel addresses: VMCOREINFO has neither SYMBOL\\(init_top_pgt\\) nor SYMBOL\\(swapper_pg_dir\\)`));
  }
  // sym-resolve goes on without symbols: the cut first, then why there are none.
  const s = run('sym-resolve', [hopeless, '--search', 'vmpipe_']);
  t.is(s.code, 0, s.err);
  // KERNELOFFSET and NUMBER(phys_base) were lost with the rest: assumed 0, and the kdump sub-header's.
  t.deepEqual(errorsOf(s.records()), ['vmcoreinfo-truncated:7', 'vmcoreinfo-fallback:KERNELOFFSET', 'vmcoreinfo-fallback:NUMBER(phys_base)', 'no-symbols:']);
  t.is(s.records()[1]!.from, 'assumed');
  t.is(s.records()[2]!.from, 'kdump sub-header');
  const v = run('vmcore-extract', [hopeless]);
  t.is(v.code, 0, v.err);
  t.deepEqual(v.records().slice(0, 2).map((x) => x.kind === 'error' ? `error:${String(x.code)}` : x.kind), ['source', 'error:vmcoreinfo-truncated']);
});

maybe('in a pipeline the problems are told once: a filter does not repeat what upstream told', async (t) => {
  t.timeout(600_000);
  const up = run('vmcore-extract', [await dump('kerneloffset'), '--panic']);
  t.deepEqual(errorsOf(up.records()).slice(0, 2), ['vmcoreinfo-invalid:KERNELOFFSET', 'vmcoreinfo-fallback:KERNELOFFSET']);
  const down = run('backtrace', [], { input: up.out });
  t.is(down.code, 0, down.err);
  t.is(errorsOf(down.records()).filter((e) => e.startsWith('vmcoreinfo-')).length, 2, 'the two from upstream, not four');
  // sym-resolve handles every record, the source record too: it tells them right after it, and upstream's copies are not passed on again.
  const sr = run('sym-resolve', [], { input: up.out });
  t.is(sr.code, 0, sr.err);
  const h = head(sr.records());
  t.is(h.source?.kind, 'source');
  t.deepEqual(codes(h.problems), ['vmcoreinfo-invalid:KERNELOFFSET', 'vmcoreinfo-fallback:KERNELOFFSET']);
  t.is(errorsOf(sr.records()).filter((e) => e.startsWith('vmcoreinfo-')).length, 2);
  t.deepEqual(sr.records().map((r) => r.kind), up.records().map((r) => r.kind), 'record for record, as upstream wrote them');
  // A filter fed records that did not tell (here: only the panic record) tells them itself, before its answers.
  const panicOnly = up.records().filter((r) => r.kind === 'panic').map((r) => JSON.stringify(r)).join('\n') + '\n';
  const alone = run('backtrace', [], { input: panicOnly });
  t.deepEqual(errorsOf(alone.records()).slice(0, 2), ['vmcoreinfo-invalid:KERNELOFFSET', 'vmcoreinfo-fallback:KERNELOFFSET']);
  t.is(alone.records().findIndex((r) => r.kind === 'error'), 0, 'before anything about the dump');
});
