/** A WebSocket client follows a job by subscribing to its status topic, like any other topic. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';
import { act, claim, submit } from './helpers.js';

describe('following a job over WebSocket', () => {
  let fixture: EngineFixture;
  let server: TestServer;
  beforeAll(async () => {
    fixture = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!.fixture();
    server = await startServer(fixture);
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('receives every status message of the job, ending with the terminal one', async () => {
    const { url } = server;
    const { body } = await submit(url, 'ws.jobs', { payload: 'clip.mov' });
    const socket = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
    // biome-ignore lint/suspicious/noExplicitAny: frames of many shapes
    const frames: any[] = [];
    const terminal = new Promise<void>((resolve, reject) => {
      socket.on('message', (raw) => {
        const frame = JSON.parse(String(raw));
        frames.push(frame);
        if (frame.op === 'message' && ['succeeded', 'failed', 'canceled'].includes(frame.event)) resolve();
      });
      socket.on('error', reject);
    });
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ op: 'subscribe', id: 1, topic: body.links.topic, after: 0 }));
    const { lease } = (await claim(url, 'ws.jobs')).body;
    await act(url, body.id, 'progress', { lease, progress: 50 });
    await act(url, body.id, 'complete', { lease, result: { frames: 240 } });
    await terminal;
    socket.close();
    const messages = frames.filter((f) => f.op === 'message');
    expect(messages.map((m) => [m.event, m.data.status, m.data.progress])).toEqual([
      ['queued', 'queued', 0],
      ['running', 'running', 0],
      ['progress', 'running', 50],
      ['succeeded', 'succeeded', 100],
    ]);
    expect(messages.at(-1).data.result).toEqual({ frames: 240 });
  });
});
