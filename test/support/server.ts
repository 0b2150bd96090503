/** Starts a real Switchboard server on a free loopback port for a test. */
import { type CreateServerOptions, createServer, type SwitchboardServer } from '../../src/server/app.js';
import type { EngineFixture } from './engines.js';

export interface TestServer {
  server: SwitchboardServer;
  url: string;
  close(): Promise<void>;
}

export async function startServer(
  fixture: EngineFixture,
  options: CreateServerOptions = {},
): Promise<TestServer> {
  const server = await createServer({
    host: '127.0.0.1',
    port: 0,
    engineInstance: fixture.create(),
    ...options,
  });
  const url = await server.listen();
  return { server, url, close: () => server.close() };
}

// biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
export async function json(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from ${response.url} (${response.status}), got: ${text.slice(0, 200)}`);
  }
}

export function post(url: string, body: unknown, contentType = 'application/json'): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
