/**
 * MQTT sessions and retained messages on Redis, shared by every node (a device may reconnect to
 * another node and resume from its cursors):
 *
 *   <prefix>:mqtt:sessions   hash   client id → the session record as JSON
 *   <prefix>:mqtt:retained   hash   topic → the retained message as JSON
 *
 * Every command touches one key, so Redis Cluster needs no hash tag here; each hash lives on one
 * shard (sessions and retained messages are small records, written on connect and on retain).
 */

import type { MqttSessionRecord, MqttStore, RetainedRecord } from '../mqtt-store.js';
import type { RedisClient } from './connection.js';
import type { KeyLayout } from './keys.js';

export interface RedisMqttAccess {
  keys: KeyLayout;
  call<T>(what: string, operation: (redis: RedisClient) => Promise<T>): Promise<T>;
}

export function createRedisMqttStore({ keys, call }: RedisMqttAccess): MqttStore {
  const sessions = `${keys.prefix}:mqtt:sessions`;
  const retained = `${keys.prefix}:mqtt:retained`;
  return {
    getMqttSession: (clientId) =>
      call('read the MQTT session', async (r) => {
        const text = await r.hget(sessions, clientId);
        return text === null ? null : (JSON.parse(text) as MqttSessionRecord);
      }),
    putMqttSession: (clientId, record) =>
      call('store the MQTT session', async (r) => {
        await r.hset(sessions, clientId, JSON.stringify(record));
      }),
    deleteMqttSession: (clientId) =>
      call('delete the MQTT session', async (r) => (await r.hdel(sessions, clientId)) > 0),
    setRetained: (topic, record) =>
      call('store the retained message', async (r) => {
        if (record === null) await r.hdel(retained, topic);
        else await r.hset(retained, topic, JSON.stringify(record));
      }),
    listRetained: () =>
      call('list retained messages', async (r) =>
        Object.values(await r.hgetall(retained)).map((text) => JSON.parse(text) as RetainedRecord),
      ),
  };
}
