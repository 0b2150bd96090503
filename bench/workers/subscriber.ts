/**
 * Subscriber worker process (forked by bench/lib/workers.ts). Opens N subscriber connections of one
 * transport, counts deliveries, optionally records publish → receive latency, and reports the
 * progress of its slowest connection at most once per event-loop turn so the publisher can stay at
 * most 64 messages ahead of the slowest subscriber.
 */
import type { Pool } from 'undici';
import { createPool } from '../lib/http.js';
import type { LostConnection, OpenCommand, ParentCommand, WorkerMessage } from '../lib/protocol.js';
import { Histogram } from '../lib/stats.js';
import { type Connection, type Sink, UnavailableError } from './connection.js';
import { openGrpc } from './grpc-client.js';
import { openLongPoll } from './longpoll-client.js';
import { openMqtt } from './mqtt-client.js';
import { openSse } from './sse-client.js';
import { openWs } from './ws-client.js';

const RING = 1 << 16;
const reached = new Int32Array(RING); // reached[c & mask] = live connections whose count ≥ c (above min)
let min = 0;
let live = 0;
let total = 0;
let control = 0;
let emptyWaits = 0;
let maxEmptyWaitMs = 0;
let progressScheduled = false;
let lastSentMin = -1;
let lastSentTotal = -1;
const latency = new Histogram();
const lostList: LostConnection[] = [];
const errors: string[] = [];
const connections: Connection[] = [];
let pool: Pool | undefined;

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/**
 * Progress goes to the runner once per event-loop turn when the publisher needs it for its window
 * (fan-out); in latency mode every 100 ms is enough and keeps IPC off the measured path.
 */
let progressDelayMs = 0;

function sendProgress(): void {
  progressScheduled = false;
  if (min === lastSentMin && total === lastSentTotal) return;
  lastSentMin = min;
  lastSentTotal = total;
  send({ type: 'progress', min, total });
}

function scheduleProgress(): void {
  if (progressScheduled) return;
  progressScheduled = true;
  if (progressDelayMs === 0) setImmediate(sendProgress);
  else setTimeout(sendProgress, progressDelayMs);
}

function advance(): void {
  while (live > 0 && reached[(min + 1) & (RING - 1)]! >= live) {
    min++;
    reached[min & (RING - 1)] = 0;
  }
}

const sink: Sink = {
  delivered(connection, latencyUs) {
    connection.count++;
    total++;
    if (connection.count > min) reached[connection.count & (RING - 1)]!++;
    if (latencyUs !== undefined && Number.isFinite(latencyUs)) latency.record(latencyUs);
    advance();
    scheduleProgress();
  },
  control() {
    control++;
  },
  emptyWait(_connection, waitedMs) {
    emptyWaits++;
    maxEmptyWaitMs = Math.max(maxEmptyWaitMs, waitedMs);
  },
  lost(connection, code, reason) {
    // Take the connection out of the "slowest" computation so the others keep the run going.
    for (let c = min + 1; c <= connection.count; c++) reached[c & (RING - 1)]!--;
    live--;
    advance();
    const lost = { code, reason };
    if (lostList.length < 1000) lostList.push(lost);
    send({ type: 'lost', lost });
    scheduleProgress();
  },
};

async function open(command: OpenCommand): Promise<void> {
  const options = {
    url: command.url,
    topic: command.topic,
    after: command.after,
    latency: command.measure === 'latency',
    token: command.token,
  };
  progressDelayMs = command.measure === 'latency' ? 100 : 0;
  if (command.transport === 'longpoll') pool = createPool(command.url, command.connections);
  let ok = 0;
  let failed = 0;
  let unavailable = false;
  const openOne = async (): Promise<void> => {
    try {
      let connection: Connection;
      if (command.transport === 'ws') connection = await openWs(options, sink);
      else if (command.transport === 'mqtt') connection = await openMqtt(options, sink);
      else if (command.transport === 'sse') connection = await openSse(options, sink);
      else if (command.transport === 'grpc') connection = await openGrpc(options, sink);
      else connection = openLongPoll(pool!, options, sink);
      connections.push(connection);
      live++;
      ok++;
    } catch (error) {
      failed++;
      if (error instanceof UnavailableError) unavailable = true;
      const message = (error as Error).message;
      if (errors.length < 20 && !errors.includes(message)) errors.push(message);
    }
  };
  for (let opened = 0; opened < command.connections; opened += command.connectConcurrency) {
    const batch = Math.min(command.connectConcurrency, command.connections - opened);
    await Promise.all(Array.from({ length: batch }, openOne));
    if (unavailable) break;
  }
  send({ type: 'opened', ok, failed, errors: [...errors], unavailable });
}

async function closeAll(): Promise<void> {
  for (const connection of connections) {
    connection.alive = false;
    connection.close();
  }
  await pool?.destroy().catch(() => undefined);
}

process.on('message', (command: ParentCommand) => {
  switch (command.type) {
    case 'open':
      open(command).catch((error: Error) => send({ type: 'fatal', error: error.stack ?? error.message }));
      break;
    case 'reset':
      latency.reset();
      break;
    case 'report':
      send({
        type: 'report',
        total,
        control,
        emptyWaits,
        maxEmptyWaitMs,
        latency: latency.toJSON(),
        lost: lostList,
        errors,
      });
      break;
    case 'close':
      closeAll().finally(() => {
        send({ type: 'closed' });
        setTimeout(() => process.exit(0), 50);
      });
      break;
  }
});
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => {
  send({ type: 'fatal', error: error.stack ?? error.message });
  setTimeout(() => process.exit(1), 50);
});
send({ type: 'ready' });
