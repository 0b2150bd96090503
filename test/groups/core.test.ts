/**
 * The group rules in the hub: long-poll claims and what wakes them (publish, nack, lease expiry,
 * a member leaving), validation that leaves state unchanged, and push-style members.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GroupMember } from '../../src/core/group-member.js';
import { groupDeliveryJson } from '../../src/core/group-wire.js';
import { createHub, type Hub } from '../../src/core/hub.js';
import type { GroupDelivery } from '../../src/engines/group-store.js';
import { SwitchboardError } from '../../src/protocol/errors.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const offsets = (deliveries: GroupDelivery[]) => deliveries.map((d) => d.message.offset);

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SwitchboardError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Waits until `check` passes or 3 s pass. */
async function eventually(check: () => void | Promise<void>): Promise<void> {
  const until = Date.now() + 3_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(10);
    }
  }
}

describe.each(ENGINE_FIXTURES)('hub groups: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let hub: Hub;

  beforeEach(async () => {
    fixture = makeFixture();
    const engine = fixture.create();
    await engine.open();
    hub = createHub({ engine });
  });
  afterEach(async () => {
    await hub.close();
    fixture.cleanup();
  });

  it('creates the group on first claim and holds an empty claim until a publish', async () => {
    const started = Date.now();
    const held = hub.groups.claim('orders', 'workers', { member: 'w1', waitMs: 5_000 });
    await eventually(() => expect(hub.groups.heldClaims).toBe(1));
    await hub.publish('orders', { id: 1 });
    const answer = await held;
    expect(offsets(answer.deliveries)).toEqual([1]);
    expect(answer).toMatchObject({ member: 'w1', leaseMs: 30_000, group: 'workers' });
    expect(answer.deliveries[0]!.attempt).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(hub.groups.heldClaims).toBe(0);
  });

  it('answers an empty claim after its wait, and gives anonymous callers a name', async () => {
    const answer = await hub.groups.claim('quiet', 'g', { waitMs: 50 });
    expect(answer.deliveries).toEqual([]);
    expect(answer.member).toMatch(/^anonymous-/);
    expect(hub.groups.heldClaims).toBe(0);
    expect((await hub.groups.state('quiet', 'g')).members).toEqual([]);
  });

  it('wakes a held claim when another member nacks, and when a lease runs out', async () => {
    await hub.publish('t', 'a');
    await hub.publish('t', 'b');
    await hub.groups.claim('t', 'g', { member: 'm1', max: 1 });
    await hub.groups.claim('t', 'g', { member: 'm1', max: 1, leaseMs: 300 });
    const waitForNack = hub.groups.claim('t', 'g', { member: 'm2', waitMs: 5_000 });
    await eventually(() => expect(hub.groups.heldClaims).toBe(1));
    await hub.groups.nack('t', 'g', [1], { member: 'm1', error: 'try later' });
    const nacked = await waitForNack;
    expect(nacked.deliveries.map((d) => [d.message.offset, d.attempt])).toEqual([[1, 2]]);
    const started = Date.now();
    const expired = await hub.groups.claim('t', 'g', { member: 'm2', waitMs: 5_000 });
    expect(expired.deliveries.map((d) => [d.message.offset, d.attempt])).toEqual([[2, 2]]);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('makes a nack with delayMs claimable after the delay', async () => {
    await hub.publish('d', 1);
    await hub.groups.claim('d', 'g', { member: 'm' });
    await hub.groups.nack('d', 'g', [1], { delayMs: 200 });
    expect((await hub.groups.claim('d', 'g')).deliveries).toEqual([]);
    const started = Date.now();
    const later = await hub.groups.claim('d', 'g', { waitMs: 3_000 });
    expect(offsets(later.deliveries)).toEqual([1]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('hands the messages back when the caller left during the claim', async () => {
    await hub.publish('gone', 1);
    const abort = new AbortController();
    abort.abort();
    const answer = await hub.groups.claim('gone', 'g', { member: 'm', signal: abort.signal });
    expect(answer.deliveries).toEqual([]);
    const next = await hub.groups.claim('gone', 'g', { member: 'other' });
    expect(next.deliveries.map((d) => [d.message.offset, d.attempt])).toEqual([[1, 2]]);
  });

  it('dead-letters after maxAttempts and reports it in the state', async () => {
    await hub.groups.ensure('tasks', 'g', { maxAttempts: 2 });
    await hub.publish('tasks', { task: 'x' });
    for (let i = 0; i < 2; i++) {
      const got = await hub.groups.claim('tasks', 'g', { member: 'm' });
      await hub.groups.nack('tasks', 'g', offsets(got.deliveries), { member: 'm', error: `fail ${i}` });
    }
    expect((await hub.groups.claim('tasks', 'g')).deliveries).toEqual([]);
    const dead = await hub.fetch('tasks.dead-letter', { after: 0, limit: 10 });
    expect(JSON.parse(dead.messages[0]!.data)).toEqual({
      topic: 'tasks',
      offset: 1,
      group: 'g',
      attempts: 2,
      error: 'fail 1',
      data: { task: 'x' },
    });
    expect(await hub.groups.state('tasks', 'g')).toMatchObject({ committed: 1, lag: 0, deadLettered: 1 });
  });

  it('refuses bad input with contract errors and leaves the group unchanged', async () => {
    await hub.publish('v', 1);
    await hub.publish('v', 2);
    await hub.groups.claim('v', 'g', { member: 'm', max: 1 });
    const before = await hub.groups.state('v', 'g');
    const bad: Array<[() => Promise<unknown>, string, RegExp]> = [
      [() => hub.groups.claim('v', 'bad name'), 'bad_request', /group "bad name" is invalid/],
      [() => hub.groups.claim('v', 'g', { max: 0 }), 'bad_request', /max 0 is invalid: .*1 to 100/],
      [() => hub.groups.claim('v', 'g', { max: 101 }), 'bad_request', /max/],
      [() => hub.groups.claim('v', 'g', { waitMs: 61_000 }), 'bad_request', /wait/],
      [() => hub.groups.claim('v', 'g', { leaseMs: 5 }), 'bad_request', /leaseMs/],
      [() => hub.groups.claim('v', 'g', { member: 'sp ace' }), 'bad_request', /member/],
      [() => hub.groups.claim('bad..topic', 'g'), 'bad_request', /topic/],
      [() => hub.groups.ack('v', 'g', []), 'bad_request', /non-empty array/],
      [() => hub.groups.ack('v', 'g', [1, 1]), 'bad_request', /listed twice/],
      [() => hub.groups.ack('v', 'g', [0]), 'bad_request', /whole numbers from 1/],
      [() => hub.groups.ack('v', 'g', '1'), 'bad_request', /array/],
      [() => hub.groups.ack('v', 'g', [1, 2]), 'bad_request', /offset 2 was never delivered/],
      [() => hub.groups.ack('v', 'g', [1], { member: 'x' }), 'conflict', /leased to member "m"/],
      [() => hub.groups.nack('v', 'g', [1], { delayMs: -1 }), 'bad_request', /delayMs/],
      [() => hub.groups.nack('v', 'g', [1], { error: 'e'.repeat(2_001) }), 'bad_request', /error must be/],
      [() => hub.groups.ack('v', 'nope', [1]), 'not_found', /group "nope" does not exist on topic "v"/],
      [() => hub.groups.state('v', 'nope'), 'not_found', /does not exist/],
      [() => hub.groups.delete('v', 'nope'), 'not_found', /does not exist/],
      [() => hub.groups.release('v', 'g', ''), 'bad_request', /member/],
    ];
    for (const [call, code, message] of bad) {
      const error = await rejection(call());
      expect(error.code, error.message).toBe(code);
      expect(error.message).toMatch(message);
    }
    expect(await hub.groups.state('v', 'g')).toEqual(before);
    expect(await hub.groups.ack('v', 'g', [1], { member: 'm' })).toMatchObject({
      offsets: [1],
      committed: 1,
    });
    const twice = await rejection(hub.groups.ack('v', 'g', [1]));
    expect(twice).toMatchObject({ code: 'conflict' });
    expect(twice.message).toMatch(/nothing was changed: offset 1 is no longer in flight/);
  });

  describe('push members', () => {
    const open: GroupMember[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((m) => m.close()));
    });
    const member = (name: string, window: number, got: GroupDelivery[], leaseMs?: number) => {
      const m = hub.groups.openMember('p', 'g', {
        member: name,
        window,
        leaseMs,
        onDelivery: (d) => got.push(d),
      });
      open.push(m);
      return m;
    };

    it('keeps at most `window` deliveries out, and sends more as they are acked', async () => {
      const got: GroupDelivery[] = [];
      const m = member('m1', 2, got);
      for (let i = 1; i <= 5; i++) await hub.publish('p', i);
      await eventually(() => expect(offsets(got)).toEqual([1, 2]));
      await sleep(30);
      expect(m.inFlight).toBe(2);
      await m.ack([1]);
      await eventually(() => expect(offsets(got)).toEqual([1, 2, 3]));
      await m.ack([2, 3]);
      await eventually(() => expect(offsets(got)).toEqual([1, 2, 3, 4, 5]));
    });

    it('gives a fast member more than a slow one', async () => {
      const fast: GroupDelivery[] = [];
      const slow: GroupDelivery[] = [];
      const f = member('fast', 1, fast);
      member('slow', 1, slow);
      for (let i = 1; i <= 10; i++) await hub.publish('p', i);
      let fastAcked = 0;
      await eventually(async () => {
        for (const d of fast.splice(0)) {
          await f.ack([d.message.offset]);
          fastAcked++;
        }
        expect(fastAcked).toBe(9);
      });
      expect(slow.length).toBe(1);
    });

    it('redelivers what a closed member held to the others at once', async () => {
      const first: GroupDelivery[] = [];
      const second: GroupDelivery[] = [];
      const a = member('a', 3, first);
      for (let i = 1; i <= 3; i++) await hub.publish('p', i);
      await eventually(() => expect(first.length).toBe(3));
      member('b', 3, second);
      await sleep(30);
      expect(second).toEqual([]);
      const started = Date.now();
      await a.close();
      await eventually(() => expect(offsets(second)).toEqual([1, 2, 3]));
      expect(second.every((d) => d.attempt === 2)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await rejection(a.ack([1]))).toMatchObject({ code: 'conflict' });
    });

    it('frees its window when a lease runs out, and the message comes back', async () => {
      const got: GroupDelivery[] = [];
      member('m', 1, got, 200);
      await hub.publish('p', 1);
      await eventually(() => expect(got.map((d) => d.attempt)).toEqual([1, 2]));
      expect(offsets(got)).toEqual([1, 1]);
    });
  });

  it('answers held claims on drain', async () => {
    const held = hub.groups.claim('s', 'g', { waitMs: 10_000 });
    await eventually(() => expect(hub.groups.heldClaims).toBe(1));
    hub.drain();
    expect((await held).deliveries).toEqual([]);
    expect((await rejection(hub.groups.claim('s', 'g'))).code).toBe('unavailable');
  });
});

describe('groupDeliveryJson', () => {
  it('adds the attempt, and the group when named, around the message JSON (data kept as sent)', () => {
    const delivery = {
      message: { topic: 't', offset: 3, time: 5, event: 'e', data: '{"a":1.0}' },
      attempt: 2,
      leaseExpiresAt: 0,
    };
    expect(groupDeliveryJson(delivery)).toBe(
      '{"topic":"t","offset":3,"time":5,"event":"e","data":{"a":1.0},"attempt":2}',
    );
    expect(groupDeliveryJson(delivery, 'g')).toBe(
      '{"topic":"t","offset":3,"time":5,"event":"e","data":{"a":1.0},"group":"g","attempt":2}',
    );
  });
});
