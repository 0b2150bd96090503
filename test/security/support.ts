/** Token minting and server helpers shared by the security tests. */
import { connect, type Socket } from 'node:net';
import { base64url, SignJWT } from 'jose';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import type { CreateServerOptions } from '../../src/server/app.js';
import type { EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';

export const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';
export const memory: EngineFixture = { name: 'memory', create: () => createMemoryEngine(), cleanup() {} };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface Grants {
  sub?: string;
  publish?: string[];
  subscribe?: string[];
  admin?: boolean;
  /** Seconds from now; negative = already expired. */
  expiresIn?: number;
  /** Seconds from now for `nbf`. */
  notBeforeIn?: number;
  audience?: string;
  issuer?: string;
}

/** A signed token; `key` and `alg` default to the HS256 test secret. */
export function mint(grants: Grants = {}, key: Uint8Array | CryptoKey | string = SECRET, alg = 'HS256') {
  const now = nowSeconds();
  const jwt = new SignJWT({
    topics: { publish: grants.publish ?? [], subscribe: grants.subscribe ?? [] },
    ...(grants.admin ? { admin: true } : {}),
  })
    .setProtectedHeader({ alg })
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (grants.expiresIn ?? 300));
  jwt.setSubject(grants.sub ?? 'alice');
  if (grants.notBeforeIn !== undefined) jwt.setNotBefore(now + grants.notBeforeIn);
  if (grants.audience) jwt.setAudience(grants.audience);
  if (grants.issuer) jwt.setIssuer(grants.issuer);
  return jwt.sign(typeof key === 'string' ? new TextEncoder().encode(key) : key);
}

/** A token with arbitrary header and payload and the given signature part (e.g. `alg: none`). */
export function forge(header: object, payload: object, signature = ''): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${signature}`;
}

export function startTokenServer(options: CreateServerOptions = {}): Promise<TestServer> {
  return startServer(memory, { auth: 'token', jwtSecret: SECRET, ...options });
}

export function bearer(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...extra };
}

export const jsonHeaders = { 'content-type': 'application/json' };

export function publish(url: string, topic: string, token?: string): Promise<Response> {
  return fetch(`${url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: token ? bearer(token, jsonHeaders) : jsonHeaders,
    body: JSON.stringify({ data: { n: 1 } }),
  });
}

export async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code ?? `(no error: ${JSON.stringify(body)})`;
}

/** A raw TCP connection to the server, with everything it receives. */
export async function rawSocket(
  url: string,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => text, closed };
}
