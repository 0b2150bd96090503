/**
 * One fan-out set-up: a server, 1,000 subscribers of one transport in worker processes, and a
 * publisher (this process) that publishes 100-byte messages over HTTP as fast as it can while staying
 * at most 64 messages ahead of the slowest subscriber. Several rigs can stay connected at once and
 * take turns (A/B interleaved windows), which is how fanout-floor compares Switchboard with the floor.
 */
import type { Pool } from 'undici';
import { authHeaders, createPool, messagesPath, post, publishBody } from './http.js';
import { cpuSeconds } from './proc.js';
import type { Transport } from './protocol.js';
import { sleep, waitUntil } from './scenario.js';
import type { RunningServer } from './server.js';
import { describeLost, SubscriberGroup } from './workers.js';

/** The publisher may be at most this many messages ahead of the slowest subscriber. */
export const WINDOW = 64;
/** Publishes in flight at once (HTTP requests on separate connections, pipelining 1). */
export const MAX_IN_FLIGHT = 64;

export interface FanoutWindow {
  seconds: number;
  deliveries: number;
  deliveriesPerSecond: number;
  messagesPerSecond: number;
  /** server CPU seconds per million deliveries (= µs per delivery) */
  serverCpuPerMillion: number;
  /** server CPU seconds / wall seconds (1.0 = one core busy) */
  serverCpuLoad: number;
  /** subscriber workers' CPU seconds / wall seconds, summed */
  clientCpuLoad: number;
  publishErrors: number;
  stalled: boolean;
}

export interface RigOptions {
  label: string;
  server: RunningServer;
  transport: Transport;
  subscribers: number;
  workers: number;
  topic: string;
  /**
   * Subscribers spread over these servers (worker i on `subscriberServers[i % n]`; nodes sharing one
   * Redis); the publisher still uses `server`. Server CPU then sums over all of them.
   */
  subscriberServers?: RunningServer[];
  /**
   * JWT for a server run with `--auth token`: the publisher sends `Authorization: Bearer …`, the
   * subscribers `?token=`.
   */
  token?: string;
}

export type RigStart = { rig: FanoutRig; unavailable?: undefined } | { rig?: undefined; unavailable: string };

export class FanoutRig {
  readonly options: RigOptions;
  readonly group: SubscriberGroup;
  readonly #pool: Pool;
  readonly #body = publishBody(100);
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly connected: number;
  readonly openErrors: string[];
  #sent = 0;
  #inFlight = 0;
  #running = false;
  #errors = 0;
  readonly publishFailures: string[] = [];

  private constructor(
    options: RigOptions,
    group: SubscriberGroup,
    pool: Pool,
    connected: number,
    errors: string[],
  ) {
    this.options = options;
    this.group = group;
    this.#pool = pool;
    this.#path = messagesPath(options.topic);
    this.#headers = authHeaders(options.token);
    this.connected = connected;
    this.openErrors = errors;
    group.onProgress(() => this.#fill());
  }

  static async start(options: RigOptions): Promise<RigStart> {
    const pool = createPool(options.server.url, MAX_IN_FLIGHT);
    // Create the topic first so subscribers attach to an existing log and topic stats answer.
    const created = await post(
      pool,
      messagesPath(options.topic),
      publishBody(100),
      authHeaders(options.token),
    );
    if (created.status !== 201)
      throw new Error(`${options.label}: publish answered ${created.status} ${created.text}`);
    // Long polls start from the topic's creation so they count only what the windows publish.
    const after =
      options.transport === 'longpoll' ? (JSON.parse(created.text) as { offset: number }).offset : undefined;
    const spread = options.subscriberServers ?? [];
    const { group, opened } = await SubscriberGroup.start({
      url: options.server.url,
      ...(spread.length ? { urls: spread.map((s) => s.url) } : {}),
      transport: options.transport,
      topic: options.topic,
      connections: options.subscribers,
      workers: options.workers,
      measure: 'count',
      ...(after === undefined ? {} : { after }),
      ...(options.token === undefined ? {} : { token: options.token }),
    });
    if (opened.unavailable || opened.ok === 0) {
      await group.close();
      await pool.close();
      return { unavailable: opened.errors.join('; ') || 'no subscriber could connect' };
    }
    if (spread.length === 0)
      await waitForSubscribers(options.server.url, options.topic, opened.ok, options.token);
    else {
      // Each node counts its own subscribers: wait for each node's share.
      const per = Math.ceil(options.subscribers / options.workers);
      const expected = new Map<RunningServer, number>();
      for (let i = 0; i < options.workers; i++) {
        const node = spread[i % spread.length]!;
        const share = Math.max(0, Math.min(per, options.subscribers - i * per));
        expected.set(node, (expected.get(node) ?? 0) + share);
      }
      await Promise.all(
        [...expected].map(([node, n]) =>
          waitForSubscribers(node.url, options.topic, Math.min(n, opened.ok), options.token),
        ),
      );
    }
    return { rig: new FanoutRig(options, group, pool, opened.ok, opened.errors) };
  }

  /** Publishes for `warmupMs`, then measures for `measureMs`, then lets the subscribers catch up. */
  async window(warmupMs: number, measureMs: number): Promise<FanoutWindow> {
    const { server } = this.options;
    this.#running = true;
    this.#fill();
    await sleep(warmupMs);
    const t0 = performance.now();
    const deliveries0 = this.group.total;
    const sent0 = this.#sent;
    const errors0 = this.#errors;
    const cpuServers = [...new Set([server, ...(this.options.subscriberServers ?? [])])];
    const serverCpu = (): number => cpuServers.reduce((sum, s) => sum + s.cpuSeconds(), 0);
    const cpu0 = serverCpu();
    const clientCpu0 = this.group.pids.map(safeCpu);
    let lastProgress = performance.now();
    let lastTotal = deliveries0;
    let stalled = false;
    while (performance.now() - t0 < measureMs) {
      await sleep(100);
      if (this.group.total !== lastTotal) {
        lastTotal = this.group.total;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > 5_000) {
        stalled = true;
        break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const deliveries = this.group.total - deliveries0;
    const cpu = serverCpu() - cpu0;
    const clientCpu = this.group.pids.map(safeCpu).reduce((sum, value, i) => sum + value - clientCpu0[i]!, 0);
    const messages = this.#sent - sent0;
    this.#running = false;
    // Let the slowest subscriber catch up so the next window (or the other rig) starts clean.
    await waitUntil(() => this.#inFlight === 0 && this.group.min >= this.#sent, 5_000, 10);
    return {
      seconds,
      deliveries,
      deliveriesPerSecond: deliveries / seconds,
      messagesPerSecond: messages / seconds,
      serverCpuPerMillion: deliveries > 0 ? (cpu / deliveries) * 1e6 : Number.NaN,
      serverCpuLoad: cpu / seconds,
      clientCpuLoad: clientCpu / seconds,
      publishErrors: this.#errors - errors0,
      stalled,
    };
  }

  /** Connections the server closed or that failed during the windows, summarized. */
  lostSummary(): string | undefined {
    return this.group.lost.length
      ? `${this.group.lost.length} lost (${describeLost(this.group.lost)})`
      : undefined;
  }

  async close(): Promise<void> {
    this.#running = false;
    await this.group.close();
    await this.#pool.close();
  }

  #fill(): void {
    if (!this.#running) return;
    const min = this.group.min;
    while (this.#inFlight < MAX_IN_FLIGHT && this.#sent - min < WINDOW) {
      this.#sent++;
      this.#inFlight++;
      post(this.#pool, this.#path, this.#body, this.#headers).then(
        (result) => {
          this.#inFlight--;
          if (result.status !== 201) this.#fail(`HTTP ${result.status} ${result.text.slice(0, 200)}`);
          this.#fill();
        },
        (error: Error) => {
          this.#inFlight--;
          this.#fail(error.message);
          this.#fill();
        },
      );
    }
  }

  #fail(message: string): void {
    this.#errors++;
    this.#sent--; // nobody will receive it
    if (this.publishFailures.length < 10 && !this.publishFailures.includes(message))
      this.publishFailures.push(message);
  }
}

function safeCpu(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}

/**
 * Waits until the server's topic stats count `expected` subscribers (any transport). Servers that do
 * not count them yet get a short grace period instead.
 */
export async function waitForSubscribers(
  baseUrl: string,
  topic: string,
  expected: number,
  token?: string,
): Promise<boolean> {
  const counted = await waitUntil(
    async () => {
      try {
        const response = await fetch(`${baseUrl}/v1/topics/${encodeURIComponent(topic)}`, {
          headers: authHeaders(token),
        });
        const stats = (await response.json()) as { subscribers?: Record<string, number> };
        const total = Object.values(stats.subscribers ?? {}).reduce((sum, n) => sum + n, 0);
        return total >= expected;
      } catch {
        return false;
      }
    },
    3_000,
    50,
  );
  if (!counted) await sleep(500);
  return counted;
}
