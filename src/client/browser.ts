/**
 * Browser build of the SDK (`GET /client.js`, ESM): the same API as `index.ts`, using the
 * browser's own WebSocket and fetch, with no dependency.
 *
 * @example
 * import { connect } from '/client.js';
 * const client = connect(location.origin);
 */
import { type ConnectOptions, SwitchboardClient } from './client.js';

/** Connects to a Switchboard server; `url` defaults to the page's own origin. */
export function connect(
  url: string = globalThis.location?.origin ?? '',
  options: ConnectOptions = {},
): SwitchboardClient {
  return new SwitchboardClient(url, options);
}

export * from './exports.js';
