/**
 * The web console (`GET /`) in real headless Chromium: it loads (no script errors, CSP intact),
 * lists topics, shows a topic's messages live, publishes from its form, and the patterns view
 * measures the four SDK transports and the GraphQL and MQTT doors side by side. Queried by role and label, as a person would find them.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { memoryServer, publishMany, uniqueTopic } from '../client/support.js';
import type { TestServer } from '../support/server.js';
import { chromiumAvailable, launchChromium } from './support.js';

describe.skipIf(!chromiumAvailable())('web console in Chromium', () => {
  let browser: Browser;
  let server: TestServer;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    [browser, server] = await Promise.all([launchChromium(), memoryServer()]);
    page = await browser.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  test('loads, lists topics, shows live messages and publishes from its form', async () => {
    const topic = uniqueTopic('console');
    await publishMany(server.url, topic, 2);
    const response = await page.goto(`${server.url}/`);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    await expect.poll(() => page.getByRole('status').first().textContent()).toBe('open (websocket)');
    // The topic list refreshes every 2 s; its button watches the topic.
    await page.getByRole('button', { name: `Watch ${topic}` }).click({ timeout: 5_000 });
    const log = page.getByRole('log');
    await expect.poll(() => log.getByRole('listitem').count()).toBe(2);

    await publishMany(server.url, topic, 1, 100); // from elsewhere: shows up live
    await expect.poll(() => log.getByRole('listitem').last().textContent()).toContain('{"n":100}');

    await page.getByLabel('Event name (optional)').fill('typed-in');
    await page.getByLabel('Data (JSON, or plain text)', { exact: true }).fill('{"from":"form"}');
    await page.getByRole('button', { name: 'Publish' }).click();
    await expect
      .poll(() => page.locator('#publish-result').textContent())
      .toBe(`published to ${topic} at offset 4`);
    await expect
      .poll(() => log.getByRole('listitem').last().textContent())
      .toMatch(/^#4 typed-in .* \{"from":"form"\}$/);
    expect(problems).toEqual([]);
  });

  test('the patterns view receives through the four transports, GraphQL and MQTT and plots their latency', async () => {
    // Keyboard only: arrow keys move between tabs (left from the first wraps to the last).
    await page.getByRole('tab', { name: 'Topics' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Groups' }).getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await page.getByRole('tab', { name: 'Patterns' }).getAttribute('aria-selected')).toBe('true');
    await page.getByLabel('Topic', { exact: true }).last().fill(uniqueTopic('patterns'));
    await page.getByRole('button', { name: 'Start' }).click();
    const rows = page.locator('#pattern-stats tbody tr');
    await expect.poll(() => rows.count()).toBe(6);
    // Every transport, short polling included (1 s period), has received at least two messages.
    await expect
      .poll(
        async () =>
          (await rows.locator('td:nth-child(3)').allTextContents()).map(Number).every((n) => n >= 2),
        {
          timeout: 8_000,
        },
      )
      .toBe(true);
    expect(await rows.locator('th').allTextContents()).toEqual([
      'WebSocket',
      'Server-Sent Events',
      'Long polling',
      'Short polling (1 s)',
      'GraphQL (graphql-ws)',
      'MQTT (over WebSocket)',
    ]);
    expect(await page.locator('#chart canvas').count()).toBe(1);
    await page.getByRole('button', { name: 'Stop' }).click();
    expect(problems).toEqual([]);
  });

  test('GET /client.js is served as cacheable, revalidated JavaScript', async () => {
    const first = await fetch(`${server.url}/client.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(first.headers.get('cache-control')).toBe('public, max-age=0, must-revalidate');
    const etag = first.headers.get('etag')!;
    expect(await first.text()).toContain('export{');
    const again = await fetch(`${server.url}/client.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });
});
