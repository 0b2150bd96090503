/**
 * What the floor servers (bench/floor-ws-server.ts, bench/floor-sse-server.ts) share: the small
 * subset of Switchboard's HTTP contract the benchmarks use (publish, fetch `last`, topic stats), an
 * in-memory offset per topic, and "cork every subscriber socket until the end of this event-loop
 * turn" — the write coalescing that PERF-NOTES measures as the difference between ~113k and ~1M
 * deliveries/s. Everything else (retention, validation, auth) is deliberately missing.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FloorMessage {
  topic: string;
  offset: number;
  time: number;
  /** `{"topic":…,"offset":…,"time":…,"data":…}` — the contract's message shape */
  json: string;
}

export interface FloorOptions {
  name: string;
  /** Encodes and writes one message to the topic's subscribers (use `write` to get corking). */
  broadcast(message: FloorMessage): void;
  /** Subscriber counts for `GET /v1/topics/{topic}` (lets the runner wait until all are in). */
  subscriberCount(topic: string): Record<string, number>;
  /** Routes of the transport itself; return false to fall through to 404. */
  route?(request: IncomingMessage, response: ServerResponse, path: string[]): boolean;
}

const offsets = new Map<string, number>();
const corked: Socket[] = [];
let uncorkScheduled = false;

function uncorkAll(): void {
  uncorkScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/** Corks `socket` until the end of the current event-loop turn (once per turn). */
export function corkUntilTurnEnd(socket: Socket): void {
  if (socket.writableCorked === 0) {
    socket.cork();
    corked.push(socket);
  }
  if (!uncorkScheduled) {
    uncorkScheduled = true;
    setImmediate(uncorkAll);
  }
}

/** Writes `chunk` to `socket`, corked until the end of the current event-loop turn. */
export function write(socket: Socket, chunk: Buffer): void {
  corkUntilTurnEnd(socket);
  socket.write(chunk);
}

function send(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

function publish(
  options: FloorOptions,
  topic: string,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    let data: string;
    try {
      data = JSON.stringify((JSON.parse(Buffer.concat(chunks).toString()) as { data: unknown }).data);
    } catch {
      send(response, 400, '{"error":{"code":"bad_request","message":"send {\\"data\\":…}"}}');
      return;
    }
    const offset = (offsets.get(topic) ?? 0) + 1;
    offsets.set(topic, offset);
    const time = Date.now();
    const json = `{"topic":"${topic}","offset":${offset},"time":${time},"data":${data}}`;
    options.broadcast({ topic, offset, time, json });
    send(response, 201, `{"topic":"${topic}","offset":${offset},"time":${time},"duplicate":false}`);
  });
}

export function lastOffsetOf(topic: string): number {
  return offsets.get(topic) ?? 0;
}

/** Starts the floor server on 127.0.0.1 and an OS-chosen port and prints the banner the runner waits for. */
export function startFloor(options: FloorOptions): Server {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!.split('/').filter(Boolean);
    if (options.route?.(request, response, path)) return;
    if (path[0] === 'v1' && path[1] === 'topics' && path[2] !== undefined) {
      const topic = decodeURIComponent(path[2]);
      if (path.length === 4 && path[3] === 'messages' && request.method === 'POST') {
        publish(options, topic, request, response);
        return;
      }
      if (path.length === 4 && path[3] === 'messages' && request.method === 'GET') {
        const last = lastOffsetOf(topic);
        send(response, 200, `{"topic":"${topic}","messages":[],"next":${last},"first":0,"last":${last}}`);
        return;
      }
      if (path.length === 3 && request.method === 'GET') {
        const stats = { topic, last: lastOffsetOf(topic), subscribers: options.subscriberCount(topic) };
        send(response, 200, JSON.stringify(stats));
        return;
      }
    }
    send(
      response,
      404,
      '{"error":{"code":"not_found","message":"the floor server has only what the benchmarks use"}}',
    );
  });
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    process.stdout.write(`${options.name} listening on http://127.0.0.1:${port}\n`);
  });
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return server;
}

/** Keeps a Set of sockets per topic. */
export class TopicSockets {
  readonly #byTopic = new Map<string, Set<Socket>>();

  add(topic: string, socket: Socket): void {
    let set = this.#byTopic.get(topic);
    if (!set) {
      set = new Set();
      this.#byTopic.set(topic, set);
    }
    set.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => set.delete(socket));
  }

  get(topic: string): Set<Socket> | undefined {
    return this.#byTopic.get(topic);
  }

  count(topic: string): number {
    return this.#byTopic.get(topic)?.size ?? 0;
  }
}
