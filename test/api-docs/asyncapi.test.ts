/** The AsyncAPI 3 document of the push channels, validated by the AsyncAPI project's own parser. */
import { Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer(ENGINE_FIXTURES.find((f) => f.name === 'memory')!.fixture());
});
afterAll(() => server.close());

describe('GET /asyncapi.json', () => {
  it('parses without errors and names the WebSocket, SSE and MQTT channels', async () => {
    const response = await fetch(`${server.url}/asyncapi.json`);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const text = await response.text();
    const { document, diagnostics } = await new Parser().parse(text);
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!
      .channels()
      .all()
      .map((channel) => channel.address());
    expect(addresses).toEqual(expect.arrayContaining(['/v1/ws', '/v1/topics/{topic}/events', '{mqttTopic}']));
    const wsMessages = document!
      .channels()
      .get('websocket')!
      .messages()
      .all()
      .map((m) => m.id());
    expect(wsMessages).toEqual(
      expect.arrayContaining(['subscribe', 'publish', 'ack', 'message', 'gap', 'reset']),
    );
  });
});
