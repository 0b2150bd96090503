/**
 * The one translation of engine failures into the contract: a SwitchboardError passes through,
 * anything else (a locked database, Redis gone) becomes 503 `unavailable` with its cause kept.
 */
import { SwitchboardError, unavailable } from '../protocol/errors.js';

export type EngineCall = <T>(what: string, call: () => Promise<T>) => Promise<T>;

/** `observe` (optional) hears every call's duration in seconds and whether it succeeded. */
export function createEngineCall(
  engineName: string,
  observe?: (what: string, seconds: number, ok: boolean) => void,
): EngineCall {
  return async (what, call) => {
    const started = observe ? performance.now() : 0;
    let ok = false;
    try {
      const result = await call();
      ok = true;
      return result;
    } catch (error) {
      if (error instanceof SwitchboardError) throw error;
      throw unavailable(`the ${engineName} engine failed to ${what}; retry shortly`, error);
    } finally {
      observe?.(what, (performance.now() - started) / 1000, ok);
    }
  };
}
