/**
 * The runtime pieces the SDK uses, injectable so one code base runs in browsers, Node, Deno and
 * tests (graphql-ws's `webSocketImpl`, centrifuge's options). Browsers have all of them; Node 20 has
 * `fetch` but no global `WebSocket`, so the Node entry (`index.ts`) passes a loader for `ws`. SSE is
 * read over `fetch` streaming, so no `EventSource` is needed anywhere.
 */
import { SwitchboardClientError } from './errors.js';

/** The part of the WebSocket API the SDK uses: the browser's, `ws`'s, or any compatible one. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface RuntimeOptions {
  /** @default globalThis.fetch */
  fetch?: FetchFunction;
  /** @default globalThis.WebSocket, else what `loadWebSocket` returns (the Node entry loads `ws`) */
  WebSocket?: WebSocketConstructor;
}

export interface Runtime {
  fetch: FetchFunction;
  /** Undefined when there is none: the WebSocket transport is then skipped. */
  WebSocket: WebSocketConstructor | undefined;
}

export async function resolveRuntime(
  options: RuntimeOptions,
  loadWebSocket: (() => Promise<WebSocketConstructor | undefined>) | undefined,
): Promise<Runtime> {
  const globals = globalThis as { fetch?: FetchFunction; WebSocket?: WebSocketConstructor };
  // Bound: browsers throw "Illegal invocation" when fetch is called as another object's method.
  const fetchFunction = options.fetch ?? globals.fetch?.bind(globalThis);
  if (fetchFunction === undefined) {
    throw new SwitchboardClientError(
      'no fetch implementation found: pass one as connect(url, { fetch }) (Node 18+ and browsers have it built in)',
    );
  }
  let WebSocket = options.WebSocket ?? globals.WebSocket;
  if (WebSocket === undefined && loadWebSocket !== undefined) {
    WebSocket = await loadWebSocket().catch(() => undefined);
  }
  return { fetch: fetchFunction, WebSocket };
}

/** Sleeps `ms`, or less if `signal` aborts first (then resolves early; callers check their state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
