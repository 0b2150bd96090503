/**
 * `mqtt` (issue 14): the MQTT door next to the doors it stands beside, in the same run.
 *
 *   1. QoS 0 fan-out: 1 HTTP publisher → 1,000 MQTT subscribers (raw TCP clients in the worker
 *      processes, bench/workers/mqtt-client.ts) vs 1,000 WebSocket subscribers, each rig on its own
 *      server (memory engine), windows interleaved (lib/fanout.ts). Target: MQTT ≥ 0.7× WebSocket.
 *   2. QoS 1 publish throughput: 64 devices (mqtt.js), each publishing again as soon as its PUBACK
 *      arrives, vs HTTP publish with 64 concurrent requests, one server (SQLite: the PUBACK waits for
 *      the durable append like the HTTP 201), runs interleaved.
 *   3. Idle memory per MQTT connection: server RSS before and after 2,000 connected devices, each
 *      with one QoS 0 subscription. Target: ≤ 16 KiB per connection.
 * The reference runs against mosquitto need the mosquitto broker (Debian `mosquitto`); without it
 * they are reported as skipped.
 */
import { spawnSync } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { FanoutRig, type FanoutWindow } from '../lib/fanout.js';
import { createPool } from '../lib/http.js';
import type { Transport } from '../lib/protocol.js';
import { type Scenario, type ScenarioContext, type ScenarioOutcome, sleep } from '../lib/scenario.js';
import { type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { median, medianIndex } from '../lib/stats.js';
import { fmt, pct, printTable } from '../lib/table.js';
import { mqttConnectPacket, mqttSubscribePacket } from '../workers/mqtt-client.js';
import { closedLoop } from './publish.js';

const SUBSCRIBERS = 1_000;
const WORKERS = 2;
const WINDOWS = 3;
const RAMP_MS = 500;
const MEASURE_MS = 2_000;
const DEVICES = 64;
const PUBLISH_RUNS = 3;
const PUBLISH_MS = 1_500;
const IDLE_CONNECTIONS = 2_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function spawnWithMqtt(engine: 'memory' | 'sqlite'): Promise<{ server: RunningServer; port: number }> {
  const port = await freePort();
  return { server: await spawnSwitchboard(engine, ['--mqtt-port', String(port)]), port };
}

interface FanoutResult {
  transport: Transport;
  windows: FanoutWindow[];
  median?: FanoutWindow;
  problems: string[];
}

async function fanout(context: ScenarioContext): Promise<FanoutResult[]> {
  const results: FanoutResult[] = [];
  const rigs: Array<{ rig: FanoutRig; result: FanoutResult }> = [];
  const servers: RunningServer[] = [];
  try {
    for (const transport of ['ws', 'mqtt'] as Transport[]) {
      const result: FanoutResult = { transport, windows: [], problems: [] };
      results.push(result);
      let server: RunningServer;
      if (transport === 'mqtt') {
        const spawned = await spawnWithMqtt('memory');
        server = spawned.server;
        process.env.BENCH_MQTT_PORT = String(spawned.port); // read by the forked workers
      } else {
        server = await spawnSwitchboard('memory');
      }
      servers.push(server);
      context.log(`${transport}: connecting ${SUBSCRIBERS} subscribers`);
      const started = await FanoutRig.start({
        label: `switchboard ${transport}`,
        server,
        transport,
        subscribers: SUBSCRIBERS,
        workers: WORKERS,
        topic: `fanout-${transport}`,
      });
      if (!started.rig) {
        result.problems.push(`could not connect: ${started.unavailable}`);
        continue;
      }
      if (started.rig.connected < SUBSCRIBERS) {
        result.problems.push(
          `only ${started.rig.connected}/${SUBSCRIBERS} connected: ${started.rig.openErrors.join('; ')}`,
        );
      }
      rigs.push({ rig: started.rig, result });
    }
    for (const { rig } of rigs) await rig.window(1_000, 0); // warm-up
    for (let w = 0; w < WINDOWS; w++) {
      for (const { rig, result } of w % 2 === 0 ? rigs : [...rigs].reverse()) {
        const window = await rig.window(RAMP_MS, MEASURE_MS);
        result.windows.push(window);
        context.log(
          `${result.transport} window ${w + 1}: ${fmt(window.deliveriesPerSecond)} deliveries/s, ` +
            `${window.serverCpuPerMillion.toFixed(2)} CPU-s/M, server ${pct(window.serverCpuLoad)}, clients ${pct(window.clientCpuLoad)}`,
        );
      }
    }
    for (const { rig, result } of rigs) {
      result.median = result.windows[medianIndex(result.windows, (w) => w.deliveriesPerSecond)];
      const lost = rig.lostSummary();
      if (lost) result.problems.push(lost);
      if (result.windows.some((w) => w.stalled)) result.problems.push('deliveries stalled during a window');
    }
  } finally {
    delete process.env.BENCH_MQTT_PORT;
    for (const { rig } of rigs) await rig.close();
    for (const server of servers) await server.stop();
  }
  return results;
}

/** `DEVICES` mqtt.js clients, each publishing QoS 1 again as soon as its PUBACK arrives. */
async function devicesLoop(devices: MqttClient[], server: RunningServer, topic: string) {
  const payload = JSON.stringify({ reading: 21.5, pad: 'x'.repeat(70) });
  let done = 0;
  let errors = 0;
  const cpu0 = server.cpuSeconds();
  const start = performance.now();
  const end = start + PUBLISH_MS;
  await Promise.all(
    devices.map(async (device) => {
      while (performance.now() < end) {
        try {
          await device.publishAsync(topic, payload, { qos: 1 });
          done++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    publishesPerSecond: done / seconds,
    cpuUs: done ? ((server.cpuSeconds() - cpu0) / done) * 1e6 : Number.NaN,
    errors,
  };
}

async function publishThroughput(context: ScenarioContext) {
  const { server, port } = await spawnWithMqtt('sqlite');
  const pool = createPool(server.url, DEVICES);
  const devices = await Promise.all(
    Array.from({ length: DEVICES }, () =>
      mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 }),
    ),
  );
  const http: number[] = [];
  const device: number[] = [];
  const cpu = { http: [] as number[], mqtt: [] as number[] };
  let errors = 0;
  try {
    await closedLoop(pool, server, DEVICES, 500, 'publish-http'); // warm-up
    await devicesLoop(devices, server, 'publish/mqtt');
    for (let run = 0; run < PUBLISH_RUNS; run++) {
      const h = await closedLoop(pool, server, DEVICES, PUBLISH_MS, 'publish-http');
      const m = await devicesLoop(devices, server, 'publish/mqtt');
      http.push(h.publishesPerSecond);
      device.push(m.publishesPerSecond);
      cpu.http.push(h.serverCpuUsPerPublish);
      cpu.mqtt.push(m.cpuUs);
      errors += m.errors;
      context.log(
        `publish run ${run + 1}: HTTP ${fmt(h.publishesPerSecond)}/s, MQTT QoS 1 ${fmt(m.publishesPerSecond)}/s`,
      );
    }
  } finally {
    await Promise.all(devices.map((d) => d.endAsync(true).catch(() => undefined)));
    await pool.close();
    await server.stop();
  }
  return {
    httpPerSecond: median(http),
    mqttPerSecond: median(device),
    httpCpuUs: median(cpu.http),
    mqttCpuUs: median(cpu.mqtt),
    errors,
  };
}

/** Server RSS per connected device (CONNECT + one QoS 0 SUBSCRIBE each, then idle). */
async function idleMemory(context: ScenarioContext) {
  const { server, port } = await spawnWithMqtt('memory');
  const sockets: Socket[] = [];
  try {
    await sleep(1_000);
    const baseline = server.rssBytes();
    for (let i = 0; i < IDLE_CONNECTIONS; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => {
          const socket = connect({ host: '127.0.0.1', port });
          sockets.push(socket);
          return new Promise<void>((resolve) => {
            socket.once('connect', () => {
              socket.write(mqttConnectPacket(`idle-${i + j}`));
              socket.write(mqttSubscribePacket(`idle/t${(i + j) % 50}`, 0));
            });
            socket.on('data', (chunk) => {
              if (chunk.includes(0x90)) resolve(); // SUBACK
            });
            socket.once('error', () => resolve());
          });
        }),
      );
    }
    await sleep(2_000);
    const loaded = server.rssBytes();
    const perConnection = (loaded - baseline) / IDLE_CONNECTIONS;
    context.log(
      `idle: ${IDLE_CONNECTIONS} devices, RSS ${fmt(baseline / 2 ** 20)} → ${fmt(loaded / 2 ** 20)} MiB`,
    );
    return { baseline, loaded, perConnection };
  } finally {
    for (const socket of sockets) socket.destroy();
    await server.stop();
  }
}

export const mqttScenario: Scenario = {
  name: 'mqtt',
  description: 'MQTT door: QoS 0 fan-out vs WebSocket, QoS 1 publish vs HTTP, idle memory per device',
  async run(context): Promise<ScenarioOutcome> {
    const notes: string[] = [];
    const fan = await fanout(context);
    const publish = await publishThroughput(context);
    const idle = await idleMemory(context);
    const ws = fan.find((r) => r.transport === 'ws');
    const mq = fan.find((r) => r.transport === 'mqtt');
    for (const result of fan)
      for (const problem of result.problems) notes.push(`${result.transport}: ${problem}`);
    if (publish.errors > 0) notes.push(`${publish.errors} MQTT publishes failed`);
    const mosquitto = spawnSync('mosquitto', ['-h']).error === undefined;
    if (!mosquitto) notes.push('mosquitto broker not installed: the mosquitto reference runs were skipped');
    const ratio =
      ws?.median && mq?.median ? mq.median.deliveriesPerSecond / ws.median.deliveriesPerSecond : Number.NaN;
    printTable({
      title: 'MQTT door',
      headers: ['measure', 'WebSocket / HTTP', 'MQTT'],
      rows: [
        [
          'fan-out deliveries/s (1,000 subscribers)',
          fmt(ws?.median?.deliveriesPerSecond ?? Number.NaN),
          fmt(mq?.median?.deliveriesPerSecond ?? Number.NaN),
        ],
        ['publishes/s (64 clients, SQLite)', fmt(publish.httpPerSecond), fmt(publish.mqttPerSecond)],
        ['server CPU µs per publish', fmt(publish.httpCpuUs), fmt(publish.mqttCpuUs)],
        ['idle memory per connection (KiB)', '', fmt(idle.perConnection / 1024)],
      ],
    });
    return {
      targets: [
        {
          target: 'MQTT QoS 0 fan-out ≥ 0.7× WebSocket (1,000 subscribers)',
          measured: Number.isNaN(ratio) ? 'n/a' : `${ratio.toFixed(2)}×`,
          ok: Number.isNaN(ratio) ? undefined : ratio >= 0.7,
        },
        {
          target: 'idle memory per MQTT connection ≤ 16 KiB',
          measured: `${(idle.perConnection / 1024).toFixed(1)} KiB`,
          ok: idle.perConnection <= 16 * 1024,
        },
      ],
      headlines: [
        `MQTT QoS 1 publish ${fmt(publish.mqttPerSecond)}/s vs HTTP ${fmt(publish.httpPerSecond)}/s (64 clients, SQLite)`,
      ],
      notes,
      json: { fanout: fan, publish, idle },
    };
  },
};
