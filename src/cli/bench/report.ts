/** The lab's outputs: the terminal table and the `--json` document (its shape is documented in docs/pattern-lab.md). */
import type { PatternResult } from './run.js';

export interface BenchReport {
  /** bumped when a field changes meaning or goes away */
  version: 1;
  startedAt: string;
  server: { url: string; startedByBench: boolean };
  settings: { subscribers: number; rate: number; seconds: number; size: number; pollIntervalMs: number };
  patterns: PatternResult[];
}

const fixed = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';
const whole = (value: number): string =>
  Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';

export function renderTable(report: BenchReport): string {
  const headers = [
    'pattern',
    'delivered',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'deliveries/s',
    'requests/delivery',
    'bytes/delivery',
    'server CPU µs/delivery',
  ];
  const available = report.patterns.filter((r) => r.available);
  const rows = available.map((r) => [
    r.pattern,
    r.delivered === r.expected
      ? `all ${whole(r.delivered)}`
      : `${whole(r.delivered)} of ${whole(r.expected)}`,
    fixed(r.latencyMs.p50, 2),
    fixed(r.latencyMs.p95, 2),
    fixed(r.latencyMs.p99, 2),
    whole(r.deliveriesPerSecond),
    fixed(r.requestsPerDelivery, 3),
    whole(r.bytesPerDelivery),
    fixed(r.serverCpuUsPerDelivery, 1),
  ]);
  const widths = headers.map((h, i) =>
    Math.max(
      h.length,
      ...rows.map((row) => row[i]!.length),
      ...(i === 0 ? report.patterns.map((r) => r.pattern.length) : []),
    ),
  );
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const unavailable = report.patterns
    .filter((r) => !r.available)
    .map((r) => `${r.pattern.padEnd(widths[0]!)}  ${r.error ?? 'not available'}`);
  const { settings } = report;
  return [
    `switchboard bench — ${settings.subscribers} subscribers per pattern, ${settings.rate} msg/s for ${settings.seconds} s, ${settings.size}-byte messages, short polls every ${settings.pollIntervalMs} ms`,
    `server: ${report.server.url}${report.server.startedByBench ? ' (started by bench, memory engine)' : ''}`,
    '',
    line(headers),
    ...rows.map(line),
    ...unavailable,
    '',
    'latency: publish request sent → message parsed by the subscriber (same clock). requests and bytes: counted at the',
    'subscribers (webhooks: at the receiver), both directions, from the first measured publish (set-up and warm-up excluded). CPU: the server process, /metrics.',
    ...report.patterns.filter((r) => r.available && r.error).map((r) => `note: ${r.pattern}: ${r.error}`),
  ].join('\n');
}
