/** Every kind of bad token is a 401 with the contract's JSON; good tokens pass, from every key source. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { errorCode, forge, mint, nowSeconds, publish, SECRET, startTokenServer } from './support.js';

const orders = { publish: ['orders'], subscribe: ['orders'] };

describe('token mode with an HS256 secret', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTokenServer({ jwtAudience: 'switchboard', jwtIssuer: 'https://issuer.test' });
  });
  afterAll(() => server.close());
  const claims = { ...orders, audience: 'switchboard', issuer: 'https://issuer.test' };

  it('accepts a valid token and refuses a missing one', async () => {
    expect((await publish(server.url, 'orders', await mint(claims))).status).toBe(201);
    const none = await publish(server.url, 'orders');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await errorCode(none)).toBe('unauthorized');
  });

  const badTokens: Array<[string, () => Promise<string> | string, RegExp?]> = [
    ['garbage', () => 'not-a-jwt', /malformed/],
    ['expired beyond the 30 s tolerance', () => mint({ ...claims, expiresIn: -45 }), /expired/],
    ['not valid yet beyond the tolerance', () => mint({ ...claims, notBeforeIn: 120 }), /not valid yet/],
    [
      'signed with another secret',
      () => mint(claims, 'another-secret-that-is-also-32-bytes-long'),
      /signature/,
    ],
    ['wrong audience', () => mint({ ...claims, audience: 'someone-else' }), /"aud"/],
    ['wrong issuer', () => mint({ ...claims, issuer: 'https://evil.test' }), /"iss"/],
    [
      'alg none',
      () =>
        forge(
          { alg: 'none' },
          {
            sub: 'a',
            exp: nowSeconds() + 60,
            aud: 'switchboard',
            iss: 'https://issuer.test',
            topics: orders,
          },
        ),
    ],
    [
      'alg none with a copied signature',
      async () => {
        const good = (await mint(claims)).split('.');
        return forge(
          { alg: 'none', typ: 'JWT' },
          JSON.parse(Buffer.from(good[1]!, 'base64url').toString()),
          good[2],
        );
      },
    ],
    ['HS512 (not an accepted algorithm)', () => mint(claims, SECRET, 'HS512')],
    [
      'no sub claim',
      () =>
        new SignJWT({ topics: orders })
          .setProtectedHeader({ alg: 'HS256' })
          .setAudience('switchboard')
          .setIssuer('https://issuer.test')
          .setExpirationTime(nowSeconds() + 60)
          .sign(new TextEncoder().encode(SECRET)),
    ],
    [
      'no exp claim',
      () =>
        new SignJWT({ topics: orders })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('a')
          .setAudience('switchboard')
          .setIssuer('https://issuer.test')
          .sign(new TextEncoder().encode(SECRET)),
    ],
    [
      'malformed topics claim',
      () =>
        new SignJWT({ topics: { publish: 'orders' } })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('a')
          .setAudience('switchboard')
          .setIssuer('https://issuer.test')
          .setExpirationTime(nowSeconds() + 60)
          .sign(new TextEncoder().encode(SECRET)),
    ],
  ];
  for (const [kind, make, reason] of badTokens) {
    it(`refuses a token that is ${kind}: 401 unauthorized`, async () => {
      const response = await publish(server.url, 'orders', await make());
      expect(response.status).toBe(401);
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(reason ?? /algorithm|claim|malformed/);
    });
  }

  it('tolerates clock skew of up to 30 s on exp and nbf', async () => {
    expect((await publish(server.url, 'orders', await mint({ ...claims, expiresIn: -10 }))).status).toBe(201);
    expect((await publish(server.url, 'orders', await mint({ ...claims, notBeforeIn: 10 }))).status).toBe(
      201,
    );
  });

  it('refuses an Authorization header that is not Bearer', async () => {
    const response = await fetch(`${server.url}/v1/topics/orders/messages`, {
      headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
    });
    expect(response.status).toBe(401);
  });
});

describe('token mode with an RSA public key file', () => {
  let server: TestServer;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let publicPem: string;
  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    publicPem = await exportSPKI(rsa.publicKey);
    const file = join(mkdtempSync(join(tmpdir(), 'switchboard-keys-')), 'public.pem');
    writeFileSync(file, publicPem);
    server = await startTokenServer({ jwtSecret: undefined, jwtPublicKey: file });
  });
  afterAll(() => server.close());

  it('accepts RS256 tokens signed with the private key', async () => {
    expect((await publish(server.url, 'orders', await mint(orders, rsa.privateKey, 'RS256'))).status).toBe(
      201,
    );
  });

  it('refuses HS256 tokens that use the public key as the HMAC secret (algorithm confusion)', async () => {
    const confused = await mint(orders, publicPem, 'HS256');
    const response = await publish(server.url, 'orders', confused);
    expect(response.status).toBe(401);
    expect(await errorCode(response)).toBe('unauthorized');
  });

  it('refuses tokens signed by another key and ES256 tokens', async () => {
    const other = await generateKeyPair('RS256');
    expect((await publish(server.url, 'orders', await mint(orders, other.privateKey, 'RS256'))).status).toBe(
      401,
    );
    const ec = await generateKeyPair('ES256');
    expect((await publish(server.url, 'orders', await mint(orders, ec.privateKey, 'ES256'))).status).toBe(
      401,
    );
  });

  it('refuses to start with a private key as its public key', async () => {
    const { exportPKCS8 } = await import('jose');
    await expect(
      startTokenServer({ jwtSecret: undefined, jwtPublicKey: await exportPKCS8(rsa.privateKey) }),
    ).rejects.toThrow(/private key/);
  });
});

describe('token mode with a JWKS URL', () => {
  let server: TestServer;
  let jwksServer: Server;
  let es: Awaited<ReturnType<typeof generateKeyPair>>;
  let fetches = 0;
  beforeAll(async () => {
    es = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(es.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    jwksServer = createServer((_request, response) => {
      fetches++;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as { port: number };
    server = await startTokenServer({ jwtSecret: undefined, jwksUrl: `http://127.0.0.1:${port}/jwks.json` });
  });
  afterAll(async () => {
    await server.close();
    jwksServer.close();
  });

  const signed = (kid: string, key = es.privateKey) =>
    new SignJWT({ topics: orders })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject('svc')
      .setExpirationTime(nowSeconds() + 60)
      .sign(key);

  it('verifies with the published key and caches the key set', async () => {
    expect((await publish(server.url, 'orders', await signed('key-1'))).status).toBe(201);
    expect((await publish(server.url, 'orders', await signed('key-1'))).status).toBe(201);
    expect(fetches).toBe(1);
  });

  it('refuses an unknown kid and a foreign key: 401', async () => {
    expect((await publish(server.url, 'orders', await signed('key-2'))).status).toBe(401);
    const other = await generateKeyPair('ES256');
    expect((await publish(server.url, 'orders', await signed('key-1', other.privateKey))).status).toBe(401);
  });

  it('answers 503 when the JWKS cannot be fetched', async () => {
    const down = await startTokenServer({ jwtSecret: undefined, jwksUrl: 'http://127.0.0.1:1/jwks.json' });
    try {
      const response = await publish(down.url, 'orders', await signed('key-1'));
      expect(response.status).toBe(503);
      expect(await errorCode(response)).toBe('unavailable');
    } finally {
      await down.close();
    }
  });
});
