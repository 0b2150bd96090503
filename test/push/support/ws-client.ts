/**
 * A WebSocket test client that queues every frame and the close from the first moment (graphql-ws's
 * tclient idea): `next()` and `closed` never miss anything that arrived before the await.
 */
import WebSocket from 'ws';
import type { Json } from './util.js';

export interface Closed {
  code: number;
  reason: string;
}

export interface WsClient {
  readonly ws: WebSocket;
  readonly frames: Json[];
  /** The text of every frame, as received. */
  readonly raw: string[];
  readonly closed: Promise<Closed>;
  send(frame: unknown): void;
  /** Sends an op with the next id and resolves with its reply (ok or not). */
  request(op: Record<string, unknown>, timeoutMs?: number): Promise<Json>;
  next(predicate?: (frame: Json) => boolean, timeoutMs?: number): Promise<Json>;
  /** Message frames received so far, optionally for one topic. */
  messages(topic?: string): Json[];
  close(): void;
}

let nextId = 1;

/** `query` is appended to the endpoint's URL (e.g. `?token=…`). */
export async function connectWs(
  baseUrl: string,
  options: WebSocket.ClientOptions = {},
  query = '',
): Promise<WsClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/v1/ws${query}`, options);
  const frames: Json[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const wake of [...waiters]) wake();
  };
  let isClosed = false;
  const closed = new Promise<Closed>((resolve) => {
    ws.on('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
      notify();
    });
  });
  ws.on('message', (data) => {
    raw.push(data.toString());
    frames.push(JSON.parse(data.toString()));
    notify();
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });

  const next = (predicate: (frame: Json) => boolean = () => true, timeoutMs = 5_000): Promise<Json> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = frames.find(predicate);
        if (found !== undefined) {
          cleanup();
          resolve(found);
          return true;
        }
        if (isClosed) {
          cleanup();
          reject(
            new Error(
              `connection closed before the expected frame; frames: ${JSON.stringify(frames.slice(-5))}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no matching frame within ${timeoutMs} ms; last frames: ${JSON.stringify(frames.slice(-5))}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      const wake = (): void => {
        check();
      };
      if (!check()) waiters.add(wake);
    });

  return {
    ws,
    frames,
    raw,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    request(op, timeoutMs) {
      const id = nextId++;
      ws.send(JSON.stringify({ ...op, id }));
      return next((f) => f.op === 'reply' && f.id === id, timeoutMs);
    },
    next,
    messages: (topic) =>
      frames.filter((f) => f.op === 'message' && (topic === undefined || f.topic === topic)),
    close: () => ws.close(),
  };
}

/** Waits until `count` message frames (for `topic`) arrived. */
export async function waitForMessages(
  client: WsClient,
  count: number,
  topic?: string,
  timeoutMs = 5_000,
): Promise<Json[]> {
  await client
    .next(() => client.messages(topic).length >= count, timeoutMs)
    .catch((error: Error) => {
      throw new Error(`expected ${count} messages, got ${client.messages(topic).length}: ${error.message}`);
    });
  return client.messages(topic);
}
