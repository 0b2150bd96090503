/** `switchboard publish` and `switchboard subscribe` over HTTP (poll and long poll). */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

const DEFAULT_URL = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080';

/** Adds the bearer token (`--token`, or env SWITCHBOARD_TOKEN) for servers run with --auth token. */
function withToken(flag: string | undefined, init: RequestInit = {}): RequestInit {
  // Read here rather than as the option's default, so --help never prints a token.
  const token = flag ?? process.env.SWITCHBOARD_TOKEN;
  if (!token) return init;
  return {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  };
}

async function requestJson(url: string, init?: RequestInit): Promise<unknown> {
  const response = await fetch(url, init);
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    throw new Error(
      `${init?.method ?? 'GET'} ${url} → ${response.status} ${body.error?.code ?? ''}: ${body.error?.message ?? ''}`,
    );
  }
  return body;
}

export function registerClientCommands(program: Command): void {
  program
    .command('publish <topic> [data]')
    .description('publish one message; DATA is JSON (or a plain string), "-" or absent reads stdin')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--event <name>', 'event type name')
    .option(
      '--key <idempotencyKey>',
      'idempotency key: a repeat within the dedupe window is not appended again',
    )
    .addHelpText(
      'after',
      `\nExamples:\n  switchboard publish orders '{"id":1}'\n  echo '"hi"' | switchboard publish chat -`,
    )
    .action(
      async (
        topic: string,
        data: string | undefined,
        options: { url: string; token?: string; event?: string; key?: string },
      ) => {
        const text = data === undefined || data === '-' ? readFileSync(0, 'utf8').trim() : data;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = text;
        }
        const answer = await requestJson(
          `${options.url}/v1/topics/${topic}/messages`,
          withToken(options.token, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ data: value, event: options.event, idempotencyKey: options.key }),
          }),
        );
        process.stdout.write(`${JSON.stringify(answer)}\n`);
      },
    );

  program
    .command('subscribe <topic>')
    .description('print each message as one JSON line (pipe into jq)')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--via <transport>', 'longpoll | poll', 'longpoll')
    .option('--after <offset>', 'start after this offset (default: only new messages)')
    .option('--interval <ms>', 'poll interval for --via poll', '1000')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard subscribe orders --after 0\n  switchboard subscribe orders --via poll | jq .data',
    )
    .action(
      async (
        topic: string,
        options: { url: string; token?: string; via: string; after?: string; interval: string },
      ) => {
        const auth = withToken(options.token);
        if (options.via !== 'longpoll' && options.via !== 'poll') {
          throw new Error(`--via ${options.via} is not available in this build; use longpoll or poll`);
        }
        type Answer = { messages: unknown[]; next: number; last: number; reset: boolean };
        const base = `${options.url}/v1/topics/${topic}/messages`;
        let after =
          options.after === undefined
            ? ((await requestJson(`${base}?limit=1&after=0`, auth)) as Answer).last
            : Number(options.after);
        for (;;) {
          const wait = options.via === 'longpoll' ? 30 : 0;
          const answer = (await requestJson(
            `${base}?after=${after}&wait=${wait}&limit=1000`,
            auth,
          )) as Answer;
          for (const message of answer.messages) process.stdout.write(`${JSON.stringify(message)}\n`);
          after = answer.next;
          if (options.via === 'poll' && answer.messages.length === 0) {
            await new Promise((resolve) => setTimeout(resolve, Number(options.interval)));
          }
        }
      },
    );
}
