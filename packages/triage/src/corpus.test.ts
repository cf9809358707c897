/**
 * The corpus (fixtures/triage/corpus.json): 100 oops texts quoted from public bug reports, each
 * cited by URL with the title its reporter gave it (`reported`) and the title, crash type and
 * corrupted mark a person assigned by syzbot's rules (syzkaller pkg/report/linux.go) on reading
 * the text (`title`, `crashType`, `corrupted`; `reports` and `also` when a text holds several
 * reports, such as three hung-task messages one after another). Register dumps, Code: lines and long module lists
 * are left out of the quotes; nothing else is changed.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { signaturesOfText } from './index.js';

const dir = fileURLToPath(new URL('../../../fixtures/triage/', import.meta.url));

interface Entry {
  file: string;
  url: string;
  reported: string;
  title: string;
  crashType: string;
  corrupted: boolean;
  /** how many reports the text holds when more than one (interleaved or back-to-back reports) */
  reports?: number;
  /** the titles of the reports after the first */
  also?: string[];
}

const corpus = JSON.parse(readFileSync(dir + 'corpus.json', 'utf8')) as Entry[];

test('the corpus: at least 100 texts, each cited, of many kinds', (t) => {
  t.true(corpus.length >= 100);
  for (const e of corpus) t.regex(e.url, /^https?:\/\/\S+$/, e.file);
  t.is(new Set(corpus.map((e) => e.file)).size, corpus.length);
  const kinds = new Set(corpus.map((e) => e.crashType));
  for (const k of ['GPF', 'NULL dereference', 'paging request', 'BUG', 'WARNING', 'list corruption', 'soft lockup', 'hard lockup', 'hung task', 'KASAN', 'UBSAN', 'panic message', 'sysrq', 'lockdep', 'refcount', 'divide error', 'RCU stall', 'bad page']) {
    t.true(kinds.has(k), k);
  }
});

for (const e of corpus) {
  test(`${e.file}: ${e.title}`, async (t) => {
    const sigs = await signaturesOfText(readFileSync(dir + e.file), e.file);
    t.is(sigs.length, e.reports ?? 1, 'reports in the text');
    t.deepEqual(sigs.slice(1).map((x) => x.title), e.also ?? []);
    const s = sigs[0]!;
    t.is(s.title, e.title);
    t.is(s.crashType, e.crashType);
    t.is(s.corrupted, e.corrupted, s.reason ?? '');
    t.regex(s.hash, /^[0-9a-f]{16}$/);
  });
}
