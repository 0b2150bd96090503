/**
 * The bearer token: a fixed `token`, or `getToken()` called at connect time and again whenever the
 * server says the token is missing, invalid or expired (401, WebSocket close 4401).
 */
export type GetToken = () => string | undefined | Promise<string | undefined>;

export class TokenSource {
  #current: string | undefined;
  readonly #getToken: GetToken | undefined;
  #refreshing: Promise<string | undefined> | undefined;

  constructor(token: string | undefined, getToken: GetToken | undefined) {
    this.#current = token;
    this.#getToken = getToken;
  }

  get current(): string | undefined {
    return this.#current;
  }

  /** True when a refresh could bring a different token. */
  get refreshable(): boolean {
    return this.#getToken !== undefined;
  }

  /** The current token, asking `getToken` first if there is none yet. */
  async get(): Promise<string | undefined> {
    if (this.#current === undefined && this.#getToken !== undefined) return this.refresh();
    return this.#current;
  }

  /** Asks `getToken` for a fresh token; concurrent callers share one call. */
  refresh(): Promise<string | undefined> {
    if (this.#getToken === undefined) return Promise.resolve(this.#current);
    this.#refreshing ??= (async () => {
      try {
        this.#current = await this.#getToken!();
        return this.#current;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }
}
