/**
 * Runs one case and says what went wrong, by class. What every run must do
 * (docs/reliability.md): no internal error and no stack trace; an exit code
 * from docs/exit-codes.md; bounded time and memory; the dump unchanged; every
 * page read from a damaged dump either its right bytes or an error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDump, type Dump } from '@vmpipe/dump';
import { sha256, type Base, type BaseName } from './bases.js';
import type { Case, Damage, DumpCase, StreamCase } from './cases.js';
import { runCommand, type CommandRun } from './run-command.js';

export type FailureClass = 'internal-error' | 'stack-trace' | 'exit-code' | 'slow' | 'memory' | 'input-changed' | 'wrong-page' | 'bad-output';

export interface Failure {
  class: FailureClass;
  detail: string;
  command?: string;
}

export interface CaseResult {
  failures: Failure[];
  /** wrong bytes after damage no reader can see (a flipped bitmap bit, a moved descriptor or p_offset, an lzo/snappy page without a checksum) */
  undetectable: number;
  commands: number;
  ms: number;
}

/** Exit codes docs/exit-codes.md lists for a run that did not fail inside (5 is I/O or internal). */
const DOCUMENTED = new Set([0, 2, 3, 4]);
/** Per command; generous for the real bases on a shared 2-core machine. */
export const LIMITS = { ms: 30_000, rssBytes: 1536 * 1024 * 1024 };
/** Filters read lines up to this many bytes in the harness, so over-long lines stay cheap to make. */
const MAX_LINE = '65536';

export class Checker {
  private n = 0;
  private readonly good = new Map<string, Dump>();
  peakRss = 0;

  constructor(private readonly bases: Map<BaseName, Base>, private readonly dir: string) {}

  async run(c: Case): Promise<CaseResult> {
    const start = performance.now();
    const r = c.type === 'dump' ? await this.dumpCase(c) : await this.streamCase(c);
    r.ms = performance.now() - start;
    return r;
  }

  private async dumpCase(c: DumpCase): Promise<CaseResult> {
    const base = this.bases.get(c.base);
    if (!base) return { failures: [], undetectable: 0, commands: 0, ms: 0 };
    const bytes = damage(base, c.damages);
    const path = join(this.dir, `case-${this.n++ % 4}`);
    writeFileSync(path, bytes);
    const before = sha256(bytes);
    const failures: Failure[] = [];
    for (const argv of c.commands) {
      const args = argv.map((a) => (a === '$DUMP' ? path : a));
      if (args[0] === '|render') {
        const first = await this.command(['vmcore-extract', ...args.slice(1)], failures);
        if (first.code === 0) await this.command(['render'], failures, first.stdout);
      } else await this.command(args, failures);
    }
    if (sha256(readFileSync(path)) !== before) failures.push({ class: 'input-changed', detail: `${path} changed while commands read it` });
    const pages = this.checkPages(base, path, c.damages);
    failures.push(...pages.failures);
    return { failures, undetectable: pages.undetectable, commands: c.commands.length, ms: 0 };
  }

  private async streamCase(c: StreamCase): Promise<CaseResult> {
    const dump = this.bases.get('kdump-zlib')?.path ?? '/nonexistent';
    const input = c.lines.map((l) => l.replaceAll('$DUMP', dump)).join('\n') + '\n';
    const failures: Failure[] = [];
    const run = await this.command(c.command, failures, input);
    // A filter writes one record (or, for render, text) per input line at most a few: never nothing for lines it could not read.
    if (run.code === 0 && c.command[0] !== 'render') {
      const outLines = run.stdout.split('\n').filter(Boolean);
      for (const l of outLines) {
        try {
          JSON.parse(l);
        } catch {
          failures.push({ class: 'bad-output', detail: `not JSON on stdout: ${l.slice(0, 120)}`, command: c.command.join(' ') });
          break;
        }
      }
      const nonEmpty = c.lines.filter((l) => l.trim() !== '' && l !== '\r').length;
      if (outLines.length < Math.min(nonEmpty, 1)) failures.push({ class: 'bad-output', detail: `${nonEmpty} lines in, nothing out`, command: c.command.join(' ') });
    }
    return { failures, undetectable: 0, commands: 1, ms: 0 };
  }

  private async command(argv: string[], failures: Failure[], stdin?: string): Promise<CommandRun> {
    const [id, ...rest] = argv as [string, ...string[]];
    const run = await runCommand(id, rest, stdin, { VMPIPE_MAX_LINE: MAX_LINE, FORCE_COLOR: '0' });
    const rss = process.memoryUsage().rss;
    this.peakRss = Math.max(this.peakRss, rss);
    failures.push(...classify(run, argv.join(' '), rss));
    return run;
  }

  /** Each page of the base read from the damaged copy: right bytes, or a problem; never other bytes unannounced. */
  private checkPages(base: Base, path: string, damages: Damage[]): { failures: Failure[]; undetectable: number } {
    let dump: Dump;
    try {
      dump = openDump(path);
    } catch {
      return { failures: [], undetectable: 0 }; // refused at open: exit 4, checked by the command runs
    }
    const good = this.goodDump(base);
    let wrong = 0;
    let firstWrong: bigint | undefined;
    try {
      for (const addr of base.pages) {
        const got = dump.readPhysical(addr, base.pageSize);
        const want = good.readPhysical(addr, base.pageSize);
        for (const chunk of got) {
          if (!('bytes' in chunk)) continue;
          const ref = want.find((w) => 'bytes' in w && w.paddr <= chunk.paddr && chunk.paddr + BigInt(chunk.bytes.length) <= w.paddr + BigInt(w.bytes.length));
          const same = ref && 'bytes' in ref && Buffer.from(ref.bytes.subarray(Number(chunk.paddr - ref.paddr), Number(chunk.paddr - ref.paddr) + chunk.bytes.length)).equals(chunk.bytes);
          if (!same) {
            wrong++;
            firstWrong ??= chunk.paddr;
          }
        }
      }
    } catch (err) {
      dump.close();
      return { failures: [{ class: 'internal-error', detail: `readPhysical threw: ${(err as Error).message}` }], undetectable: 0 };
    }
    const announced = dump.warnings.length > 0;
    dump.close();
    if (wrong === 0) return { failures: [], undetectable: 0 };
    if (announced || !damages.every((d) => detectable(base.name, d))) return { failures: [], undetectable: wrong };
    return { failures: [{ class: 'wrong-page', detail: `${wrong} page reads gave other bytes without an error, first at 0x${firstWrong!.toString(16)}` }], undetectable: 0 };
  }

  private goodDump(base: Base): Dump {
    let d = this.good.get(base.path);
    if (!d) {
      d = openDump(base.path);
      this.good.set(base.path, d);
    }
    return d;
  }

  close(): void {
    for (const d of this.good.values()) d.close();
  }
}

/** What is wrong with one command run, by class (empty when nothing is). */
export function classify(run: CommandRun, name: string, rss = 0): Failure[] {
  const failures: Failure[] = [];
  const first = run.stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  if (run.code === -1 || /internal error/.test(run.stderr)) failures.push({ class: 'internal-error', detail: first.slice(0, 300), command: name });
  else if (!DOCUMENTED.has(run.code)) failures.push({ class: 'exit-code', detail: `exit ${run.code}: ${first.slice(0, 200)}`, command: name });
  if (/^\s+at .+(\(|:\d+:\d+)/m.test(run.stderr)) failures.push({ class: 'stack-trace', detail: first.slice(0, 200), command: name });
  if (run.ms > LIMITS.ms) failures.push({ class: 'slow', detail: `${Math.round(run.ms)} ms`, command: name });
  if (rss > LIMITS.rssBytes) failures.push({ class: 'memory', detail: `rss ${Math.round(rss / 2 ** 20)} MiB`, command: name });
  return failures;
}

/**
 * Damage a reader can see without checksums the formats do not have: cuts, VMCOREINFO and notes.
 * Page data is not: pages stored raw (the shared zero page, incompressible pages, the raw bases)
 * and lzo/snappy pages carry no check; zlib pages do (adler32), tested in packages/dump.
 */
function detectable(_base: BaseName, d: Damage): boolean {
  if (d.kind === 'truncate' || d.kind === 'vmcoreinfo') return true;
  return d.region === 'vmcoreinfo' || d.region === 'notes';
}

/** A damaged copy of a base. */
export function damage(base: Base, damages: Damage[]): Uint8Array {
  let bytes = Buffer.from(base.bytes);
  for (const d of damages) {
    if (d.kind === 'truncate') bytes = bytes.subarray(0, Math.floor(bytes.length * d.at));
    else if (d.kind === 'flip') {
      const r = base.regions[d.region] ?? { offset: 0, size: bytes.length };
      const at = r.offset + Math.floor(Math.max(0, r.size - d.width) * d.at);
      if (at < 0 || at + d.width > bytes.length) continue;
      for (let i = 0; i < d.width; i++) {
        const v = Number((d.value >> BigInt(8 * i)) & 0xffn);
        bytes[at + i] = d.how === 'xor' ? bytes[at + i]! ^ v : v;
      }
    } else if (d.kind === 'smash') {
      const r = base.regions[d.region] ?? { offset: 0, size: bytes.length };
      const start = r.offset + Math.floor(Math.max(0, r.size - d.length) * d.at);
      const end = Math.min(bytes.length, start + d.length, r.offset + r.size);
      let x = d.seed | 1;
      for (let i = end - 1; i >= start; i--) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = d.fill === 'zero' ? 0 : d.fill === 'ones' ? 0xff : d.fill === 'noise' ? x & 0xff : bytes[i - 1] ?? 0;
      }
    } else {
      const r = base.regions['vmcoreinfo'];
      if (!r || r.offset + r.size > bytes.length) continue;
      const text = bytes.subarray(r.offset, r.offset + r.size).toString('latin1');
      const lines = text.split('\n');
      const i = d.key % Math.max(1, lines.length);
      const eq = lines[i]!.indexOf('=');
      if (eq < 0) continue;
      lines[i] = lines[i]!.slice(0, eq + 1) + d.value;
      // Same length as before: the headers that point at the text stay true.
      let next = lines.join('\n');
      next = next.length > r.size ? next.slice(0, r.size) : next + '\0'.repeat(r.size - next.length);
      bytes.write(next, r.offset, 'latin1');
    }
  }
  return bytes;
}
