/**
 * The SSRF guard: crafted addresses (every refused range, IPv6 spellings, IPv4 inside IPv6),
 * resolution to private addresses at registration, DNS rebinding at connect time, redirects
 * re-checked hop by hop, and the server refusing private destinations unless allowed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWebhook } from '../../src/core/webhooks/deliver.js';
import { blockedReason } from '../../src/core/webhooks/ip-ranges.js';
import { assertDestination, guardedLookup, type Resolver } from '../../src/core/webhooks/ssrf-guard.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const REFUSED: Array<[string, RegExp]> = [
  ['127.0.0.1', /loopback/],
  ['127.255.0.9', /loopback/],
  ['10.0.0.1', /private/],
  ['172.16.5.4', /private/],
  ['172.31.255.255', /private/],
  ['192.168.1.1', /private/],
  ['169.254.169.254', /metadata/],
  ['169.254.10.10', /link-local/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['100.127.255.254', /carrier-grade NAT/],
  ['0.0.0.0', /unspecified/],
  ['224.0.0.251', /multicast/],
  ['255.255.255.255', /broadcast/],
  ['240.0.0.1', /reserved/],
  ['198.18.0.1', /benchmarking/],
  ['::1', /loopback/],
  ['0:0:0:0:0:0:0:1', /loopback/],
  ['::', /unspecified/],
  ['fe80::1', /link-local/],
  ['fe80::1%eth0', /link-local/],
  ['fc00::1', /unique-local/],
  ['fd12:3456::1', /unique-local/],
  ['fd00:ec2::254', /metadata/],
  ['ff02::1', /multicast/],
  ['::ffff:127.0.0.1', /loopback.*IPv4-mapped/],
  ['::ffff:7f00:1', /loopback.*IPv4-mapped/],
  ['0:0:0:0:0:ffff:a9fe:a9fe', /metadata.*IPv4-mapped/],
  ['::ffff:10.1.2.3', /private/],
  ['::127.0.0.1', /loopback.*IPv4-compatible/],
  ['64:ff9b::192.168.0.1', /private.*NAT64/],
  ['2002:c0a8:0101::1', /private.*6to4/],
  ['2001:db8::1', /documentation/],
];

const ALLOWED = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '2002:0808:0808::1',
];

describe('blocked address ranges', () => {
  it.each(REFUSED)('refuses %s', (address, reason) => {
    expect(blockedReason(address)).toMatch(reason);
  });
  it.each(ALLOWED)('allows the public address %s', (address) => {
    expect(blockedReason(address)).toBeUndefined();
  });
  it('refuses what is not an address', () => {
    expect(blockedReason('example.com')).toMatch(/not an IP address/);
    expect(blockedReason('1.2.3.256')).toMatch(/not an IP address/);
  });
});

describe('destination checks', () => {
  const resolveTo =
    (...addresses: string[]): Resolver =>
    async () =>
      addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('accepts only http(s) URLs whose every address is public', async () => {
    const check = (url: string, resolve: Resolver) =>
      assertDestination(url, { allowPrivate: false, resolve });
    await expect(check('https://hooks.example/x', resolveTo('93.184.216.34'))).resolves.toBeInstanceOf(URL);
    await expect(
      check('https://hooks.example/x', resolveTo('93.184.216.34', '10.0.0.7')),
    ).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/hooks\.example resolves to 10\.0\.0\.7, which is a private address/),
    });
    await expect(check('https://[::1]/x', resolveTo())).rejects.toMatchObject({
      message: expect.stringMatching(/loopback/),
    });
    await expect(check('http://169.254.169.254/', resolveTo())).rejects.toMatchObject({
      message: expect.stringMatching(/metadata/),
    });
    await expect(check('file:///etc/passwd', resolveTo())).rejects.toMatchObject({
      message: expect.stringMatching(/http or https/),
    });
    await expect(check('gopher://x.example/', resolveTo())).rejects.toMatchObject({ code: 'bad_request' });
    await expect(
      assertDestination('http://127.0.0.1:9/', { allowPrivate: true, resolve: resolveTo() }),
    ).resolves.toBeInstanceOf(URL);
  });

  it('checks again when the socket resolves the name (DNS rebinding)', async () => {
    let calls = 0;
    const rebinding: Resolver = async () => [
      { address: calls++ === 0 ? '93.184.216.34' : '127.0.0.1', family: 4 },
    ];
    await assertDestination('http://rebind.example/', { allowPrivate: false, resolve: rebinding });
    const lookup = guardedLookup(false, rebinding);
    const error = await new Promise<Error | null>((resolve) =>
      lookup('rebind.example', { all: true }, (e) => resolve(e)),
    );
    expect(error?.message).toMatch(/rebind\.example resolves to 127\.0\.0\.1, which is a loopback address/);
  });
});

describe('redirects and the server', () => {
  let target: ReturnType<typeof createServer>;
  let base: string;
  let hits: string[];
  beforeAll(async () => {
    hits = [];
    target = createServer((request, response) => {
      hits.push(request.url ?? '');
      if (request.url === '/to-metadata')
        response.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' });
      else if (request.url === '/to-blocked')
        response.writeHead(302, { location: `http://127.0.0.2:${port()}/inner` });
      else if (request.url === '/to-ok') response.writeHead(308, { location: '/final' });
      else if (request.url === '/loop') response.writeHead(302, { location: '/loop' });
      response.end();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port()}`;
  });
  afterAll(() => new Promise<void>((resolve) => target.close(() => resolve())));
  const port = () => (target.address() as AddressInfo).port;

  // Only this test receiver's address is allowed; everything else follows the real rules.
  const policy = (address: string) => (address === '127.0.0.1' ? undefined : blockedReason(address));
  const deliver = (path: string) =>
    postWebhook({
      url: `${base}${path}`,
      body: '{}',
      headers: {},
      timeoutMs: 2_000,
      maxResponseBytes: 1_024,
      maxRedirects: 3,
      allowPrivate: false,
      policy,
    });

  it('re-checks every redirect hop', async () => {
    expect(await deliver('/to-ok')).toMatchObject({ ok: true, status: 200 });
    expect(hits).toContain('/final');
    const metadata = await deliver('/to-metadata');
    expect(metadata).toMatchObject({ ok: false, error: expect.stringMatching(/metadata/) });
    const blocked = await deliver('/to-blocked');
    expect(blocked).toMatchObject({
      ok: false,
      error: expect.stringMatching(/127\.0\.0\.2 is a loopback address/),
    });
    expect(hits).not.toContain('/inner');
    expect(await deliver('/loop')).toMatchObject({ ok: false, error: 'more than 3 redirects' });
  });

  it('refuses private webhook destinations with a 400 naming the reason unless allowed', async () => {
    const strict: TestServer = await startServer({
      name: 'memory',
      create: createMemoryEngine,
      cleanup() {},
    });
    try {
      for (const [url, reason] of [
        [`${base}/hook`, /loopback/],
        ['http://localhost:9/hook', /loopback/],
        ['http://[::ffff:127.0.0.1]:9/hook', /loopback/],
        ['http://169.254.169.254/', /metadata/],
        ['http://10.1.1.1/', /private/],
      ] as const) {
        const answer = await post(`${strict.url}/v1/topics/ssrf/webhooks`, { url });
        expect(answer.status, url).toBe(400);
        expect((await json(answer)).error.message).toMatch(reason);
      }
      expect((await json(await fetch(`${strict.url}/v1/webhooks`))).webhooks).toEqual([]);
    } finally {
      await strict.close();
    }
  });
});
