/**
 * The long-poll fast path. A long-poll subscriber sends one request per answer, so fastify's
 * per-request machinery (routing, request and reply objects, hook chains, the logger child) was
 * most of what long polling cost: 42–50 µs of server CPU per request against 26–30 µs for a plain
 * node:http server (bench/floor-longpoll-server.ts), and, under load, the queueing that made its
 * latency many times the floor's (docs/pattern-lab.md).
 *
 * So `GET /v1/topics/{topic}/messages` is answered here, before fastify, when the request is the
 * plain case every check passes at once: a topic name with no escapes, a simple query, no Origin
 * header (no CORS to answer), a Host the browser guard accepts, a principal known without
 * verification (open mode, or a token verified before) that may subscribe, the server not
 * closing, the connection within its limits, debug request logs off. Anything else — and any
 * error, which fastify then answers with the contract's JSON — falls through to the fastify route,
 * which applies the same rules (answer.ts is the one translation both use). Answers are the same
 * bytes with the same headers either way (test/longpoll/fast-path.test.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator } from '../../core/auth.js';
import type { Hub } from '../../core/hub.js';
import { fetchAnswerBody } from '../shared/fetch-json.js';
import {
  answerPoll,
  corkHeldAnswer,
  POLL_HEADERS,
  POLL_ROUTE,
  type PollQuery,
  pollRequest,
} from './answer.js';

export interface PollFastPathDeps {
  hub: Hub;
  auth: Authenticator;
  /** The browser guard's Host check (a refusal message, or undefined). */
  browserCheck(host: string | undefined, origin: string | undefined): string | undefined;
  /** The connection-limit guard: a refusal for this socket, or undefined. */
  refusalFor(socket: IncomingMessage['socket']): unknown;
  /** Counts the request in flight for graceful shutdown; false while closing. */
  admit(response: ServerResponse): boolean;
  /** Whether a debug line per request is wanted (then fastify answers, and logs it). */
  debugLogging(): boolean;
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  delivered(transport: string, count: number): void;
}

/** Returns true when it took the request; false leaves it to fastify untouched. */
export type PollFastPath = (
  request: IncomingMessage,
  response: ServerResponse,
  fallback: (request: IncomingMessage, response: ServerResponse) => void,
) => boolean;

const PREFIX = '/v1/topics/';
const SUFFIX = '/messages';
/** Topic characters (src/core/validate.ts); anything else goes to fastify, which decodes and refuses. */
const PLAIN_TOPIC = /^[A-Za-z0-9_.-]{1,600}$/;

type PlainQuery = PollQuery & { token?: string };
const QUERY_KEYS: ReadonlySet<string> = new Set(['after', 'limit', 'wait', 'epoch', 'token']);

/** The query as fastify would parse it, or undefined when it is not plainly `k=v&…` of known keys. */
function plainQuery(text: string): PlainQuery | undefined {
  // One fixed-shape object and no split array: this runs for every poll.
  const query: PlainQuery = {
    after: undefined,
    limit: undefined,
    wait: undefined,
    epoch: undefined,
    token: undefined,
  };
  if (text === '') return query;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end === -1) end = text.length;
    let equals = text.indexOf('=', start);
    if (equals === -1 || equals > end) equals = end;
    const key = text.slice(start, equals);
    const value = equals === end ? '' : text.slice(equals + 1, end);
    if (value.includes('%') || value.includes('+')) return undefined;
    if (!QUERY_KEYS.has(key)) return undefined;
    const name = key as keyof PlainQuery;
    if (query[name] !== undefined) return undefined; // given twice: fastify's 400
    query[name] = value;
    start = end + 1;
  }
  return query;
}

/**
 * The Host header from the raw header list (building `request.headers` for every poll showed in the
 * profile), or null when the request has an Origin or Authorization header (fastify's case). Node
 * keeps the first Host of several, as here.
 */
function plainHost(raw: string[]): string | undefined | null {
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4) {
      if (host === undefined && name.toLowerCase() === 'host') host = raw[i + 1];
    } else if (name.length === 6) {
      if (name.toLowerCase() === 'origin') return null;
    } else if (name.length === 13 && name.toLowerCase() === 'authorization') return null;
  }
  return host;
}

export function createPollFastPath(deps: PollFastPathDeps): PollFastPath {
  const { hub, auth } = deps;
  return (request, response, fallback) => {
    if (request.method !== 'GET') return false;
    const url = request.url ?? '';
    if (!url.startsWith(PREFIX)) return false;
    const mark = url.indexOf('?');
    const path = mark === -1 ? url : url.slice(0, mark);
    if (!path.endsWith(SUFFIX)) return false;
    const topic = path.slice(PREFIX.length, -SUFFIX.length);
    if (!PLAIN_TOPIC.test(topic)) return false;
    const query = plainQuery(mark === -1 ? '' : url.slice(mark + 1));
    if (query === undefined) return false;
    const host = plainHost(request.rawHeaders);
    if (host === null || deps.browserCheck(host, undefined) !== undefined) return false;
    if (deps.refusalFor(request.socket) !== undefined || deps.debugLogging()) return false;
    const principal = auth.known(query.token === '' ? undefined : query.token);
    if (principal === undefined) return false;
    let poll: ReturnType<typeof pollRequest>;
    try {
      auth.authorize(principal, 'subscribe', topic);
      poll = pollRequest(hub, query);
    } catch {
      return false; // fastify answers the 400/401/403 with the contract's body
    }
    if (!deps.admit(response)) return false;

    const started = performance.now();
    answerPoll(hub, topic, poll, response, (_error, result) => {
      if (result === undefined) {
        // A store failure or a limit (503): fastify asks again and answers with the contract's error.
        if (!response.destroyed && !response.headersSent) fallback(request, response);
        return;
      }
      if (response.destroyed) return;
      if (poll.wait > 0 && result.messages.length > 0) deps.delivered('longpoll', result.messages.length);
      const body = fetchAnswerBody(result);
      corkHeldAnswer(poll, response.socket);
      response.writeHead(200, {
        'content-type': POLL_HEADERS['content-type'],
        'cache-control': POLL_HEADERS['cache-control'],
        'content-length': body.length,
      });
      response.end(body);
      deps.httpRequest('GET', POLL_ROUTE, 200, (performance.now() - started) / 1000);
    });
    return true;
  };
}
