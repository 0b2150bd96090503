import { test, expect } from 'vitest';
import { createServer } from '../../src/server/app.js';
import { connect } from '../../src/client/index.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';

for (const via of ['websocket', 'sse', 'longpoll', 'poll'] as const) {
  test(`smoke ${via}`, async () => {
    const server = await createServer({ host: '127.0.0.1', port: 0, engineInstance: createMemoryEngine() });
    const url = await server.listen();
    const client = connect(url, { transports: via, pollIntervalMs: 50 });
    client.on('state', (e) => console.log(via, e.state, e.transport, e.error?.message));
    client.on('error', (e) => console.log(via, 'error', e.message));
    await client.publish('t1', { n: 1 });
    const got: number[] = [];
    client.subscribe('t1', { after: 0, onMessage: (m) => got.push(m.offset) });
    await client.ready();
    await client.publish('t1', { n: 2 });
    await client.publish('t1', { n: 3 });
    for (let i = 0; i < 100 && got.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual([1, 2, 3]);
    client.close();
    await server.close();
  });
}
