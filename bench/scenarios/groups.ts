/**
 * `groups` (issue 4): consumer-group throughput end to end — a backlog is published first, then the
 * members (in a worker process) claim and ack until the group's committed offset reaches the topic's
 * last — with 1, 4 and 16 WebSocket push members (window 16) and 4 HTTP long-poll members
 * (`claim?max=10&wait=5` → `ack`), SQLite and memory. Then the redelivery latency: a WebSocket
 * member holding its window dies (socket destroyed) and another member gets the messages with
 * attempt 2. No target in the issue.
 */
import type { Pool } from 'undici';
import { GroupMembers, type GroupMembers as Members, measureRedelivery } from '../lib/group-members.js';
import { createPool, getJson, messagesPath, post, publishBody } from '../lib/http.js';
import type { Scenario, ScenarioOutcome } from '../lib/scenario.js';
import { sleep } from '../lib/scenario.js';
import { type EngineName, type RunningServer, spawnSwitchboard } from '../lib/server.js';
import { type Summary, summarize } from '../lib/stats.js';
import { fmt, ms, printTable } from '../lib/table.js';
import type { MemberKind } from '../workers/group-member.js';

const ENGINES: EngineName[] = ['sqlite', 'memory'];
const BACKLOG = 8_000;
const MAX_DRAIN_MS = 8_000;
const REDELIVERY_ROUNDS = 10;

interface Case {
  kind: MemberKind;
  members: number;
}

const CASES: Case[] = [
  { kind: 'ws', members: 1 },
  { kind: 'ws', members: 4 },
  { kind: 'ws', members: 16 },
  { kind: 'http', members: 4 },
];

interface Row {
  engine: EngineName;
  kind: MemberKind;
  members: number;
  backlog: number;
  committed: number;
  seconds: number;
  messagesPerSecond: number;
  complete: boolean;
  processed: number;
  redelivered: number;
  duplicates: number;
  serverCpuUsPerMessage: number;
  errors: string[];
}

/** Publishes `count` messages with 32 requests in flight; returns the topic's last offset. */
async function publishBacklog(pool: Pool, topic: string, count: number): Promise<number> {
  const path = messagesPath(topic);
  const body = publishBody(100);
  let next = 0;
  let last = 0;
  const client = async (): Promise<void> => {
    while (next < count) {
      next++;
      const result = await post(pool, path, body);
      if (result.status !== 201)
        throw new Error(`publish: HTTP ${result.status} ${result.text.slice(0, 200)}`);
      last = Math.max(last, (JSON.parse(result.text) as { offset: number }).offset);
    }
  };
  await Promise.all(Array.from({ length: 32 }, client));
  return last;
}

async function committedOf(url: string, topic: string, group: string): Promise<number> {
  const answer = await getJson<{ committed?: number }>(
    `${url}/v1/topics/${encodeURIComponent(topic)}/groups/${encodeURIComponent(group)}`,
  );
  return answer.status === 200 && typeof answer.body.committed === 'number' ? answer.body.committed : 0;
}

async function drain(server: RunningServer, pool: Pool, engine: EngineName, testCase: Case): Promise<Row> {
  const topic = `groups-${testCase.kind}-${testCase.members}`;
  const group = 'bench';
  const last = await publishBacklog(pool, topic, BACKLOG);
  let members: Members | undefined;
  try {
    members = await GroupMembers.open({
      url: server.url,
      topic,
      group,
      kind: testCase.kind,
      members: testCase.members,
      window: 16,
      max: 10,
      wait: 5,
    });
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    members.go();
    let committed = 0;
    while (performance.now() - t0 < MAX_DRAIN_MS && !members.fatal) {
      await sleep(20);
      committed = await committedOf(server.url, topic, group);
      if (committed >= last) break;
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = server.cpuSeconds() - cpu0;
    const report = await members.stop();
    members = undefined;
    return {
      engine,
      kind: testCase.kind,
      members: testCase.members,
      backlog: BACKLOG,
      committed,
      seconds,
      messagesPerSecond: committed / seconds,
      complete: committed >= last,
      processed: report.processed,
      redelivered: report.redelivered,
      duplicates: report.duplicates,
      serverCpuUsPerMessage: committed ? (cpu / committed) * 1e6 : Number.NaN,
      errors: report.errors,
    };
  } finally {
    if (members) await members.stop().catch(() => undefined);
  }
}

export const groupsScenario: Scenario = {
  name: 'groups',
  description:
    'consumer groups: msgs/s claim → ack with 1/4/16 WebSocket and 4 HTTP members; redelivery latency',
  async run(context): Promise<ScenarioOutcome> {
    const rows: Row[] = [];
    const redelivery: Array<{ engine: EngineName; first: Summary; all: Summary; errors: string[] }> = [];
    const notes: string[] = [];
    for (const engine of ENGINES) {
      const server = await spawnSwitchboard(engine);
      const pool = createPool(server.url, 32);
      try {
        for (const testCase of CASES) {
          const row = await drain(server, pool, engine, testCase);
          rows.push(row);
          context.log(
            `groups: ${engine} ${testCase.members} ${testCase.kind}: ${fmt(row.messagesPerSecond)} msg/s` +
              (row.complete ? '' : ` (committed ${row.committed} of ${BACKLOG} in ${MAX_DRAIN_MS / 1000} s)`),
          );
          for (const error of row.errors)
            notes.push(`${engine}/${testCase.members} ${testCase.kind}: ${error}`);
        }
        const probe = await measureRedelivery(server.url, 'groups-redelivery', REDELIVERY_ROUNDS);
        redelivery.push({
          engine,
          first: summarize(probe.firstUs),
          all: summarize(probe.allUs),
          errors: probe.errors,
        });
        for (const error of probe.errors) notes.push(`${engine} redelivery: ${error}`);
        context.log(`groups: ${engine} redelivery p50 ${ms(summarize(probe.firstUs).p50)} ms`);
      } finally {
        await pool.close();
        if (server.crashed) notes.push(server.crashed);
        if (server.problems.length)
          notes.push(`${server.label} logged: ${server.problems.slice(0, 5).join(' | ')}`);
        await server.stop();
      }
    }

    printTable({
      title: `groups — backlog of ${fmt(BACKLOG)} messages drained by the group (claim → ack until committed = last)`,
      headers: [
        'engine',
        'members',
        'msgs/s',
        'seconds',
        'done',
        'redelivered',
        'duplicates',
        'server CPU µs/msg',
      ],
      rows: rows.map((r) => [
        r.engine,
        `${r.members} ${r.kind === 'ws' ? 'WebSocket' : 'HTTP long-poll'}`,
        r.messagesPerSecond,
        r.seconds.toFixed(2),
        r.complete ? 'yes' : `${r.committed}/${r.backlog}`,
        r.redelivered,
        r.duplicates,
        r.serverCpuUsPerMessage,
      ]),
      notes: [
        'WebSocket: window 16, one ack frame per member per event-loop turn; HTTP: claim?max=10&wait=5 then ack.',
        'Members run in a worker process; msgs/s = committed offset / time from the subscribe to committed = last.',
      ],
    });
    printTable({
      title: `groups — redelivery after a WebSocket member dies holding 16 messages (${REDELIVERY_ROUNDS} rounds)`,
      headers: [
        'engine',
        'first attempt-2 p50 ms',
        'p99 ms',
        'max ms',
        'all 16 redelivered p50 ms',
        'rounds ok',
      ],
      rows: redelivery.map((r) => [
        r.engine,
        ms(r.first.p50),
        ms(r.first.p99),
        ms(r.first.max),
        ms(r.all.p50),
        `${r.first.count}/${REDELIVERY_ROUNDS}`,
      ]),
      notes: [
        'Time from the member socket being destroyed (no close frame) to the other member receiving attempt 2.',
      ],
    });
    const ws16 = rows.filter((r) => r.kind === 'ws' && r.members === 16);
    return {
      targets: [],
      headlines: [
        ...ws16.map((r) => `${r.engine}: ${fmt(r.messagesPerSecond)} msgs/s with 16 WebSocket members`),
        ...redelivery.map((r) => `${r.engine}: redelivery after member death p50 ${ms(r.first.p50)} ms`),
      ],
      notes: [...new Set(notes)],
      json: { backlog: BACKLOG, rows, redelivery },
    };
  },
};
