/**
 * Starts a server as a child process and waits for its banner (`… listening on http://HOST:PORT`).
 * Used for Switchboard itself (`node dist/cli/main.js serve`) and for the floor servers in bench/.
 * Output is drained all along; warnings, errors and the tail of stderr are kept for the report.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, rssBytes } from './proc.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type EngineName = 'sqlite' | 'memory';

export interface RunningServer {
  readonly label: string;
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Set when the process exited before `stop()` was called. */
  readonly crashed: string | undefined;
  /** Log lines at warn level or above, and stderr lines (last 200). */
  readonly problems: string[];
  cpuSeconds(): number;
  rssBytes(): number;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  label: string;
  /** Arguments to `node`. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Removed after the process stops. */
  cleanupDir?: string;
  startTimeoutMs?: number;
}

const BANNER = /listening on (https?:\/\/\S+)/i;
/** Startup notices logged at warn level that say nothing about the run. */
const EXPECTED_WARNINGS = [/auth is open/i];

/**
 * Every connection of the benchmark comes from 127.0.0.1, so the per-address protections (publish
 * rate, connections per address) would measure the limiter, not the server: they are lifted for the
 * servers under test. Environment variables, so builds that lack a setting simply ignore it.
 */
export const BENCH_SERVER_ENV: NodeJS.ProcessEnv = {
  SWITCHBOARD_PUBLISH_RATE: '0',
  SWITCHBOARD_MAX_CONNECTIONS_PER_IP: '0',
  SWITCHBOARD_MAX_CONNECTIONS: '0',
};
const running = new Set<RunningServer>();

// However the runner ends (an uncaught exception included), leave no server behind.
process.on('exit', () => {
  for (const server of running) server.child.kill('SIGKILL');
});

export async function spawnServer(options: SpawnOptions): Promise<RunningServer> {
  const child = spawn(process.execPath, options.args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const problems: string[] = [];
  const keep = (line: string): void => {
    problems.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    if (problems.length > 200) problems.shift();
  };
  let crashed: string | undefined;
  let stopping = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      if (!stopping) crashed = `${options.label} exited unexpectedly (code ${code}, signal ${signal})`;
      resolve();
    });
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${options.label} printed no banner in ${options.startTimeoutMs ?? 15_000} ms`)),
      options.startTimeoutMs ?? 15_000,
    );
    let found = false;
    let stdoutTail = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdoutTail += chunk;
      const lines = stdoutTail.split('\n');
      stdoutTail = lines.pop() ?? '';
      for (const line of lines) {
        const match = BANNER.exec(line);
        if (!found && match) {
          found = true;
          clearTimeout(timer);
          resolve(match[1]!.replace(/\/$/, ''));
        } else if (/"level":\s*(4|5|6)\d/.test(line) || /\b(warn|error|fatal)\b/i.test(line)) {
          if (!EXPECTED_WARNINGS.some((pattern) => pattern.test(line))) keep(line);
        }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) keep(`stderr: ${line}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${options.label} exited with code ${code}: ${problems.join('\n')}`));
    });
  });

  const server: RunningServer = {
    label: options.label,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid!,
    child,
    get crashed() {
      return crashed;
    },
    problems,
    cpuSeconds: () => cpuSeconds(child.pid!),
    rssBytes: () => rssBytes(child.pid!),
    async stop() {
      if (!running.delete(server)) return;
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
        await exited;
        clearTimeout(timer);
      }
      if (options.cleanupDir) rmSync(options.cleanupDir, { recursive: true, force: true });
    },
  };
  running.add(server);
  return server;
}

/**
 * The CLI entry that is benchmarked: `dist/cli/main.js` (built by `npm run bench`), or another build
 * given in `BENCH_SERVER_ENTRY` (e.g. to compare two builds).
 */
export const SERVER_ENTRY = process.env.BENCH_SERVER_ENTRY ?? join(ROOT, 'dist/cli/main.js');

/** Starts `switchboard serve` on a free port with a fresh data directory. */
export function spawnSwitchboard(engine: EngineName, extraArgs: string[] = []): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), `switchboard-bench-${engine}-`));
  return spawnServer({
    label: `switchboard (${engine})`,
    args: [
      SERVER_ENTRY,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--engine',
      engine,
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    env: BENCH_SERVER_ENV,
    cleanupDir: dataDir,
  });
}

/** Starts a TypeScript server from bench/ (the floor servers) under tsx. */
export function spawnBenchServer(label: string, file: string, args: string[] = []): Promise<RunningServer> {
  return spawnServer({ label, args: ['--import', 'tsx', join(ROOT, 'bench', file), ...args] });
}

/** Stops every server still running (on failure or Ctrl-C). */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}
