/**
 * A local HTTP receiver for webhook deliveries and job callbacks: answers every POST 204 at once and
 * records its arrival time (monotonic µs) and body, by path.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monoUs } from './proc.js';

export interface Received {
  atUs: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export class Receiver {
  readonly url: string;
  readonly #server: Server;
  readonly #byPath = new Map<string, Received[]>();
  readonly #listeners = new Set<(path: string, received: Received) => void>();

  private constructor(server: Server, url: string) {
    this.#server = server;
    this.url = url;
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const received: Received = {
          atUs: monoUs(),
          body: Buffer.concat(chunks).toString('utf8'),
          headers: request.headers,
        };
        response.writeHead(204).end();
        const path = request.url ?? '/';
        const list = this.#byPath.get(path) ?? [];
        if (list.length === 0) this.#byPath.set(path, list);
        list.push(received);
        for (const listener of this.#listeners) listener(path, received);
      });
    });
  }

  static async start(): Promise<Receiver> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new Receiver(server, `http://127.0.0.1:${port}`);
  }

  received(path: string): Received[] {
    return this.#byPath.get(path) ?? [];
  }

  onReceive(listener: (path: string, received: Received) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
