/**
 * Consumer-group member worker process (forked by bench/lib/group-members.ts), so the members run
 * apart from the server and from the publisher. It hosts N members of one kind:
 *
 * - `ws`: a WebSocket push member (`subscribe` + `group` + `window`) that acks what it receives,
 *   one `ack` frame per member per event-loop turn (all offsets that arrived in that turn);
 * - `http`: an HTTP long-poll member looping `POST …/claim?max=10&wait=5&member=…` → `POST …/ack`.
 *
 * It also runs the redelivery probe: a member that holds its window dies (socket destroyed), and the
 * time until another member receives one of those messages with `attempt` 2 is recorded.
 *
 * Groups deliver thousands of messages per second, not millions, so the `ws` library is cheap enough
 * here (the fan-out workers need raw sockets; these do not).
 */
import type { Pool } from 'undici';
import { WebSocket } from 'ws';
import { createPool } from '../lib/http.js';
import { monoUs } from '../lib/proc.js';

export type MemberKind = 'ws' | 'http';

export type GroupWorkerCommand =
  | {
      type: 'open';
      url: string;
      topic: string;
      group: string;
      kind: MemberKind;
      members: number;
      window: number;
      /** HTTP claim `max` and `wait` (seconds) */
      max: number;
      wait: number;
    }
  | { type: 'go' }
  | { type: 'stop' }
  | { type: 'redelivery'; url: string; topic: string; rounds: number; window: number };

export type GroupWorkerMessage =
  | { type: 'ready' }
  | { type: 'opened' }
  | { type: 'progress'; processed: number; redelivered: number }
  | {
      type: 'stopped';
      processed: number;
      redelivered: number;
      duplicates: number;
      errors: string[];
    }
  | {
      type: 'redelivery';
      /** destroy → first attempt-2 delivery to the other member, µs */
      firstUs: number[];
      /** destroy → the whole window redelivered, µs */
      allUs: number[];
      errors: string[];
    }
  | { type: 'fatal'; error: string };

interface Frame {
  op?: string;
  id?: number;
  ok?: boolean;
  offset?: number;
  group?: string;
  attempt?: number;
  error?: unknown;
}

let processed = 0;
let redelivered = 0;
let duplicates = 0;
const seen = new Set<number>();
const errors: string[] = [];
let running = false;
let progressTimer: NodeJS.Timeout | undefined;
const sockets: WebSocket[] = [];
const loops: Array<Promise<void>> = [];
let pool: Pool | undefined;
let openCommand: Extract<GroupWorkerCommand, { type: 'open' }> | undefined;

function send(message: GroupWorkerMessage): void {
  process.send?.(message);
}

function error(message: string): void {
  if (errors.length < 20 && !errors.includes(message)) errors.push(message);
}

function count(offset: number, attempt: number): void {
  processed++;
  if (attempt > 1) redelivered++;
  if (seen.has(offset)) duplicates++;
  else seen.add(offset);
}

function connectWs(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) =>
      reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)),
    );
  });
}

/** A push member that acks everything it receives, batched per event-loop turn. */
function startWsMember(
  ws: WebSocket,
  topic: string,
  group: string,
  window: number,
  onMessage?: (frame: Frame) => boolean,
): Promise<void> {
  let nextId = 2;
  let pending: number[] = [];
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    if (pending.length === 0 || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ op: 'ack', id: nextId++, topic, group, offsets: pending }));
    pending = [];
  };
  return new Promise((resolve, reject) => {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      if (frame.op === 'message' && frame.group === group) {
        // onMessage returning false: hold the delivery (do not ack it)
        if (onMessage && !onMessage(frame)) return;
        count(frame.offset!, frame.attempt ?? 1);
        pending.push(frame.offset!);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      } else if (frame.op === 'reply') {
        if (frame.id === 1) {
          if (frame.ok) resolve();
          else reject(new Error(`group subscribe refused: ${JSON.stringify(frame.error)}`));
        } else if (!frame.ok) error(`ack refused: ${JSON.stringify(frame.error)}`);
      }
    });
    ws.on('close', (code, reason) => {
      if (running) error(`member closed: ${code} ${String(reason)}`);
    });
    ws.on('error', (e) => error(e.message));
    ws.send(JSON.stringify({ op: 'subscribe', id: 1, topic, group, window }));
  });
}

async function httpMember(index: number): Promise<void> {
  const { topic, group, max, wait } = openCommand!;
  const member = `bench-${process.pid}-${index}`;
  const base = `/v1/topics/${encodeURIComponent(topic)}/groups/${encodeURIComponent(group)}`;
  const claimPath = `${base}/claim?max=${max}&wait=${wait}&member=${member}`;
  while (running) {
    try {
      const claim = await pool!.request({ path: claimPath, method: 'POST' });
      const text = await claim.body.text();
      if (claim.statusCode !== 200) {
        error(`claim: HTTP ${claim.statusCode} ${text.slice(0, 200)}`);
        continue;
      }
      const body = JSON.parse(text) as { messages: Array<{ offset: number; attempt: number }> };
      if (body.messages.length === 0) continue;
      for (const m of body.messages) count(m.offset, m.attempt);
      const ack = await pool!.request({
        path: `${base}/ack`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ offsets: body.messages.map((m) => m.offset), member }),
      });
      const ackText = await ack.body.text();
      if (ack.statusCode !== 200) error(`ack: HTTP ${ack.statusCode} ${ackText.slice(0, 200)}`);
    } catch (e) {
      if (running) error((e as Error).message);
    }
  }
}

async function open(command: Extract<GroupWorkerCommand, { type: 'open' }>): Promise<void> {
  openCommand = command;
  if (command.kind === 'ws') {
    for (let i = 0; i < command.members; i++) sockets.push(await connectWs(command.url));
  } else {
    pool = createPool(command.url, command.members);
  }
  send({ type: 'opened' });
}

async function go(): Promise<void> {
  const command = openCommand!;
  running = true;
  progressTimer = setInterval(() => send({ type: 'progress', processed, redelivered }), 50);
  if (command.kind === 'ws') {
    await Promise.all(sockets.map((ws) => startWsMember(ws, command.topic, command.group, command.window)));
  } else {
    for (let i = 0; i < command.members; i++) loops.push(httpMember(i));
  }
}

async function stop(): Promise<void> {
  running = false;
  if (progressTimer) clearInterval(progressTimer);
  for (const ws of sockets) ws.close();
  // Held claims end within `wait` seconds; do not wait for them, just drop the pool.
  await pool?.destroy();
  send({ type: 'stopped', processed, redelivered, duplicates, errors });
}

async function publish(url: string, topic: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${url}/v1/topics/${encodeURIComponent(topic)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { i } }),
    });
    if (response.status !== 201) throw new Error(`publish: HTTP ${response.status} ${await response.text()}`);
  }
}

function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const poll = (): void => {
      if (check()) resolve(true);
      else if (Date.now() > deadline) resolve(false);
      else setImmediate(poll);
    };
    poll();
  });
}

/**
 * Per round, on a fresh topic: publish `window` messages; member A takes them all and holds them;
 * member B joins (nothing left for it); A's socket is destroyed; B receives them with attempt 2.
 */
async function redelivery(command: Extract<GroupWorkerCommand, { type: 'redelivery' }>): Promise<void> {
  const firstUs: number[] = [];
  const allUs: number[] = [];
  // `running` stays false: the member deaths here are intended, not errors.
  for (let round = 0; round < command.rounds; round++) {
    const topic = `${command.topic}-${round}`;
    const group = 'redelivery';
    await publish(command.url, topic, command.window);
    const a = await connectWs(command.url);
    let held = 0;
    await startWsMember(a, topic, group, command.window, () => {
      held++;
      return false;
    });
    if (!(await waitFor(() => held >= command.window, 5_000))) {
      error(`round ${round}: member A got ${held} of ${command.window}`);
      a.terminate();
      continue;
    }
    const b = await connectWs(command.url);
    let t0 = 0;
    let first = 0;
    let again = 0;
    await startWsMember(b, topic, group, command.window, (frame) => {
      if ((frame.attempt ?? 1) >= 2) {
        again++;
        const now = monoUs();
        if (first === 0) first = now;
        if (again === command.window && t0 > 0) allUs.push(now - t0);
      } else error(`round ${round}: member B got attempt ${frame.attempt} of offset ${frame.offset}`);
      return true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    t0 = monoUs();
    a.terminate(); // destroys the TCP socket at once, no close frame
    if (await waitFor(() => again >= command.window, 5_000)) firstUs.push(first - t0);
    else error(`round ${round}: member B got ${again} of ${command.window} redeliveries in 5 s`);
    b.close();
  }
  send({ type: 'redelivery', firstUs, allUs, errors });
}

process.on('message', (command: GroupWorkerCommand) => {
  const run = (): Promise<void> => {
    switch (command.type) {
      case 'open':
        return open(command);
      case 'go':
        return go();
      case 'stop':
        return stop().then(() => process.exit(0));
      case 'redelivery':
        return redelivery(command).then(() => process.exit(0));
    }
  };
  run().catch((e: Error) => {
    send({ type: 'fatal', error: e.stack ?? e.message });
    setTimeout(() => process.exit(1), 100);
  });
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
