/**
 * The HTML report (triage --report) opened in a real browser: Chromium from Debian's packages,
 * headless, loading the file with no network. The test reads the DOM after the page's script
 * ran: the bucket table is there, the chart is drawn, and text from dumps and logs that looks
 * like markup (`<script>`, `"><img onerror=...>`) is text, not markup. Skips with a log line
 * when chromium is not installed (.ci/run installs it).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BucketRecord } from '@vmpipe/records';
import { bucketReport, escapeHtml } from './index.js';

const XSS_SCRIPT = '<script>document.body.setAttribute("data-pwned","script")</script>';
const XSS_IMG = '"><img src=x onerror="document.body.setAttribute(\'data-pwned\',\'img\')">';

const buckets: BucketRecord[] = [
  {
    kind: 'bucket', title: 'BUG: unable to handle kernel NULL pointer dereference in zap_leaf_lookup', hash: '0123456789abcdef', count: 3,
    firstSeen: '2026-11-01T10:00:00.000Z', lastSeen: '2026-11-03T12:00:00.000Z', releases: ['5.17.0-1013-oem'], examples: ['dumps/a/vmcore', 'dumps/b/vmcore'],
    crashType: 'NULL dereference', guilty: 'zap_leaf_lookup', module: 'zfs', corrupted: 0, days: { '2026-11-01': 2, '2026-11-03': 1 },
    trace: ['BUG: kernel NULL pointer dereference, address: 0000000000000020', `CPU: 5 PID: 2962 Comm: ${XSS_SCRIPT} Tainted: P O 5.17.0 #1`, 'Call Trace:', ' fzap_length+0x85/0xf0 [zfs]'],
  },
  {
    kind: 'bucket', title: `WARNING in ${XSS_IMG}`, hash: 'fedcba9876543210', count: 1,
    firstSeen: '2026-11-02T08:00:00.000Z', lastSeen: '2026-11-02T08:00:00.000Z', releases: ['6.1.0'], examples: [`logs/${XSS_IMG}.log:12`],
    crashType: 'WARNING', guilty: 'x', module: XSS_SCRIPT, corrupted: 1, days: { '2026-11-02': 1 },
    trace: [`WARNING: CPU: 1 PID: 2 at x.c:1 x+0x1/0x2`, XSS_IMG],
  },
];

test('escapeHtml: the five characters that matter', (t) => {
  t.is(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
});

test('the page is self-contained: no URL the browser would fetch, data kept out of script', (t) => {
  const html = bucketReport(buckets, { generated: '2026-11-29T00:00:00.000Z' });
  t.notRegex(html, /\b(src|href)=["']?(https?:|\/\/)/);
  t.notRegex(html, /<link\b/);
  t.false(html.includes(XSS_SCRIPT), 'the script tag from a comm appears only escaped');
  t.false(html.includes('<img'), 'no img element');
  // The chart's JSON cannot end its <script> element.
  const data = /<script type="application\/json" id="triage-data">([^]*?)<\/script>/.exec(html)![1]!;
  t.false(data.includes('<'));
  t.is(JSON.parse(data).buckets[1].title, `WARNING in ${XSS_IMG}`);
  t.regex(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-[A-Za-z0-9+/=]+'/);
});

function chromium(): string | null {
  for (const name of ['chromium', 'chromium-browser']) {
    if (spawnSync(name, ['--version'], { encoding: 'utf8' }).status === 0) return name;
  }
  return null;
}

test('in headless Chromium: the table, the chart drawn, markup from dumps shown as text', (t) => {
  const browser = chromium();
  if (!browser) {
    t.log('chromium not on PATH: skipped (apt-get install chromium)');
    t.pass();
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'vmpipe-report-'));
  try {
    const file = join(dir, 'report.html');
    writeFileSync(file, bucketReport(buckets, { generated: '2026-11-29T00:00:00.000Z' }));
    const profile = mkdtempSync(join(dir, 'profile-'));
    const r = spawnSync(
      browser,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', `--user-data-dir=${profile}`, '--virtual-time-budget=2000', '--dump-dom', `file://${file}`],
      { encoding: 'utf8', timeout: 90_000 },
    );
    t.is(r.status, 0, r.stderr);
    const dom = r.stdout;
    // The table, with one row per bucket, most frequent first.
    const rows = [...dom.matchAll(/<tr><td class="n">(\d+)<\/td><td class="n">(\d+)<\/td>/g)].map((m) => [Number(m[1]), Number(m[2])]);
    t.deepEqual(rows, [[1, 3], [2, 1]]);
    // The chart: drawn by the page's script in the browser (3 bars over 3 days; none before it ran).
    t.regex(dom, /<svg id="timeline"[^>]*data-drawn="3"/);
    t.is([...dom.matchAll(/<rect class="bar"/g)].length, 3);
    t.regex(dom, /<div id="legend"><span>/);
    // Markup from dumps and logs is text: no element it would have made, nothing it would have run.
    t.notRegex(dom, /<body[^>]*data-pwned/, 'no injected handler ran');
    t.false(/<img\b/.test(dom), 'no img element');
    t.is((dom.match(/<script\b/g) ?? []).length, 2, 'only the page\'s own two script elements');
    // The browser serialises a text node escaping only &, < and >.
    const asText = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    t.true(dom.includes(`Comm: ${asText(XSS_SCRIPT)} Tainted`), 'the comm shows as text in the trace');
    t.true(dom.includes(`>WARNING in ${asText(XSS_IMG)}</a>`), 'the title shows as text in the table');
    t.true(dom.includes(`<pre>WARNING: CPU: 1 PID: 2 at x.c:1 x+0x1/0x2\n${asText(XSS_IMG)}</pre>`), 'the log line shows as text in the trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
