/** Delayed delivery's wire shapes (docs/delayed.md), shared by the server and the client SDK. */

/** The answer to a publish carrying `delayMs` or `deliverAt` (HTTP 202, or the WebSocket reply). */
export interface ScheduledAnswer {
  topic: string;
  /** The schedule id (`sch_…`): `GET`/`DELETE /v1/scheduled/{id}`. */
  scheduled: string;
  /** When the message is due (ms epoch); it is appended, and gets its offset, then. */
  deliverAt: number;
  /** True when the idempotency key had already scheduled this message (the original is answered). */
  duplicate: boolean;
}

/** A pending schedule as `GET /v1/scheduled?topic=T` lists it. */
export interface ScheduledMessageView<T = unknown> {
  id: string;
  topic: string;
  deliverAt: number;
  createdAt: number;
  event?: string;
  data: T;
}
