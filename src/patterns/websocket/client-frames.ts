/** Client frames in: JSON parsing with the contract's depth rule, and which handler an op goes to. */
import { jsonDepth } from '../../protocol/json.js';
import { MAX_JSON_DEPTH } from '../../protocol/message.js';
import type { ClientOp } from '../../protocol/ws.js';
import type { OpKey } from './ops.js';

/** The op table entry: `subscribe`/`unsubscribe` with `group` are group ops (group-ops.ts). */
export function opKey(op: ClientOp): OpKey {
  if (op.op === 'subscribe' && op.group !== undefined) return 'subscribeGroup';
  if (op.op === 'unsubscribe' && op.group !== undefined) return 'unsubscribeGroup';
  return op.op;
}

/** Parses a text frame, refusing nesting the contract does not allow before JSON.parse sees it. */
export function parseFrame(text: string): unknown {
  const maxDepth = MAX_JSON_DEPTH + 2; // the op object, then `data` nested up to the contract's depth
  if (jsonDepth(text, maxDepth) > maxDepth) {
    return new Error(`frame is nested deeper than ${MAX_JSON_DEPTH} levels; flatten the data`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    return new Error(
      `frame is not valid JSON (${(error as Error).message}); send one JSON object per text frame, such as {"op":"subscribe","id":1,"topic":"orders"}`,
    );
  }
}
