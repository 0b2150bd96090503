/** Helpers for the GraphQL door's tests: plain fetch, and the real graphql-ws / graphql-sse clients. */
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';

export const RESPONSE_TYPE = 'application/graphql-response+json';

// biome-ignore lint/suspicious/noExplicitAny: tests read answers of many shapes
export type Json = any;

export async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: Json }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: RESPONSE_TYPE, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: Json;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected JSON (${response.status}), got: ${text.slice(0, 200)}`);
  }
  return { status: response.status, type: response.headers.get('content-type') ?? '', body };
}

export function wsUrl(url: string): string {
  return `${url.replace(/^http/, 'ws')}/graphql`;
}

export function wsClient(url: string, connectionParams?: Record<string, unknown>): WsClient {
  return createWsClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(connectionParams ? { connectionParams } : {}),
  });
}

export function sseClient(url: string, headers: Record<string, string> = {}): SseClient {
  return createSseClient({ url: `${url}/graphql/stream`, headers, retryAttempts: 0 });
}

/** Collects a subscription's results; `until(n)` waits for n of them. */
export function collect<T = Json>(
  subscribeFn: (sink: { next(v: T): void; error(e: unknown): void; complete(): void }) => () => void,
) {
  const results: T[] = [];
  let error: unknown;
  let completed = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  const unsubscribe = subscribeFn({
    next: (value) => {
      results.push(value);
      wake();
    },
    error: (e) => {
      error = e;
      wake();
    },
    complete: () => {
      completed = true;
      wake();
    },
  });
  const waitFor = (check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> =>
    new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => {
        waiters.delete(onWake);
        reject(
          new Error(
            `timed out waiting for ${what}; got ${JSON.stringify(results).slice(0, 500)} error=${String(error)}`,
          ),
        );
      }, timeoutMs);
      const onWake = () => {
        if (!check()) return;
        clearTimeout(timer);
        waiters.delete(onWake);
        resolve();
      };
      waiters.add(onWake);
    });
  return {
    results,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    unsubscribe,
    until: (n: number, timeoutMs?: number) => waitFor(() => results.length >= n, `${n} results`, timeoutMs),
    ended: (timeoutMs?: number) => waitFor(() => completed || error !== undefined, 'the end', timeoutMs),
  };
}

export async function restPublish(
  url: string,
  topic: string,
  data: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ data }),
  });
  if (response.status !== 201)
    throw new Error(`publish answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { offset: number };
}

export const SUBSCRIBE_MESSAGES = `subscription ($topic: String!, $after: Float) {
  messages(topic: $topic, after: $after) {
    __typename
    ... on Message { topic offset event data }
    ... on Gap { after next }
    ... on Reset { epoch last }
  }
}`;
