/** Writes one scenario's results to bench/results/<scenario>.json with the conditions it ran under. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { loadAverage } from './proc.js';
import { ROOT } from './server.js';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryBytes: totalmem(),
    loadAverage: loadAverage(),
    commit: gitCommit(),
  };
}

export function writeResult(scenario: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${scenario}.json`);
  const body = { scenario, date: new Date().toISOString(), machine: machine(), ...(data as object) };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
