/** What a benchmark scenario is, and what it hands back to bench/run.ts. */

export interface ScenarioContext {
  /** Results of scenarios that already ran in this invocation, by name (fanout-floor reads them). */
  readonly earlier: ReadonlyMap<string, ScenarioOutcome>;
  log(message: string): void;
}

export interface TargetCheck {
  /** e.g. "SQLite/memory publish throughput at 64 clients ≥ 50%" */
  target: string;
  /** the measured value, formatted */
  measured: string;
  /** undefined when it could not be measured (skipped) */
  ok: boolean | undefined;
}

export interface ScenarioOutcome {
  /** Set when the scenario could not run (e.g. "endpoint not available"). */
  skipped?: string;
  targets: TargetCheck[];
  /** Key figures without a target, one line each, for the summary. */
  headlines?: string[];
  /** Other one-line findings for the summary (server errors, crashes, scaled-down runs). */
  notes: string[];
  /** Written to bench/results/<name>.json. */
  json: Record<string, unknown>;
}

export interface Scenario {
  name: string;
  /** One line for `--list`. */
  description: string;
  run(context: ScenarioContext): Promise<ScenarioOutcome>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or the time runs out. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}
