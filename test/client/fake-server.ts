/**
 * A scriptable stand-in for a Switchboard server, for tests about servers that misbehave: each
 * HTTP request and WebSocket connection is handed to the test's handler with its sequence number,
 * so a test can answer the first one badly and the next ones well. Extend `FakeHandlers` with
 * another hook if a test needs one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface FakeHandlers {
  /** `index` counts requests to the same path (without query), from 0. */
  http?(request: IncomingMessage, response: ServerResponse, index: number): void;
  /** `index` counts WebSocket connections from 0; `ops` yields each parsed client frame. */
  websocket?(socket: WebSocket, index: number, request: IncomingMessage): void;
}

export interface FakeServer {
  url: string;
  close(): Promise<void>;
}

export async function startFakeServer(handlers: FakeHandlers): Promise<FakeServer> {
  const counts = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0]!;
    const index = counts.get(path) ?? 0;
    counts.set(path, index + 1);
    if (path === '/readyz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
      return;
    }
    if (handlers.http === undefined) response.writeHead(404).end();
    else handlers.http(request, response, index);
  });
  const wss = new WebSocketServer({ server, path: '/v1/ws' });
  let connections = 0;
  wss.on('connection', (socket, request) => handlers.websocket?.(socket, connections++, request));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The message JSON of offset `n` on `topic`. */
export const fakeMessage = (topic: string, n: number): Record<string, unknown> => ({
  topic,
  offset: n,
  time: 1_700_000_000_000 + n,
  data: { n },
});

export function sseEvent(data: unknown, options: { id?: string; event?: string } = {}): string {
  return `${options.id === undefined ? '' : `id: ${options.id}\n`}${options.event === undefined ? '' : `event: ${options.event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}
