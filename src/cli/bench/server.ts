/**
 * The server under test: a `switchboard serve` child process (memory engine, loopback, a throwaway
 * data directory) when no --url is given, so its CPU is its own; and its CPU seconds, read from
 * `/metrics` (`process_cpu_seconds_total`) so a --url server is measured the same way.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchServer {
  url: string;
  stop(): Promise<void>;
}

/** The CLI entry next to this file's parent (dist/cli/main.js, or src/cli/main.ts under tsx). */
function cliEntry(): string {
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`../main.${extension}`, import.meta.url));
}

export async function startLocalServer(): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...process.execArgv,
      cliEntry(),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--engine',
      'memory',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      '--allow-private-webhooks',
    ],
    {
      // All load comes from one address: the per-address protections would measure the limiter.
      env: {
        ...process.env,
        SWITCHBOARD_PUBLISH_RATE: '0',
        SWITCHBOARD_MAX_CONNECTIONS_PER_IP: '0',
        SWITCHBOARD_MAX_CONNECTIONS: '0',
        SWITCHBOARD_AUTH: 'open',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4_000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the server printed no banner in 20 s: ${stderr}`)),
      20_000,
    );
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /listening on (http:\/\/\S+)/i.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace(/\/$/, ''));
      }
      if (out.length > 100_000) out = out.slice(-1_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with code ${code}: ${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(force);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The server's process CPU seconds (user + system) from its Prometheus endpoint. */
export async function serverCpuSeconds(url: string, headers: Record<string, string>): Promise<number> {
  const response = await fetch(`${url}/metrics`, { headers });
  const text = await response.text();
  if (response.status !== 200)
    throw new Error(`GET /metrics answered ${response.status}: ${text.slice(0, 200)}`);
  const match = /^process_cpu_seconds_total(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  if (!match) throw new Error('GET /metrics has no process_cpu_seconds_total');
  return Number(match[1]);
}
