/**
 * One webhook delivery attempt: an HTTP POST with the guard in the socket's DNS lookup, a deadline
 * for the whole attempt (connect, redirects, headers and body), at most `maxResponseBytes` of the
 * answer read before the connection is cut, and redirects followed by hand so every hop is checked
 * again (an allowed host must not bounce a delivery to 169.254.169.254).
 *
 * Built on node:http rather than fetch: fetch cannot check the address it actually connects to,
 * and cannot stop reading a huge answer without buffering it.
 */
import http from 'node:http';
import https from 'node:https';
import {
  type AddressPolicy,
  assertLiteralAllowed,
  DestinationRefused,
  guardedLookup,
  parseDestination,
  type Resolver,
} from './ssrf-guard.js';

export interface DeliveryRequest {
  url: string;
  /** The body, sent as is (JSON text unless `contentType` says otherwise). */
  body: string | Buffer;
  /** @default 'application/json' */
  contentType?: string;
  /** @default USER_AGENT */
  userAgent?: string;
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  allowPrivate: boolean;
  /** Replaces the address rules (tests: allow only the local receiver). */
  policy?: AddressPolicy;
  /** Replaces the system DNS resolver (tests). */
  resolve?: Resolver;
}

export interface DeliveryOutcome {
  /** A 2xx answer. */
  ok: boolean;
  status?: number;
  /** Why it failed, in words (for the webhook's `lastError`). */
  error?: string;
  /** The answer's `Retry-After` header, as sent (the caller decides whether to honour it). */
  retryAfter?: string;
  /** When to try again at the earliest, in ms from now (set by senders that honour `Retry-After`). */
  retryAfterMs?: number;
  /** The destination is gone for good (Web Push 404/410): delete it instead of retrying. */
  gone?: boolean;
  durationMs: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ERROR_SNIPPET_CHARS = 200;
export const USER_AGENT = 'Switchboard-Webhooks/1';

// Keep-alive pools, one per guard setting: deliveries to the same receiver reuse connections.
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

interface HopAnswer {
  status: number;
  location: string | undefined;
  retryAfter: string | undefined;
  snippet: string;
}

function postOnce(url: URL, request: DeliveryRequest, timeoutMs: number): Promise<HopAnswer> {
  return new Promise((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      lookup: guardedLookup(
        request.allowPrivate,
        request.resolve,
        request.policy,
      ) as unknown as https.RequestOptions['lookup'],
      headers: {
        ...request.headers,
        'content-type': request.contentType ?? 'application/json',
        'content-length': String(Buffer.byteLength(request.body)),
        'user-agent': request.userAgent ?? USER_AGENT,
      },
    };
    const outgoing = (secure ? https : http).request(url, options, (response) => {
      let received = 0;
      let snippet = '';
      const finish = (): void => {
        clearTimeout(timer);
        resolve({
          status: response.statusCode ?? 0,
          location: response.headers.location,
          retryAfter: response.headers['retry-after'],
          snippet,
        });
      };
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (snippet.length < ERROR_SNIPPET_CHARS) snippet += chunk.toString('utf8', 0, ERROR_SNIPPET_CHARS);
        if (received > request.maxResponseBytes) {
          // Enough: the status is known, the rest of a huge answer is not worth reading.
          response.removeAllListeners('data');
          response.destroy();
          finish();
        }
      });
      response.on('end', finish);
      response.on('error', () => finish());
    });
    const timer = setTimeout(
      () => outgoing.destroy(new Error(`no complete answer within ${request.timeoutMs} ms (timeout)`)),
      timeoutMs,
    );
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    outgoing.end(request.body);
  });
}

function describe(error: unknown): string {
  if (error instanceof DestinationRefused) return error.message;
  const { code, message } = error as NodeJS.ErrnoException;
  return code ? `${message} (${code})` : message;
}

export async function postWebhook(request: DeliveryRequest): Promise<DeliveryOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (error: string, status?: number, retryAfter?: string): DeliveryOutcome => ({
    ok: false,
    error,
    durationMs: elapsed(),
    ...(status === undefined ? {} : { status }),
    ...(retryAfter === undefined ? {} : { retryAfter }),
  });
  let url: URL;
  try {
    url = parseDestination(request.url);
  } catch (error) {
    return failed(describe(error));
  }
  for (let hop = 0; ; hop++) {
    const remaining = request.timeoutMs - elapsed();
    if (remaining <= 0) return failed(`no complete answer within ${request.timeoutMs} ms (timeout)`);
    let answer: HopAnswer;
    try {
      assertLiteralAllowed(url, request.allowPrivate, request.policy); // sockets skip the lookup for IP literals
      answer = await postOnce(url, request, remaining);
    } catch (error) {
      return failed(describe(error));
    }
    if (REDIRECTS.has(answer.status) && answer.location !== undefined) {
      if (hop >= request.maxRedirects)
        return failed(`more than ${request.maxRedirects} redirects`, answer.status);
      try {
        url = parseDestination(new URL(answer.location, url).toString(), 'redirect location');
      } catch (error) {
        return failed(describe(error), answer.status);
      }
      continue;
    }
    if (answer.status >= 200 && answer.status < 300)
      return { ok: true, status: answer.status, durationMs: elapsed() };
    const body = answer.snippet.trim().slice(0, ERROR_SNIPPET_CHARS);
    return failed(`HTTP ${answer.status}${body ? `: ${body}` : ''}`, answer.status, answer.retryAfter);
  }
}
