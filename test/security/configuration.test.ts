/** docs/configuration.md names every setting and environment variable the server reads. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, resolveConfig } from '../../src/server/config.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('../../src/server/config.ts', import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('documents every setting', () => {
    for (const key of Object.keys(DEFAULT_CONFIG)) expect(doc, key).toContain(`| \`${key}\` |`);
  });

  it('documents every environment variable', () => {
    const names = new Set(source.match(/SWITCHBOARD_[A-Z_]+/g));
    for (const name of names) expect(doc, name).toContain(name);
  });
});

describe('security settings', () => {
  const secret = 'x'.repeat(32);

  it('starts token mode only with a way to verify tokens, and a strong enough secret', () => {
    expect(() => resolveConfig({ auth: 'token' }, {})).toThrow(
      /--jwt-secret, --jwt-public-key or --jwks-url/,
    );
    expect(() => resolveConfig({ auth: 'token', jwtSecret: 'short' }, {})).toThrow(/at least 32 bytes/);
    expect(resolveConfig({ auth: 'token' }, { SWITCHBOARD_JWT_SECRET: secret }).jwtSecret).toBe(secret);
  });

  it('refuses JWKS over plain http except on localhost, and leeway beyond 30 s', () => {
    expect(() => resolveConfig({ auth: 'token', jwksUrl: 'http://id.example/jwks' }, {})).toThrow(/https/);
    expect(resolveConfig({ auth: 'token', jwksUrl: 'http://127.0.0.1:9/jwks' }, {}).jwksUrl).toContain(
      '127.0.0.1',
    );
    expect(() => resolveConfig({ jwtClockToleranceSeconds: '60' }, {})).toThrow(/0-30/);
  });

  it('reads limits from flags and the environment', () => {
    const config = resolveConfig(
      { publishRate: '5', maxConnectionsPerIp: '0', metricsPublic: true },
      { SWITCHBOARD_MAX_LONG_POLLS: '7' },
    );
    expect(config).toMatchObject({
      publishRate: 5,
      maxConnectionsPerIp: 0,
      metricsPublic: true,
      maxLongPolls: 7,
    });
    expect(() => resolveConfig({ publishRate: '-1' }, {})).toThrow(/publishRate/);
  });
});
