/** The public surface shared by both entries (explicit list, nats `mod.ts` style). */
export type { ErrorCode } from '../protocol/errors.js';
export type { FetchAnswer, Message, PublishAnswer } from '../protocol/message.js';
export type { ScheduledAnswer, ScheduledMessageView } from '../protocol/schedule.js';
export type { BackoffOptions } from './backoff.js';
export type { DelayedPublishOptions } from './client.js';
export { type ClientEvents, type ConnectOptions, type PublishOptions, SwitchboardClient } from './client.js';
export type { ConnectionState, StateEvent } from './connection.js';
export {
  ConnectionClosedError,
  isSwitchboardError,
  JobFailedError,
  SwitchboardClientError,
  SwitchboardError,
  TimeoutError,
  TransportError,
} from './errors.js';
export type { ConsumeOptions, Consumer, ConsumerEvents, GroupHandler, GroupMessage } from './groups.js';
export type { JobEvents, JobHandle, JobState, JobStatus, Jobs, SubmitOptions } from './jobs.js';
export type { Push, PushOptions } from './push.js';
export type { RequestAnswer, RequestHandler, RequestOptions, Responder, RespondOptions } from './requests.js';
export type { FetchFunction, RuntimeOptions, WebSocketConstructor, WebSocketLike } from './runtime.js';
export type {
  GapEvent,
  ResetEvent,
  SubscribeOptions,
  Subscription,
  SubscriptionEvents,
} from './subscription.js';
export type { GetToken } from './tokens.js';
export { DEFAULT_TRANSPORTS, TRANSPORTS } from './transports/index.js';
export type { GroupDelivery, TransportFactory, TransportName } from './transports/types.js';
