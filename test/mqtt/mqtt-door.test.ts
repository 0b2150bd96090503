/**
 * The MQTT door with mqtt.js (the standard Node MQTT client) over TCP and WebSocket: cross-door
 * both ways, payload mapping, wildcards, retained, persistent sessions, QoS 1 DUP handling,
 * token auth and refusals.
 */
import { connect as connectTcp } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken } from '../../src/cli/token.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const fixture = { name: 'memory', create: () => createMemoryEngine(), cleanup: () => {} };

let server: TestServer;
let tcpUrl: string;
let wsUrl: string;

beforeAll(async () => {
  server = await startServer(fixture, { mqttPort: 0 });
  tcpUrl = `mqtt://127.0.0.1:${server.server.mqtt.port}`;
  wsUrl = `${server.url.replace(/^http/, 'ws')}/mqtt`;
});
afterAll(async () => {
  await server.close();
});

const clients: MqttClient[] = [];
async function open(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}
afterAll(async () => {
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
});

function collect(
  client: MqttClient,
  count: number,
): Promise<Array<{ topic: string; payload: string; retain: boolean; qos: number }>> {
  const got: Array<{ topic: string; payload: string; retain: boolean; qos: number }> = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`got ${got.length} of ${count}: ${JSON.stringify(got)}`)),
      5_000,
    );
    client.on('message', (topic, payload, packet) => {
      got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos });
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** The SUBACK's granted list (mqtt.js turns any 0x80 into an error, so the packet is read directly). */
function subscribeGranted(client: MqttClient, filters: string[], qos: 0 | 1 | 2): Promise<number[]> {
  return new Promise((resolve) => {
    const onPacket = (packet: mqttPacket.Packet) => {
      if (packet.cmd !== 'suback') return;
      client.off('packetreceive', onPacket);
      resolve(packet.granted as number[]);
    };
    client.on('packetreceive', onPacket);
    client.subscribe(filters, { qos }, () => undefined);
  });
}

const fetchTopic = async (topic: string) =>
  json(await fetch(`${server.url}/v1/topics/${topic}/messages?after=0`));

describe.each([
  ['TCP', () => tcpUrl],
  ['WebSocket', () => wsUrl],
])('MQTT over %s', (name, url) => {
  const t = name === 'TCP' ? 'tcp' : 'ws';

  it('an MQTT publish is a hub publish: JSON stays JSON, text becomes a string (HTTP fetch sees both)', async () => {
    const client = await open(url());
    await client.publishAsync(`sensors/${t}/temp`, '{"c":21.5}', { qos: 1 });
    await client.publishAsync(`sensors/${t}/temp`, 'hello there', { qos: 1 });
    const answer = await fetchTopic(`sensors.${t}.temp`);
    expect(answer.messages.map((m: { data: unknown }) => m.data)).toEqual([{ c: 21.5 }, 'hello there']);
  });

  it('an HTTP publish reaches an MQTT subscriber; strings go out as raw text', async () => {
    const client = await open(url());
    await client.subscribeAsync(`orders/${t}/+`, { qos: 1 });
    const received = collect(client, 2);
    await post(`${server.url}/v1/topics/orders.${t}.eu/messages`, { data: { id: 7 } });
    await post(`${server.url}/v1/topics/orders.${t}.us/messages`, 'plain words', 'text/plain');
    const got = await received;
    expect(got.map((m) => [m.topic, m.payload])).toEqual([
      [`orders/${t}/eu`, '{"id":7}'],
      [`orders/${t}/us`, 'plain words'],
    ]);
  });
});

describe('MQTT semantics', () => {
  it('SUBACK 0x80 for names outside the topic rule and for $SYS', async () => {
    const client = await open(tcpUrl);
    const granted = await subscribeGranted(client, ['ok/topic', 'bad.level/x', '$SYS/#', 'a//b'], 1);
    expect(granted).toEqual([1, 128, 128, 128]);
  });

  it('# covers the parent level and never system topics; QoS 2 subscriptions deliver at QoS 1', async () => {
    const client = await open(tcpUrl);
    await client.subscribeAsync('home/#', { qos: 2 });
    const received = collect(client, 2);
    await post(`${server.url}/v1/topics/home/messages`, { data: 1 });
    await post(`${server.url}/v1/topics/home.kitchen.light/messages`, { data: 2 });
    const got = await received;
    expect(got.map((m) => [m.topic, m.payload, m.qos])).toEqual([
      ['home', '1', 1],
      ['home/kitchen/light', '2', 1],
    ]);
  });

  it('retained messages are kept by the engine and sent after SUBACK; an empty one clears it', async () => {
    const publisher = await open(tcpUrl);
    await publisher.publishAsync('state/lamp', 'on', { qos: 1, retain: true });
    const first = await open(wsUrl);
    const retained = collect(first, 1);
    await first.subscribeAsync('state/+', { qos: 1 });
    expect(await retained).toEqual([{ topic: 'state/lamp', payload: 'on', retain: true, qos: 1 }]);
    expect((await server.server.hub.engine.listRetained()).map((r) => r.topic)).toContain('state.lamp');
    await publisher.publishAsync('state/lamp', '', { qos: 1, retain: true });
    expect((await server.server.hub.engine.listRetained()).map((r) => r.topic)).not.toContain('state.lamp');
  });

  it('a persistent session gets what any door published while it was away, in order', async () => {
    const options = { clientId: 'device-42', clean: false };
    const device = await open(tcpUrl, options);
    await device.subscribeAsync('fleet/42/cmd', { qos: 1 });
    const live = collect(device, 1);
    await post(`${server.url}/v1/topics/fleet.42.cmd/messages`, { data: 'live' });
    expect((await live)[0]!.payload).toBe('live');
    await device.endAsync();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the final cursor is written at disconnect
    for (const n of [1, 2, 3]) await post(`${server.url}/v1/topics/fleet.42.cmd/messages`, { data: n });
    const back = mqtt.connect(tcpUrl, { ...options, reconnectPeriod: 0 });
    clients.push(back);
    const replayed = collect(back, 3);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) =>
      back.once('connect', resolve),
    );
    expect(connack.sessionPresent).toBe(true);
    expect((await replayed).map((m) => m.payload)).toEqual(['1', '2', '3']);
  });

  it('a QoS 1 retransmission flagged DUP is not appended twice; a new packet reusing the id is', async () => {
    const socket = connectTcp(server.server.mqtt.port!, '127.0.0.1');
    const parser = mqttPacket.parser();
    const packets: Array<{ cmd: string; messageId?: number }> = [];
    parser.on('packet', (packet) => packets.push(packet));
    socket.on('data', (chunk) => parser.parse(chunk));
    const send = (packet: object) => socket.write(mqttPacket.generate(packet as mqttPacket.Packet));
    const waitFor = async (count: number) => {
      for (let i = 0; i < 200 && packets.length < count; i++) await new Promise((r) => setTimeout(r, 10));
      expect(packets.length).toBeGreaterThanOrEqual(count);
    };
    send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'raw-1',
      keepalive: 30,
    });
    await waitFor(1);
    const publish = {
      cmd: 'publish',
      topic: 'dup/test',
      payload: Buffer.from('"once"'),
      qos: 1,
      messageId: 9,
      dup: false,
      retain: false,
    };
    send(publish);
    send({ ...publish, dup: true });
    send({ ...publish, payload: Buffer.from('"twice"') });
    await waitFor(4);
    expect(packets.slice(1).map((p) => [p.cmd, p.messageId])).toEqual([
      ['puback', 9],
      ['puback', 9],
      ['puback', 9],
    ]);
    const answer = await fetchTopic('dup.test');
    expect(answer.messages.map((m: { data: unknown }) => m.data)).toEqual(['once', 'twice']);
    socket.destroy();
  });

  it('publishing to a system topic is refused: the connection closes and nothing is appended', async () => {
    const client = await open(tcpUrl);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('jobs/resize', '{"x":1}', { qos: 1 });
    await closed;
    const answer = await fetch(`${server.url}/v1/topics/jobs.resize/messages?after=0`);
    expect((await json(answer)).messages ?? []).toEqual([]);
  });

  it('an oversized packet or an unknown protocol level closes the connection; the server stays up', async () => {
    const client = await open(tcpUrl);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('big/one', Buffer.alloc(200_000, 0x61), { qos: 0 });
    await closed;
    const socket = connectTcp(server.server.mqtt.port!, '127.0.0.1');
    const ended = new Promise((resolve) => socket.once('close', resolve));
    // CONNECT with protocol level 9 (mqtt-packet refuses to write one): CONNACK 0x01, then closed.
    const connect = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: true,
      clientId: 'x',
      keepalive: 0,
    } as mqttPacket.Packet);
    connect[8] = 9; // fixed header (2) + protocol name (2 + 4): the protocol level byte
    socket.write(connect);
    await ended;
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('metrics count MQTT connections and deliveries with transport="mqtt"', async () => {
    await open(tcpUrl);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/switchboard_connections\{transport="mqtt"\} [1-9]/);
  });
});

describe('MQTT slow consumers', () => {
  it('a device that stops reading is disconnected once its send buffer passes the bound; the server stays up', async () => {
    const small = await startServer(fixture, { mqttPort: 0, pushMaxBufferedBytes: 65_536 });
    try {
      const socket = connectTcp(small.server.mqtt.port!, '127.0.0.1');
      const parser = mqttPacket.parser();
      let subacked = false;
      parser.on('packet', (packet) => {
        if (packet.cmd === 'suback') subacked = true;
      });
      socket.on('data', (chunk) => parser.parse(chunk));
      socket.on('error', () => undefined);
      const send = (packet: object) => socket.write(mqttPacket.generate(packet as mqttPacket.Packet));
      send({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        clientId: 'stalled',
        keepalive: 0,
      });
      send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'firehose', qos: 0 }] });
      for (let i = 0; i < 100 && !subacked; i++) await new Promise((r) => setTimeout(r, 10));
      expect(subacked).toBe(true);
      socket.pause(); // stops reading: the kernel buffers fill, then the server's
      expect(small.server.mqtt.connections).toBe(1);
      const data = 'x'.repeat(60_000);
      for (let i = 0; i < 400 && small.server.mqtt.connections > 0; i++) {
        await post(`${small.url}/v1/topics/firehose/messages`, { data });
      }
      for (let i = 0; i < 100 && small.server.mqtt.connections > 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(small.server.mqtt.connections).toBe(0);
      expect((await fetch(`${small.url}/healthz`)).status).toBe(200);
      socket.destroy();
    } finally {
      await small.close();
    }
  });
});

describe('MQTT in token mode', () => {
  const secret = 'a-test-secret-that-is-long-enough-for-hs256!';
  let tokenServer: TestServer;
  beforeAll(async () => {
    tokenServer = await startServer(fixture, {
      mqttPort: 0,
      auth: 'token',
      jwtSecret: secret,
      metricsPublic: true,
    });
  });
  afterAll(() => tokenServer.close());

  it('the CONNECT password is the JWT; its patterns apply to SUBSCRIBE and PUBLISH', async () => {
    const port = tokenServer.server.mqtt.port!;
    const refused = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      reconnectPeriod: 0,
      password: 'not-a-jwt',
      username: 'x',
    });
    clients.push(refused);
    const error = await new Promise<Error & { code?: number }>((resolve) => refused.once('error', resolve));
    expect(error.code).toBe(4); // bad user name or password
    const token = await mintDevToken({
      secret,
      sub: 'device',
      publish: ['telemetry.>'],
      subscribe: ['commands.*'],
      ttlSeconds: 600,
    });
    const client = await open(`mqtt://127.0.0.1:${port}`, { username: 'anything', password: token });
    const granted = await subscribeGranted(client, ['commands/a', 'secrets/a'], 1);
    expect(granted).toEqual([1, 128]);
    await client.publishAsync('telemetry/a/b', '1', { qos: 1 });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish('secrets/a', '1', { qos: 1 });
    await closed;
  });
});

describe('MQTT configuration', () => {
  it('--mqtt-port / SWITCHBOARD_MQTT_PORT: off unless set, a checked port number', async () => {
    const { resolveConfig } = await import('../../src/server/config.js');
    expect(resolveConfig({}, {}).mqttPort).toBeUndefined();
    expect(resolveConfig({}, { SWITCHBOARD_MQTT_PORT: '1883' }).mqttPort).toBe(1883);
    expect(resolveConfig({ mqttPort: '0' }, { SWITCHBOARD_MQTT_PORT: '1883' }).mqttPort).toBe(0);
    expect(() => resolveConfig({}, { SWITCHBOARD_MQTT_PORT: '70000' })).toThrow(/mqttPort must be 0-65535/);
    expect(() => resolveConfig({}, { SWITCHBOARD_MQTT_PORT: 'x' })).toThrow(/whole number/);
  });
});
