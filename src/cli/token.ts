/**
 * `switchboard token`: mints an HS256 token for development and tests, signed with the same
 * secret the server verifies with. Production tokens come from your own issuer (any JWT library,
 * or an identity provider with a JWKS URL): see docs/security.md.
 */
import type { Command } from 'commander';
import { SignJWT } from 'jose';
import { MIN_SECRET_BYTES } from '../core/jwt-keys.js';
import { isValidPattern, PATTERN_RULE } from '../core/token-claims.js';

export interface MintOptions {
  secret: string;
  sub: string;
  publish?: string[];
  subscribe?: string[];
  admin?: boolean;
  /** Lifetime in seconds. */
  ttlSeconds: number;
  audience?: string | undefined;
  issuer?: string | undefined;
  /** Epoch seconds to issue at. @default now */
  now?: number;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** "90", "90s", "30m", "1h", "7d" → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : Number.NaN;
  if (!(seconds > 0)) throw new Error(`--ttl must be a duration like 90s, 30m, 1h or 7d, got "${text}"`);
  return seconds;
}

export async function mintDevToken(options: MintOptions): Promise<string> {
  if (Buffer.byteLength(options.secret) < MIN_SECRET_BYTES) {
    throw new Error(
      `the secret must be at least ${MIN_SECRET_BYTES} bytes, like the server's --jwt-secret (openssl rand -base64 32)`,
    );
  }
  const publish = options.publish ?? [];
  const subscribe = options.subscribe ?? [];
  for (const pattern of [...publish, ...subscribe]) {
    if (!isValidPattern(pattern)) throw new Error(`"${pattern}" is not a topic pattern: use ${PATTERN_RULE}`);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ topics: { publish, subscribe }, ...(options.admin ? { admin: true } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(options.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + options.ttlSeconds);
  if (options.audience) jwt.setAudience(options.audience);
  if (options.issuer) jwt.setIssuer(options.issuer);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

/** Repeatable option values; commas also separate (topic patterns cannot contain commas). */
const collect = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
];

export function registerToken(program: Command): void {
  program
    .command('token')
    .description('mint an HS256 token for a server run with --auth token --jwt-secret (development use)')
    .option('--secret <secret>', 'the server’s --jwt-secret (env SWITCHBOARD_JWT_SECRET)')
    .requiredOption('--sub <subject>', 'who the token is for (publish rate limits count per subject)')
    .option('--publish <pattern>', 'topic pattern it may publish to (repeatable)', collect, [])
    .option('--subscribe <pattern>', 'topic pattern it may subscribe to (repeatable)', collect, [])
    .option('--admin', 'may also use admin routes (delete topics, metrics) and every topic')
    .option('--ttl <duration>', 'lifetime: 90s, 30m, 1h, 7d', '1h')
    .option('--audience <aud>', 'set "aud" (when the server runs with --jwt-audience)')
    .option('--issuer <iss>', 'set "iss" (when the server runs with --jwt-issuer)')
    .addHelpText(
      'after',
      `
Patterns: topic names whose segments may be "*" (exactly one segment) or, last, ">" (the rest).
  orders          only the topic "orders"
  orders.*        orders.eu, orders.us (not orders.eu.paris)
  orders.>        orders.eu, orders.eu.paris, orders.dead-letter (not orders itself)
  >               every topic

Examples:
  export SWITCHBOARD_JWT_SECRET=$(openssl rand -base64 32)
  switchboard serve --auth token &
  TOKEN=$(switchboard token --sub alice --publish 'orders.>' --subscribe '*' --ttl 1h)
  curl -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
       -d '{"data":{"id":1}}' http://127.0.0.1:8080/v1/topics/orders.eu/messages
  curl "http://127.0.0.1:8080/v1/topics/orders/events?token=$TOKEN"       # EventSource style
  switchboard token --secret "$SWITCHBOARD_JWT_SECRET" --sub ops --admin --ttl 15m`,
    )
    .action(
      async (options: {
        secret?: string;
        sub: string;
        publish: string[];
        subscribe: string[];
        admin?: boolean;
        ttl: string;
        audience?: string;
        issuer?: string;
      }) => {
        const secret = options.secret ?? process.env.SWITCHBOARD_JWT_SECRET;
        if (!secret)
          throw new Error('give --secret or set SWITCHBOARD_JWT_SECRET (the server’s --jwt-secret)');
        if (!options.admin && options.publish.length === 0 && options.subscribe.length === 0) {
          process.stderr.write(
            'switchboard: note: this token grants no topics (add --publish/--subscribe)\n',
          );
        }
        const token = await mintDevToken({
          secret,
          sub: options.sub,
          publish: options.publish,
          subscribe: options.subscribe,
          admin: options.admin === true,
          ttlSeconds: parseDuration(options.ttl),
          audience: options.audience,
          issuer: options.issuer,
        });
        process.stdout.write(`${token}\n`);
      },
    );
}
