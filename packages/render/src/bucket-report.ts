import { createHash } from 'node:crypto';
import type { BucketRecord } from '@vmpipe/records';

/**
 * `triage --group --report FILE`: one self-contained HTML page (no network, no external
 * file) with the bucket table, a chart of crashes per bucket over time and each bucket's
 * example trace. Everything that came from a dump or a log (titles, comms, module names,
 * log lines, paths) is text: escaped into the HTML, and into the chart's data as JSON that
 * cannot close its <script> element; the chart's script only ever sets textContent.
 */

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** JSON safe inside <script>: no `<`, `>`, `&` or line separators as themselves. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}h3{font-size:1em;margin:1.2em 0 .3em}
table{border-collapse:collapse;width:100%}td{overflow-wrap:anywhere}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right}code,pre{font:12px/1.35 ui-monospace,monospace}
pre{background:#f8f8f8;border:1px solid #ddd;padding:.6em;overflow-x:auto;max-height:28em}
.corrupt{color:#a40}.muted{color:#777}#legend span{display:inline-block;margin-right:1em}
#legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:middle}
`;

/** Draws #timeline from the JSON in #triage-data: stacked bars per day, or counts when no crash has a time. */
const CHART = `
(function () {
  var data = JSON.parse(document.getElementById('triage-data').textContent);
  var svg = document.getElementById('timeline');
  var legend = document.getElementById('legend');
  var NS = 'http://www.w3.org/2000/svg';
  var colors = ['#4e79a7','#f28e2b','#e15759','#76b7b2','#59a14f','#edc948','#b07aa1','#ff9da7','#9c755f'];
  function el(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  }
  var W = 900, H = 260, L = 40, B = 40, T = 10;
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  var top = data.buckets.slice(0, colors.length - 1);
  var days = {};
  data.buckets.forEach(function (b) { for (var d in b.days) days[d] = true; });
  var dayList = Object.keys(days).sort();
  if (dayList.length > 0) {
    // Days when the crashes span a quarter at most, else months, else years: every bin drawn, empty ones too.
    var first = new Date(dayList[0] + 'T00:00:00Z'), last = new Date(dayList[dayList.length - 1] + 'T00:00:00Z');
    var spanDays = (last.getTime() - first.getTime()) / 86400000;
    var unit = spanDays <= 92 ? 'day' : spanDays <= 366 * 5 ? 'month' : 'year';
    var keyOf = function (d) { return unit === 'day' ? d : unit === 'month' ? d.slice(0, 7) : d.slice(0, 4); };
    var all = [];
    for (var c = new Date(first.getTime()); c.getTime() <= last.getTime(); ) {
      var k = keyOf(c.toISOString().slice(0, 10));
      if (all[all.length - 1] !== k) all.push(k);
      if (unit === 'day') c.setUTCDate(c.getUTCDate() + 1); else if (unit === 'month') c.setUTCMonth(c.getUTCMonth() + 1, 1); else c.setUTCFullYear(c.getUTCFullYear() + 1, 0, 1);
    }
    if (all[all.length - 1] !== keyOf(dayList[dayList.length - 1])) all.push(keyOf(dayList[dayList.length - 1]));
    var perBin = data.buckets.map(function (b) {
      var m = {};
      for (var d in b.days) m[keyOf(d)] = (m[keyOf(d)] || 0) + b.days[d];
      return m;
    });
    var totals = all.map(function (k) { return perBin.reduce(function (s, m) { return s + (m[k] || 0); }, 0); });
    var max = Math.max.apply(null, totals.concat([1]));
    var bw = (W - L - 10) / all.length;
    all.forEach(function (k, i) {
      var y = H - B;
      data.buckets.forEach(function (b, j) {
        var n = perBin[j][k] || 0;
        if (!n) return;
        var h = n / max * (H - B - T);
        y -= h;
        var r = el('rect', { 'class': 'bar', x: L + i * bw + 1, y: y, width: Math.max(1, bw - 2), height: h, fill: colors[Math.min(j, colors.length - 1)] });
        var tip = document.createElementNS(NS, 'title');
        tip.textContent = k + ': ' + n + ' x ' + b.title;
        r.appendChild(tip);
      });
      if (all.length <= 31 || i % Math.ceil(all.length / 15) === 0) el('text', { x: L + i * bw + bw / 2, y: H - B + 14, 'font-size': 10, 'text-anchor': 'middle' }, unit === 'day' ? k.slice(5) : k);
    });
    el('text', { x: L - 6, y: T + 10, 'font-size': 10, 'text-anchor': 'end' }, String(max));
    el('text', { x: L - 6, y: H - B, 'font-size': 10, 'text-anchor': 'end' }, '0');
    el('text', { x: L, y: H - 6, 'font-size': 11 }, 'crashes per ' + unit + ' (UTC), stacked by bucket; crashes without a time are not in the chart');
  } else {
    var maxc = Math.max.apply(null, data.buckets.map(function (b) { return b.count; }).concat([1]));
    var rows = data.buckets.slice(0, 12), rh = (H - T - 20) / Math.max(rows.length, 1);
    rows.forEach(function (b, j) {
      el('rect', { 'class': 'bar', x: L, y: T + j * rh, width: Math.max(1, b.count / maxc * (W - L - 60)), height: rh * 0.7, fill: colors[Math.min(j, colors.length - 1)] });
      el('text', { x: L + b.count / maxc * (W - L - 60) + 4, y: T + j * rh + rh * 0.55, 'font-size': 10 }, String(b.count));
    });
    el('text', { x: L, y: H - 6, 'font-size': 11 }, 'no crash times known: crashes per bucket');
  }
  top.forEach(function (b, j) {
    var s = document.createElement('span'), i = document.createElement('i');
    i.style.background = colors[j];
    s.appendChild(i);
    s.appendChild(document.createTextNode(b.title + ' (' + b.count + ')'));
    legend.appendChild(s);
  });
  svg.setAttribute('data-drawn', String(svg.querySelectorAll('rect.bar').length));
})();
`;

/** The page runs this one script and nothing else: even markup that escaped escaping could not run. */
const CHART_HASH = createHash('sha256').update(CHART).digest('base64');

export interface ReportOptions {
  /** when the report was made (ISO 8601); the page says so */
  generated?: string;
  title?: string;
}

export function bucketReport(buckets: BucketRecord[], opts: ReportOptions = {}): string {
  const sorted = [...buckets].sort((a, b) => b.count - a.count || a.title.localeCompare(b.title));
  const total = sorted.reduce((s, b) => s + b.count, 0);
  const title = opts.title ?? 'vmpipe triage';
  const day = (t: string | null) => (t ? escapeHtml(t.slice(0, 10)) : '<span class="muted">-</span>');
  const rows = sorted.map((b, i) => {
    const corrupt = b.corrupted > 0 ? ` <span class="corrupt" title="reports marked corrupted">(${b.corrupted} corrupted)</span>` : '';
    return `<tr><td class="n">${i + 1}</td><td class="n">${b.count}</td><td><a href="#b-${escapeHtml(b.hash)}">${escapeHtml(b.title)}</a>${corrupt}</td>` +
      `<td>${escapeHtml(b.crashType)}</td><td><code>${escapeHtml(b.guilty ?? '-')}</code>${b.module ? ` [${escapeHtml(b.module)}]` : ''}</td>` +
      `<td>${day(b.firstSeen)}</td><td>${day(b.lastSeen)}</td><td>${b.releases.map(escapeHtml).join('<br>')}</td><td><code>${escapeHtml(b.hash)}</code></td></tr>`;
  });
  const sections = sorted.map(
    (b) =>
      `<section id="b-${escapeHtml(b.hash)}"><h3>${escapeHtml(b.title)} <span class="muted">(${b.count})</span></h3>` +
      `<p>examples: ${b.examples.map((e) => `<code>${escapeHtml(e)}</code>`).join(', ') || '-'}</p>` +
      `<pre>${escapeHtml(b.trace.join('\n'))}</pre></section>`,
  );
  const data = { buckets: sorted.map((b) => ({ title: b.title, hash: b.hash, count: b.count, days: b.days })) };
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${CHART_HASH}'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>${total} crash${total === 1 ? '' : 'es'} in ${sorted.length} bucket${sorted.length === 1 ? '' : 's'}${opts.generated ? `; made ${escapeHtml(opts.generated)}` : ''}.</p>
<h2>Crashes over time</h2>
<svg id="timeline" role="img" aria-label="crashes per bucket over time" width="900" height="260"></svg>
<div id="legend"></div>
<h2>Buckets</h2>
<table id="buckets"><thead><tr><th>#</th><th>count</th><th>title</th><th>type</th><th>guilty</th><th>first</th><th>last</th><th>releases</th><th>hash</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<h2>Example traces</h2>
${sections.join('\n')}
<script type="application/json" id="triage-data">${scriptJson(data)}</script>
<script>${CHART}</script>
</body></html>
`;
}
