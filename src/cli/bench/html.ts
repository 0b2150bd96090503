/**
 * `--html FILE`: one self-contained page (no network): the table, a uPlot latency-percentile chart
 * per pattern, and bars for the per-delivery costs. uPlot is inlined from the build's copy
 * (dist/cli/bench/vendor, written by scripts/build-client.mjs) or from node_modules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from './report.js';

function uplotSource(): { js: string; css: string } {
  const vendor = (file: string): string => fileURLToPath(new URL(`./vendor/${file}`, import.meta.url));
  if (existsSync(vendor('uPlot.iife.min.js'))) {
    return {
      js: readFileSync(vendor('uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(vendor('uPlot.min.css'), 'utf8'),
    };
  }
  try {
    const require = createRequire(import.meta.url);
    return {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  } catch {
    throw new Error(
      '--html needs uPlot: this build has no vendor copy and the uplot package is not installed',
    );
  }
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Latency at percentiles 0, 0.5, …, 100 from each pattern's sorted samples (aligned for uPlot). */
function percentileSeries(report: BenchReport): {
  x: number[];
  series: Array<{ name: string; y: Array<number | null> }>;
} {
  const x = Array.from({ length: 201 }, (_, i) => i / 2);
  const series = report.patterns
    .filter((r) => r.available && r.latencySampleMs.length > 0)
    .map((r) => ({
      name: r.pattern,
      y: x.map((p) => {
        const s = r.latencySampleMs;
        return Number(s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))]!.toFixed(3));
      }),
    }));
  return { x, series };
}

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function renderHtml(report: BenchReport, table: string): string {
  const { js, css } = uplotSource();
  const chart = percentileSeries(report);
  const available = report.patterns.filter((r) => r.available);
  const bars = (label: string, unit: string, value: (r: (typeof available)[0]) => number): string => {
    const max = Math.max(...available.map(value).filter(Number.isFinite), 0) || 1;
    return `<h2>${escapeHtml(label)}</h2><div class="bars">${available
      .map((r, i) => {
        const v = value(r);
        const width = Number.isFinite(v) ? Math.max(0.5, (v / max) * 100) : 0;
        return `<div class="bar"><span class="name">${escapeHtml(r.pattern)}</span><span class="fill" style="width:${width.toFixed(1)}%;background:${COLORS[i % COLORS.length]}"></span><span class="value">${Number.isFinite(v) ? v.toFixed(v < 10 ? 3 : 1) : '-'} ${unit}</span></div>`;
      })
      .join('')}</div>`;
  };
  // JSON inside <script>: `<` escaped so no string can close the tag.
  const data = JSON.stringify(chart).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchboard pattern lab</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;max-width:1100px;color:#111}
pre{background:#f5f5f5;padding:1rem;overflow-x:auto;font-size:12px}
.bars{display:grid;gap:4px;margin-bottom:1.5rem}.bar{display:grid;grid-template-columns:7rem 1fr 9rem;align-items:center;gap:.5rem}
.fill{height:14px;border-radius:2px;display:block}.value{font-variant-numeric:tabular-nums}
</style></head><body>
<h1>Switchboard pattern lab</h1>
<p>${escapeHtml(report.startedAt)} — ${report.settings.subscribers} subscribers per pattern, ${report.settings.rate} msg/s for ${report.settings.seconds} s, ${report.settings.size}-byte messages. Measured on this machine; see docs/pattern-lab.md for how.</p>
<pre>${escapeHtml(table)}</pre>
<h2>Delivery latency by percentile (ms)</h2>
<div id="latency"></div>
${bars('Requests per delivery', '', (r) => r.requestsPerDelivery)}
${bars('Bytes on the wire per delivery', 'B', (r) => r.bytesPerDelivery)}
${bars('Server CPU per delivery', 'µs', (r) => r.serverCpuUsPerDelivery)}
${bars('Deliveries per second', '/s', (r) => r.deliveriesPerSecond)}
<script>${js}</script>
<script>
const chart = ${data};
const colors = ${JSON.stringify(COLORS)};
new uPlot({
  width: Math.min(1000, document.body.clientWidth), height: 360,
  scales: { x: { time: false }, y: { distr: 3 } },
  axes: [{ label: 'percentile' }, { label: 'ms' }],
  series: [{ label: 'percentile' }, ...chart.series.map((s, i) => ({ label: s.name, stroke: colors[i % colors.length], width: 2 }))],
}, [chart.x, ...chart.series.map((s) => s.y)], document.getElementById('latency'));
</script>
</body></html>
`;
}
