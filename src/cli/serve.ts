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
    .option('--auth <mode>', 'open | token (default open)')
    .option('--jwt-secret <secret>', 'HS256 secret for --auth token')
    .option(
      '--allowed-origins <list>',
      'comma-separated browser origins allowed besides the server itself, or *',
    )
    .option('--allow-private-webhooks', 'allow webhooks to private, loopback and link-local addresses')
    .option('--max-message-bytes <n>', `largest message data (default ${DEFAULT_CONFIG.maxMessageBytes})`)
    .option('--max-body-bytes <n>', `largest request body (default ${DEFAULT_CONFIG.maxBodyBytes})`)
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
  if (config.auth === 'token') {
    process.stderr.write('switchboard: --auth token is not available in this build yet; use --auth open\n');
    process.exit(2);
  }
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    server = await createServer({ ...config, logger: { level: config.logLevel } });
  } catch (error) {
    process.stderr.write(`switchboard: cannot start: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const url = await server.listen();
  const log = server.app.log;
  log.info(
    { url, engine: config.engine, data: server.hub.engine.location, auth: config.auth },
    `Switchboard listening on ${url}`,
  );
  process.stdout.write(
    [
      `Switchboard listening on ${url}`,
      `  engine: ${config.engine} (${server.hub.engine.location})`,
      `  auth:   ${config.auth}${config.auth === 'open' ? ' — anyone who can reach this port can publish and subscribe' : ''}`,
      `  try:    curl -d '{"data":"hello"}' -H 'content-type: application/json' ${url}/v1/topics/demo/messages`,
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
