/**
 * Graceful shutdown: push connections are closed by the server with a reconnect hint (WebSocket
 * 1012 + reason; SSE `retry:` + `close` event, then the body ends) before the store closes, and the
 * server's close() does not wait on them.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/ws.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { startServer } from '../support/server.js';
import { openSse } from './support/sse-client.js';
import { freshTopic } from './support/util.js';
import { connectWs } from './support/ws-client.js';

describe.each(ENGINE_FIXTURES)('shutdown with push clients: $name', ({ fixture: makeFixture }) => {
  it('closes WebSockets with 1012 and ends SSE streams with a retry hint', async () => {
    const fixture = makeFixture();
    const server = await startServer(fixture, { sseRetryMs: 1_000 });
    const topic = freshTopic();
    try {
      const ws = await connectWs(server.url);
      await ws.request({ op: 'subscribe', topic });
      const sse = await openSse(`${server.url}/v1/topics/${topic}/events`);
      await sse.next((f) => f.event === 'ready');

      const started = Date.now();
      await server.close();
      expect(Date.now() - started).toBeLessThan(2_000);

      const closed = await ws.closed;
      expect(closed.code).toBe(CloseCode.ServiceRestart);
      expect(closed.reason).toBe(
        'server restarting; reconnect in a moment and resume from your last offsets',
      );

      await sse.ended;
      const [retry, close] = sse.frames.slice(-2);
      expect(retry!.retry).toBeGreaterThanOrEqual(1_000);
      expect(retry!.retry).toBeLessThanOrEqual(2_000);
      expect(close!.event).toBe('close');
      expect(JSON.parse(close!.data!)).toEqual({
        code: 1012,
        reason: 'server restarting; reconnecting resumes from your last event id',
      });
    } finally {
      await server.close();
      fixture.cleanup();
    }
  });

  it('refuses new WebSocket upgrades and SSE streams while closing', async () => {
    const fixture = makeFixture();
    const server = await startServer(fixture);
    const ws = await connectWs(server.url);
    const closing = server.close();
    const sse = await fetch(`${server.url}/v1/topics/x/events`).catch((error: Error) => error);
    if (sse instanceof Response) expect(sse.status).toBe(503);
    await expect(connectWs(server.url)).rejects.toThrow();
    await closing;
    expect((await ws.closed).code).toBe(CloseCode.ServiceRestart);
    fixture.cleanup();
  });
});
