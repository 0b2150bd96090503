/** Hub options with their defaults: the numbers the contract names. */
import type { RetentionPolicy } from '../engines/engine.js';

export interface RetentionRule extends Partial<RetentionPolicy> {
  /** Topic pattern (`*` one segment, `>` the rest) this rule applies to; first match wins. */
  pattern: string;
}

export interface HubLimits {
  /** Largest serialized `data` of one message. @default 65_536 (64 KiB) */
  maxMessageBytes: number;
  /** Most messages in one atomic batch. @default 1_000 */
  maxBatchMessages: number;
  /** Most long polls held at once; more answer 503. @default 20_000 */
  maxWaiters: number;
  /** Most messages one fetch returns. @default 1_000 */
  maxFetchLimit: number;
  /** Longest long-poll wait. @default 60 s */
  maxWaitSeconds: number;
  /** Message bytes one topic may store; more answers 507 (storage-quota.ts). 0 = no cap. @default 0 */
  maxTopicBytes: number;
  /** Message bytes all topics may store together; more answers 507. 0 = no cap. @default 0 */
  maxStoredBytes: number;
}

export interface HubOptions {
  limits: HubLimits;
  /** @default { maxCount: 10_000, maxAgeMs: 7 days } */
  retention: RetentionPolicy;
  /** Per-pattern overrides of `retention`; the first matching rule wins. */
  retentionRules: RetentionRule[];
  /** @default 600_000 (10 minutes) */
  dedupeWindowMs: number;
  /** How often age retention and the dedupe window are applied. @default 30_000 (30 s) */
  sweepIntervalMs: number;
  /** Topic patterns whose subscribers' joins and leaves are published on `{topic}.presence`. @default [] */
  presenceEvents: string[];
  /** Multi-node presence: a node's clients vanish this long after its last heartbeat. @default 20_000 */
  presenceTtlMs: number;
  /** Injectable clock for tests. @default Date.now */
  now: () => number;
}

export const DEFAULT_LIMITS: HubLimits = {
  maxMessageBytes: 65_536,
  maxBatchMessages: 1_000,
  maxWaiters: 20_000,
  maxFetchLimit: 1_000,
  maxWaitSeconds: 60,
  maxTopicBytes: 0,
  maxStoredBytes: 0,
};

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  limits: DEFAULT_LIMITS,
  retention: { maxCount: 10_000, maxAgeMs: 7 * 24 * 3_600_000 },
  retentionRules: [],
  dedupeWindowMs: 600_000,
  sweepIntervalMs: 30_000,
  presenceEvents: [],
  presenceTtlMs: 20_000,
  now: Date.now,
};
