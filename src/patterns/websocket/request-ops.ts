/**
 * The WebSocket request-reply ops (docs/protocol.md): `request` publishes with a fresh inbox and
 * replies once the first reply came (`reply` carries its data), `respond` answers a delivered
 * request's `replyTo`. Inboxes and their rules are the hub's (core/requests.ts). A connection that
 * closes stops its waiting requests at once, so their inboxes close and late replies get 409.
 */
import type { Hub } from '../../core/hub.js';
import { rawMembers } from '../../protocol/json.js';
import type { ClientOp } from '../../protocol/ws.js';
import type { WsConnection } from './connection.js';
import { textFrame } from './wire.js';

type Op<Name extends ClientOp['op']> = Extract<ClientOp, { op: Name }>;

const DEFAULT_TIMEOUT_MS = 30_000;

/** One abort signal per connection with requests in flight, fired when it closes. */
const closedSignals = new WeakMap<WsConnection, AbortSignal>();

function closedSignal(connection: WsConnection): AbortSignal {
  let signal = closedSignals.get(connection);
  if (!signal) {
    const controller = new AbortController();
    signal = controller.signal;
    closedSignals.set(connection, signal);
    connection.ws.once('close', () => controller.abort());
  }
  return signal;
}

export function createRequestOpHandlers(hub: Hub) {
  return {
    async request(connection: WsConnection, op: Op<'request'>, text: string) {
      const data = rawMembers(text).members.get('data')!;
      const answer = await hub.requests.request(
        op.topic,
        { data, event: op.event, idempotencyKey: op.idempotencyKey },
        { timeoutMs: op.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: closedSignal(connection) },
      );
      // The reply's data goes out exactly as the responder sent it, inside the reply frame.
      connection.send(
        textFrame(
          `{"op":"reply","id":${op.id},"ok":true,"topic":${JSON.stringify(answer.topic)},"offset":${answer.offset},"replyTo":${JSON.stringify(answer.replyTo)},"reply":${answer.reply}}`,
        ),
      );
      return undefined;
    },

    async respond(_connection: WsConnection, op: Op<'respond'>, text: string) {
      await hub.requests.respond(op.replyTo, rawMembers(text).members.get('data')!);
      return { replyTo: op.replyTo };
    },
  };
}
