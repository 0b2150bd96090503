/**
 * `switchboard/client`: the isomorphic SDK. This entry (Node, bundlers) falls back to the `ws`
 * package when the runtime has no global WebSocket (Node 20); `browser.ts` is the same API without
 * that fallback, built into `GET /client.js`. Docs: docs/client.md.
 *
 * @example
 * const client = connect('http://127.0.0.1:8080');
 * client.subscribe('orders', { after: 0, onMessage: (m) => console.log(m.offset, m.data) });
 * await client.publish('orders', { id: 1 });
 */
import { type ConnectOptions, SwitchboardClient } from './client.js';
import type { WebSocketConstructor } from './runtime.js';

/** Loads `ws` only when needed, so browsers and runtimes with a WebSocket never touch it. */
async function loadNodeWebSocket(): Promise<WebSocketConstructor | undefined> {
  const name = 'ws'; // a variable keeps bundlers from pulling ws into browser builds
  const module = (await import(/* @vite-ignore */ name)) as { WebSocket?: unknown; default?: unknown };
  return (module.WebSocket ?? module.default) as WebSocketConstructor | undefined;
}

/** Connects to a Switchboard server (`http://host:port`); the client reconnects until `close()`. */
export function connect(url: string, options: ConnectOptions = {}): SwitchboardClient {
  return new SwitchboardClient(url, options, loadNodeWebSocket);
}

export * from './exports.js';
