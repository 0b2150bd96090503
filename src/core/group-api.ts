/**
 * The consumer-group API of the hub (`hub.groups`), as types: what wires and embedding
 * applications call. The rules behind it are in `groups.ts`.
 */
import type { EnsureGroupResult, GroupDelivery, GroupStart, GroupState } from '../engines/group-store.js';
import type { GroupMember, OpenMemberOptions } from './group-member.js';

export interface EnsureGroupOptions {
  start?: GroupStart | undefined;
  /** Updates an existing group's setting when given. */
  maxAttempts?: number | undefined;
}

export interface ClaimOptions {
  /** Who claims; a one-off anonymous name is made up when absent (not listed in the state). */
  member?: string | undefined;
  max?: number | undefined;
  /** How long to hold the request when nothing is claimable (0: answer at once). */
  waitMs?: number | undefined;
  leaseMs?: number | undefined;
  /** Only used when this claim creates the group. */
  start?: GroupStart | undefined;
  maxAttempts?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ClaimAnswer {
  topic: string;
  group: string;
  member: string;
  leaseMs: number;
  deliveries: GroupDelivery[];
}

export interface SettleOptions {
  /** When given, only this member's own leases may be settled. */
  member?: string | undefined;
}

export interface NackOptions extends SettleOptions {
  delayMs?: number | undefined;
  error?: string | undefined;
}

export interface SettleAnswer {
  topic: string;
  group: string;
  offsets: number[];
  committed: number;
}

export interface Groups {
  /** Claims held right now. */
  readonly heldClaims: number;
  ensure(topic: string, group: string, options?: EnsureGroupOptions): Promise<EnsureGroupResult>;
  claim(topic: string, group: string, options?: ClaimOptions): Promise<ClaimAnswer>;
  ack(topic: string, group: string, offsets: unknown, options?: SettleOptions): Promise<SettleAnswer>;
  nack(topic: string, group: string, offsets: unknown, options?: NackOptions): Promise<SettleAnswer>;
  /** Makes everything the member holds claimable by the others at once (it disconnected). */
  release(topic: string, group: string, member: string): Promise<number>;
  state(topic: string, group: string): Promise<GroupState>;
  list(topic: string): Promise<GroupState[]>;
  delete(topic: string, group: string): Promise<void>;
  /** A push-style member: deliveries arrive through `onDelivery`, at most `window` unacked. */
  openMember(topic: string, group: string, options: OpenMemberOptions): GroupMember;
  /** Answers held claims, stops members and timers (graceful shutdown). */
  drain(): void;
  /** Resolves once the members closed by `drain` have released what they held. */
  drained(): Promise<void>;
}
