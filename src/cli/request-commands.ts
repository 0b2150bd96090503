/**
 * `switchboard request` and `switchboard respond` (request-reply, docs/request-reply.md), built on
 * the client SDK. `respond` runs a command per request: the request's data as JSON on its stdin,
 * its stdout (JSON, or else plain text sent as a string) is the reply.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { Message } from '../client/index.js';
import { parseDuration } from './durations.js';
import {
  cliClient,
  DEFAULT_URL,
  printLine,
  readData,
  type ServerOptions,
  stopOnSignals,
} from './sdk-client.js';

interface RespondFlags extends ServerOptions {
  group?: string;
  message?: boolean;
  commandTimeout: string;
}

/** A command's output kept per request; more is an error (the reply could not be sent anyway). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export function registerRequestCommands(program: Command): void {
  program
    .command('request <topic> [data]')
    .description(
      'send a request and print the first reply\'s data; DATA is JSON (or a plain string), "-" or absent reads stdin',
    )
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--timeout <duration>', 'how long to wait for the reply: 500ms, 10s, 1m (at most 60s)', '30s')
    .option('--event <name>', 'event type name of the request')
    .option('--full', 'print {"topic","offset","replyTo","reply"} instead of the reply alone')
    .addHelpText(
      'after',
      `
Exits 1 with "timeout" when no reply came in time.

Examples:
  switchboard request math.add '[1,2]'
  switchboard request users.lookup '{"id":7}' --timeout 5s --full`,
    )
    .action(
      async (
        topic: string,
        data: string | undefined,
        flags: ServerOptions & { timeout: string; event?: string; full?: boolean },
      ) => {
        const text = data === undefined || data === '-' ? readFileSync(0, 'utf8').trim() : data;
        const timeoutMs = parseDuration(flags.timeout, '--timeout');
        const client = cliClient(flags, { transports: 'poll' }); // one request: plain HTTP
        try {
          const answer = await client.request(topic, readData(text), { timeoutMs, event: flags.event });
          printLine(flags.full ? answer : answer.reply);
        } finally {
          client.close();
        }
      },
    );

  program
    .command('respond <topic> <command...>')
    .description('answer each request on TOPIC by running COMMAND: request data on stdin, reply from stdout')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--group <name>', 'answer as a member of this group: run it several times to spread requests')
    .option('--message', 'give COMMAND the whole request message as JSON, not only its data')
    .option('--command-timeout <duration>', 'kill COMMAND after this long (no reply is sent)', '30s')
    .addHelpText(
      'after',
      `
COMMAND runs once per request, without a shell (write sh -c '…' for pipes). Its stdout is the reply:
JSON when it parses, else the text as a JSON string. A command that fails (non-zero exit, timeout)
sends no reply; the caller then times out. Ctrl-C stops.

Examples:
  switchboard respond math.add -- jq 'add'
  switchboard respond users.lookup --group lookups -- ./lookup.sh
  switchboard respond echo -- cat`,
    )
    .action(async (topic: string, command: string[], flags: RespondFlags) => {
      const commandTimeoutMs = parseDuration(flags.commandTimeout, '--command-timeout');
      const client = cliClient(flags);
      client.on('warning', (error) => process.stderr.write(`switchboard: ${error.message}\n`));
      client.on('error', (error) => process.stderr.write(`switchboard: ${error.message}\n`));
      const responder = client.respond(
        topic,
        async (request: Message) => {
          const input = JSON.stringify(flags.message ? request : request.data);
          return readData((await run(command, `${input}\n`, commandTimeoutMs)).trim());
        },
        { group: flags.group },
      );
      process.stderr.write(
        `switchboard: answering requests on ${topic}${flags.group ? ` as group ${flags.group}` : ''}\n`,
      );
      stopOnSignals(async () => {
        responder.close();
        client.close();
      });
      await new Promise(() => {}); // until a signal stops it
    });
}

/** Runs the command once with `input` on stdin; resolves with its stdout, rejects on failure. */
function run(command: string[], input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = command;
    const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'inherit'], timeout: timeoutMs });
    const chunks: Buffer[] = [];
    let bytes = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > MAX_OUTPUT_BYTES) child.kill();
      else chunks.push(chunk);
    });
    child.stdin.on('error', () => {}); // a command that does not read its stdin
    child.stdin.end(input);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(chunks).toString('utf8'));
      else {
        const why = signal === null ? `exited with ${code}` : `was stopped by ${signal}`;
        const error = new Error(`${command.join(' ')} ${why}; no reply sent`);
        process.stderr.write(`switchboard: ${error.message}\n`);
        reject(error);
      }
    });
  });
}
