/**
 * The hub's schedule loop with fake timers, for delays too long to wait for: a 30-day schedule is
 * appended once the clock passes its due time (setTimeout cannot hold 30 days: the loop re-arms at
 * most a poll interval ahead), never before; hub.close stops the loop and keeps what is pending.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHub, type Hub } from '../../src/core/hub.js';
import { MAX_DELAY_MS } from '../../src/core/schedule-rules.js';
import type { Engine } from '../../src/engines/engine.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';

describe('hub schedule loop (fake timers)', () => {
  let engine: Engine;
  let hub: Hub;
  beforeEach(async () => {
    vi.useFakeTimers({ now: 1_800_000_000_000 });
    engine = createMemoryEngine();
    await engine.open();
    hub = createHub({ engine, now: () => Date.now() });
  });
  afterEach(async () => {
    await hub.close();
    vi.useRealTimers();
  });

  it('appends a 30-day schedule when its day comes, not a second before', async () => {
    const scheduled = await hub.schedules.schedule('far', { data: '"then"', delayMs: MAX_DELAY_MS });
    const soon = await hub.schedules.schedule('far', { data: '"soon"', delayMs: 5_000 });
    expect(scheduled.deliverAt).toBe(Date.now() + MAX_DELAY_MS);
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await hub.fetch('far', { after: 0, limit: 10 })).messages.map((m) => m.data)).toEqual(['"soon"']);
    expect((await hub.schedules.list('far')).map((s) => s.id)).toEqual([scheduled.scheduled]);
    expect(soon.scheduled).not.toBe(scheduled.scheduled);

    vi.setSystemTime(scheduled.deliverAt - 1_000); // the clock jumps (no timer runs 30 days of polls)
    await vi.advanceTimersByTimeAsync(999);
    expect((await hub.fetch('far', { after: 0, limit: 10 })).last).toBe(1);
    await vi.advanceTimersByTimeAsync(1_001);
    const read = await hub.fetch('far', { after: 0, limit: 10 });
    expect(read.messages.map((m) => m.data)).toEqual(['"soon"', '"then"']);
    expect(read.messages[1]!.time).toBeGreaterThanOrEqual(scheduled.deliverAt);
    expect(await hub.schedules.pending()).toBe(0);
  });

  it('stops on close; what is pending stays in the store for the next hub', async () => {
    await hub.schedules.schedule('kept', { data: '1', delayMs: 60_000 });
    await hub.close();
    // The engine stays usable for a new hub over the same store (memory engine: reopen).
    await engine.open();
    hub = createHub({ engine, now: () => Date.now() });
    expect(await hub.schedules.pending()).toBe(1);
    await vi.advanceTimersByTimeAsync(61_000);
    expect((await hub.fetch('kept', { after: 0, limit: 10 })).last).toBe(1);
  });
});
