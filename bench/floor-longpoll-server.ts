/**
 * Floor for Node long polling (issue 2's wake-up target, p99 < 20 ms with 1,000 held requests):
 * plain node:http. `GET /v1/topics/{topic}/messages?after=N&wait=S` is answered at once when the
 * topic has messages after N, otherwise held in an array (per topic) for up to S seconds;
 * `POST /v1/topics/{topic}/messages` appends the message and answers every held request with one
 * pre-built JSON body (`{"topic","epoch","messages":[…],"next","first","last","gap","reset"}`, the
 * contract's fetch answer), each socket corked until the end of the event-loop turn so the 1,000
 * answers go out as the loop turn ends. No validation, auth, limits or retention beyond the last
 * 1,000 messages in memory: this is what Node itself can do, not a server.
 *
 * Run: node --import tsx bench/floor-longpoll-server.ts [--no-cork]
 *      (prints "… listening on http://127.0.0.1:PORT")
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { corkUntilTurnEnd, type FloorMessage, startFloor } from './lib/floor.js';

interface Held {
  response: ServerResponse;
  after: number;
  /** Date.now() when the wait runs out */
  deadline: number;
  /** answered, or the client went away */
  done: boolean;
}

interface TopicState {
  held: Held[];
  /** requests in `held` that are still waiting */
  waiting: number;
  /** the last messages, oldest first */
  log: FloorMessage[];
}

const KEEP = 1_000;
const LIMIT = 100;
const topics = new Map<string, TopicState>();

function stateOf(topic: string): TopicState {
  let state = topics.get(topic);
  if (!state) {
    state = { held: [], waiting: 0, log: [] };
    topics.set(topic, state);
  }
  return state;
}

function lastOf(state: TopicState): number {
  return state.log.at(-1)?.offset ?? 0;
}

/** The contract's fetch answer for `messages` (already serialized) ending at `next`. */
function answerBody(topic: string, state: TopicState, messages: string[], next: number): Buffer {
  const first = state.log[0]?.offset ?? 0;
  return Buffer.from(
    `{"topic":${JSON.stringify(topic)},"epoch":"floor","messages":[${messages.join(',')}],` +
      `"next":${next},"first":${first},"last":${lastOf(state)},"gap":false,"reset":false}`,
  );
}

/**
 * `--no-cork` writes each answer at once instead: the first clients can start parsing while the
 * server is still answering the others (longpoll-floor runs both and compares against the better).
 */
const CORK = !process.argv.includes('--no-cork');

function answer(response: ServerResponse, body: Buffer): void {
  if (CORK && response.socket) corkUntilTurnEnd(response.socket);
  response.writeHead(200, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': body.length,
  });
  response.end(body);
}

function fetchOrHold(request: IncomingMessage, response: ServerResponse, topic: string): void {
  const query = new URLSearchParams((request.url ?? '').split('?')[1] ?? '');
  const after = Math.max(0, Number(query.get('after')) || 0);
  const wait = Math.min(60, Math.max(0, Number(query.get('wait')) || 0));
  const state = stateOf(topic);
  const available = state.log.filter((m) => m.offset > after).slice(0, LIMIT);
  if (available.length > 0 || wait === 0) {
    const next = available.at(-1)?.offset ?? Math.min(after, lastOf(state));
    answer(
      response,
      answerBody(
        topic,
        state,
        available.map((m) => m.json),
        next,
      ),
    );
    return;
  }
  const held: Held = { response, after, deadline: Date.now() + wait * 1000, done: false };
  state.held.push(held);
  state.waiting++;
  response.once('close', () => {
    if (held.done) return;
    held.done = true; // swept out of the array at the next publish or timeout sweep
    state.waiting--;
  });
}

startFloor({
  name: 'floor-longpoll',
  subscriberCount: (topic) => ({ longpoll: topics.get(topic)?.waiting ?? 0 }),
  broadcast(message) {
    const state = stateOf(message.topic);
    state.log.push(message);
    if (state.log.length > KEEP) state.log.splice(0, state.log.length - KEEP);
    if (state.held.length === 0) return;
    const held = state.held;
    state.held = [];
    // Every held request waits for "after the previous last", so one body answers them all.
    const body = answerBody(message.topic, state, [message.json], message.offset);
    for (const h of held) {
      if (h.done) continue;
      if (h.after >= message.offset) {
        state.held.push(h); // a cursor from the future: keep waiting
        continue;
      }
      h.done = true;
      state.waiting--;
      if (h.after === message.offset - 1) answer(h.response, body);
      else {
        const messages = state.log.filter((m) => m.offset > h.after).slice(0, LIMIT);
        answer(
          h.response,
          answerBody(
            message.topic,
            state,
            messages.map((m) => m.json),
            messages.at(-1)!.offset,
          ),
        );
      }
    }
  },
  route(request, response, path) {
    if (request.method !== 'GET' || path.length !== 4 || path[1] !== 'topics' || path[3] !== 'messages')
      return false;
    fetchOrHold(request, response, decodeURIComponent(path[2]!));
    return true;
  },
});

// Waits that ran out are answered empty (`next` = their cursor), checked once a second.
setInterval(() => {
  const now = Date.now();
  for (const [topic, state] of topics) {
    if (state.held.length === 0) continue;
    const keep: Held[] = [];
    for (const h of state.held) {
      if (h.done) continue;
      if (h.deadline > now) {
        keep.push(h);
        continue;
      }
      h.done = true;
      state.waiting--;
      answer(h.response, answerBody(topic, state, [], h.after));
    }
    state.held = keep;
  }
}, 1_000).unref();
