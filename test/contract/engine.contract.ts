/**
 * The engine contract: one suite, every engine (test/contract/engine.test.ts runs it on every
 * engine, test/redis-cluster on Redis Cluster).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendRequest, Engine, NewEntry } from '../../src/engines/engine.js';
import type { EngineFixture } from '../support/engines.js';
import { scheduleStoreContract } from './schedule-store.contract.js';

const RETENTION = { maxCount: 10_000, maxAgeMs: 3_600_000 };
export const T0 = 1_700_000_000_000;

export function request(
  topic: string,
  entries: NewEntry[],
  now = T0,
  extra: Partial<AppendRequest> = {},
): AppendRequest {
  return { topic, entries, now, dedupeWindowMs: 600_000, retention: RETENTION, ...extra };
}
export const entry = (n: number | string, more: Partial<NewEntry> = {}): NewEntry => ({
  data: JSON.stringify(n),
  ...more,
});

export function engineContract(fixtures: Array<{ name: string; fixture: () => EngineFixture }>): void {
  describe.each(fixtures)('engine contract: $name', ({ fixture: makeFixture }) => {
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

    it('assigns contiguous offsets from 1, per topic', async () => {
      const a1 = await engine.append(request('a', [entry(1)]));
      const a2 = await engine.append(request('a', [entry(2), entry(3)]));
      const b1 = await engine.append(request('b', [entry(1)]));
      expect(a1.outcomes.map((o) => o.offset)).toEqual([1]);
      expect(a2.outcomes.map((o) => o.offset)).toEqual([2, 3]);
      expect(b1.outcomes.map((o) => o.offset)).toEqual([1]);
      expect(a2.epoch).toBe(a1.epoch);
      expect(b1.epoch).not.toBe(a1.epoch);
    });

    it('keeps offsets contiguous under many concurrent appends', async () => {
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => engine.append(request('busy', [entry(i)]))),
      );
      const offsets = results.map((r) => r.outcomes[0]!.offset).sort((x, y) => x - y);
      expect(offsets).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
      const read = await engine.read('busy', 0, 1000);
      expect(read.messages.map((m) => m.offset)).toEqual(offsets);
      // Each append's data sits at the offset it was acknowledged with.
      for (const [i, result] of results.entries()) {
        expect(read.messages[result.outcomes[0]!.offset - 1]!.data).toBe(JSON.stringify(i));
      }
    });

    it('reads after a cursor with a limit and reports the retained range', async () => {
      await engine.append(
        request(
          'r',
          [1, 2, 3, 4, 5].map((n) => entry(n)),
        ),
      );
      const read = await engine.read('r', 2, 2);
      expect(read.messages.map((m) => m.offset)).toEqual([3, 4]);
      expect(read).toMatchObject({ floor: 0, last: 5 });
      expect((await engine.read('r', 5, 10)).messages).toEqual([]);
      expect(await engine.read('missing', 0, 10)).toMatchObject({
        epoch: null,
        last: 0,
        floor: 0,
        messages: [],
      });
    });

    it('stores data text, event and time exactly as given', async () => {
      const data = '{"big":12345678901234567890.10,"list":[1, 2]}';
      await engine.append(request('exact', [{ data, event: 'created' }, { data: '"x"' }], T0 + 5));
      const { messages } = await engine.read('exact', 0, 10);
      expect(messages[0]).toEqual({ topic: 'exact', offset: 1, time: T0 + 5, event: 'created', data });
      expect(messages[1]!.event).toBeUndefined();
    });

    it('answers a repeated idempotency key with the original offset inside the window', async () => {
      const first = await engine.append(request('d', [entry('a', { idempotencyKey: 'k1' })]));
      await engine.append(request('d', [entry('b')]));
      const repeat = await engine.append(request('d', [entry('a2', { idempotencyKey: 'k1' })], T0 + 1_000));
      expect(repeat.outcomes[0]).toEqual({ offset: first.outcomes[0]!.offset, time: T0, duplicate: true });
      expect(repeat.last).toBe(2);
      const otherTopic = await engine.append(request('d2', [entry('a', { idempotencyKey: 'k1' })]));
      expect(otherTopic.outcomes[0]!.duplicate).toBe(false);
      const inBatch = await engine.append(
        request('d', [entry('x', { idempotencyKey: 'k2' }), entry('y', { idempotencyKey: 'k2' })]),
      );
      expect(inBatch.outcomes.map((o) => [o.offset, o.duplicate])).toEqual([
        [3, false],
        [3, true],
      ]);
      const afterWindow = await engine.append(
        request('d', [entry('a3', { idempotencyKey: 'k1' })], T0 + 700_000),
      );
      expect(afterWindow.outcomes[0]).toMatchObject({ offset: 4, duplicate: false });
    });

    it('forgets idempotency keys older than the window on sweep', async () => {
      await engine.append(request('s', [entry(1, { idempotencyKey: 'old' })]));
      await engine.sweep({ now: T0 + 700_000, retentionFor: () => RETENTION, dedupeWindowMs: 600_000 });
      // A generous window after the sweep: the key is gone, so it appends again.
      const again = await engine.append(
        request('s', [entry(2, { idempotencyKey: 'old' })], T0 + 700_000, {
          dedupeWindowMs: 10_000_000,
        }),
      );
      expect(again.outcomes[0]!.duplicate).toBe(false);
    });

    it('trims by count inside the append and reports the floor', async () => {
      const retention = { maxCount: 3, maxAgeMs: RETENTION.maxAgeMs };
      for (let i = 1; i <= 5; i++) await engine.append(request('c', [entry(i)], T0, { retention }));
      const read = await engine.read('c', 0, 10);
      expect(read.messages.map((m) => m.offset)).toEqual([3, 4, 5]);
      expect(read).toMatchObject({ floor: 2, last: 5 });
      const next = await engine.append(request('c', [entry(6)], T0, { retention }));
      expect(next.outcomes[0]!.offset).toBe(6);
    });

    it('keeps exact retention over many trims (long-lived full logs)', async () => {
      const retention = { maxCount: 50, maxAgeMs: RETENTION.maxAgeMs };
      for (let batch = 0; batch < 30; batch++) {
        const entries = Array.from({ length: 100 }, (_, i) => entry(batch * 100 + i + 1));
        await engine.append(request('long', entries, T0, { retention }));
      }
      const read = await engine.read('long', 0, 1000);
      expect(read).toMatchObject({ floor: 2950, last: 3000 });
      expect(read.messages.map((m) => m.offset)).toEqual(Array.from({ length: 50 }, (_, i) => 2951 + i));
      expect(read.messages.map((m) => m.data)).toEqual(
        Array.from({ length: 50 }, (_, i) => String(2951 + i)),
      );
      expect((await engine.read('long', 2990, 5)).messages.map((m) => m.offset)).toEqual([
        2991, 2992, 2993, 2994, 2995,
      ]);
    });

    it('trims by age on sweep', async () => {
      await engine.append(request('age', [entry(1)], T0));
      await engine.append(request('age', [entry(2)], T0 + 10_000));
      await engine.sweep({
        now: T0 + 3_605_000,
        retentionFor: () => RETENTION,
        dedupeWindowMs: 600_000,
      });
      const read = await engine.read('age', 0, 10);
      expect(read.messages.map((m) => m.offset)).toEqual([2]);
      expect(read.floor).toBe(1);
      await engine.sweep({ now: T0 + 4_000_000, retentionFor: () => RETENTION, dedupeWindowMs: 600_000 });
      expect(await engine.state('age')).toMatchObject({ floor: 2, last: 2 });
    });

    it('lists topics and deletes one; a recreated topic gets a new epoch', async () => {
      const before = await engine.append(request('gone', [entry(1)]));
      await engine.append(request('kept', [entry(1)]));
      expect((await engine.topics()).map((t) => t.topic).sort()).toEqual(['gone', 'kept']);
      expect(await engine.deleteTopic('gone')).toBe(true);
      expect(await engine.deleteTopic('gone')).toBe(false);
      expect((await engine.state('gone')).epoch).toBeNull();
      const after = await engine.append(request('gone', [entry(2)]));
      expect(after.outcomes[0]!.offset).toBe(1);
      expect(after.epoch).not.toBe(before.epoch);
    });

    it('signals appends after they are stored, not for duplicates', async () => {
      const seen: Array<[string, number]> = [];
      const stop = engine.onAppended((topic, last) => seen.push([topic, last]));
      await engine.append(request('sig', [entry(1, { idempotencyKey: 'k' })]));
      await new Promise((resolve) => setTimeout(resolve, 10));
      await engine.append(request('sig', [entry(1, { idempotencyKey: 'k' })]));
      await new Promise((resolve) => setTimeout(resolve, 10));
      stop();
      await engine.append(request('sig', [entry(2)]));
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(seen).toEqual([['sig', 1]]);
    });

    scheduleStoreContract(() => engine);
  });
}
