/**
 * Where a subscription stands in its topic's log: the last delivered offset and the log's epoch.
 * Every transport resumes from this one place, so a reconnect or a switch from WebSocket to SSE to
 * polling neither repeats nor skips an offset: a transport is asked for "offsets after `after` of
 * log `epoch`", and anything at or below `after` that still arrives is dropped here.
 */

/** What a transport sends to resume: `after` undefined means "start live" (new messages only). */
export interface ResumePosition {
  after: number | undefined;
  epoch: string | undefined;
}

export class TopicCursor {
  /** Highest offset delivered (or the start point the server confirmed); undefined until started. */
  #after: number | undefined;
  #epoch: string | null;

  constructor(after?: number, epoch?: string) {
    this.#after = after;
    this.#epoch = epoch ?? null;
  }

  get after(): number | undefined {
    return this.#after;
  }

  get epoch(): string | null {
    return this.#epoch;
  }

  position(): ResumePosition {
    return { after: this.#after, epoch: this.#epoch ?? undefined };
  }

  /** The server confirmed where delivery continues (WebSocket reply, SSE `ready`, first poll). */
  started(after: number, epoch: string | null): void {
    // A live start is fixed by the server; a resume keeps its own cursor (the server echoes it).
    if (this.#after === undefined || after > this.#after) this.#after = after;
    this.learnEpoch(epoch);
  }

  /** Records the log's epoch once known (a topic never published to has none until its first message). */
  learnEpoch(epoch: string | null): void {
    if (epoch !== null) this.#epoch = epoch;
  }

  /** True when `offset` is new (and moves the cursor); false for a duplicate, which must be dropped. */
  accept(offset: number): boolean {
    if (this.#after !== undefined && offset <= this.#after) return false;
    this.#after = offset;
    return true;
  }

  /** Messages up to `next` were removed by retention: continue after it. */
  gap(next: number): void {
    if (this.#after === undefined || next > this.#after) this.#after = next;
  }

  /** The log is another one (wiped, recreated): start over at its first offset. */
  reset(epoch: string | null): void {
    this.#after = 0;
    this.#epoch = epoch;
  }
}
