/**
 * `switchboard bench` end to end at a tiny load: it starts its own server (a child process), drives
 * every pattern, and its --json answer has the documented shape with every message delivered to
 * every subscriber. Runs the built CLI (npm test builds first), or the sources under tsx without one.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/process.js';

const SOURCE = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BUILT_RUN = fileURLToPath(new URL('../../dist/cli/bench/run.js', import.meta.url));
const SOURCE_RUN = fileURLToPath(new URL('../../src/cli/bench/run.ts', import.meta.url));
// The build when it is current (npm test builds first), else the sources.
const built =
  existsSync(CLI) && existsSync(BUILT_RUN) && statSync(BUILT_RUN).mtimeMs >= statSync(SOURCE_RUN).mtimeMs;
const command = built ? [CLI] : ['--import', 'tsx', SOURCE];
const PUSH = ['ws', 'sse'];
const BUILT_IN = ['ws', 'sse', 'longpoll', 'poll', 'webhook'];
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
      '1',
      '--subscribers',
      '3',
      '--rate',
      '10',
      '--poll-interval',
      '50',
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
    expect(report.settings).toEqual({ subscribers: 3, rate: 10, seconds: 1, size: 100, pollIntervalMs: 50 });
    // Every requested pattern has a row, in order; doors without a driver say so.
    expect(report.patterns.map((r) => r.pattern)).toEqual([
      'ws',
      'sse',
      'longpoll',
      'poll',
      'webhook',
      'grpc',
      'graphql',
      'mqtt',
    ]);
    for (const row of report.patterns.filter((r) => !r.available)) {
      expect(BUILT_IN).not.toContain(row.pattern);
      expect(row.error).toMatch(/not available/);
    }
    const byName = new Map(report.patterns.map((r) => [r.pattern, r]));
    for (const name of BUILT_IN) {
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
    // The seeds' trade-off in numbers: asking costs requests, pushing does not.
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

  it('refuses bad flags with a message and exit code 1', { timeout: 60_000 }, async () => {
    const unknown = await bench(['--patterns', 'ws,carrier-pigeon']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--patterns: unknown carrier-pigeon/);
    const rate = await bench(['--rate', '0']);
    expect(rate.code).toBe(1);
    expect(rate.stderr).toMatch(/--rate must be a whole number/);
  });
});
