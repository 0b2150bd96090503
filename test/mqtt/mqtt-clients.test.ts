/**
 * The MQTT door with clients nobody here wrote: mosquitto_pub / mosquitto_sub (Debian
 * mosquitto-clients), cross-door with SSE and HTTP, and persistent sessions on every engine — a
 * device that reconnects to another node (or the same store after a restart) gets what was
 * published while it was away, from the log.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);
const MOSQUITTO = spawnSync('mosquitto_pub', ['--help']).error === undefined;
if (!MOSQUITTO) {
  console.warn(
    '\n*** mosquitto_pub/mosquitto_sub not found: MQTT tests with mosquitto-clients are SKIPPED (apt-get install mosquitto-clients) ***\n',
  );
}

/** Reads an SSE stream until `count` message events arrived; returns their data. */
async function sseMessages(url: string, count: number): Promise<unknown[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const found: unknown[] = [];
  let text = '';
  while (found.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const events = text.split('\n\n');
    text = events.pop()!;
    for (const event of events) {
      const data = event.split('\n').find((line) => line.startsWith('data: '));
      if (event.includes('event: message') || (!event.includes('event:') && data)) {
        if (data) found.push(JSON.parse(data.slice(6)).data);
      }
    }
  }
  await reader.cancel();
  return found;
}

/** Waits until `count` MQTT clients are connected, then a moment for their SUBSCRIBE. */
async function connected(server: TestServer, count: number): Promise<void> {
  for (let i = 0; i < 250 && server.server.mqtt.connections < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe.skipIf(!MOSQUITTO)('mosquitto-clients', () => {
  const fixture = ENGINE_FIXTURES[0]!.fixture();
  let server: TestServer;
  let port: string;
  beforeAll(async () => {
    server = await startServer(fixture, { mqttPort: 0 });
    port = String(server.server.mqtt.port);
  });
  afterAll(() => server.close());

  it('mosquitto_pub → SSE: a device publish is a message any browser sees', async () => {
    const seen = sseMessages(`${server.url}/v1/topics/plant.boiler/events`, 2);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the stream is open
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'plant/boiler',
      '-m',
      'hello',
      '-q',
      '1',
    ]);
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'plant/boiler',
      '-m',
      '{"bar":2.5}',
      '-q',
      '0',
    ]);
    expect(await seen).toEqual(['hello', { bar: 2.5 }]);
  });

  it('HTTP publish → mosquitto_sub: strings arrive as raw text, JSON as its text', async () => {
    const sub = run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'alerts/#',
      '-q',
      '1',
      '-C',
      '2',
      '-v',
      '-W',
      '5',
    ]);
    await connected(server, 1); // subscribed
    await post(`${server.url}/v1/topics/alerts.fire/messages`, 'evacuate', 'text/plain');
    await post(`${server.url}/v1/topics/alerts.flood.north/messages`, { data: { level: 3 } });
    const { stdout } = await sub;
    expect(stdout.trim().split('\n')).toEqual(['alerts/fire evacuate', 'alerts/flood/north {"level":3}']);
  });

  it('mosquitto_sub with clean session off resumes from its cursor (-c -i)', async () => {
    const args = [
      '-h',
      '127.0.0.1',
      '-p',
      port,
      '-t',
      'queue/jobs-done',
      '-q',
      '1',
      '-c',
      '-i',
      'mosq-1',
      '-W',
      '5',
    ];
    const first = run('mosquitto_sub', [...args, '-C', '1']);
    await connected(server, 1);
    await post(`${server.url}/v1/topics/queue.jobs-done/messages`, { data: { n: 1 } });
    expect((await first).stdout.trim()).toBe('{"n":1}');
    await new Promise((resolve) => setTimeout(resolve, 300)); // its cursor is written at disconnect
    for (const n of [2, 3]) await post(`${server.url}/v1/topics/queue.jobs-done/messages`, { data: { n } });
    const { stdout } = await run('mosquitto_sub', [...args, '-C', '2']);
    expect(stdout.trim().split('\n')).toEqual(['{"n":2}', '{"n":3}']);
  });
});

// Memory engines share nothing between nodes: the store must be SQLite (one file) or Redis.
describe.each(ENGINE_FIXTURES.filter((f) => f.name !== 'memory'))(
  'persistent sessions on $name',
  ({ fixture: makeFixture }) => {
    it('a device reconnecting to another node (same store) gets what was published while it was away, in order', async () => {
      const fixture = makeFixture();
      const nodeA = await startServer(fixture, { mqttPort: 0 });
      const options = { clientId: 'roaming-1', clean: false, reconnectPeriod: 0 };
      const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${nodeA.server.mqtt.port}`, options);
      await device.subscribeAsync(['fleet/+/cmd', 'fleet/7/ota'], { qos: 1 });
      await post(`${nodeA.url}/v1/topics/fleet.7.cmd/messages`, { data: { n: 0 } }); // a topic the wildcard already covers
      await new Promise((resolve) => setTimeout(resolve, 300));
      await device.endAsync();
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const n of [1, 2]) await post(`${nodeA.url}/v1/topics/fleet.7.cmd/messages`, { data: { n } });
      await post(`${nodeA.url}/v1/topics/fleet.9.cmd/messages`, { data: 'new topic' }); // created while away
      await post(`${nodeA.url}/v1/topics/fleet.7.ota/messages`, 'v2.1', 'text/plain');
      await nodeA.close();

      const nodeB = await startServer(fixture, { mqttPort: 0 });
      try {
        const got: string[] = [];
        const back = mqtt.connect(`mqtt://127.0.0.1:${nodeB.server.mqtt.port}`, options);
        const all = new Promise<void>((resolve) => {
          back.on('message', (topic, payload) => {
            got.push(`${topic} ${payload}`);
            if (got.length === 4) resolve();
          });
        });
        await Promise.race([
          all,
          new Promise((_, reject) => setTimeout(() => reject(new Error(`got ${got}`)), 5_000)),
        ]);
        expect(got.filter((line) => line.startsWith('fleet/7/cmd'))).toEqual([
          'fleet/7/cmd {"n":1}',
          'fleet/7/cmd {"n":2}',
        ]);
        expect(got).toContain('fleet/9/cmd new topic');
        expect(got).toContain('fleet/7/ota v2.1');
        await back.endAsync();
        const answer = await json(await fetch(`${nodeB.url}/v1/topics/fleet.7.cmd/messages?after=0`));
        expect(answer.messages).toHaveLength(3); // nothing was appended twice
      } finally {
        await nodeB.close();
        fixture.cleanup();
      }
    });
  },
);
