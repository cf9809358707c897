/**
 * A run of the harness: `cases` cases drawn by fast-check from `seed`, each
 * checked, failures gathered by class with the case's index so it replays
 * (`--seed S --only I`).
 */
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE, haveFixture, makeBases, sha256, MK_BASES, REAL_BASES, type BaseName } from './bases.js';
import { caseArb, describe, type Case } from './cases.js';
import { Checker, type FailureClass } from './check.js';

export interface FuzzReport {
  seed: number;
  cases: number;
  commands: number;
  failures: { index: number; class: FailureClass; detail: string; command?: string; case: string }[];
  byClass: Partial<Record<FailureClass, number>>;
  undetectable: number;
  ms: number;
  peakRssBytes: number;
  slowest: { index: number; ms: number };
}

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** run only the case with this index (a replay) */
  only?: number;
  /** share of cases on the real-fixture bases whose kernel readers are slow (default: all bases alike) */
  bases?: BaseName[];
  progress?: (done: number, total: number, failures: number) => void;
}

export async function fuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-fuzz-'));
  const fixtureBefore = haveFixture() ? sha256(readFileSync(FIXTURE)) : undefined;
  const names = opts.bases ?? [...MK_BASES, ...(haveFixture() ? REAL_BASES : [])];
  const bases = await makeBases(dir, names);
  const checker = new Checker(bases, dir);
  // Case i is drawn from seed + i alone: the same whatever `only` picks, and never all held at once.
  const arb = caseArb([...bases.keys()]);
  const caseAt = (i: number): Case => fc.sample(arb, { seed: opts.seed + i, numRuns: 1 })[0]!;
  const report: FuzzReport = { seed: opts.seed, cases: 0, commands: 0, failures: [], byClass: {}, undetectable: 0, ms: 0, peakRssBytes: 0, slowest: { index: -1, ms: 0 } };
  const start = performance.now();
  try {
    for (let i = opts.only ?? 0; i < (opts.only !== undefined ? opts.only + 1 : opts.cases); i++) {
      const c = caseAt(i);
      const r = await checker.run(c);
      report.cases++;
      report.commands += r.commands;
      report.undetectable += r.undetectable;
      if (r.ms > report.slowest.ms) report.slowest = { index: i, ms: Math.round(r.ms) };
      for (const f of r.failures) {
        report.failures.push({ index: i, ...f, case: describe(c) });
        report.byClass[f.class] = (report.byClass[f.class] ?? 0) + 1;
      }
      opts.progress?.(report.cases, opts.only !== undefined ? 1 : opts.cases, report.failures.length);
    }
  } finally {
    checker.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (fixtureBefore !== undefined && sha256(readFileSync(FIXTURE)) !== fixtureBefore) {
    report.failures.push({ index: -1, class: 'input-changed', detail: `${FIXTURE} changed during the run`, case: '' });
    report.byClass['input-changed'] = (report.byClass['input-changed'] ?? 0) + 1;
  }
  report.ms = Math.round(performance.now() - start);
  report.peakRssBytes = checker.peakRss;
  return report;
}
