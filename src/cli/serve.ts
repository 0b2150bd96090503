/** `switchboard serve`: start the server, print where it is, stop gracefully on SIGTERM/SIGINT. */
import type { Command } from 'commander';
import { createServer } from '../server/app.js';
import { ConfigError, DEFAULT_CONFIG, type RawSettings, resolveConfig } from '../server/config.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Switchboard server')
    .option(
      '--port <port>',
      `port to listen on, 0 for any free port (env PORT) (default ${DEFAULT_CONFIG.port})`,
    )
    .option('--host <host>', `address to bind (default ${DEFAULT_CONFIG.host})`)
    .option('--engine <engine>', 'storage engine: sqlite | memory | redis (default sqlite)')
    .option('--data-dir <dir>', `directory for the SQLite file (default ${DEFAULT_CONFIG.dataDir})`)
    .option('--redis-url <url>', 'Redis URL for --engine redis')
    .option(
      '--redis-sentinels <list>',
      'Redis Sentinel host:port,host:port that name the master; implies --engine redis (docs/scaling.md)',
    )
    .option('--redis-sentinel-name <name>', 'the master name the sentinels monitor (with --redis-sentinels)')
    .option(
      '--redis-cluster <list>',
      'Redis Cluster seed nodes host:port,host:port; implies --engine redis (docs/scaling.md)',
    )
    .option(
      '--redis-wait-replicas <n>',
      'Redis replicas that must confirm a write (WAIT) before it is acknowledged (default 0)',
    )
    .option('--auth <mode>', 'open | token (default open)')
    .option(
      '--jwt-secret <secret>',
      'HS256 secret (≥ 32 bytes) for --auth token; prefer env SWITCHBOARD_JWT_SECRET',
    )
    .option('--jwt-public-key <file>', 'RS/ES/EdDSA public key (PEM or JWK file) for --auth token')
    .option('--jwks-url <url>', 'JWKS endpoint whose keys verify tokens (https; cached 10 min)')
    .option('--jwt-audience <aud>', 'require this "aud" claim')
    .option('--jwt-issuer <iss>', 'require this "iss" claim')
    .option(
      '--jwt-clock-tolerance-seconds <s>',
      `leeway on exp/nbf, 0-30 (default ${DEFAULT_CONFIG.jwtClockToleranceSeconds})`,
    )
    .option('--metrics-public', 'serve GET /metrics without a token in token mode (default: admin token)')
    .option(
      '--publish-rate <n>',
      `publishes per second per token sub (per address in open mode), 0 = unlimited (default ${DEFAULT_CONFIG.publishRate})`,
    )
    .option(
      '--publish-burst <n>',
      `publishes allowed at once above the rate (default ${DEFAULT_CONFIG.publishBurst})`,
    )
    .option(
      '--publish-bytes-per-second <n>',
      `published bytes per second per client, 0 = unlimited (default ${DEFAULT_CONFIG.publishBytesPerSecond})`,
    )
    .option(
      '--publish-bytes-burst <n>',
      `bytes a client may publish at once above the byte rate (default ${DEFAULT_CONFIG.publishBytesBurst})`,
    )
    .option(
      '--max-connections <n>',
      `open connections in total, 0 = unlimited (default ${DEFAULT_CONFIG.maxConnections})`,
    )
    .option(
      '--max-connections-per-ip <n>',
      `open connections per address, 0 = unlimited (default ${DEFAULT_CONFIG.maxConnectionsPerIp})`,
    )
    .option('--max-long-polls <n>', `long polls held at once (default ${DEFAULT_CONFIG.maxLongPolls})`)
    .option(
      '--max-topic-bytes <n>',
      'message bytes one topic may store; more answers 507 (default 0: no cap)',
    )
    .option(
      '--max-stored-bytes <n>',
      'message bytes all topics may store together; more answers 507 (default 0: no cap)',
    )
    .option(
      '--headers-timeout-ms <ms>',
      `time allowed to send request headers (default ${DEFAULT_CONFIG.headersTimeoutMs})`,
    )
    .option(
      '--request-timeout-ms <ms>',
      `time allowed to send a whole request (default ${DEFAULT_CONFIG.requestTimeoutMs})`,
    )
    .option(
      '--presence-events <patterns>',
      'comma-separated topic patterns whose joins/leaves are published on {topic}.presence',
    )
    .option(
      '--allowed-origins <list>',
      'comma-separated browser origins allowed besides the server itself, or *',
    )
    .option(
      '--allowed-hosts <list>',
      'comma-separated Host names a loopback-bound server answers besides localhost/127.x.y.z/[::1]',
    )
    .option('--allow-private-webhooks', 'allow webhooks to private, loopback and link-local addresses')
    .option('--vapid-subject <contact>', 'Web Push VAPID contact, a mailto: or https: URL (docs/push.md)')
    .option('--max-message-bytes <n>', `largest message data (default ${DEFAULT_CONFIG.maxMessageBytes})`)
    .option('--max-body-bytes <n>', `largest request body (default ${DEFAULT_CONFIG.maxBodyBytes})`)
    .option(
      '--mqtt-port <port>',
      'serve MQTT over TCP on this port (1883 is usual; 0 = any free port; default off)',
    )
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace (default info)')
    .option('--config <file>', 'JSON file with settings (flags and SWITCHBOARD_* env override it)')
    .addHelpText(
      'after',
      '\nEvery flag is also an environment variable: --data-dir → SWITCHBOARD_DATA_DIR, --port → PORT or SWITCHBOARD_PORT.\n\nExamples:\n  switchboard serve\n  switchboard serve --port 9000 --engine memory\n  SWITCHBOARD_DATA_DIR=/var/lib/switchboard switchboard serve --host 0.0.0.0',
    )
    .action(async (flags: RawSettings) => {
      await serve(flags);
    });
}

async function serve(flags: RawSettings): Promise<void> {
  let config: ReturnType<typeof resolveConfig>;
  try {
    config = resolveConfig(flags);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer({ ...config, logger: { level: config.logLevel } });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`switchboard: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const url = await server.listen();
  const log = server.app.log;
  log.info(
    { url, engine: config.engine, data: server.hub.engine.location, auth: config.auth },
    `Switchboard listening on ${url}`,
  );
  if (config.auth === 'open') {
    log.warn('auth is open: anyone who can reach this port can publish and subscribe (use --auth token)');
  }
  process.stdout.write(
    [
      `Switchboard listening on ${url}`,
      `  engine: ${config.engine} (${server.hub.engine.location})`,
      ...(server.mqtt.port === undefined
        ? []
        : [
            `  mqtt:   mqtt://${config.host}:${server.mqtt.port} (and WebSocket ${url.replace(/^http/, 'ws')}/mqtt)`,
          ]),
      `  auth:   ${config.auth === 'open' ? 'open — anyone who can reach this port can publish and subscribe' : server.app.security.auth.description}`,
      // Generated once per data directory; receivers of job callbacks verify signatures with it.
      ...(server.app.webhooks.callbackSecret.generated
        ? [`  callback secret (shown only now, keep it): ${server.app.webhooks.callbackSecret.value}`]
        : []),
      ...(config.auth === 'open'
        ? [
            `  try:    curl -d '{"data":"hello"}' -H 'content-type: application/json' ${url}/v1/topics/demo/messages`,
          ]
        : [
            config.jwtSecret
              ? '  try:    TOKEN=$(switchboard token --sub me --publish demo --subscribe demo)   # same secret'
              : '  try:    TOKEN=<a JWT from your issuer, with topics.publish covering "demo">',
            `          curl -H "Authorization: Bearer $TOKEN" -d '{"data":"hello"}' -H 'content-type: application/json' ${url}/v1/topics/demo/messages`,
          ]),
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting at once`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down (finishing in-flight publishes, answering held requests)`);
    const force = setTimeout(() => {
      log.error('shutdown took longer than 10 s; exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    server.close().then(
      () => {
        log.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
