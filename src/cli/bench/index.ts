/**
 * `switchboard bench`: the pattern lab (docs/pattern-lab.md). Measures every pattern on the same load
 * against a server it starts (child process, memory engine, loopback) or one given with --url.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderHtml } from './html.js';
import { PATTERN_NAMES } from './patterns.js';
import { type BenchReport, renderTable } from './report.js';
import { type BenchSettings, type PatternResult, runPattern } from './run.js';
import { type BenchServer, startLocalServer } from './server.js';

function bounded(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    return value;
  };
}

interface BenchFlags {
  url?: string;
  patterns: string;
  subscribers: number;
  rate: number;
  seconds: number;
  size: number;
  pollInterval: number;
  token?: string;
  json?: boolean;
  html?: string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'the pattern lab: measure every pattern on the same load (latency, deliveries/s, wire and CPU per delivery)',
    )
    .option('--url <url>', 'server to measure (default: start one, memory engine, on loopback)')
    .option('--patterns <list>', `comma-separated, from ${PATTERN_NAMES.join(',')}`, PATTERN_NAMES.join(','))
    .option('--subscribers <n>', 'subscribers per pattern (1-2000)', bounded('subscribers', 1, 2_000), 100)
    .option('--rate <r>', 'messages per second (1-5000)', bounded('rate', 1, 5_000), 100)
    .option('--seconds <s>', 'seconds of publishing per pattern (1-60)', bounded('seconds', 1, 60), 5)
    .option('--size <bytes>', 'message data size in bytes (32-65536)', bounded('size', 32, 65_536), 100)
    .option(
      '--poll-interval <ms>',
      'short polling interval (10-10000)',
      bounded('poll-interval', 10, 10_000),
      500,
    )
    .option(
      '--token <jwt>',
      'bearer token for a --url server in token mode (needs publish, subscribe and admin)',
    )
    .option('--json', 'print the results as JSON (docs/pattern-lab.md) instead of the table')
    .option('--html <file>', 'also write a self-contained page with charts')
    .action(async (flags: BenchFlags) => {
      const patterns = flags.patterns
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      const unknown = patterns.filter((p) => !(PATTERN_NAMES as readonly string[]).includes(p));
      if (unknown.length || patterns.length === 0) {
        throw new Error(
          `--patterns: unknown ${unknown.join(', ') || '(none given)'}; choose from ${PATTERN_NAMES.join(',')}`,
        );
      }
      if (flags.url !== undefined && !/^https?:\/\/[^/]+\/?$/.test(flags.url)) {
        throw new Error(`--url must be a server's base URL like http://127.0.0.1:8080, got "${flags.url}"`);
      }
      const log = (line: string): void => {
        process.stderr.write(`bench: ${line}\n`);
      };
      let server: BenchServer | undefined;
      const stop = (): void => {
        server?.stop().finally(() => process.exit(130));
      };
      process.once('SIGINT', stop);
      try {
        if (flags.url === undefined) {
          log('starting a server (memory engine, 127.0.0.1)');
          server = await startLocalServer();
        }
        const url = (flags.url ?? server!.url).replace(/\/$/, '');
        const settings: BenchSettings = {
          url,
          patterns,
          subscribers: flags.subscribers,
          rate: flags.rate,
          seconds: flags.seconds,
          size: flags.size,
          pollIntervalMs: flags.pollInterval,
          token: flags.token,
          log,
        };
        const runId = randomBytes(4).toString('hex');
        const results: PatternResult[] = [];
        const report: BenchReport = {
          version: 1,
          startedAt: new Date().toISOString(),
          server: { url, startedByBench: server !== undefined },
          settings: {
            subscribers: settings.subscribers,
            rate: settings.rate,
            seconds: settings.seconds,
            size: settings.size,
            pollIntervalMs: settings.pollIntervalMs,
          },
          patterns: results,
        };
        for (const pattern of patterns) {
          const result = await runPattern(pattern, settings, runId);
          results.push(result);
          log(
            result.available
              ? `${pattern}: ${result.delivered}/${result.expected} delivered, p99 ${result.latencyMs.p99.toFixed(2)} ms`
              : `${pattern}: ${result.error}`,
          );
        }
        const table = renderTable(report);
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${table}\n`);
        if (flags.html) {
          writeFileSync(flags.html, renderHtml(report, table));
          log(`wrote ${flags.html}`);
        }
      } finally {
        process.off('SIGINT', stop);
        await server?.stop();
      }
    });
}
