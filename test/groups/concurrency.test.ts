/**
 * Many members at once on one group while messages are being published: HTTP long-poll members
 * and push members (the API the WebSocket transport uses), with random drop-outs and nacks, and
 * poison messages that are never acked. Every message must end acked exactly once or in the dead
 * letter; none may be acked twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroupMember } from '../../src/core/group-member.js';
import { ENGINE_FIXTURES, type EngineFixture } from '../support/engines.js';
import { json, post, startServer, type TestServer } from '../support/server.js';

const MESSAGES = 240;
const LEASE_MS = 300;
const MAX_ATTEMPTS = 4;
const isPoison = (offset: number) => offset % 40 === 7;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A fixed-seed generator, so a failure can be replayed.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe.each(ENGINE_FIXTURES)('group under concurrency: $name', ({ fixture: makeFixture }) => {
  let fixture: EngineFixture;
  let server: TestServer;
  let base: string;

  beforeAll(async () => {
    fixture = makeFixture();
    server = await startServer(fixture);
    base = `${server.url}/v1/topics/work`;
  });
  afterAll(async () => {
    await server.close();
    fixture.cleanup();
  });

  it('ends with every message acked once or dead-lettered', async () => {
    const rand = random(42);
    const acks = new Map<number, number>();
    const ackedBy = { http: 0, push: 0 };
    let dropOuts = 0;
    const countAck = (offsets: number[]) => {
      for (const offset of offsets) acks.set(offset, (acks.get(offset) ?? 0) + 1);
    };
    let done = false;
    const put = await fetch(`${base}/groups/g`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ maxAttempts: MAX_ATTEMPTS }),
    });
    expect(put.status).toBe(201);

    const publisher = (async () => {
      for (let i = 0; i < MESSAGES; i += 8) {
        const batch = Array.from({ length: 8 }, (_, j) => ({ data: { n: i + j + 1 } }));
        expect((await post(`${base}/messages`, batch)).status).toBe(201);
        await sleep(5);
      }
    })();

    const httpMember = async (id: number) => {
      let name = `http-${id}-0`;
      let generation = 0;
      while (!done) {
        const answer = await json(
          await fetch(`${base}/groups/g/claim?max=5&wait=1&leaseMs=${LEASE_MS}&member=${name}`, {
            method: 'POST',
          }),
        );
        const offsets: number[] = answer.messages.map((m: { offset: number }) => m.offset);
        if (offsets.length === 0) continue;
        if (rand() < 0.08) {
          dropOuts++;
          name = `http-${id}-${++generation}`; // drop out holding the batch, come back as someone else
          await sleep(20);
          continue;
        }
        const poison = offsets.filter(isPoison);
        const good = offsets.filter((o) => !isPoison(o));
        if (poison.length > 0) {
          await post(`${base}/groups/g/nack`, { offsets: poison, member: name, error: 'poison' });
        }
        if (good.length === 0) continue;
        if (rand() < 0.1) {
          await post(`${base}/groups/g/nack`, { offsets: good, member: name });
          continue;
        }
        const response = await post(`${base}/groups/g/ack`, { offsets: good, member: name });
        if (response.status === 200) {
          countAck(good);
          ackedBy.http += good.length;
        } else expect(response.status).toBe(409); // the lease passed and someone else has it
      }
    };

    const hubGroups = server.server.hub.groups;
    const pushMembers = new Set<GroupMember>();
    const openPushMember = (id: number, generation: number): void => {
      if (done) return;
      const member: GroupMember = hubGroups.openMember('work', 'g', {
        member: `push-${id}-${generation}`,
        window: 4,
        leaseMs: LEASE_MS,
        onDelivery: (delivery) => {
          const offset = delivery.message.offset;
          setTimeout(() => {
            if (!pushMembers.has(member)) return;
            if (rand() < 0.05) {
              // Disconnect with deliveries in flight; reconnect a moment later.
              pushMembers.delete(member);
              dropOuts++;
              void member.close().then(() => setTimeout(() => openPushMember(id, generation + 1), 30));
              return;
            }
            const settle = isPoison(offset)
              ? member.nack([offset], { error: 'poison' })
              : member.ack([offset]);
            settle.then(
              () => {
                if (isPoison(offset)) return;
                countAck([offset]);
                ackedBy.push++;
              },
              () => undefined, // lease passed meanwhile: someone else will settle it
            );
          }, rand() * 20);
        },
      });
      pushMembers.add(member);
    };

    const http = [1, 2, 3, 4].map(httpMember);
    openPushMember(1, 0);
    openPushMember(2, 0);
    await publisher;

    const deadline = Date.now() + 15_000;
    let state = await json(await fetch(`${base}/groups/g`));
    while (!(state.committed === MESSAGES && state.pending === 0) && Date.now() < deadline) {
      await sleep(50);
      state = await json(await fetch(`${base}/groups/g`));
    }
    done = true;
    await Promise.all(http);
    await Promise.all([...pushMembers].map((m) => m.close()));
    expect(state).toMatchObject({ committed: MESSAGES, pending: 0, lag: 0 });

    const dead = await json(await fetch(`${server.url}/v1/topics/work.dead-letter/messages?limit=1000`));
    const deadOffsets: number[] = dead.messages.map((m: { data: { offset: number } }) => m.data.offset);
    expect(new Set(deadOffsets).size).toBe(deadOffsets.length);
    for (let offset = 1; offset <= MESSAGES; offset++) {
      const acked = acks.get(offset) ?? 0;
      const deadLettered = deadOffsets.includes(offset);
      expect(acked, `offset ${offset} acked ${acked} times`).toBeLessThanOrEqual(1);
      expect(acked + (deadLettered ? 1 : 0), `offset ${offset} must end acked or dead-lettered`).toBe(1);
      if (isPoison(offset)) expect(deadLettered, `poison ${offset}`).toBe(true);
    }
    expect(state.deadLettered).toBe(deadOffsets.length);
    // The run really mixed both kinds of members and lost some of them on the way.
    expect(ackedBy.http).toBeGreaterThan(0);
    expect(ackedBy.push).toBeGreaterThan(0);
    expect(dropOuts).toBeGreaterThan(2);
  });
});
