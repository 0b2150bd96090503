/**
 * A push service on loopback that behaves like a real one, for Web Push tests: it decrypts every
 * delivery with `http_ece` (an independent RFC 8188/8291 implementation) using the keys of the
 * "browser" it made for that endpoint, verifies the VAPID JWT with `jose`, keeps the headers, and
 * answers 201 unless a test programs another answer (429 with Retry-After, 410, a hang…).
 */
import { createECDH, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ece from 'http_ece';
import { importJWK, type JWTPayload, jwtVerify } from 'jose';

export interface PushDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  /** The decrypted payload (undefined when decryption failed, see `error`, or keys are elsewhere). */
  payload: string | undefined;
  /** The encrypted body as received. */
  raw: Buffer;
  /** VAPID: the verified JWT claims and the public key it names (`k=`). */
  claims: JWTPayload | undefined;
  vapidKey: string | undefined;
  error: string | undefined;
  at: number;
}

export type Answer = (delivery: PushDelivery, response: ServerResponse) => void;

export const created: Answer = (_delivery, response) => {
  response.statusCode = 201;
  response.end();
};
export const answer =
  (status: number, headers: Record<string, string> = {}): Answer =>
  (_delivery, response) => {
    response.writeHead(status, headers);
    response.end(`status ${status}`);
  };
export const hang: Answer = () => {};

/** A browser's side of one subscription: its keys and `PushSubscription.toJSON()`. */
export interface FakeBrowser {
  path: string;
  subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

export interface PushService {
  url: string;
  origin: string;
  browser(path: string): FakeBrowser;
  deliveries(path: string): PushDelivery[];
  on(path: string, answer: Answer): void;
  waitFor(path: string, count: number, timeoutMs?: number): Promise<PushDelivery[]>;
  close(): Promise<void>;
}

async function verifyVapid(
  authorization: string | undefined,
  origin: string,
): Promise<{ claims: JWTPayload; key: string }> {
  const match = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!match) throw new Error(`Authorization is not "vapid t=…, k=…": ${authorization}`);
  const [, token, key] = match as unknown as [string, string, string];
  const point = Buffer.from(key, 'base64url');
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: point.subarray(1, 33).toString('base64url'),
    y: point.subarray(33).toString('base64url'),
  };
  const { payload, protectedHeader } = await jwtVerify(token, await importJWK(jwk, 'ES256'), {
    audience: origin,
    algorithms: ['ES256'],
  });
  if (protectedHeader.typ !== 'JWT') throw new Error('JWT header typ is not JWT');
  return { claims: payload, key };
}

export async function startPushService(): Promise<PushService> {
  const browsers = new Map<string, { ecdh: ReturnType<typeof createECDH>; auth: string }>();
  const received = new Map<string, PushDelivery[]>();
  const answers = new Map<string, Answer>();
  const waiters = new Set<() => void>();
  let origin = '';

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const path = request.url ?? '/';
      const delivery: PushDelivery = {
        path,
        headers: request.headers,
        payload: undefined,
        raw: Buffer.concat(chunks),
        claims: undefined,
        vapidKey: undefined,
        error: undefined,
        at: Date.now(),
      };
      try {
        const browser = browsers.get(path); // absent: the keys are a real browser's (the test decrypts)
        if (browser) {
          delivery.payload = ece
            .decrypt(delivery.raw, {
              version: 'aes128gcm',
              privateKey: browser.ecdh,
              authSecret: browser.auth,
            })
            .toString('utf8');
        }
        const vapid = await verifyVapid(request.headers.authorization, origin);
        delivery.claims = vapid.claims;
        delivery.vapidKey = vapid.key;
      } catch (error) {
        delivery.error = (error as Error).message;
      }
      const list = received.get(path) ?? [];
      received.set(path, list);
      list.push(delivery);
      if (delivery.error)
        answer(400)(delivery, response); // as a real push service would
      else (answers.get(path) ?? created)(delivery, response);
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    url: origin,
    origin,
    browser(path) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16).toString('base64url');
      browsers.set(path, { ecdh, auth });
      return {
        path,
        subscription: {
          endpoint: `${origin}${path}`,
          expirationTime: null,
          keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth },
        },
      };
    },
    deliveries: (path) => received.get(path) ?? [],
    on: (path, behaviour) => answers.set(path, behaviour),
    waitFor(path, count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const list = received.get(path) ?? [];
          if (list.length < count) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(list.slice());
          return true;
        };
        const wake = (): void => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`${path}: ${(received.get(path) ?? []).length} of ${count} deliveries`));
        }, timeoutMs);
        if (!check()) waiters.add(wake);
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
