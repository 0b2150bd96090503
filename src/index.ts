/** The embeddable library: the hub on any engine, and the HTTP server around it. */

export type { GapNotice, ResetNotice } from './core/feed.js';
export type {
  FetchRequest,
  FetchResult,
  Hub,
  PublishInput,
  PublishOutcome,
  PublishResult,
  SubscribeOptions,
  Subscription,
} from './core/hub.js';
export { createHub } from './core/hub.js';
export type { HubLimits, HubOptions, RetentionRule } from './core/options.js';
export type { Engine, StoredMessage } from './engines/engine.js';
export { createMemoryEngine } from './engines/memory/index.js';
export { createSqliteEngine } from './engines/sqlite/index.js';
export type { ErrorCode } from './protocol/errors.js';
export { isSwitchboardError, SwitchboardError } from './protocol/errors.js';
export type { FetchAnswer, Message, PublishAnswer, TopicStats } from './protocol/message.js';
export { encodeCursor, parseCursor, SseEvent } from './protocol/sse.js';
export type { ClientOp, ServerFrame } from './protocol/ws.js';
export { CloseCode, parseClientOp } from './protocol/ws.js';
export type { CreateServerOptions, SwitchboardServer } from './server/app.js';
export { createServer } from './server/app.js';
export type { ServerConfig } from './server/config.js';
