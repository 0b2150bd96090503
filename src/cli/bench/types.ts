/**
 * The pattern lab's one interface: a driver opens `subscribers` receivers of one pattern on a topic,
 * reports each delivered bench message, and counts what crossed the wire on its side. Every pattern
 * gets the same publisher, rate, size and subscriber count (run.ts).
 */

/** What the subscribers' side sent and received (counted at the client, both directions). */
export interface WireCounts {
  /** HTTP requests the subscribers made (the WebSocket upgrade and the SSE GET count once each). */
  requests: number;
  /** Units received: WebSocket frames, SSE events, HTTP answers, webhook POSTs. */
  frames: number;
  /** Bytes on the wire, both directions, headers included (socket byte counts). */
  bytes: number;
}

export interface DriverContext {
  /** Base URL of the server, e.g. http://127.0.0.1:8080 */
  url: string;
  topic: string;
  subscribers: number;
  /** The topic's last offset before the first bench message (cursor-based patterns start here). */
  after: number;
  /** `Authorization` header for every request, when a token was given. */
  headers: Record<string, string>;
  token: string | undefined;
  pollIntervalMs: number;
  /** Call once per delivered message with the message's data (latency is read from it). */
  delivered(data: unknown): void;
  /** Call when a subscriber fails for good (the run reports it). */
  failed(reason: string): void;
  /** requests and frames; bytes are read from the driver's sockets */
  wire: Omit<WireCounts, 'bytes'>;
}

export interface RunningDriver {
  /** Resolves when every subscriber is attached and will see the next publish. */
  ready: Promise<void>;
  /** Bytes read and written so far by the subscribers' sockets (the receiver's, for webhooks). */
  bytesOnWire(): number;
  close(): Promise<void>;
}

export interface PatternDriver {
  /** The `--patterns` name. */
  name: string;
  /** One line for the table. */
  title: string;
  start(context: DriverContext): RunningDriver;
}

/** A row of the table: a pattern that could not run says why. */
export interface PatternUnavailable {
  name: string;
  available: false;
  reason: string;
}
