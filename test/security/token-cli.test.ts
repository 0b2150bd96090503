/** `switchboard token` mints tokens the server accepts, with the grants asked for. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mintDevToken, parseDuration } from '../../src/cli/token.js';
import { createAuthenticator } from '../../src/core/auth.js';
import { SECRET, startTokenServer } from './support.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'token', ...args], {
    env: { ...process.env, ...env },
  });

describe('switchboard token', () => {
  const auth = createAuthenticator({ mode: 'token', secret: SECRET });

  it('prints a JWT the server verifies, with the requested capabilities', async () => {
    const { stdout } = await run(
      ['--sub', 'alice', '--publish', 'orders.>', '--subscribe', '*', '--subscribe', 'a.b,c', '--ttl', '1h'],
      { SWITCHBOARD_JWT_SECRET: SECRET },
    );
    const principal = await auth.authenticate(stdout.trim());
    expect(principal).toMatchObject({
      sub: 'alice',
      admin: false,
      publish: ['orders.>'],
      subscribe: ['*', 'a.b', 'c'],
    });
    const lifetime = principal.expiresAt! - Date.now();
    expect(lifetime).toBeGreaterThan(3_500_000);
    expect(lifetime).toBeLessThan(3_700_000);
    expect(auth.allows(principal, 'publish', 'orders.eu')).toBe(true);
    expect(auth.allows(principal, 'publish', 'billing')).toBe(false);
  }, 30_000);

  it('explains itself in --help, with examples', async () => {
    const { stdout } = await run(['--help']);
    expect(stdout).toContain('--publish <pattern>');
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('Authorization: Bearer');
  }, 30_000);

  it('lets `switchboard publish` use the token (env SWITCHBOARD_TOKEN)', async () => {
    const server = await startTokenServer();
    try {
      const token = await mintDevToken({ secret: SECRET, sub: 'cli', publish: ['cli.>'], ttlSeconds: 60 });
      const publish = (topic: string) =>
        promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'publish', topic, '{"n":1}'], {
          env: { ...process.env, SWITCHBOARD_URL: server.url, SWITCHBOARD_TOKEN: token },
        });
      const { stdout } = await publish('cli.test');
      expect(JSON.parse(stdout)).toMatchObject({ topic: 'cli.test', offset: 1 });
      await expect(publish('other')).rejects.toThrow(/may not publish to "other".*→ 403/);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('mints admin tokens and refuses short secrets, bad patterns and bad durations', async () => {
    const admin = await auth.authenticate(
      await mintDevToken({ secret: SECRET, sub: 'ops', admin: true, ttlSeconds: 60 }),
    );
    expect(admin.admin).toBe(true);
    await expect(mintDevToken({ secret: 'short', sub: 'a', ttlSeconds: 60 })).rejects.toThrow(
      /at least 32 bytes/,
    );
    await expect(
      mintDevToken({ secret: SECRET, sub: 'a', publish: ['a.>.b'], ttlSeconds: 60 }),
    ).rejects.toThrow(/not a topic pattern/);
    expect(parseDuration('90')).toBe(90);
    expect(parseDuration('30m')).toBe(1_800);
    expect(parseDuration('7d')).toBe(604_800);
    expect(() => parseDuration('soon')).toThrow(/--ttl/);
  });
});
