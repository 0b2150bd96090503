/**
 * An incremental Server-Sent Events parser (the WHATWG "event stream interpretation"): feed it
 * decoded text as it arrives; it calls back once per complete event. Comments (keep-alives) count
 * as activity but dispatch nothing.
 */
export interface SseEventFields {
  /** `message` when the event had no `event:` field. */
  event: string;
  data: string;
}

export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';

  constructor(readonly onEvent: (event: SseEventFields) => void) {}

  feed(text: string): void {
    this.#buffer += text;
    let start = 0;
    for (;;) {
      const lf = this.#buffer.indexOf('\n', start);
      const cr = this.#buffer.indexOf('\r', start);
      if (lf === -1 && cr === -1) break;
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        // A lone CR at the end might be the first half of CRLF: wait for more text.
        if (cr === this.#buffer.length - 1) break;
        end = cr;
        next = this.#buffer[cr + 1] === '\n' ? cr + 2 : cr + 1;
      } else {
        end = lf;
        next = lf + 1;
      }
      this.#line(this.#buffer.slice(start, end));
      start = next;
    }
    this.#buffer = this.#buffer.slice(start);
  }

  #line(line: string): void {
    if (line === '') {
      if (this.#data.length > 0)
        this.onEvent({ event: this.#event || 'message', data: this.#data.join('\n') });
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    // `id:` and `retry:` are not needed: cursors come from the messages' offsets (and the ready,
    // gap and reset events), and the client's own backoff decides when to reconnect.
  }
}
