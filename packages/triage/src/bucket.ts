/**
 * Buckets: crashes that are the same bug (the same signature hash), with how often and
 * when each happened, on which kernels, and where to look at one.
 */
import type { BucketRecord, SignatureRecord } from '@vmpipe/records';

/** Examples kept per bucket: enough to open one or compare two. */
const EXAMPLES = 5;

export class Buckets {
  private readonly byHash = new Map<string, BucketRecord>();

  add(s: SignatureRecord): void {
    let b = this.byHash.get(s.hash);
    if (!b) {
      b = {
        kind: 'bucket',
        title: s.title,
        hash: s.hash,
        count: 0,
        firstSeen: null,
        lastSeen: null,
        releases: [],
        examples: [],
        crashType: s.crashType,
        guilty: s.guilty,
        corrupted: 0,
        days: {},
        trace: s.trace,
      };
      if (s.module !== undefined) b.module = s.module;
      this.byHash.set(s.hash, b);
    }
    b.count++;
    if (s.corrupted) b.corrupted++;
    if (s.release && !b.releases.includes(s.release)) b.releases.push(s.release);
    const where = s.dump ?? (s.log !== undefined ? (s.line !== undefined ? `${s.log}:${s.line}` : s.log) : undefined);
    if (where !== undefined && b.examples.length < EXAMPLES && !b.examples.includes(where)) b.examples.push(where);
    if (s.crashTime) {
      if (b.firstSeen === null || s.crashTime < b.firstSeen) b.firstSeen = s.crashTime;
      if (b.lastSeen === null || s.crashTime > b.lastSeen) b.lastSeen = s.crashTime;
      const day = s.crashTime.slice(0, 10);
      b.days[day] = (b.days[day] ?? 0) + 1;
    }
  }

  /** Most frequent first; equal counts by title, so the order is stable. */
  records(): BucketRecord[] {
    return [...this.byHash.values()].sort((a, b) => b.count - a.count || a.title.localeCompare(b.title) || a.hash.localeCompare(b.hash));
  }
}
