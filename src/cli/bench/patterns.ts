/**
 * The pattern table. A door joins the lab with one file, `drivers/<name>.ts`, exporting
 * `driver: PatternDriver`, and its name in PATTERN_NAMES; a name without a driver file in this build
 * is reported as not available rather than failing the run.
 */
import type { PatternDriver } from './types.js';

export const PATTERN_NAMES = ['ws', 'sse', 'longpoll', 'poll', 'webhook', 'grpc', 'graphql', 'mqtt'] as const;

export type LoadedPattern = { name: string; driver: PatternDriver } | { name: string; reason: string };

export async function loadPattern(name: string): Promise<LoadedPattern> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return { name, reason: 'not a pattern name' };
  try {
    const module = (await import(`./drivers/${name}.js`)) as { driver?: PatternDriver };
    if (!module.driver) return { name, reason: `drivers/${name} exports no driver` };
    return { name, driver: module.driver };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`drivers/${name}.`)) {
      return {
        name,
        reason: `not available: no ${name} bench driver in this build (the ${name} door has not landed)`,
      };
    }
    return { name, reason: `not available: its driver failed to load: ${(error as Error).message}` };
  }
}
