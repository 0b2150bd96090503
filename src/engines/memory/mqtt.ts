/** MQTT sessions and retained messages for the memory engine: two maps, copies in and out. */
import type { MqttSessionRecord, MqttStore, RetainedRecord } from '../mqtt-store.js';

export function createMemoryMqttStore(assertOpen: () => void): MqttStore {
  const sessions = new Map<string, string>();
  const retained = new Map<string, RetainedRecord>();
  const run = async <T>(step: () => T): Promise<T> => {
    assertOpen();
    return step();
  };
  return {
    getMqttSession: (clientId) =>
      run(() => {
        const text = sessions.get(clientId);
        return text === undefined ? null : (JSON.parse(text) as MqttSessionRecord);
      }),
    putMqttSession: (clientId, record) => run(() => void sessions.set(clientId, JSON.stringify(record))),
    deleteMqttSession: (clientId) => run(() => sessions.delete(clientId)),
    setRetained: (topic, record) =>
      run(() => {
        if (record === null) retained.delete(topic);
        else retained.set(topic, { ...record });
      }),
    listRetained: () => run(() => [...retained.values()].map((record) => ({ ...record }))),
  };
}
