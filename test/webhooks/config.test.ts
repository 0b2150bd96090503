/** The job and webhook settings: defaults, environment parsing, and refusals naming the setting. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS } from '../../src/core/webhooks/retry-schedule.js';
import { resolveConfig } from '../../src/server/config.js';

describe('job and webhook settings', () => {
  it('default to a day-long retry schedule, 10 s timeouts and 7-day job retention', () => {
    expect(resolveConfig({}, {})).toMatchObject({
      webhookRetryScheduleMs: [...DEFAULT_RETRY_SCHEDULE_MS],
      webhookTimeoutMs: 10_000,
      jobRetentionMs: 604_800_000,
      callbackSecret: undefined,
    });
    const day = DEFAULT_RETRY_SCHEDULE_MS.reduce((sum, delay) => sum + delay, 0);
    expect(day).toBeGreaterThan(86_400_000);
    expect(DEFAULT_RETRY_SCHEDULE_MS[0]).toBeLessThanOrEqual(5_000);
  });

  it('read the environment', () => {
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const config = resolveConfig(
      {},
      {
        SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE_MS: '10, 20,40',
        SWITCHBOARD_WEBHOOK_TIMEOUT_MS: '500',
        SWITCHBOARD_JOB_RETENTION_MS: '60000',
        SWITCHBOARD_CALLBACK_SECRET: secret,
      },
    );
    expect(config).toMatchObject({
      webhookRetryScheduleMs: [10, 20, 40],
      webhookTimeoutMs: 500,
      jobRetentionMs: 60_000,
      callbackSecret: secret,
    });
  });

  it('refuse bad values, naming the setting', () => {
    expect(() => resolveConfig({}, { SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE_MS: '10,soon' })).toThrow(
      /webhookRetryScheduleMs/,
    );
    expect(() => resolveConfig({}, { SWITCHBOARD_WEBHOOK_TIMEOUT_MS: '0' })).toThrow(/webhookTimeoutMs/);
    expect(() => resolveConfig({}, { SWITCHBOARD_CALLBACK_SECRET: 'hunter2' })).toThrow(/callbackSecret/);
  });
});
