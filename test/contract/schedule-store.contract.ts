/**
 * The schedule store's part of the engine contract (run for every engine by engine.test.ts):
 * due order, idempotency keys, cancel, and the atomic "append and forget" delivery.
 */
import { expect, it } from 'vitest';
import { newScheduleId } from '../../src/core/schedule-rules.js';
import type { Engine } from '../../src/engines/engine.js';
import type { ScheduledMessage } from '../../src/engines/schedule-store.js';

const RETENTION = { maxCount: 10_000, maxAgeMs: 3_600_000 };
const T0 = 1_700_000_000_000;
const WINDOW = 600_000;

const scheduled = (
  topic: string,
  deliverAt: number,
  more: Partial<ScheduledMessage> = {},
): ScheduledMessage => ({
  id: newScheduleId(T0),
  topic,
  deliverAt,
  createdAt: T0,
  event: undefined,
  data: JSON.stringify({ at: deliverAt }),
  idempotencyKey: undefined,
  ...more,
});

const deliver = (engine: Engine, message: ScheduledMessage, now = message.deliverAt) =>
  engine.deliverScheduled({
    id: message.id,
    topic: message.topic,
    now,
    dedupeWindowMs: WINDOW,
    retention: RETENTION,
  });

export function scheduleStoreContract(engineOf: () => Engine): void {
  it('schedule store: lists and hands out due messages in due order (ties in creation order)', async () => {
    const engine = engineOf();
    const late = scheduled('s.order', T0 + 300);
    const early = scheduled('s.order', T0 + 100, { event: 'first', data: '{"keep":  "spacing"}' });
    const tieA = scheduled('s.order', T0 + 200);
    const tieB = scheduled('s.order', T0 + 200);
    const other = scheduled('s.other', T0 + 150);
    for (const message of [late, early, tieA, tieB, other]) {
      expect(await engine.addScheduled(message, WINDOW)).toEqual({
        id: message.id,
        deliverAt: message.deliverAt,
        duplicate: false,
      });
    }
    expect((await engine.listScheduled('s.order', 100)).map((m) => m.id)).toEqual([
      early.id,
      tieA.id,
      tieB.id,
      late.id,
    ]);
    expect(await engine.listScheduled('s.order', 1)).toEqual([early]);
    expect(await engine.getScheduled(early.id)).toEqual(early);
    expect(await engine.countScheduled()).toBe(5);
    expect(await engine.nextScheduledAt()).toBe(T0 + 100);
    expect((await engine.dueScheduled(T0 + 200, 100)).map((m) => m.id)).toEqual([
      early.id,
      other.id,
      tieA.id,
      tieB.id,
    ]);
    expect((await engine.dueScheduled(T0 + 200, 2)).map((m) => m.id)).toEqual([early.id, other.id]);
    expect(await engine.dueScheduled(T0 + 99, 100)).toEqual([]);
  });

  it('schedule store: delivery appends once, keeps the data as sent, and forgets the schedule', async () => {
    const engine = engineOf();
    const message = scheduled('s.deliver', T0 + 10, { event: 'tick', data: '{"b":1,  "a":[1.50]}' });
    await engine.addScheduled(message, WINDOW);
    const appended = await deliver(engine, message, T0 + 12);
    expect(appended?.outcomes).toEqual([{ offset: 1, time: T0 + 12, duplicate: false }]);
    // Every later attempt (another node, a retry after a crash) appends nothing.
    const again = await Promise.all([deliver(engine, message), deliver(engine, message)]);
    expect(again).toEqual([null, null]);
    const read = await engine.read('s.deliver', 0, 10);
    expect(read.messages).toEqual([
      expect.objectContaining({
        topic: 's.deliver',
        offset: 1,
        time: T0 + 12,
        event: 'tick',
        data: message.data,
      }),
    ]);
    expect(await engine.getScheduled(message.id)).toBeNull();
    expect(await engine.listScheduled('s.deliver', 10)).toEqual([]);
    expect(await engine.countScheduled()).toBe(0);
    expect(await engine.nextScheduledAt()).toBeNull();
  });

  it('schedule store: concurrent deliveries of the same due messages append each exactly once, in order', async () => {
    const engine = engineOf();
    const messages = Array.from({ length: 20 }, (_, i) => scheduled('s.race', T0 + i));
    for (const message of messages) await engine.addScheduled(message, WINDOW);
    const attempts = await Promise.all([
      ...messages.map((m) => deliver(engine, m, T0 + 100)),
      ...messages.map((m) => deliver(engine, m, T0 + 100)),
    ]);
    expect(attempts.filter((a) => a !== null)).toHaveLength(20);
    const read = await engine.read('s.race', 0, 100);
    expect(read.messages.map((m) => m.data)).toEqual(messages.map((m) => m.data));
  });

  it('schedule store: an idempotency key answers the first schedule within the window, delivered or not', async () => {
    const engine = engineOf();
    const first = scheduled('s.key', T0 + 1_000, { idempotencyKey: 'once' });
    expect(await engine.addScheduled(first, WINDOW)).toMatchObject({ id: first.id, duplicate: false });
    const repeat = scheduled('s.key', T0 + 5_000, { idempotencyKey: 'once', createdAt: T0 + 10 });
    expect(await engine.addScheduled(repeat, WINDOW)).toEqual({
      id: first.id,
      deliverAt: T0 + 1_000,
      duplicate: true,
    });
    // The same key on another topic is another message.
    const elsewhere = scheduled('s.key2', T0 + 1_000, { idempotencyKey: 'once', createdAt: T0 + 10 });
    expect((await engine.addScheduled(elsewhere, WINDOW)).duplicate).toBe(false);
    await deliver(engine, first);
    const afterDelivery = scheduled('s.key', T0 + 9_000, { idempotencyKey: 'once', createdAt: T0 + 20 });
    expect(await engine.addScheduled(afterDelivery, WINDOW)).toMatchObject({ id: first.id, duplicate: true });
    expect(await engine.countScheduled()).toBe(1);
  });

  it('schedule store: cancel forgets a pending schedule once; delivery after it appends nothing', async () => {
    const engine = engineOf();
    const message = scheduled('s.cancel', T0 + 50);
    await engine.addScheduled(message, WINDOW);
    expect(await engine.cancelScheduled(message.id)).toBe(true);
    expect(await engine.cancelScheduled(message.id)).toBe(false);
    expect(await engine.cancelScheduled('sch_unknown')).toBe(false);
    expect(await deliver(engine, message)).toBeNull();
    expect((await engine.state('s.cancel')).last).toBe(0);
    expect(await engine.listScheduled('s.cancel', 10)).toEqual([]);
  });
}
