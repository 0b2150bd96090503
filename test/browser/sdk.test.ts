/**
 * The browser bundle (`GET /client.js`) in real headless Chromium: the SDK receives over each
 * transport forced in turn, and after `kill -9` of a real `switchboard serve` and a restart on the
 * same port and data directory, the SDK (every transport) and a plain `EventSource` resume with no
 * gap and no duplicate.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { memoryServer, publishMany, range, TRANSPORT_NAMES, uniqueTopic } from '../client/support.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import type { TestServer } from '../support/server.js';
import { chromiumAvailable, freePort, launchChromium } from './support.js';

declare global {
  interface Window {
    /** Offsets each lane received, keyed by lane name. */
    received: Record<string, number[]>;
    // biome-ignore lint/suspicious/noExplicitAny: the SDK as loaded from /client.js in the page
    connect: any;
    states: string[];
  }
}

/** Opens a page on the server's origin (as an app served from there would be) with `received` ready. */
async function pageOn(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error.message));
  await page.goto(`${url}/healthz`);
  // A module script, as an app would load it (vitest would rewrite an import() inside evaluate).
  await page.addScriptTag({
    type: 'module',
    content: "import { connect } from '/client.js'; window.connect = connect;",
  });
  await page.waitForFunction(() => typeof window.connect === 'function');
  await page.evaluate(() => {
    window.received = {};
    window.states = [];
  });
  return page;
}

/** Starts, in the page, one SDK client per transport, each forced, subscribed from offset 0. */
function subscribeInPage(page: Page, topic: string, transports: readonly string[]): Promise<void> {
  return page.evaluate(
    async ({ topic, transports }) => {
      for (const transport of transports) {
        window.received[transport] = [];
        const client = window.connect(location.origin, {
          transports: transport,
          pollIntervalMs: 50,
          reconnect: { minDelayMs: 50, maxDelayMs: 500 },
        });
        client.on('state', (event: { state: string; transport?: string }) =>
          window.states.push(`${transport}:${event.state}:${event.transport ?? ''}`),
        );
        client.subscribe(topic, {
          after: 0,
          onMessage: (m: { offset: number }) => window.received[transport]!.push(m.offset),
        });
      }
    },
    { topic, transports },
  );
}

async function waitForCounts(
  page: Page,
  lanes: readonly string[],
  count: number,
  timeoutMs = 10_000,
): Promise<Record<string, number[]>> {
  await page.waitForFunction(
    ({ lanes, count }) => lanes.every((lane) => (window.received[lane]?.length ?? 0) >= count),
    { lanes, count },
    { timeout: timeoutMs, polling: 50 },
  );
  await page.waitForTimeout(100); // a duplicate would show up now
  return page.evaluate(() => window.received);
}

describe.skipIf(!chromiumAvailable())('SDK bundle in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser?.close());

  describe('over each transport', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await memoryServer();
    });
    afterAll(() => server.close());

    test('receives replay and live messages over websocket, sse, longpoll and poll', async () => {
      const page = await pageOn(browser, server.url);
      const topic = uniqueTopic();
      await publishMany(server.url, topic, 5);
      await subscribeInPage(page, topic, TRANSPORT_NAMES);
      await waitForCounts(page, TRANSPORT_NAMES, 5);
      await publishMany(server.url, topic, 5, 5);
      const received = await waitForCounts(page, TRANSPORT_NAMES, 10);
      for (const transport of TRANSPORT_NAMES)
        expect({ transport, got: received[transport] }).toEqual({ transport, got: range(1, 10) });
      const states = await page.evaluate(() => window.states);
      for (const transport of TRANSPORT_NAMES) expect(states).toContain(`${transport}:open:${transport}`);
      await page.close();
    });
  });

  test('after kill -9 and a restart on the same port and data, the SDK and EventSource resume exactly', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
    const args = ['--data-dir', dataDir, '--port', String(await freePort())];
    let server: ServerProcess = await spawnServer(args);
    const page = await pageOn(browser, server.url);
    const topic = uniqueTopic('crash');
    const lanes = [...TRANSPORT_NAMES, 'eventsource'];
    try {
      await subscribeInPage(page, topic, TRANSPORT_NAMES);
      await page.evaluate((topic) => {
        window.received.eventsource = [];
        const source = new EventSource(`/v1/topics/${topic}/events?after=0`);
        source.onmessage = (event) => window.received.eventsource!.push(JSON.parse(event.data).offset);
      }, topic);
      await publishMany(server.url, topic, 10);
      await waitForCounts(page, lanes, 10);

      server.child.kill('SIGKILL');
      await server.exited;
      server = await spawnServer(args);
      await publishMany(server.url, topic, 10, 10);
      // EventSource waits the server's `retry:` hint (2 s) between attempts.
      const received = await waitForCounts(page, lanes, 20, 15_000);
      for (const lane of lanes) expect({ lane, got: received[lane] }).toEqual({ lane, got: range(1, 20) });
    } finally {
      await page.close();
      server.child.kill('SIGKILL');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
