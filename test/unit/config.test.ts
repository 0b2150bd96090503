import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/server/config.js';

describe('server configuration', () => {
  it('defaults to SQLite under ./data on 127.0.0.1:8080 in open mode', () => {
    expect(resolveConfig({}, {})).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      engine: 'sqlite',
      dataDir: './data',
      auth: 'open',
    });
  });

  it('layers file < environment < flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    const file = join(dir, 'switchboard.json');
    writeFileSync(file, JSON.stringify({ port: 1000, engine: 'memory', logLevel: 'debug' }));
    const config = resolveConfig(
      { config: file, port: '3000' },
      {
        PORT: '2000',
        SWITCHBOARD_LOG_LEVEL: 'warn',
        SWITCHBOARD_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      },
    );
    expect(config).toMatchObject({ port: 3000, engine: 'memory', logLevel: 'warn' });
    expect(config.allowedOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('refuses bad values with a message naming the setting', () => {
    expect(() => resolveConfig({ port: 'abc' }, {})).toThrow(/port must be a whole number/);
    expect(() => resolveConfig({ port: '70000' }, {})).toThrow(/port must be 0-65535/);
    expect(() => resolveConfig({ engine: 'oracle' }, {})).toThrow(/engine must be memory, sqlite or redis/);
    expect(() => resolveConfig({ config: '/nonexistent/x.json' }, {})).toThrow(/cannot read config file/);
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    writeFileSync(join(dir, 'bad.json'), '{"prot": 1}');
    expect(() => resolveConfig({ config: join(dir, 'bad.json') }, {})).toThrow(/unknown setting "prot"/);
  });
});
