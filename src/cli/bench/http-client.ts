/**
 * A tiny keep-alive HTTP client for the drivers (node:http, no dependency): one Agent per driver,
 * every socket tallied for the byte counts.
 */
import { Agent, request } from 'node:http';
import type { SocketTally } from './wire.js';

export interface Answer {
  status: number;
  body: string;
}

export class HttpClient {
  readonly agent: Agent;
  readonly #base: URL;
  readonly #tally: SocketTally | undefined;

  constructor(baseUrl: string, maxSockets: number, tally?: SocketTally) {
    this.#base = new URL(baseUrl);
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.#tally = tally;
  }

  send(
    method: string,
    path: string,
    options: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(Buffer.byteLength(options.body));
      }
      const outgoing = request(
        {
          host: this.#base.hostname,
          port: this.#base.port,
          method,
          path,
          headers,
          agent: this.agent,
          ...(options.signal ? { signal: options.signal } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
          response.on('error', reject);
        },
      );
      if (this.#tally) outgoing.on('socket', (socket) => this.#tally!.add(socket));
      outgoing.on('error', reject);
      outgoing.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
