/** Builds the server's authenticator from its settings: reads the public key file, checks the mode. */
import { readFile } from 'node:fs/promises';
import { type Authenticator, createAuthenticator } from '../core/auth.js';
import { ConfigError, type ServerConfig } from './config.js';

export type AuthSettings = Pick<
  ServerConfig,
  'auth' | 'jwtSecret' | 'jwtPublicKey' | 'jwksUrl' | 'jwtAudience' | 'jwtIssuer' | 'jwtClockToleranceSeconds'
>;

/** `jwtPublicKey` is PEM or JWK text itself, or the path of a file holding it. */
async function publicKeyText(setting: string | undefined): Promise<string | undefined> {
  if (!setting) return undefined;
  if (setting.includes('-----BEGIN') || setting.trim().startsWith('{')) return setting;
  try {
    return await readFile(setting, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --jwt-public-key file ${setting}: ${(error as Error).message}`);
  }
}

export async function authenticatorFromConfig(config: AuthSettings): Promise<Authenticator> {
  if (config.auth === 'open') return createAuthenticator({ mode: 'open' });
  if (!config.jwtSecret && !config.jwtPublicKey && !config.jwksUrl) {
    throw new ConfigError(
      'auth=token needs a way to verify tokens: --jwt-secret, --jwt-public-key or --jwks-url (see docs/security.md)',
    );
  }
  try {
    return createAuthenticator({
      mode: 'token',
      secret: config.jwtSecret,
      publicKey: await publicKeyText(config.jwtPublicKey),
      jwksUrl: config.jwksUrl,
      audience: config.jwtAudience,
      issuer: config.jwtIssuer,
      clockToleranceSeconds: config.jwtClockToleranceSeconds,
    });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`token auth settings are invalid: ${(error as Error).message}`);
  }
}
