/**
 * Offline delivery across a crash: a device with a persistent session (clean session off) is away
 * while messages are published over HTTP, the server process is SIGKILLed, restarted on the same
 * SQLite file, and more messages follow; mosquitto_sub reconnecting with the same client id gets
 * every one of them, in order, from the log.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../support/process.js';
import { post } from '../support/server.js';

const run = promisify(execFile);
const MOSQUITTO = spawnSync('mosquitto_sub', ['--help']).error === undefined;
if (!MOSQUITTO) {
  console.warn(
    '\n*** mosquitto_sub not found: the MQTT crash test is SKIPPED (apt-get install mosquitto-clients) ***\n',
  );
}

const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-mqtt-'));
const servers: ServerProcess[] = [];
afterAll(() => {
  for (const server of servers) server.child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function start(): Promise<{ server: ServerProcess; mqttPort: number }> {
  const mqttPort = await freePort();
  const server = await spawnServer([
    '--engine',
    'sqlite',
    '--data-dir',
    dataDir,
    '--mqtt-port',
    String(mqttPort),
  ]);
  servers.push(server);
  return { server, mqttPort };
}

it.skipIf(!MOSQUITTO)(
  'a persistent session gets what was published while it was away, across a SIGKILL',
  async () => {
    const first = await start();
    const options = { clientId: 'boiler-7', clean: false, reconnectPeriod: 0 };
    const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${first.mqttPort}`, options);
    await device.subscribeAsync('plant/boiler-7/cmd', { qos: 1 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // the session record is written
    await device.endAsync();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const n of [1, 2])
      await post(`${first.server.url}/v1/topics/plant.boiler-7.cmd/messages`, { data: { n } });
    first.server.child.kill('SIGKILL');
    await first.server.exited;

    const second = await start();
    await post(`${second.server.url}/v1/topics/plant.boiler-7.cmd/messages`, { data: { n: 3 } });
    const { stdout } = await run('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(second.mqttPort), '-t', 'plant/boiler-7/cmd', '-q', '1'],
      ...['-c', '-i', 'boiler-7', '-C', '3', '-W', '5'],
    ]);
    expect(stdout.trim().split('\n')).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  },
  60_000,
);
