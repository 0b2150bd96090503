/**
 * Lua scripts as typed commands. Each script is one atomic state change: Redis runs it without
 * interleaving any other client's command, which is what makes offsets contiguous across nodes.
 *
 * ioredis's `defineCommand` sends EVALSHA and falls back to EVAL on NOSCRIPT, so a restarted Redis
 * (whose script cache is empty) needs no special handling.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../connection.js';

export interface LuaScript {
  /** Command name registered on the client; unique per script. */
  readonly name: string;
  readonly keys: number;
  readonly lua: string;
}

type ScriptRunner = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

export function defineScripts(redis: RedisClient, scripts: readonly LuaScript[]): void {
  for (const script of scripts) {
    redis.defineCommand(script.name, { numberOfKeys: script.keys, lua: script.lua });
  }
}

export function runScript(
  redis: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): Promise<unknown> {
  if (keys.length !== script.keys) throw new Error(`${script.name} takes ${script.keys} keys`);
  const runner = (redis as unknown as Record<string, ScriptRunner>)[script.name];
  if (!runner) throw new Error(`script ${script.name} is not defined on this connection`);
  return runner.call(redis, ...keys, ...args);
}

/** Queues a script on a pipeline (one round trip for many topics, e.g. the sweep). */
export function queueScript(
  pipeline: ChainableCommander,
  script: LuaScript,
  keys: readonly string[],
  args: ReadonlyArray<string | number>,
): void {
  const runner = (pipeline as unknown as Record<string, (...a: Array<string | number>) => unknown>)[
    script.name
  ];
  if (!runner) throw new Error(`script ${script.name} is not defined on this pipeline`);
  runner.call(pipeline, ...keys, ...args);
}

/** Lua helpers shared by the scripts: integer formatting without Lua's `%.14g` rounding. */
export const LUA_HELPERS = `
local function int(n) return string.format('%d', n) end
local function entryId(offset) return string.format('%d-0', offset) end
`;
