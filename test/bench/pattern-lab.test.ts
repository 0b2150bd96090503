/**
 * `switchboard bench` end to end at a tiny load: it starts its own server (a child process), drives
 * every pattern, and its --json answer has the documented shape with every message delivered to
 * every subscriber. Runs the built CLI (npm test builds first), or the sources under tsx without one.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPattern } from '../../src/cli/bench/patterns.js';
import { CLI } from '../support/process.js';

const SOURCE = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SOURCES = fileURLToPath(new URL('../../src/cli/bench/', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/bench/', import.meta.url));
// The build when it is current (npm test builds first), else the sources.
const built =
  existsSync(CLI) &&
  readdirSync(SOURCES, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .every((file) => {
      const output = join(BUILT, file.replace(/[.]ts$/, '.js'));
      return existsSync(output) && statSync(output).mtimeMs >= statSync(join(SOURCES, file)).mtimeMs;
    });
const command = built ? [CLI] : ['--import', 'tsx', SOURCE];
const PUSH = ['ws', 'sse', 'grpc', 'graphql', 'mqtt'];
const ALL = ['ws', 'sse', 'longpoll', 'poll', 'webhook', 'grpc', 'graphql', 'mqtt'];
const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-test-'));

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...command, 'bench', ...args],
      { timeout: 170_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface Row {
  pattern: string;
  available: boolean;
  error?: string;
  subscribers: number;
  published: number;
  expected: number;
  delivered: number;
  deliveriesPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  requestsPerDelivery: number;
  bytesPerDelivery: number;
  serverCpuUsPerDelivery: number;
}

describe('switchboard bench', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every pattern with --json: every message reaches every subscriber', {
    timeout: 180_000,
  }, async () => {
    const html = join(dir, 'lab.html');
    const run = await bench([
      '--seconds',
      '2',
      '--subscribers',
      '3',
      '--rate',
      '5',
      '--poll-interval',
      '20',
      '--json',
      '--html',
      html,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as {
      version: number;
      server: { url: string; startedByBench: boolean };
      settings: { subscribers: number; rate: number; seconds: number; size: number; pollIntervalMs: number };
      patterns: Row[];
    };
    expect(report.version).toBe(1);
    expect(report.server.startedByBench).toBe(true);
    expect(report.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(report.settings).toEqual({ subscribers: 3, rate: 5, seconds: 2, size: 100, pollIntervalMs: 20 });
    // Every pattern has a row, in order (all eight doors are in this build).
    expect(report.patterns.map((r) => r.pattern)).toEqual(ALL);
    const byName = new Map(report.patterns.map((r) => [r.pattern, r]));
    for (const name of ALL) {
      const row = byName.get(name)!;
      expect(row.available, `${name}: ${row.error}`).toBe(true);
      expect(row.error, name).toBeUndefined();
      expect(row.published, name).toBe(10);
      expect(row.expected, name).toBe(row.published * row.subscribers);
      expect(row.delivered, name).toBe(row.expected);
      expect(row.latencyMs.p50, name).toBeGreaterThan(0);
      expect(row.latencyMs.p99, name).toBeGreaterThanOrEqual(row.latencyMs.p50);
      expect(row.deliveriesPerSecond, name).toBeGreaterThan(0);
      expect(row.bytesPerDelivery, name).toBeGreaterThan(100); // the 100-byte data, at least
      expect(row.serverCpuUsPerDelivery, name).toBeGreaterThan(0);
    }
    // The seeds' trade-off in numbers: asking costs requests, pushing does not. A slow rate next to a
    // fast poll interval makes short polling ask far more often than anything arrives.
    const rpd = (name: string): number => byName.get(name)!.requestsPerDelivery;
    expect(rpd('poll')).toBeGreaterThan(rpd('longpoll'));
    for (const push of PUSH) expect(rpd('longpoll')).toBeGreaterThan(rpd(push));
    expect(rpd('webhook')).toBe(1); // one POST per message per webhook

    const page = readFileSync(html, 'utf8');
    expect(page).toContain('uPlot');
    expect(page).toContain('Delivery latency by percentile');
    expect(page).not.toMatch(/<script[^>]+src=/); // self-contained: no CDN
    expect(page).not.toMatch(/<link[^>]+href=/);
  });

  it('reports a pattern without a driver file as not available instead of failing', async () => {
    const missing = await loadPattern('carrier-pigeon');
    expect('reason' in missing && missing.reason).toMatch(/^not available: no carrier-pigeon bench driver/);
    const present = await loadPattern('ws');
    expect('driver' in present && present.driver.name).toBe('ws');
  });

  it('refuses bad flags with a message and exit code 1', { timeout: 60_000 }, async () => {
    const unknown = await bench(['--patterns', 'ws,carrier-pigeon']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--patterns: unknown carrier-pigeon/);
    const rate = await bench(['--rate', '0']);
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/--rate must be a whole number/);
  });
});
