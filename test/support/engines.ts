/** The engines every shared suite runs against. Add Redis here when it exists (skip loudly if absent). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engines/engine.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { createSqliteEngine } from '../../src/engines/sqlite/index.js';

export interface EngineFixture {
  name: string;
  /** A fresh, unopened engine. Engines made by one fixture share one data directory. */
  create(): Engine;
  /** Removes whatever the fixture wrote. */
  cleanup(): void;
}

export const ENGINE_FIXTURES: Array<{ name: string; fixture: () => EngineFixture }> = [
  {
    name: 'memory',
    fixture: () => ({ name: 'memory', create: () => createMemoryEngine(), cleanup: () => {} }),
  },
  {
    name: 'sqlite',
    fixture: () => {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
      return {
        name: 'sqlite',
        create: () => createSqliteEngine({ dataDir: dir }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];
