/**
 * `switchboard publish` and `switchboard subscribe`, built on the client SDK (src/client), so the
 * CLI resumes, falls back and retries exactly as applications do. Output is one JSON document per
 * line on stdout (pipe it into jq); connection notices go to stderr.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Message, TransportName } from '../client/index.js';
import { parseDuration, parseTime } from './durations.js';
import {
  cliClient,
  DEFAULT_URL,
  printLine,
  readData,
  type ServerOptions,
  stopOnSignals,
} from './sdk-client.js';

/** `--via` names: the CLI's short `ws` plus the SDK's transport names. */
const VIA: Record<string, TransportName> = {
  ws: 'websocket',
  websocket: 'websocket',
  sse: 'sse',
  longpoll: 'longpoll',
  poll: 'poll',
};

interface SubscribeFlags extends ServerOptions {
  via?: string;
  after?: string;
  group?: string;
  interval: string;
  concurrency: string;
}

export function registerClientCommands(program: Command): void {
  program
    .command('publish <topic> [data]')
    .description('publish one message; DATA is JSON (or a plain string), "-" or absent reads stdin')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--event <name>', 'event type name')
    .option('--key <idempotencyKey>', 'idempotency key (default: a random one, reused by retries)')
    .option('--delay <duration>', 'deliver later: 500ms, 10s, 5m, 2h, 1d (at most 30 days)')
    .option('--at <time>', 'deliver at this time: ISO 8601 or ms since 1970')
    .addHelpText(
      'after',
      `
Prints the answer: {"topic","offset","time","duplicate"}, or with --delay/--at
{"topic","scheduled","deliverAt","duplicate"} (the message is appended when due). A failed attempt is retried with the same
idempotency key, so a retry never appends twice.

Examples:
  switchboard publish orders '{"id":1}'
  switchboard publish orders '{"id":1}' --event created --key order-1
  switchboard publish reminders '"stand up"' --delay 10s
  echo '"hi"' | switchboard publish chat -`,
    )
    .action(
      async (
        topic: string,
        data: string | undefined,
        flags: ServerOptions & { event?: string; key?: string; delay?: string; at?: string },
      ) => {
        const text = data === undefined || data === '-' ? readFileSync(0, 'utf8').trim() : data;
        const client = cliClient(flags, { transports: 'poll' }); // one request: plain HTTP
        try {
          const answer = await client.publish(topic, readData(text), {
            event: flags.event,
            idempotencyKey: flags.key,
            ...(flags.delay === undefined ? {} : { delayMs: parseDuration(flags.delay, '--delay') }),
            ...(flags.at === undefined ? {} : { deliverAt: parseTime(flags.at, '--at') }),
          });
          printLine(answer);
        } finally {
          client.close();
        }
      },
    );

  program
    .command('subscribe <topic>')
    .description('print each message as one JSON line (pipe into jq); resumes across disconnects')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--via <transport>', 'ws | sse | longpoll | poll (default: the best that works, in that order)')
    .option('--after <offset>', 'start after this offset, 0 for the whole log (default: only new messages)')
    .option(
      '--group <name>',
      'consume as a member of this consumer group: each message is acked once printed',
    )
    .option('--concurrency <n>', 'group deliveries held at once (with --group)', '1')
    .option('--interval <ms>', 'poll interval for --via poll', '1000')
    .addHelpText(
      'after',
      `
Each offset is printed once, in order, across reconnects and server restarts. Reconnect notices and
errors go to stderr; Ctrl-C stops.

Examples:
  switchboard subscribe orders --after 0
  switchboard subscribe orders --via sse | jq .data
  switchboard subscribe orders --via poll --interval 5000
  switchboard subscribe orders --group billing          # competing consumers: run it twice`,
    )
    .action(async (topic: string, flags: SubscribeFlags) => {
      const transports = flags.via === undefined ? undefined : VIA[flags.via];
      if (flags.via !== undefined && transports === undefined) {
        throw new Error(`--via ${flags.via} is unknown; use ws, sse, longpoll or poll`);
      }
      const after = flags.after === undefined ? undefined : Number(flags.after);
      if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) {
        throw new Error(`--after must be a whole number >= 0, got "${flags.after}"`);
      }
      const client = cliClient(flags, { transports, pollIntervalMs: Number(flags.interval) });
      if (flags.group !== undefined) {
        const consumer = client.group(topic, flags.group).consume((message) => printLine(message), {
          concurrency: Number(flags.concurrency),
        });
        consumer.on('error', (error) => process.stderr.write(`switchboard: ${error.message}\n`));
        stopOnSignals(async () => {
          await consumer.stop();
          client.close();
        });
        const ended = await consumer.closed;
        client.close();
        if (ended !== undefined) throw ended;
        return;
      }
      const subscription = client.subscribe(topic, {
        after,
        onMessage: (message: Message) => printLine(message),
      });
      subscription.on('gap', (gap) =>
        process.stderr.write(
          `switchboard: offsets ${gap.after + 1}..${gap.next} of ${topic} were removed by retention\n`,
        ),
      );
      subscription.on('reset', (reset) =>
        process.stderr.write(
          `switchboard: ${topic} is a new log (epoch ${reset.epoch}); restarting at offset 1\n`,
        ),
      );
      stopOnSignals(async () => client.close());
      const ended = await subscription.closed;
      client.close();
      if (ended !== undefined) throw ended;
    });
}
