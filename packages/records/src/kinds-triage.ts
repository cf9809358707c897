/**
 * Record kinds of crash triage: `signature` (one per crash) and `bucket` (crashes that are
 * the same bug). Contract fields (shared/design/RECORDS.md) first.
 */

export interface SignatureRecord {
  kind: 'signature';
  /** syzbot's style: the crash type and the guilty function, `general protection fault in deferred_split_scan` */
  title: string;
  /** GPF, NULL dereference, paging request, BUG, WARNING, list corruption, soft lockup, hard lockup, hung task, RCU stall, KASAN, UBSAN, panic message, sysrq, ... */
  crashType: string;
  /** the first frame that is not reporting machinery, clone suffixes taken off; null when none is known */
  guilty: string | null;
  /** the guilty frame's module, when it is in one */
  module?: string;
  /** 16 hex digits of SHA-256 over the crash type and the top meaningful frames (names only) */
  hash: string;
  release: string | null;
  /** `Not tainted` or the taint flags as printed */
  taint: string | null;
  /** ISO 8601 UTC when known (the dump's crash time, a dated console line) */
  crashTime: string | null;
  /** true when the report cannot give a reliable title; `reason` says why */
  corrupted: boolean;
  reason?: string;
  /** where the frames came from when not from the report's own call trace (a `frame` record stream) */
  note?: string;
  /** the dump (path as given), or `log` for console text */
  dump?: string;
  log?: string;
  /** 1-based line of the report's first line in the log */
  line?: number;
  /** the line that says what went wrong */
  headline: string;
  /** the frames the hash is made of */
  frames: string[];
  cpu?: number | null;
  pid?: number | null;
  comm?: string | null;
  /** the report as printed: headline, the task line, RIP, call trace (a few dozen lines at most) */
  trace: string[];
}

export interface BucketRecord {
  kind: 'bucket';
  title: string;
  hash: string;
  count: number;
  /** earliest and latest crashTime of the bucket's crashes (null when none had a time) */
  firstSeen: string | null;
  lastSeen: string | null;
  releases: string[];
  /** dump or log paths (log paths as `path:line`), the first few */
  examples: string[];
  crashType: string;
  guilty: string | null;
  module?: string;
  /** how many of the bucket's crashes were marked corrupted */
  corrupted: number;
  /** crashes per UTC day (`YYYY-MM-DD` → count), for the report's chart */
  days: Record<string, number>;
  /** the first crash's report lines */
  trace: string[];
}
