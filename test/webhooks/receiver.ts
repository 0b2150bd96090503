/** A real local HTTP receiver for webhook and callback tests, with programmable answers. */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** How to answer one request; the default answers 200. */
export type Behaviour = (request: Received, response: ServerResponse) => void;

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests to `path`, in arrival order. */
  at(path: string): Received[];
  /** Sets how requests to `path` are answered. */
  on(path: string, behaviour: Behaviour): void;
  /** Resolves once `count` requests reached `path` (rejects after `timeoutMs`). */
  waitFor(path: string, count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export const ok: Behaviour = (_request, response) => response.end('ok');
export const status =
  (code: number, body = 'failed'): Behaviour =>
  (_request, response) => {
    response.statusCode = code;
    response.end(body);
  };
/** Never answers (the sender's timeout must end the attempt). */
export const hang: Behaviour = () => {};

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const behaviours = new Map<string, Behaviour>();
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const entry = { path: request.url ?? '/', headers: request.headers, body, at: Date.now() };
      received.push(entry);
      for (const wake of [...waiters]) wake();
      (behaviours.get(entry.path) ?? ok)(entry, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const at = (path: string) => received.filter((entry) => entry.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    at,
    on: (path, behaviour) => behaviours.set(path, behaviour),
    waitFor(path, count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (at(path).length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(at(path));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${path} received ${at(path).length} of ${count} requests in ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
