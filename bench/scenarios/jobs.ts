/**
 * `jobs` (issue 5): jobs per second end to end (submit → claim → complete) with 4 HTTP workers
 * (`claim?wait=5`, `complete {"lease"}`) while 4 clients submit; webhook deliveries per second to a
 * local receiver (one webhook, a burst of published messages, until the receiver has them all); the
 * delay from a job's completion to its callback's arrival (`callbackUrl` to the same receiver).
 * SQLite and memory; the servers run with `--allow-private-webhooks`. No target in the issue.
 */
import type { Pool } from 'undici';
import { createPool, messagesPath, post, publishBody } from '../lib/http.js';
import { monoUs } from '../lib/proc.js';
import { Receiver } from '../lib/receiver.js';
import { type Scenario, type ScenarioOutcome, sleep, waitUntil } from '../lib/scenario.js';
import { type EngineName, type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { type Summary, summarize } from '../lib/stats.js';
import { fmt, ms, printTable } from '../lib/table.js';

const ENGINES: EngineName[] = ['sqlite', 'memory'];
const WORKERS = 4;
const SUBMITTERS = 4;
const THROUGHPUT_MS = 5_000;
const WEBHOOK_MESSAGES = 1_000;
const WEBHOOK_TIMEOUT_MS = 15_000;
const CALLBACK_JOBS = 200;

interface ThroughputResult {
  submitted: number;
  completed: number;
  seconds: number;
  jobsPerSecond: number;
  submitLatencyUs: Summary;
  serverCpuUsPerJob: number;
  errors: string[];
}

interface WebhookResult {
  messages: number;
  received: number;
  seconds: number;
  deliveriesPerSecond: number;
  /** publish answered → receiver got it, µs */
  publishToDeliveryUs: Summary;
  outOfOrder: number;
  duplicates: number;
}

interface CallbackResult {
  jobs: number;
  received: number;
  /** `complete` answered → callback arrived, µs (negative: the callback came first) */
  afterAnswerUs: Summary;
  /** `complete` sent → callback arrived, µs */
  afterSendUs: Summary;
}

function noteError(errors: string[], message: string): void {
  if (errors.length < 10 && !errors.includes(message)) errors.push(message);
}

/** A worker: claim (long poll) → complete, until `running()` turns false. */
async function jobWorker(
  pool: Pool,
  queue: string,
  running: () => boolean,
  errors: string[],
  onComplete: (id: string, sentUs: number, answeredUs: number) => void,
): Promise<void> {
  while (running()) {
    try {
      const claim = await pool.request({ path: `/v1/queues/${queue}/claim?wait=5`, method: 'POST' });
      const text = await claim.body.text();
      if (claim.statusCode === 204) continue;
      if (claim.statusCode !== 200) {
        noteError(errors, `claim: HTTP ${claim.statusCode} ${text.slice(0, 200)}`);
        continue;
      }
      const { job, lease } = JSON.parse(text) as { job: { id: string }; lease: string };
      const sentUs = monoUs();
      const done = await post(pool, `/v1/jobs/${job.id}/complete`, JSON.stringify({ lease }));
      const answeredUs = monoUs();
      if (done.status !== 200) noteError(errors, `complete: HTTP ${done.status} ${done.text.slice(0, 200)}`);
      else onComplete(job.id, sentUs, answeredUs);
    } catch (error) {
      if (running()) noteError(errors, (error as Error).message);
    }
  }
}

async function measureThroughput(server: RunningServer): Promise<ThroughputResult> {
  const queue = 'bench-throughput';
  const workerPool = createPool(server.url, WORKERS);
  const submitPool = createPool(server.url, SUBMITTERS);
  const errors: string[] = [];
  const submitLatency: number[] = [];
  let completed = 0;
  let submitted = 0;
  let running = true;
  const cpu0 = server.cpuSeconds();
  const t0 = performance.now();
  const workers = Array.from({ length: WORKERS }, () =>
    jobWorker(
      workerPool,
      queue,
      () => running,
      errors,
      () => completed++,
    ),
  );
  // Submitters keep at most 50 jobs queued ahead of the workers, so the figure is end to end.
  const submitter = async (): Promise<void> => {
    while (running) {
      if (submitted - completed >= 50) {
        await sleep(1);
        continue;
      }
      submitted++;
      const s0 = performance.now();
      const result = await post(submitPool, `/v1/queues/${queue}/jobs`, '{"payload":{"n":1}}');
      if (result.status === 202) submitLatency.push((performance.now() - s0) * 1000);
      else {
        submitted--;
        noteError(errors, `submit: HTTP ${result.status} ${result.text.slice(0, 200)}`);
      }
    }
  };
  const submitters = Array.from({ length: SUBMITTERS }, submitter);
  await sleep(THROUGHPUT_MS);
  running = false;
  const seconds = (performance.now() - t0) / 1000;
  const done = completed;
  const cpu = server.cpuSeconds() - cpu0;
  await Promise.all(submitters);
  await workerPool.destroy();
  await Promise.allSettled(workers);
  await submitPool.close();
  return {
    submitted,
    completed: done,
    seconds,
    jobsPerSecond: done / seconds,
    submitLatencyUs: summarize(submitLatency),
    serverCpuUsPerJob: done ? (cpu / done) * 1e6 : Number.NaN,
    errors,
  };
}

async function measureWebhook(
  server: RunningServer,
  receiver: Receiver,
  errors: string[],
): Promise<WebhookResult> {
  const topic = 'bench-webhook';
  const path = '/hook';
  const pool = createPool(server.url, 16);
  try {
    const created = await post(
      pool,
      `/v1/topics/${topic}/webhooks`,
      JSON.stringify({ url: `${receiver.url}${path}` }),
    );
    if (created.status !== 201) throw new Error(`webhook register: HTTP ${created.status} ${created.text}`);
    const answeredAt = new Map<number, number>();
    const body = publishBody(100);
    let next = 0;
    const t0 = performance.now();
    const publisher = async (): Promise<void> => {
      while (next < WEBHOOK_MESSAGES) {
        next++;
        const result = await post(pool, messagesPath(topic), body);
        if (result.status !== 201)
          noteError(errors, `publish: HTTP ${result.status} ${result.text.slice(0, 200)}`);
        else answeredAt.set((JSON.parse(result.text) as { offset: number }).offset, monoUs());
      }
    };
    await Promise.all(Array.from({ length: 16 }, publisher));
    await waitUntil(() => receiver.received(path).length >= answeredAt.size, WEBHOOK_TIMEOUT_MS, 5);
    const seconds = (performance.now() - t0) / 1000;
    const received = receiver.received(path);
    const delays: number[] = [];
    const seen = new Set<number>();
    let previous = 0;
    let outOfOrder = 0;
    let duplicates = 0;
    for (const r of received) {
      const offset = (JSON.parse(r.body) as { offset: number }).offset;
      if (seen.has(offset)) duplicates++;
      seen.add(offset);
      if (offset < previous) outOfOrder++;
      previous = offset;
      const answered = answeredAt.get(offset);
      if (answered !== undefined) delays.push(r.atUs - answered);
    }
    return {
      messages: answeredAt.size,
      received: received.length,
      seconds,
      deliveriesPerSecond: received.length / seconds,
      publishToDeliveryUs: summarize(delays),
      outOfOrder,
      duplicates,
    };
  } finally {
    await pool.close();
  }
}

async function measureCallbacks(
  server: RunningServer,
  receiver: Receiver,
  errors: string[],
): Promise<CallbackResult> {
  const queue = 'bench-callbacks';
  const path = '/callback';
  const pool = createPool(server.url, WORKERS + 4);
  const completedAt = new Map<string, { sentUs: number; answeredUs: number }>();
  try {
    const callbackUrl = `${receiver.url}${path}`;
    let next = 0;
    const submitter = async (): Promise<void> => {
      while (next < CALLBACK_JOBS) {
        next++;
        const result = await post(
          pool,
          `/v1/queues/${queue}/jobs`,
          JSON.stringify({ payload: null, callbackUrl }),
        );
        if (result.status !== 202)
          noteError(errors, `submit: HTTP ${result.status} ${result.text.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 4 }, submitter));
    let running = true;
    const workers = Array.from({ length: WORKERS }, () =>
      jobWorker(
        pool,
        queue,
        () => running && completedAt.size < CALLBACK_JOBS,
        errors,
        (id, sentUs, answeredUs) => completedAt.set(id, { sentUs, answeredUs }),
      ),
    );
    await waitUntil(() => completedAt.size >= CALLBACK_JOBS, 20_000, 10);
    await waitUntil(() => receiver.received(path).length >= completedAt.size, 10_000, 10);
    running = false;
    await pool.destroy();
    await Promise.allSettled(workers);
    const afterAnswer: number[] = [];
    const afterSend: number[] = [];
    for (const r of receiver.received(path)) {
      const { id } = JSON.parse(r.body) as { id: string };
      const done = completedAt.get(id);
      if (!done) continue;
      afterAnswer.push(r.atUs - done.answeredUs);
      afterSend.push(r.atUs - done.sentUs);
    }
    return {
      jobs: completedAt.size,
      received: receiver.received(path).length,
      afterAnswerUs: summarize(afterAnswer),
      afterSendUs: summarize(afterSend),
    };
  } finally {
    if (!pool.destroyed) await pool.destroy();
  }
}

export const jobsScenario: Scenario = {
  name: 'jobs',
  description:
    'jobs/s submit → claim → complete (4 HTTP workers), webhook deliveries/s, completion → callback delay',
  async run(context): Promise<ScenarioOutcome> {
    const notes: string[] = [];
    const results: Array<{
      engine: EngineName;
      throughput: ThroughputResult;
      webhook: WebhookResult;
      callbacks: CallbackResult;
      errors: string[];
    }> = [];
    for (const engine of ENGINES) {
      const receiver = await Receiver.start();
      const server = await spawnSwitchboard(engine, ['--allow-private-webhooks']);
      try {
        const throughput = await measureThroughput(server);
        context.log(`jobs: ${engine}: ${fmt(throughput.jobsPerSecond)} jobs/s`);
        const errors: string[] = [...throughput.errors];
        const webhook = await measureWebhook(server, receiver, errors);
        context.log(`jobs: ${engine}: webhook ${fmt(webhook.deliveriesPerSecond)} deliveries/s`);
        const callbacks = await measureCallbacks(server, receiver, errors);
        context.log(`jobs: ${engine}: callback delay p50 ${ms(callbacks.afterAnswerUs.p50)} ms`);
        results.push({ engine, throughput, webhook, callbacks, errors });
        for (const error of errors) notes.push(`${engine}: ${error}`);
        if (webhook.received < webhook.messages)
          notes.push(
            `${engine}: webhook delivered ${webhook.received} of ${webhook.messages} in ${WEBHOOK_TIMEOUT_MS / 1000} s`,
          );
        if (callbacks.received < callbacks.jobs)
          notes.push(`${engine}: ${callbacks.received} of ${callbacks.jobs} callbacks arrived`);
      } finally {
        if (server.crashed) notes.push(server.crashed);
        if (server.problems.length)
          notes.push(`${server.label} logged: ${server.problems.slice(0, 5).join(' | ')}`);
        await server.stop();
        await receiver.close();
      }
    }
    printTable({
      title: `jobs — end to end with ${WORKERS} HTTP workers and ${SUBMITTERS} submitters (${THROUGHPUT_MS / 1000} s, ≤ 50 jobs queued ahead)`,
      headers: ['engine', 'jobs/s', 'completed', 'submit p50 ms', 'submit p99 ms', 'server CPU µs/job'],
      rows: results.map(({ engine, throughput: t }) => [
        engine,
        t.jobsPerSecond,
        t.completed,
        ms(t.submitLatencyUs.p50),
        ms(t.submitLatencyUs.p99),
        t.serverCpuUsPerJob,
      ]),
    });
    printTable({
      title: `jobs — one webhook, ${fmt(WEBHOOK_MESSAGES)} messages published at once (16 publishers) to a local receiver`,
      headers: [
        'engine',
        'deliveries/s',
        'received',
        'seconds',
        'publish → delivery p50 ms',
        'p99 ms',
        'out of order',
        'duplicates',
      ],
      rows: results.map(({ engine, webhook: w }) => [
        engine,
        w.deliveriesPerSecond,
        `${w.received}/${w.messages}`,
        w.seconds.toFixed(2),
        ms(w.publishToDeliveryUs.p50),
        ms(w.publishToDeliveryUs.p99),
        w.outOfOrder,
        w.duplicates,
      ]),
      notes: [
        'deliveries/s = messages received / time from the first publish to the last delivery (one POST at a time per webhook).',
      ],
    });
    printTable({
      title: `jobs — completion → callback delay (${CALLBACK_JOBS} jobs with callbackUrl, ${WORKERS} workers)`,
      headers: ['engine', 'callbacks', 'p50 ms', 'p99 ms', 'max ms', 'from complete sent p50 ms', 'p99 ms'],
      rows: results.map(({ engine, callbacks: c }) => [
        engine,
        `${c.received}/${c.jobs}`,
        ms(c.afterAnswerUs.p50),
        ms(c.afterAnswerUs.p99),
        ms(c.afterAnswerUs.max),
        ms(c.afterSendUs.p50),
        ms(c.afterSendUs.p99),
      ]),
      notes: [
        'Delay from the `complete` answer (200) to the callback POST arriving at the receiver; negative = the callback came first.',
      ],
    });
    return {
      targets: [],
      headlines: results.map(
        (r) =>
          `${r.engine}: ${fmt(r.throughput.jobsPerSecond)} jobs/s, webhook ${fmt(r.webhook.deliveriesPerSecond)} deliveries/s, ` +
          `callback p50/p99 ${ms(r.callbacks.afterSendUs.p50)} / ${ms(r.callbacks.afterSendUs.p99)} ms after \`complete\` was sent ` +
          `(${ms(r.callbacks.afterAnswerUs.p50)} / ${ms(r.callbacks.afterAnswerUs.p99)} ms after its answer)`,
      ),
      notes: [...new Set(notes)],
      json: { workers: WORKERS, submitters: SUBMITTERS, throughputMs: THROUGHPUT_MS, results },
    };
  },
};
