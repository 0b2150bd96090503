/** What the CLI's client commands share: a configured SDK client, JSON lines, clean stops. */
import { type ConnectOptions, connect, type SwitchboardClient } from '../client/index.js';

export const DEFAULT_URL = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080';

export interface ServerOptions {
  url: string;
  token?: string;
}

/** A client for `--url`, with `--token` or env SWITCHBOARD_TOKEN; state changes are noted on stderr. */
export function cliClient(flags: ServerOptions, options: ConnectOptions = {}): SwitchboardClient {
  // Read here rather than as the option's default, so --help never prints a token.
  const token = flags.token ?? process.env.SWITCHBOARD_TOKEN;
  exitOnClosedPipe();
  const client = connect(flags.url, { ...options, ...(token ? { token } : {}) });
  client.on('state', (event) => {
    if (event.state !== 'reconnecting') return;
    const why = event.error === undefined ? '' : ` (${event.error.message})`;
    process.stderr.write(
      `switchboard: reconnecting in ${((event.delayMs ?? 0) / 1000).toFixed(1)} s${why}\n`,
    );
  });
  return client;
}

/** DATA as JSON when it parses, else the text itself (like `Content-Type: text/plain`). */
export function readData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** One JSON document per line. */
export function printLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

let pipeWatched = false;
/** A reader that goes away (`| head`) ends a client command quietly; installed only by client commands. */
function exitOnClosedPipe(): void {
  if (pipeWatched) return;
  pipeWatched = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

/** Ctrl-C / SIGTERM: run `stop` once (close cleanly), then exit 0. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
