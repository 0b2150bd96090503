/**
 * JSON over HTTP for everything that is not a stream (publish, fetch, polling, groups, jobs): the
 * bearer token, a timeout, one token refresh on 401, and typed errors that name method and URL.
 */
import {
  answerError,
  ConnectionClosedError,
  isUnauthorized,
  SwitchboardClientError,
  TimeoutError,
  TransportError,
} from './errors.js';
import type { FetchFunction } from './runtime.js';
import type { TokenSource } from './tokens.js';

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** @default the client's `timeoutMs` */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Name used in error messages. @default 'http' */
  transport?: string;
}

export interface HttpAnswer<T> {
  status: number;
  headers: Headers;
  body: T;
}

export class HttpClient {
  /** Aborted by `close()`: requests in flight (long polls, claims, job watches) end at once. */
  readonly #closed = new AbortController();

  constructor(
    readonly baseUrl: string,
    readonly fetch: FetchFunction,
    readonly tokens: TokenSource,
    readonly timeoutMs: number,
  ) {}

  close(): void {
    this.#closed.abort();
  }

  url(path: string, query: HttpRequest['query'] = {}): string {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) params.set(name, String(value));
    const search = params.toString();
    return `${this.baseUrl}${path}${search === '' ? '' : `?${search}`}`;
  }

  /** Sends the request; an error answer throws SwitchboardError, a broken exchange a client error. */
  async json<T>(path: string, request: HttpRequest = {}): Promise<HttpAnswer<T>> {
    try {
      return await this.#once<T>(path, request);
    } catch (error) {
      if (!isUnauthorized(error) || !this.tokens.refreshable || request.signal?.aborted) throw error;
      await this.tokens.refresh(); // the token may have expired: one more try with a fresh one
      return this.#once<T>(path, request);
    }
  }

  async #once<T>(path: string, request: HttpRequest): Promise<HttpAnswer<T>> {
    const method = request.method ?? 'GET';
    const url = this.url(path, request.query);
    const transport = request.transport ?? 'http';
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = await this.tokens.get();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (request.body !== undefined) headers['content-type'] = 'application/json';

    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort();
    const closed = this.#closed.signal;
    if (closed.aborted) controller.abort();
    request.signal?.addEventListener('abort', onAbort, { once: true });
    closed.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await this.fetch(url, {
        method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: controller.signal,
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: parseAnswer<T>(response, text, method, transport, url),
      };
    } catch (error) {
      if (error instanceof SwitchboardClientError || (error as { name?: string }).name === 'SwitchboardError')
        throw error;
      if (timedOut) {
        throw new TimeoutError(`${transport} to ${url}: no answer in ${timeoutMs} ms (${method})`, {
          url,
          transport,
          timeoutMs,
          cause: error,
        });
      }
      if (request.signal?.aborted || closed.aborted)
        throw new ConnectionClosedError(`${transport} to ${url}: cancelled (the client was closed)`, {
          url,
          transport,
        });
      throw new TransportError(`${transport} to ${url}: ${method} failed (${(error as Error).message})`, {
        url,
        transport,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      closed.removeEventListener('abort', onAbort);
    }
  }
}

/** The body of a 2xx answer, or the error it stands for. A 204 has no body. */
function parseAnswer<T>(response: Response, text: string, method: string, transport: string, url: string): T {
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new TransportError(
      `${transport} to ${url}: ${method} answered ${response.status} with a body that is not JSON (${JSON.stringify(text.slice(0, 80))}); is this a Switchboard server?`,
      { url, transport },
    );
  }
  if (response.ok) return body as T;
  const typed = answerError(response.status, response.headers, text, `${method} ${url}`);
  if (typed !== undefined) throw typed;
  throw new TransportError(
    `${transport} to ${url}: ${method} answered ${response.status} without the contract's JSON error; is a proxy in the way?`,
    { url, transport },
  );
}
