/**
 * MQTT 3.1.1 over WebSocket (`/mqtt` on the main port), QoS 0 subscriptions: one client per
 * subscriber, through a counting relay (mqtt.js keeps its socket to itself). Payloads arrive as the
 * message data's JSON text (docs/mqtt.md).
 */
import mqtt from 'mqtt';
import type { PatternDriver } from '../types.js';
import { countingRelay, SocketTally } from '../wire.js';

export const driver: PatternDriver = {
  name: 'mqtt',
  title: 'MQTT subscription (over WebSocket, push)',
  start(context) {
    const tally = new SocketTally();
    const relay = countingRelay(new URL(context.url), tally);
    const clients: mqtt.MqttClient[] = [];
    const mqttTopic = context.topic.replaceAll('.', '/');
    const openOne = (port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const client = mqtt.connect(`ws://127.0.0.1:${port}/mqtt`, {
          protocolVersion: 4,
          reconnectPeriod: 0,
          connectTimeout: 20_000,
          ...(context.token ? { username: 'bearer', password: context.token } : {}),
        });
        clients.push(client);
        client.once('connect', () => {
          context.wire.requests++;
          client.subscribe(mqttTopic, { qos: 0 }, (error) => (error ? reject(error) : resolve()));
        });
        client.on('message', (_topic, payload) => {
          context.wire.frames++;
          context.delivered(JSON.parse(payload.toString()));
        });
        client.once('error', (error) => {
          context.failed(`MQTT: ${error.message}`);
          reject(error);
        });
      });
    const ready = (async () => {
      const { port } = await relay;
      await Promise.all(Array.from({ length: context.subscribers }, () => openOne(port)));
    })();
    return {
      ready,
      bytesOnWire: () => tally.bytes(),
      async close() {
        await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
        await (await relay).close();
      },
    };
  },
};
