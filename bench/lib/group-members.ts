/**
 * Consumer-group members in a worker process (bench/workers/group-member.ts), seen from the runner:
 * fork, open the members, start them together, follow how many messages they processed, stop.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GroupWorkerCommand, GroupWorkerMessage, MemberKind } from '../workers/group-member.js';

const WORKER = fileURLToPath(new URL('../workers/group-member.ts', import.meta.url));

type Of<T extends GroupWorkerMessage['type']> = Extract<GroupWorkerMessage, { type: T }>;

class GroupWorker {
  readonly child: ChildProcess;
  processed = 0;
  redelivered = 0;
  readonly #waiters: Array<{ type: string; resolve: (m: GroupWorkerMessage) => void }> = [];
  fatal: string | undefined;

  constructor() {
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message: GroupWorkerMessage) => {
      if (message.type === 'progress') {
        this.processed = message.processed;
        this.redelivered = message.redelivered;
        return;
      }
      if (message.type === 'fatal') this.fatal = message.error;
      const index = this.#waiters.findIndex((w) => w.type === message.type || message.type === 'fatal');
      if (index !== -1) this.#waiters.splice(index, 1)[0]!.resolve(message);
    });
    this.child.on('exit', (code) => {
      if (code !== 0) this.fatal ??= `group worker exited with code ${code}`;
      for (const waiter of this.#waiters.splice(0))
        waiter.resolve({ type: 'fatal', error: this.fatal ?? 'group worker exited' });
    });
  }

  send(command: GroupWorkerCommand): void {
    if (this.child.connected) this.child.send(command);
  }

  next<T extends GroupWorkerMessage['type']>(type: T, timeoutMs: number): Promise<Of<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`group worker sent no "${type}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          if (message.type === 'fatal') reject(new Error(`group worker failed: ${message.error}`));
          else resolve(message as Of<T>);
        },
      });
    });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export interface GroupMembersOptions {
  url: string;
  topic: string;
  group: string;
  kind: MemberKind;
  members: number;
  /** WebSocket window (default 16) */
  window?: number;
  /** HTTP claim max (default 10) and wait seconds (default 5) */
  max?: number;
  wait?: number;
}

export interface MembersReport {
  processed: number;
  redelivered: number;
  duplicates: number;
  errors: string[];
}

export class GroupMembers {
  readonly #worker: GroupWorker;

  private constructor(worker: GroupWorker) {
    this.#worker = worker;
  }

  /** Forks the worker and opens the members' connections (WebSocket members are not subscribed yet). */
  static async open(options: GroupMembersOptions): Promise<GroupMembers> {
    const worker = new GroupWorker();
    try {
      await worker.next('ready', 30_000);
      const opened = worker.next('opened', 30_000);
      worker.send({
        type: 'open',
        url: options.url,
        topic: options.topic,
        group: options.group,
        kind: options.kind,
        members: options.members,
        window: options.window ?? 16,
        max: options.max ?? 10,
        wait: options.wait ?? 5,
      });
      await opened;
    } catch (error) {
      worker.kill();
      throw error;
    }
    return new GroupMembers(worker);
  }

  /** Subscribes the WebSocket members / starts the HTTP claim loops. */
  go(): void {
    this.#worker.send({ type: 'go' });
  }

  get processed(): number {
    return this.#worker.processed;
  }

  get fatal(): string | undefined {
    return this.#worker.fatal;
  }

  async stop(): Promise<MembersReport> {
    const stopped = this.#worker.next('stopped', 15_000);
    this.#worker.send({ type: 'stop' });
    try {
      const { processed, redelivered, duplicates, errors } = await stopped;
      return { processed, redelivered, duplicates, errors };
    } finally {
      setTimeout(() => this.#worker.kill(), 2_000).unref();
    }
  }
}

export interface RedeliveryReport {
  firstUs: number[];
  allUs: number[];
  errors: string[];
}

/** The redelivery probe (see the worker): `rounds` member deaths, each on a fresh topic. */
export async function measureRedelivery(
  url: string,
  topic: string,
  rounds: number,
  window = 16,
): Promise<RedeliveryReport> {
  const worker = new GroupWorker();
  try {
    await worker.next('ready', 30_000);
    const answer = worker.next('redelivery', 60_000);
    worker.send({ type: 'redelivery', url, topic, rounds, window });
    const { firstUs, allUs, errors } = await answer;
    return { firstUs, allUs, errors };
  } finally {
    setTimeout(() => worker.kill(), 2_000).unref();
  }
}
