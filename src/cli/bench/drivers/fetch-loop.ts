/**
 * Long and short polling share one loop: `GET …/messages?after=N[&wait=S]`, deliver, continue from
 * `next`. Long polling re-asks at once and is held by the server; short polling asks every interval.
 */
import { setMaxListeners } from 'node:events';
import { HttpClient } from '../http-client.js';
import type { DriverContext, RunningDriver } from '../types.js';
import { SocketTally } from '../wire.js';

interface FetchAnswer {
  messages: Array<{ data?: unknown }>;
  next: number;
}

export function fetchLoops(context: DriverContext, mode: { waitSeconds: number }): RunningDriver {
  const tally = new SocketTally();
  const client = new HttpClient(context.url, context.subscribers, tally);
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // one signal ends every subscriber's request
  let running = true;
  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
  const loop = async (index: number): Promise<void> => {
    let cursor = context.after;
    // Short polls spread over the interval, as independent clients would be.
    if (mode.waitSeconds === 0) await pause((context.pollIntervalMs * index) / context.subscribers);
    while (running) {
      const started = performance.now();
      const wait = mode.waitSeconds ? `&wait=${mode.waitSeconds}` : '';
      const answer = await client.send(
        'GET',
        `/v1/topics/${encodeURIComponent(context.topic)}/messages?after=${cursor}&limit=1000${wait}`,
        { headers: context.headers, signal: controller.signal },
      );
      context.wire.requests++;
      context.wire.frames++;
      if (answer.status !== 200) throw new Error(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      const parsed = JSON.parse(answer.body) as FetchAnswer;
      for (const message of parsed.messages) context.delivered(message.data);
      cursor = parsed.next;
      if (mode.waitSeconds === 0 && running) {
        await pause(Math.max(0, context.pollIntervalMs - (performance.now() - started)));
      }
    }
  };
  const loops = Array.from({ length: context.subscribers }, (_, i) =>
    loop(i).catch((error: Error) => {
      if (running) context.failed(error.message);
    }),
  );
  return {
    // A long poll is attached once the server holds it; run.ts waits for the topic's count.
    ready: Promise.resolve(),
    bytesOnWire: () => tally.bytes(),
    async close() {
      running = false;
      controller.abort();
      await Promise.all(loops);
      client.close();
    },
  };
}
