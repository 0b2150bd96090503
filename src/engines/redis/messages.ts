/** Turns script replies into the engine contract's shapes. */
import type { AppendOutcome, AppendResult, LogState, StoredMessage } from '../engine.js';

/** XRANGE's reply: [id, [field, value, …]] per entry. */
export type StreamEntry = [id: string, fields: string[]];

export function toMessages(topic: string, entries: StreamEntry[]): StoredMessage[] {
  return entries.map(([id, fields]) => {
    let time = 0;
    let data = '';
    let event: string | undefined;
    let replyTo: string | undefined;
    for (let i = 0; i < fields.length; i += 2) {
      const value = fields[i + 1]!;
      if (fields[i] === 't') time = Number(value);
      else if (fields[i] === 'd') data = value;
      else if (fields[i] === 'e') event = value;
      else if (fields[i] === 'r') replyTo = value;
    }
    // The ID is `<offset>-0`: parseInt stops at the dash.
    const message: StoredMessage = { topic, offset: Number.parseInt(id, 10), time, event, data };
    if (replyTo !== undefined) message.replyTo = replyTo;
    return message;
  });
}

/** The append script's reply: epoch, floor, last, then offset/time/duplicate triples. */
export function toAppendResult(reply: Array<string | number>): AppendResult {
  const outcomes: AppendOutcome[] = [];
  for (let i = 3; i < reply.length; i += 3) {
    outcomes.push({ offset: Number(reply[i]), time: Number(reply[i + 1]), duplicate: reply[i + 2] === 1 });
  }
  return { epoch: String(reply[0]), floor: Number(reply[1]), last: Number(reply[2]), outcomes };
}

/** HMGET meta epoch floor last. */
export function toLogState([epoch, floor, last]: Array<string | null>): LogState {
  return epoch == null
    ? { epoch: null, floor: 0, last: 0 }
    : { epoch, floor: Number(floor ?? 0), last: Number(last ?? 0) };
}
