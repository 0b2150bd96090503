import type { Engine } from '../engines/engine.js';
import { createMemoryEngine } from '../engines/memory/index.js';
import { createSqliteEngine } from '../engines/sqlite/index.js';
import type { ServerConfig } from './config.js';
import { ConfigError } from './config.js';

export function createEngine(config: Pick<ServerConfig, 'engine' | 'dataDir' | 'redisUrl'>): Engine {
  switch (config.engine) {
    case 'memory':
      return createMemoryEngine();
    case 'sqlite':
      return createSqliteEngine({ dataDir: config.dataDir });
    case 'redis':
      throw new ConfigError(
        'the redis engine is not available in this build yet; use --engine sqlite or memory',
      );
  }
}
