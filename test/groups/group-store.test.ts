/**
 * The GroupStore contract: one suite, every engine in test/support/engines.ts. Time is injected
 * (`now`), so leases and delays expire without sleeping.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine, NewEntry } from '../../src/engines/engine.js';
import type { ClaimRequest, SettleRequest } from '../../src/engines/group-store.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';

const T0 = 1_700_000_000_000;
const RETENTION = { maxCount: 10_000, maxAgeMs: 3_600_000 };
const LEASE = 1_000;
const DEAD = { topic: 'jobs.dead-letter', retention: RETENTION, dedupeWindowMs: 600_000 };

describe.each(ENGINE_FIXTURES)('group store contract: $name', ({ name, fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let engine: Engine;

  beforeEach(async () => {
    fixture = makeFixture();
    engine = fixture.create();
    await engine.open();
  });
  afterEach(async () => {
    await engine.close();
    fixture.cleanup();
  });

  const publish = async (count: number, topic = 'jobs', now = T0, retention = RETENTION) => {
    const entries: NewEntry[] = Array.from({ length: count }, (_, i) => ({ data: JSON.stringify({ n: i }) }));
    return engine.append({ topic, entries, now, dedupeWindowMs: 600_000, retention });
  };
  const ensure = (group = 'g', extra: { start?: 'earliest' | 'latest'; maxAttempts?: number } = {}) =>
    engine.ensureGroup({
      topic: 'jobs',
      group,
      start: extra.start ?? 'earliest',
      maxAttempts: extra.maxAttempts,
      defaultMaxAttempts: 5,
      now: T0,
    });
  const claim = (member: string, now = T0, extra: Partial<ClaimRequest> = {}) =>
    engine.claim({
      topic: 'jobs',
      group: 'g',
      member,
      recordMember: true,
      max: 10,
      leaseMs: LEASE,
      now,
      deadLetter: DEAD,
      ...extra,
    });
  const settle = (offsets: number[], member?: string, now = T0): SettleRequest => ({
    topic: 'jobs',
    group: 'g',
    member,
    offsets,
    now,
  });
  const offsetsOf = (result: Awaited<ReturnType<typeof claim>>) =>
    result!.deliveries.map((d) => [d.message.offset, d.attempt]);

  it('creates a group once; an existing group keeps its position and may update maxAttempts', async () => {
    expect(await ensure()).toEqual({
      created: true,
      settings: { topic: 'jobs', group: 'g', start: 'earliest', maxAttempts: 5, createdAt: T0 },
    });
    expect((await ensure('g', { start: 'latest' })).created).toBe(false);
    expect((await ensure('g', { maxAttempts: 2 })).settings.maxAttempts).toBe(2);
    expect(await claim('a', T0, { group: 'missing' })).toBeNull();
    expect(await engine.ack({ ...settle([1]), group: 'missing' })).toBeNull();
    expect(await engine.groupState('jobs', 'missing', T0)).toBeNull();
  });

  it('hands out each offset to one member, in order, with attempt 1 and a lease', async () => {
    await publish(5);
    await ensure();
    const first = await claim('a', T0, { max: 3 });
    expect(offsetsOf(first)).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
    expect(first!.deliveries[0]!).toMatchObject({ leaseExpiresAt: T0 + LEASE, message: { topic: 'jobs' } });
    expect(first!.deliveries[0]!.message.data).toBe('{"n":0}');
    expect(first).toMatchObject({ last: 5, nextDueAt: T0 + LEASE, deadLettered: [] });
    expect(offsetsOf(await claim('b'))).toEqual([
      [4, 1],
      [5, 1],
    ]);
    expect((await claim('c'))!.deliveries).toEqual([]);
  });

  it('starts a latest group after the newest message', async () => {
    await publish(3);
    await ensure('g', { start: 'latest' });
    expect((await claim('a'))!.deliveries).toEqual([]);
    await publish(1);
    expect(offsetsOf(await claim('a'))).toEqual([[4, 1]]);
    expect(await engine.ack(settle([2]))).toMatchObject({
      rejected: [{ offset: 2, reason: 'never-delivered' }],
    });
  });

  it('acks all or nothing, advancing the committed offset past contiguous acks', async () => {
    await publish(4);
    await ensure();
    await claim('a');
    expect(await engine.ack(settle([2], 'a'))).toEqual({ settled: [2], rejected: [], committed: 0 });
    expect(await engine.ack(settle([1]))).toEqual({ settled: [1], rejected: [], committed: 2 });
    const refused = await engine.ack(settle([3, 2, 9], 'a'));
    expect(refused).toEqual({
      settled: [],
      rejected: [
        { offset: 2, reason: 'not-pending' },
        { offset: 9, reason: 'never-delivered' },
      ],
      committed: 2,
    });
    // Offset 3 was not acked by the refused request.
    expect(await engine.groupState('jobs', 'g', T0)).toMatchObject({ committed: 2, pending: 2, lag: 2 });
    expect(await engine.ack(settle([3, 4], 'a'))).toMatchObject({ settled: [3, 4], committed: 4 });
  });

  it('redelivers after the lease passes; the old holder can no longer ack, the new one can', async () => {
    await publish(2);
    await ensure();
    await claim('a');
    expect((await claim('b', T0 + LEASE - 1))!.deliveries).toEqual([]);
    const again = await claim('b', T0 + LEASE, { max: 1 });
    expect(offsetsOf(again)).toEqual([[1, 2]]);
    expect(await engine.ack(settle([1], 'a', T0 + LEASE))).toMatchObject({
      rejected: [{ offset: 1, reason: 'leased-to-other', holder: 'b' }],
    });
    // Lease passed on 2 but nobody took it: its holder's late ack still counts.
    expect(await engine.ack(settle([2], 'a', T0 + LEASE + 5))).toMatchObject({ settled: [2] });
    expect(await engine.ack(settle([1], 'b', T0 + LEASE))).toMatchObject({ settled: [1], committed: 2 });
  });

  it('nack makes a message claimable at once, or after its delay, keeping the last error', async () => {
    await publish(2);
    await ensure();
    await claim('a');
    expect(await engine.nack({ ...settle([1], 'a'), delayMs: 0, error: undefined })).toMatchObject({
      settled: [1],
    });
    expect(await engine.ack(settle([1], 'a'))).toMatchObject({
      rejected: [{ offset: 1, reason: 'released' }],
    });
    expect(offsetsOf(await claim('b', T0 + 1))).toEqual([[1, 2]]);
    await engine.nack({ ...settle([2], 'a', T0 + 1), delayMs: 500, error: 'db down' });
    const state = await engine.groupState('jobs', 'g', T0 + 1);
    expect(state).toMatchObject({ pending: 2, ready: 0 });
    expect((await claim('b', T0 + 500))!.deliveries).toEqual([]);
    expect(offsetsOf(await claim('b', T0 + 501))).toEqual([[2, 2]]);
  });

  it('dead-letters a message whose attempts ran out, through the normal append path', async () => {
    await publish(2, 'jobs');
    await publish(1, 'jobs.dead-letter'); // the dead letter's offsets continue after this one
    await ensure('g', { maxAttempts: 2 });
    const woken: Array<[string, number]> = [];
    engine.onAppended((topic, last) => woken.push([topic, last]));
    await claim('a', T0, { max: 1 });
    await engine.nack({ ...settle([1], 'a'), delayMs: 0, error: 'bad payload' });
    expect(offsetsOf(await claim('a', T0, { max: 1 }))).toEqual([[1, 2]]);
    await engine.nack({ ...settle([1], 'a'), delayMs: 0, error: undefined });
    const result = await claim('b', T0 + 7, { max: 1 });
    expect(result!.deadLettered).toEqual([1]);
    expect(offsetsOf(result)).toEqual([[2, 1]]); // dead letters do not count against max
    const dead = await engine.read('jobs.dead-letter', 0, 10);
    expect(dead.messages.map((m) => m.offset)).toEqual([1, 2]);
    expect(JSON.parse(dead.messages[1]!.data)).toEqual({
      topic: 'jobs',
      offset: 1,
      group: 'g',
      attempts: 2,
      error: 'bad payload',
      data: { n: 0 },
    });
    expect(dead.messages[1]!.time).toBe(T0 + 7);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(woken).toContainEqual(['jobs.dead-letter', 2]);
    expect(await engine.groupState('jobs', 'g', T0 + 7)).toMatchObject({
      committed: 1,
      deadLettered: 1,
      pending: 1,
    });
    expect(await engine.ack(settle([1]))).toMatchObject({ rejected: [{ reason: 'not-pending' }] });
  });

  it('drops messages that ran out of attempts when there is no dead-letter target', async () => {
    await publish(1);
    await ensure('g', { maxAttempts: 1 });
    await claim('a');
    expect((await claim('a', T0 + LEASE, { deadLetter: null }))!.deadLettered).toEqual([1]);
    expect((await engine.read('jobs.dead-letter', 0, 10)).messages).toEqual([]);
  });

  it('releases a member: its deliveries are claimable at once by the others', async () => {
    await publish(3);
    await ensure();
    await claim('a', T0, { max: 2 });
    await claim('b', T0, { max: 1 });
    expect(await engine.releaseMember('jobs', 'g', 'a', T0 + 1)).toBe(2);
    expect(await engine.releaseMember('jobs', 'nope', 'a', T0 + 1)).toBe(0);
    expect(offsetsOf(await claim('c', T0 + 1))).toEqual([
      [1, 2],
      [2, 2],
    ]);
  });

  it('reports state and lists the groups of a topic', async () => {
    await publish(6);
    await ensure('g');
    await ensure('other', { start: 'latest' });
    await claim('a', T0, { max: 2 });
    await claim('b', T0 + 500, { max: 2 });
    await engine.ack(settle([1], 'a', T0 + 1_200));
    const state = await engine.groupState('jobs', 'g', T0 + 1_200);
    expect(state).toEqual({
      topic: 'jobs',
      group: 'g',
      start: 'earliest',
      maxAttempts: 5,
      createdAt: T0,
      committed: 1,
      delivered: 4,
      pending: 3,
      ready: 1,
      last: 6,
      lag: 5,
      deadLettered: 0,
      members: [
        { member: 'b', lastSeen: T0 + 500, pending: 2 },
        { member: 'a', lastSeen: T0, pending: 1 },
      ],
    });
    const list = await engine.groups('jobs', T0 + 2_000);
    expect(list.map((g) => [g.group, g.committed, g.lag])).toEqual([
      ['g', 1, 5],
      ['other', 6, 0],
    ]);
    expect(await engine.groups('nothing', T0)).toEqual([]);
    expect(await engine.deleteGroup('jobs', 'other')).toBe(true);
    expect(await engine.deleteGroup('jobs', 'other')).toBe(false);
    expect((await engine.groups('jobs', T0)).map((g) => g.group)).toEqual(['g']);
  });

  it('does not record anonymous members', async () => {
    await publish(1);
    await ensure();
    await claim('anonymous-1', T0, { recordMember: false });
    expect((await engine.groupState('jobs', 'g', T0))!.members).toEqual([]);
  });

  it('skips messages removed by retention, and drops in-flight ones that were removed', async () => {
    const small = { maxCount: 3, maxAgeMs: RETENTION.maxAgeMs };
    await publish(2, 'jobs', T0, small);
    await ensure();
    await claim('a', T0, { max: 1 });
    await publish(4, 'jobs', T0, small); // offsets 1..3 trimmed: 4, 5, 6 remain
    expect(offsetsOf(await claim('b', T0 + LEASE))).toEqual([
      [4, 1],
      [5, 1],
      [6, 1],
    ]);
    expect(await engine.groupState('jobs', 'g', T0 + LEASE)).toMatchObject({ committed: 3, pending: 3 });
  });

  it('starts over on a topic that was deleted and created again', async () => {
    await publish(3);
    await ensure();
    await claim('a');
    await engine.deleteTopic('jobs');
    await publish(2);
    expect(await engine.groupState('jobs', 'g', T0)).toMatchObject({ committed: 0, pending: 0, last: 2 });
    expect(offsetsOf(await claim('b', T0 + 1))).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('never hands one offset to two members under concurrent claims', async () => {
    await publish(200);
    await ensure();
    const claims = await Promise.all(
      Array.from({ length: 40 }, (_, i) => claim(`m${i % 8}`, T0, { max: 7 })),
    );
    const offsets = claims.flatMap((c) => c!.deliveries.map((d) => d.message.offset));
    expect(offsets.length).toBe(200);
    expect(new Set(offsets).size).toBe(200);
    const acks = await Promise.all(
      claims.map((c, i) =>
        engine.ack(
          settle(
            c!.deliveries.map((d) => d.message.offset),
            `m${i % 8}`,
          ),
        ),
      ),
    );
    expect(acks.every((a) => a!.rejected.length === 0)).toBe(true);
    expect(await engine.groupState('jobs', 'g', T0)).toMatchObject({ committed: 200, pending: 0, lag: 0 });
  });

  it.runIf(name !== 'memory')('keeps groups, leases and acks across a restart', async () => {
    await publish(4);
    await ensure('g', { maxAttempts: 3 });
    await claim('a', T0, { max: 3 });
    await engine.ack(settle([1], 'a'));
    await engine.nack({ ...settle([2], 'a'), delayMs: 0, error: 'boom' });
    await engine.close();
    engine = fixture.create();
    await engine.open();
    expect(await engine.groupState('jobs', 'g', T0)).toMatchObject({
      maxAttempts: 3,
      committed: 1,
      delivered: 3,
      pending: 2,
      ready: 1,
    });
    expect(await engine.ack(settle([1], 'a'))).toMatchObject({ rejected: [{ reason: 'not-pending' }] });
    expect(offsetsOf(await claim('b', T0 + 1))).toEqual([
      [2, 2],
      [4, 1],
    ]);
    expect(offsetsOf(await claim('b', T0 + LEASE))).toEqual([[3, 2]]);
  });
});
