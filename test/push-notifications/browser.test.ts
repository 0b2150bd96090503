/**
 * Web Push in real headless Chromium, up to the boundary this machine allows: Chromium cannot reach
 * its real push service (FCM) here, so `pushManager.subscribe` cannot produce a real endpoint. What
 * is tested for real: the example page (examples/push/) registers its service worker, its "Notify
 * me" button runs the SDK's `client.push.subscribe`, whose registration request the server accepts
 * (201) — with a subscription whose keys the page made with WebCrypto and an endpoint on the
 * loopback push service, which then decrypts a delivery with the page's private key. And the
 * example service worker, sent a push through DevTools (`ServiceWorker.deliverPushMessage`, the
 * event a push service would cause), shows the notification, reading a truncated message first.
 */
import { createECDH } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import ece from 'http_ece';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../browser/support.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';
import { type PushService, startPushService } from './push-service.js';

const EXAMPLE = new URL('../../examples/push/', import.meta.url);

/** One origin for the example and the hub: the example's files, everything else proxied to the hub. */
async function startSite(hub: string): Promise<{ url: string; server: Server }> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const file = { '/push/': 'index.html', '/push/sw.js': 'sw.js' }[path];
    if (file) {
      const type = file.endsWith('.js') ? 'text/javascript' : 'text/html';
      response.writeHead(200, { 'content-type': `${type}; charset=utf-8` });
      response.end(readFileSync(new URL(file, EXAMPLE)));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const answer = await fetch(`${hub}${request.url}`, {
      method: request.method ?? 'GET',
      headers: request.headers['content-type'] ? { 'content-type': request.headers['content-type'] } : {},
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
    response.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!chromiumAvailable())('Web Push in Chromium (examples/push, SDK)', () => {
  let hub: TestServer;
  let site: { url: string; server: Server };
  let service: PushService;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const fixture = ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture();

  beforeAll(async () => {
    hub = await startServer(fixture, { allowPrivateWebhooks: true });
    site = await startSite(hub.url);
    service = await startPushService();
    browser = await launchChromium();
    context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: site.url });
    page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${site.url}/push/`);
    await page.waitForSelector('body[data-ready="true"]');
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await new Promise((resolve) => site?.server.close(resolve));
    await hub?.close();
  });

  it('the Notify me button registers the worker and the SDK registers a working subscription', async () => {
    // Where a real push service would mint the endpoint, the page's own key pair and the loopback
    // push service stand in: PushManager answers with them (see the file comment).
    const endpoint = `${service.url}/chromium/1`;
    const keys = await page.evaluate(async (endpoint) => {
      const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, [
        'deriveBits',
      ])) as CryptoKeyPair;
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
      const auth = crypto.getRandomValues(new Uint8Array(16));
      const b64url = (bytes: Uint8Array) =>
        btoa(String.fromCharCode(...bytes))
          .replace(/\+/g, '-')
          .replace(/\//g, '_')
          .replace(/=+$/, '');
      const subscription = {
        endpoint,
        options: { applicationServerKey: null },
        toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh: b64url(raw), auth: b64url(auth) } }),
        unsubscribe: async () => true,
      };
      PushManager.prototype.getSubscription = async () => subscription as unknown as PushSubscription;
      const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
      return { d: jwk.d!, auth: b64url(auth), p256dh: b64url(raw) };
    }, endpoint);

    await page.getByRole('button', { name: 'Notify me' }).click();
    await expect
      .poll(() => page.locator('#status').textContent(), { timeout: 10_000 })
      .toMatch(/subscription ps_/);
    const id = await page.locator('#status').getAttribute('data-subscription');
    expect(await json(await fetch(`${hub.url}/v1/push-subscriptions/${id}`))).toMatchObject({
      topic: 'alerts',
      pushService: service.origin,
    });
    const workers = await page.evaluate(async () =>
      (await navigator.serviceWorker.getRegistrations()).map((r) => r.active?.scriptURL ?? ''),
    );
    expect(workers).toEqual([expect.stringMatching(/\/push\/sw\.js\?server=/)]);

    // The subscription the SDK sent works: a delivery decrypts with the page's private key.
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(Buffer.from(keys.d, 'base64url'));
    expect(ecdh.getPublicKey().toString('base64url')).toBe(keys.p256dh);
    await post(`${hub.url}/v1/topics/alerts/messages`, { data: 'hello browser' });
    const [delivery] = await service.waitFor('/chromium/1', 1);
    expect(delivery!.error).toBeUndefined(); // the VAPID JWT verified
    const opened = ece.decrypt(delivery!.raw, {
      version: 'aes128gcm',
      privateKey: ecdh,
      authSecret: keys.auth,
    });
    expect(JSON.parse(opened.toString())).toMatchObject({ topic: 'alerts', data: 'hello browser' });
  });

  it('the example worker shows a notification for a push, reading a truncated message first', async () => {
    const big = 'y'.repeat(5_000);
    const published = await json(await post(`${hub.url}/v1/topics/alerts/messages`, { data: big }));
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event) => registrations.push(...event.registrations));
    await cdp.send('ServiceWorker.enable');
    await expect.poll(() => registrations.length).toBeGreaterThan(0);
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: site.url,
      registrationId: registrations[0]!.registrationId,
      data: JSON.stringify({ topic: 'alerts', offset: published.offset, truncated: true }),
    });
    const shown = () =>
      page.evaluate(async () =>
        (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({
          title: n.title,
          body: n.body,
        })),
      );
    await expect
      .poll(shown, { timeout: 10_000 })
      .toEqual([{ title: `alerts #${published.offset}`, body: expect.stringMatching(/^y{150,}…$/) }]);
  });

  it('reports what a real pushManager.subscribe does here (no push service reachable)', async () => {
    const outcome = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      const key = await (await fetch('/v1/push/vapid-public-key')).json();
      try {
        const real = await PushManager.prototype.subscribe.call(registration.pushManager, {
          userVisibleOnly: true,
          applicationServerKey: key.publicKey,
        });
        return `subscribed: ${new URL(real.endpoint).origin}`;
      } catch (error) {
        return `refused: ${(error as Error).name}: ${(error as Error).message}`;
      }
    });
    console.log(`Chromium pushManager.subscribe without a reachable push service: ${outcome}`);
    expect(outcome).toMatch(/^(subscribed|refused): /);
  });
});
