/**
 * The pattern table. A door joins the lab with one file, `drivers/<name>.ts`, exporting
 * `driver: PatternDriver`, and its name in PATTERN_NAMES; a name without a driver file in this build
 * is reported as not available rather than failing the run.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PatternDriver } from './types.js';

export const PATTERN_NAMES = ['ws', 'sse', 'longpoll', 'poll', 'webhook', 'grpc', 'graphql', 'mqtt'] as const;

export type LoadedPattern = { name: string; driver: PatternDriver } | { name: string; reason: string };

export async function loadPattern(name: string): Promise<LoadedPattern> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return { name, reason: 'not a pattern name' };
  const extension = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const file = new URL(`./drivers/${name}.${extension}`, import.meta.url);
  if (!existsSync(fileURLToPath(file))) {
    return {
      name,
      reason: `not available: no ${name} bench driver in this build (the ${name} door has not landed)`,
    };
  }
  try {
    const module = (await import(/* @vite-ignore */ file.href)) as { driver?: PatternDriver };
    if (!module.driver) return { name, reason: `not available: drivers/${name} exports no driver` };
    return { name, driver: module.driver };
  } catch (error) {
    return { name, reason: `not available: its driver failed to load: ${(error as Error).message}` };
  }
}
