/**
 * Runs the lab: per pattern, a fresh topic, the pattern's subscribers, then the same publisher
 * (`rate` messages/s for `seconds`, `size`-byte messages, HTTP POST) and a drain until every
 * subscriber has every message (or a deadline). Bounded in time and message count; loopback only
 * when it starts its own server.
 */
import { HttpClient } from './http-client.js';
import { loadPattern } from './patterns.js';
import { serverCpuSeconds } from './server.js';
import type { DriverContext, WireCounts } from './types.js';

export interface BenchSettings {
  url: string;
  patterns: string[];
  subscribers: number;
  rate: number;
  seconds: number;
  size: number;
  pollIntervalMs: number;
  token: string | undefined;
  /** progress lines (stderr) */
  log: (line: string) => void;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface PatternResult {
  pattern: string;
  title: string;
  available: boolean;
  /** why the pattern did not run, or what went wrong while it ran */
  error?: string;
  subscribers: number;
  published: number;
  expected: number;
  delivered: number;
  /** first publish → last delivery */
  seconds: number;
  deliveriesPerSecond: number;
  latencyMs: Percentiles;
  /** latency samples in ms, sorted, thinned to at most 2,000 (for the --html charts) */
  latencySampleMs: number[];
  wire: WireCounts;
  requestsPerDelivery: number;
  framesPerDelivery: number;
  bytesPerDelivery: number;
  serverCpuSeconds: number;
  serverCpuUsPerDelivery: number;
}

const MAX_IN_FLIGHT = 64;

export function percentiles(sorted: number[]): Percentiles {
  const at = (p: number): number =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : Number.NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.at(-1) ?? Number.NaN };
}

function thin(sorted: number[], most: number): number[] {
  if (sorted.length <= most) return sorted;
  return Array.from({ length: most }, (_, i) => sorted[Math.floor((i * (sorted.length - 1)) / (most - 1))]!);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** `{"t":<ms>,"p":"xxx"}` padded so the whole data is `size` bytes (at least the stamp). */
function messageBody(size: number, stamp: number): string {
  const bare = `{"data":{"t":${stamp},"p":""}}`;
  return `{"data":{"t":${stamp},"p":"${'x'.repeat(Math.max(0, size - (bare.length - 9)))}"}}`;
}

export async function runPattern(
  name: string,
  settings: BenchSettings,
  runId: string,
): Promise<PatternResult> {
  const loaded = await loadPattern(name);
  const empty: PatternResult = {
    pattern: name,
    title: 'driver' in loaded ? loaded.driver.title : name,
    available: 'driver' in loaded,
    subscribers: settings.subscribers,
    published: 0,
    expected: 0,
    delivered: 0,
    seconds: 0,
    deliveriesPerSecond: Number.NaN,
    latencyMs: percentiles([]),
    latencySampleMs: [],
    wire: { requests: 0, frames: 0, bytes: 0 },
    requestsPerDelivery: Number.NaN,
    framesPerDelivery: Number.NaN,
    bytesPerDelivery: Number.NaN,
    serverCpuSeconds: Number.NaN,
    serverCpuUsPerDelivery: Number.NaN,
  };
  if (!('driver' in loaded)) return { ...empty, error: loaded.reason };

  const headers: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};
  const topic = `bench.${name}.${runId}`;
  const publisher = new HttpClient(settings.url, MAX_IN_FLIGHT);
  const messagesPath = `/v1/topics/${encodeURIComponent(topic)}/messages`;
  const latencies: number[] = [];
  const failures: string[] = [];
  let delivered = 0;
  let warmedUp = 0;
  let lastDeliveryAt = 0;
  const context: DriverContext = {
    url: settings.url,
    topic,
    subscribers: settings.subscribers,
    after: 0,
    headers,
    token: settings.token,
    pollIntervalMs: settings.pollIntervalMs,
    wire: { requests: 0, frames: 0 },
    delivered(data) {
      const stamp = (data as { t?: unknown } | null)?.t;
      if (typeof stamp !== 'number') {
        if ((data as { warmup?: unknown } | null)?.warmup === true) warmedUp++;
        return; // the topic-creating message, or a warm-up one
      }
      delivered++;
      lastDeliveryAt = performance.now();
      latencies.push(performance.timeOrigin + lastDeliveryAt - stamp);
    },
    failed(reason) {
      if (failures.length < 5 && !failures.includes(reason)) failures.push(reason);
    },
  };
  // The topic exists before anyone attaches, so every pattern starts from a known cursor.
  const created = await publisher.send('POST', messagesPath, { body: '{"data":{"setup":true}}', headers });
  if (created.status !== 201) {
    publisher.close();
    return { ...empty, error: `could not publish: HTTP ${created.status} ${created.body.slice(0, 200)}` };
  }
  context.after = (JSON.parse(created.body) as { offset: number }).offset;

  settings.log(`${name}: attaching ${settings.subscribers} subscribers`);
  const driverRun = loaded.driver.start(context);
  let closed: Promise<void> | undefined;
  const running = { ...driverRun, close: () => (closed ??= driverRun.close()) };
  try {
    try {
      await Promise.race([
        running.ready,
        sleep(30_000).then(() => Promise.reject(new Error('subscribers did not attach within 30 s'))),
      ]);
    } catch (error) {
      return { ...empty, available: false, error: `not available: ${(error as Error).message}` };
    }
    // Held requests are attached once the server counts them (long polling).
    if (name === 'longpoll') {
      await waitFor(async () => {
        const stats = await publisher.send('GET', `/v1/topics/${encodeURIComponent(topic)}`, { headers });
        const counts = (JSON.parse(stats.body) as { subscribers?: Record<string, number> }).subscribers ?? {};
        return (counts.longpoll ?? 0) >= settings.subscribers;
      }, 10_000);
    }
    // Warm-up: a few unmeasured messages through the whole path (JIT, connection pools, lazy state).
    const warmups = Math.min(20, Math.max(2, Math.round(settings.rate / 4)));
    for (let i = 0; i < warmups; i++) {
      await publisher.send('POST', messagesPath, { body: '{"data":{"warmup":true}}', headers });
    }
    await waitFor(() => warmedUp >= warmups * settings.subscribers, 10_000 + settings.pollIntervalMs);
    await sleep(100);

    const total = Math.max(1, Math.round(settings.rate * settings.seconds));
    const cpu0 = await serverCpuSeconds(settings.url, headers);
    const wire0 = { ...context.wire, bytes: running.bytesOnWire() };
    const started = performance.now();
    let sent = 0;
    let inFlight = 0;
    let publishErrors = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * settings.rate) + 1);
        while (sent < due && inFlight < MAX_IN_FLIGHT) {
          sent++;
          inFlight++;
          const body = messageBody(settings.size, performance.timeOrigin + performance.now());
          publisher.send('POST', messagesPath, { body, headers }).then(
            (answer) => {
              inFlight--;
              if (answer.status !== 201) publishErrors++;
            },
            () => {
              inFlight--;
              publishErrors++;
            },
          );
        }
        if (sent >= total) resolve();
        else setTimeout(tick, 5);
      };
      tick();
    });
    await waitFor(() => inFlight === 0, 10_000);
    const published = sent - publishErrors;
    const expected = published * settings.subscribers;
    const drained = await waitFor(
      () => delivered >= expected || failures.length > 0,
      10_000 + settings.seconds * 1_000 + settings.pollIntervalMs,
    );
    const seconds = ((lastDeliveryAt || performance.now()) - started) / 1000;
    const cpu = (await serverCpuSeconds(settings.url, headers)) - cpu0;
    // Only the measured messages' traffic: connection set-up and warm-up are before wire0.
    const wire = {
      requests: context.wire.requests - wire0.requests,
      frames: context.wire.frames - wire0.frames,
      bytes: running.bytesOnWire() - wire0.bytes,
    };
    await running.close();
    latencies.sort((a, b) => a - b);
    const per = (value: number): number => (delivered > 0 ? value / delivered : Number.NaN);
    const problems = [...failures];
    if (publishErrors) problems.push(`${publishErrors} publishes failed`);
    if (!drained)
      problems.push(`${expected - delivered} of ${expected} deliveries missing after the drain deadline`);
    return {
      ...empty,
      ...(problems.length ? { error: problems.join('; ') } : {}),
      published,
      expected,
      delivered,
      seconds,
      deliveriesPerSecond: delivered / seconds,
      latencyMs: percentiles(latencies),
      latencySampleMs: thin(latencies, 2_000),
      wire,
      requestsPerDelivery: per(wire.requests),
      framesPerDelivery: per(wire.frames),
      bytesPerDelivery: per(wire.bytes),
      serverCpuSeconds: cpu,
      serverCpuUsPerDelivery: per(cpu * 1e6),
    };
  } finally {
    await running.close().catch(() => undefined);
    publisher.close();
  }
}
