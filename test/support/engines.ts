/**
 * The engines every shared suite runs against. Redis runs on a real redis-server started by the
 * first fixture that needs it (one per test file); without the binary it is left out, loudly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engines/engine.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';
import { createRedisEngine } from '../../src/engines/redis/index.js';
import { createSqliteEngine } from '../../src/engines/sqlite/index.js';
import { redisServerAvailable, sharedRedisServer } from './redis-server.js';

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
  ...(redisServerAvailable() ? [{ name: 'redis', fixture: redisFixture }] : []),
];

let redisFixtures = 0;

/** Engines of one fixture share a key prefix no other fixture uses, on the file's redis-server. */
function redisFixture(): EngineFixture {
  const server = sharedRedisServer();
  const keyPrefix = `test${++redisFixtures}-${process.pid}`;
  return {
    name: 'redis',
    create: () => {
      const engine = createRedisEngine({ url: server.url, keyPrefix });
      const open = engine.open;
      // The server starts in the background; the first open waits for it to answer PING.
      engine.open = async () => {
        await server.ready();
        await open();
      };
      return engine;
    },
    // The server and its directory go away when the test process exits.
    cleanup: () => {},
  };
}
