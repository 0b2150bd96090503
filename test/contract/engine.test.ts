/**
 * The engine contract: one suite, every engine. Add an engine to test/support/engines.ts and it
 * runs here unchanged.
 */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engines/engine.js';
import { ENGINE_FIXTURES } from '../support/engines.js';
import { engineContract, entry, request, T0 } from './engine.contract.js';

engineContract(ENGINE_FIXTURES);

describe('sqlite engine durability', () => {
  const sqlite = ENGINE_FIXTURES.find((f) => f.name === 'sqlite')!;

  it('keeps topics, offsets, epochs and dedupe keys across a restart, with synchronous=FULL on every open', async () => {
    const fixture = sqlite.fixture();
    try {
      const first = fixture.create() as Engine & {
        durability(): { journalMode: string; synchronous: number };
      };
      await first.open();
      expect(first.durability()).toEqual({ journalMode: 'wal', synchronous: 2 });
      const appended = await first.append(request('p', [entry(1, { idempotencyKey: 'once' }), entry(2)]));
      await first.close();

      const second = fixture.create() as typeof first;
      await second.open();
      // better-sqlite3 reopens WAL databases with synchronous=NORMAL; the engine must set FULL again.
      expect(second.durability()).toEqual({ journalMode: 'wal', synchronous: 2 });
      const state = await second.state('p');
      expect(state).toEqual({ epoch: appended.epoch, floor: 0, last: 2 });
      const repeat = await second.append(request('p', [entry(1, { idempotencyKey: 'once' })], T0 + 1));
      expect(repeat.outcomes[0]).toMatchObject({ offset: 1, duplicate: true });
      const next = await second.append(request('p', [entry(3)], T0 + 2));
      expect(next.outcomes[0]!.offset).toBe(3);
      await second.close();
    } finally {
      fixture.cleanup();
    }
  });
});
