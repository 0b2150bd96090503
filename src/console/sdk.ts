/**
 * The SDK as the console sees it. The build maps `../client/browser.js` to the server's own
 * `/client.js` (scripts/build-client.mjs), so the console runs on exactly the bundle users load.
 */

export type {
  Message,
  StateEvent,
  Subscription,
  SwitchboardClient,
  TransportName,
} from '../client/browser.js';
export { connect } from '../client/browser.js';

/** One row of `GET /v1/topics`. */
export interface TopicStatsLike {
  topic: string;
  last: number;
  count: number;
  subscribers?: Record<string, number>;
}
