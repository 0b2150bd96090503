/** `switchboard jobs submit` and `switchboard jobs watch`, on the client SDK's jobs API. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isTerminal, type JobHandle } from '../client/jobs.js';
import { cliClient, DEFAULT_URL, printLine, readData, type ServerOptions } from './sdk-client.js';

interface SubmitFlags extends ServerOptions {
  wait?: boolean;
  key?: string;
  maxAttempts?: string;
  timeoutMs?: string;
  callbackUrl?: string;
}

/** Prints every state as one JSON line until the job ends; exit code 0 only if it succeeded. */
async function follow(handle: JobHandle): Promise<void> {
  handle.on('update', (state) => printLine(state));
  const final = await handle.finished();
  if (isTerminal(final.status) && final.status !== 'succeeded') process.exitCode = 1;
}

export function registerJobsCommands(program: Command): void {
  const jobs = program
    .command('jobs')
    .description('submit asynchronous jobs and follow their status')
    .addHelpText(
      'after',
      `
Examples:
  switchboard jobs submit thumbnails '{"image":"cat.png"}' --wait
  switchboard jobs watch 01JD7Q4K3V...`,
    );

  jobs
    .command('submit <queue> [payload]')
    .description('submit a job; PAYLOAD is JSON (or a plain string), "-" or absent reads stdin')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .option('--wait', 'then print every status change until the job ends (exit 1 unless it succeeded)')
    .option('--key <idempotencyKey>', 'idempotency key (default: a random one, reused by retries)')
    .option('--max-attempts <n>', 'attempts before the job fails (server default 3)')
    .option('--timeout-ms <ms>', 'lease of one attempt')
    .option('--callback-url <url>', 'POST the final job here (signed webhook)')
    .addHelpText(
      'after',
      `
Prints {"id","queue","status"}; with --wait, then one JSON line per status change.

Examples:
  switchboard jobs submit thumbnails '{"image":"cat.png"}'
  switchboard jobs submit thumbnails '{"image":"cat.png"}' --wait | jq -c '{status,progress}'`,
    )
    .action(async (queue: string, payload: string | undefined, flags: SubmitFlags) => {
      const text = payload === undefined || payload === '-' ? readFileSync(0, 'utf8').trim() : payload;
      const client = cliClient(flags, { transports: 'poll' });
      try {
        const handle = await client.jobs.submit(queue, readData(text), {
          idempotencyKey: flags.key,
          maxAttempts: flags.maxAttempts === undefined ? undefined : Number(flags.maxAttempts),
          timeoutMs: flags.timeoutMs === undefined ? undefined : Number(flags.timeoutMs),
          callbackUrl: flags.callbackUrl,
        });
        if (flags.wait) await follow(handle);
        else printLine({ id: handle.id, queue, status: 'queued' });
      } finally {
        client.close();
      }
    });

  jobs
    .command('watch <id>')
    .description('print the job, then every status change, one JSON line each, until it ends')
    .option('--url <url>', 'server URL (env SWITCHBOARD_URL)', DEFAULT_URL)
    .option('--token <jwt>', 'token for --auth token servers (env SWITCHBOARD_TOKEN)')
    .addHelpText('after', "\nExample:\n  switchboard jobs watch 01JD7Q4K3V... | jq -c '{status,progress}'")
    .action(async (id: string, flags: ServerOptions) => {
      const client = cliClient(flags, { transports: 'poll' });
      try {
        await follow(client.jobs.handle(id));
      } finally {
        client.close();
      }
    });
}
