/**
 * Issue 19: the topics the hub writes itself (jobs, request inboxes, dead letters, presence) are
 * read-only from outside on every door, and reading one needs the permission on the topic it
 * derives from. The door table lives in system-topics-support.ts (new doors add an adapter there).
 */
import { describe, expect, it } from 'vitest';
import { allows } from '../../src/core/auth.js';
import { matchTopicStrict } from '../../src/core/system-topics.js';
import { OPEN_PRINCIPAL, type Principal } from '../../src/core/token-claims.js';
import { describeSystemTopicContract, SYSTEM_TOPIC_DOORS } from './system-topics-support.js';

describeSystemTopicContract(SYSTEM_TOPIC_DOORS);

const principal = (publish: string[], subscribe: string[]): Principal => ({
  sub: 's',
  anonymous: false,
  admin: false,
  publish,
  subscribe,
  expiresAt: undefined,
});

describe('the reserved-topic rule in authorize()', () => {
  it('never lets anyone publish to a system topic, admin and open mode included', () => {
    const admin = { ...principal([], []), admin: true };
    for (const who of [OPEN_PRINCIPAL, admin, principal(['>', 'jobs.>', 'orders.dead-letter'], [])]) {
      for (const topic of ['jobs.q', 'jobs.q.job_1', '_inbox.x', 'orders.dead-letter', 'orders.presence']) {
        expect(allows(who, 'publish', topic), `${who.sub} → ${topic}`).toBe(false);
      }
      expect(allows(who, 'publish', 'orders')).toBe(true);
    }
  });

  it('reads a derived topic with the permission on its base, and wildcards never reach reserved segments', () => {
    const table: Array<[string[], string, boolean]> = [
      [['orders'], 'orders.dead-letter', true],
      [['orders'], 'orders.presence', true],
      [['orders.*'], 'orders.dead-letter', false],
      [['orders.>'], 'orders.dead-letter', false],
      [['orders.*'], 'orders.eu.dead-letter', true], // derives from orders.eu, which orders.* reads
      [['>'], 'orders.dead-letter', true], // derives from orders, which > reads
      [['>'], 'jobs.q', false],
      [['*'], 'jobs', false],
      [['jobs.>'], 'jobs.q.job_1', true],
      [['orders.dead-letter'], 'orders.dead-letter', true],
      [['*.dead-letter'], 'orders.dead-letter', true],
      [['_inbox.>'], '_inbox.x', true],
      [['>'], '_inbox.x', false],
    ];
    for (const [patterns, topic, expected] of table) {
      expect(allows(principal([], patterns), 'subscribe', topic), `${patterns} reads ${topic}`).toBe(
        expected,
      );
    }
    expect(matchTopicStrict('orders.*', 'orders.dead-letter')).toBe(false);
    expect(matchTopicStrict('orders.*', 'orders.eu')).toBe(true);
  });
});
