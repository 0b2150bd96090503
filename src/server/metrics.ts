/**
 * Prometheus metrics (`GET /metrics`) on a registry per server, so several servers in one
 * process (tests, embedding) keep separate counts. Metric names are listed in docs/security.md
 * "Metrics"; transports report through the small methods of `ServerMetrics`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Hub } from '../core/hub.js';
import type { HubObserver } from '../core/hub-observer.js';
import { BatchedHistogram, batchedCounter, type CountSeries, type Observer } from './batched-metrics.js';
import { registerGroupMetrics } from './group-metrics.js';
import { registerJobMetrics } from './job-metrics.js';
import { registerRequestMetrics } from './request-metrics.js';
import { registerScheduleMetrics } from './schedule-metrics.js';

export interface ServerMetrics {
  readonly registry: Registry;
  /** Give this to `createHub({ observer })`: publish counts and engine latency. */
  readonly hubObserver: HubObserver;
  /** Lets collection read live counts from the hub (subscribers, held long polls). */
  attachHub(hub: Hub): void;
  /** Lets collection read the open TCP connection count. */
  attachConnections(count: () => number): void;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  /** A request, op or connection refused: reason is an error code or a limit name. */
  rejected(reason: string): void;
  /** `count` messages delivered to clients over `transport` (sse, websocket, longpoll, group…). */
  delivered(transport: string, count: number): void;
  /** Counts one open push connection of `transport`; call the returned function when it closes. */
  trackConnection(transport: string): () => void;
  /** Prometheus text exposition and its content type. */
  render(): Promise<{ contentType: string; text: string }>;
}

/** Routes are patterns, so this bounds nothing in practice; it only caps a pathological mix. */
const MAX_CACHED_SERIES = 1_000;

const ENGINE_OPS: Record<string, string> = {
  read: 'read',
  'store the message': 'append',
  'list topics': 'topics',
  'delete the topic': 'delete_topic',
};

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  // Standard names (process_*, nodejs_*) so stock Node.js dashboards work unchanged.
  collectDefaultMetrics({ register: registry });
  let hub: Hub | undefined;
  let openConnections = (): number => 0;
  const registers = [registry];

  const published = new Counter({
    name: 'switchboard_messages_published_total',
    help: 'Messages stored by publishes (repeated idempotency keys not counted)',
    registers,
  });
  const delivered = new Counter({
    name: 'switchboard_messages_delivered_total',
    help: 'Messages delivered to clients, by transport',
    labelNames: ['transport'],
    registers,
    collect: () => deliveredCounts.collect(),
  });
  const connections = new Gauge({
    name: 'switchboard_connections',
    help: 'Open push connections by transport (long polls: requests held right now)',
    labelNames: ['transport'],
    registers,
    collect() {
      if (hub) this.set({ transport: 'longpoll' }, hub.heldRequests);
    },
  });
  new Gauge({
    name: 'switchboard_subscribers',
    help: 'Live topic subscriptions by transport (one connection may hold several)',
    labelNames: ['transport'],
    registers,
    collect() {
      this.reset();
      for (const [transport, count] of Object.entries(hub?.subscribersByTransport() ?? {})) {
        this.set({ transport }, count);
      }
    },
  });
  new Gauge({
    name: 'switchboard_long_polls_held',
    help: 'Long-poll requests waiting for a message right now',
    registers,
    collect() {
      this.set(hub?.heldRequests ?? 0);
    },
  });
  new Gauge({
    name: 'switchboard_tcp_connections',
    help: 'Open TCP connections admitted by the connection limits',
    registers,
    collect() {
      this.set(openConnections());
    },
  });
  const rejected = new Counter({
    name: 'switchboard_rejected_total',
    help: 'Requests, ops and connections refused, by reason (error code or limit name)',
    labelNames: ['reason'],
    registers,
  });
  // Counted on every request and delivery: plain numbers per series, handed over when scraped
  // (batched-metrics.ts), and series looked up without building a key string.
  const httpCounts = batchedCounter(() => httpRequests);
  const httpRequests = new Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers,
    collect: httpCounts.collect,
  });
  const httpSeries = new Map<string, Map<string, Map<number, { count: CountSeries; duration: Observer }>>>();
  const deliveredCounts = batchedCounter(() => delivered);
  const deliveredSeries = new Map<string, CountSeries>();
  const httpDuration = new BatchedHistogram(
    'switchboard_http_request_duration_seconds',
    'HTTP request duration by method and route pattern (long polls include their wait)',
    ['method', 'route'],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
    registry,
  );
  const engineLatency = new BatchedHistogram(
    'switchboard_engine_op_duration_seconds',
    'Storage engine call latency by operation and outcome',
    ['op', 'outcome'],
    [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
    registry,
  );
  const engineSeries = new Map<string, Observer>();
  // Group lag and pending are read from the store at scrape time (see group-metrics.ts).
  registerGroupMetrics(registry, () => hub);
  registerScheduleMetrics(registry, () => hub); // delayed messages pending, read at scrape time
  registerJobMetrics(registry, () => hub);
  const requestEnded = registerRequestMetrics(registry, () => hub);

  return {
    registry,
    hubObserver: {
      published: (_topic, count) => published.inc(count),
      requestEnded,
      engineOp(what, seconds, ok) {
        const key = ok ? what : `${what}\u0000error`;
        let series = engineSeries.get(key);
        if (!series) {
          if (engineSeries.size >= MAX_CACHED_SERIES) engineSeries.clear();
          series = engineLatency.labels({
            op: ENGINE_OPS[what] ?? what.replace(/\W+/g, '_'),
            outcome: ok ? 'ok' : 'error',
          });
          engineSeries.set(key, series);
        }
        series.observe(seconds);
      },
    },
    attachHub(value) {
      hub = value;
    },
    attachConnections(count) {
      openConnections = count;
    },
    httpRequest(method, route, status, seconds) {
      // Labelled series are looked up once per (method, route, status), with no key string built.
      let byRoute = httpSeries.get(method);
      if (!byRoute) {
        byRoute = new Map();
        httpSeries.set(method, byRoute);
      }
      let byStatus = byRoute.get(route);
      if (!byStatus) {
        if (byRoute.size >= MAX_CACHED_SERIES) byRoute.clear();
        byStatus = new Map();
        byRoute.set(route, byStatus);
      }
      let series = byStatus.get(status);
      if (!series) {
        series = {
          count: httpCounts.labels({ method, route, status: String(status) }),
          duration: httpDuration.labels({ method, route }),
        };
        byStatus.set(status, series);
      }
      series.count.inc();
      series.duration.observe(seconds);
    },
    rejected: (reason) => rejected.inc({ reason }),
    delivered(transport, count) {
      let series = deliveredSeries.get(transport);
      if (!series) {
        series = deliveredCounts.labels({ transport });
        deliveredSeries.set(transport, series);
      }
      series.inc(count);
    },
    trackConnection(transport) {
      connections.inc({ transport });
      let done = false;
      return () => {
        if (done) return;
        done = true;
        connections.dec({ transport });
      };
    },
    async render() {
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
  };
}
