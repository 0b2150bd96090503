/** HTTP and WebSocket helpers shared by the scenarios: payloads, publishing, endpoint probes. */
import { type Dispatcher, Pool, request } from 'undici';
import { WebSocket } from 'ws';
import { monoUs } from './proc.js';
import { waitUntil } from './scenario.js';

/** JSON for a publish body whose `data` serializes to about `bytes` bytes (default 100). */
export function publishBody(bytes = 100, sentUs?: number): string {
  return `{"data":${dataJson(bytes, sentUs)}}`;
}

/**
 * A `data` value of about `bytes` bytes. With `sentUs` it carries the publisher's monotonic clock
 * (`bench_t`, microseconds) so subscribers in other processes can compute publish → receive latency.
 */
export function dataJson(bytes = 100, sentUs?: number): string {
  const head = sentUs === undefined ? '{"pad":"' : `{"bench_t":${sentUs},"pad":"`;
  return `${head}${'x'.repeat(Math.max(1, bytes - head.length - 2))}"}`;
}

export function stampedBody(bytes = 100): string {
  return publishBody(bytes, monoUs());
}

export function createPool(url: string, connections: number): Pool {
  return new Pool(url, {
    connections,
    pipelining: 1,
    headersTimeout: 60_000,
    bodyTimeout: 0,
    keepAliveTimeout: 120_000,
    connect: { timeout: 30_000 },
  });
}

export interface PostResult {
  status: number;
  text: string;
}

/** `Authorization: Bearer …` for a server run with `--auth token`; nothing without a token. */
export function authHeaders(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { authorization: `Bearer ${token}` };
}

export async function post(
  dispatcher: Dispatcher,
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<PostResult> {
  const response = await dispatcher.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.statusCode, text: await response.body.text() };
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await request(url, { headers: { accept: 'application/json' } });
  const text = await response.body.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = text as T;
  }
  return { status: response.statusCode, body };
}

export function messagesPath(topic: string): string {
  return `/v1/topics/${encodeURIComponent(topic)}/messages`;
}

/** Offset of the topic's last message (0 when it has none). */
export async function lastOffset(baseUrl: string, topic: string): Promise<number> {
  const answer = await getJson<{ last?: number }>(`${baseUrl}${messagesPath(topic)}?after=0&limit=1`);
  return typeof answer.body.last === 'number' ? answer.body.last : 0;
}

export interface Availability {
  available: boolean;
  detail: string;
}

/** Is `GET /v1/topics/{topic}/events` there? (404 or anything but an event stream → no) */
export async function probeSse(baseUrl: string, token?: string): Promise<Availability> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 3_000);
  const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
  try {
    const response = await request(`${baseUrl}/v1/topics/bench-probe/events${query}`, {
      headers: { accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const type = String(response.headers['content-type'] ?? '');
    const ok = response.statusCode === 200 && type.startsWith('text/event-stream');
    controller.abort();
    response.body.on('error', () => undefined).resume();
    return { available: ok, detail: `HTTP ${response.statusCode} ${type}` };
  } catch (error) {
    return { available: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Is `GET /v1/ws` there, and does a subscribe op get an ok reply? (`token` goes in `?token=`) */
export function probeWs(wsUrl: string, token?: string): Promise<Availability> {
  return new Promise((resolve) => {
    const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
    const ws = new WebSocket(`${wsUrl}/v1/ws${query}`, { perMessageDeflate: false });
    const done = (result: Availability): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => done({ available: false, detail: 'no answer in 3 s' }), 3_000);
    ws.on('unexpected-response', (_request, response) =>
      done({ available: false, detail: `upgrade refused: HTTP ${response.statusCode}` }),
    );
    ws.on('error', (error) => done({ available: false, detail: error.message }));
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic: 'bench-probe' })));
    ws.on('message', (data) => {
      try {
        const frame = JSON.parse(String(data)) as { op?: string; id?: number; ok?: boolean; error?: unknown };
        if (frame.op === 'reply' && frame.id === 1) {
          done(
            frame.ok
              ? { available: true, detail: 'subscribe ok' }
              : { available: false, detail: `subscribe refused: ${JSON.stringify(frame.error)}` },
          );
        }
      } catch {
        done({ available: false, detail: `non-JSON frame: ${String(data).slice(0, 80)}` });
      }
    });
  });
}

export const SKIPPED_ENDPOINT = 'skipped: endpoint not available';

/** Publishes at `rate` per second (open loop), each message stamped with the monotonic clock. */
export function publishAtRate(
  url: string,
  topic: string,
  rate: number,
): { stop(): Promise<{ sent: number; errors: number }> } {
  const pool = createPool(url, 8);
  const path = messagesPath(topic);
  const start = performance.now();
  let sent = 0;
  let errors = 0;
  let inFlight = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - start) * rate) / 1000);
    while (sent < due) {
      sent++;
      inFlight++;
      post(pool, path, stampedBody(100)).then(
        (result) => {
          inFlight--;
          if (result.status !== 201) errors++;
        },
        () => {
          inFlight--;
          errors++;
        },
      );
    }
    setTimeout(tick, 1);
  };
  tick();
  return {
    async stop() {
      stopped = true;
      await waitUntil(() => inFlight === 0, 10_000);
      await pool.close();
      return { sent, errors };
    },
  };
}
