/**
 * The jobs core in process (no HTTP), for what needs a hand on the machinery: submissions lost to
 * retention, retention of finished jobs, messages on a queue topic
 * that are not jobs, and a claimer that leaves while its job is being started.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHub, type Hub } from '../../src/core/hub.js';
import { createJobs, type JobCallbacks, type Jobs } from '../../src/core/jobs/jobs.js';
import type { Engine } from '../../src/engines/engine.js';
import { createMemoryEngine } from '../../src/engines/memory/index.js';

const callbacks = (): JobCallbacks => ({
  checkCallbackUrl: async (url) => String(url),
  ensureCallback: vi.fn(async () => {}),
  forgetCallback: vi.fn(async () => {}),
});

describe('jobs core', () => {
  let hub: Hub;
  let jobs: Jobs;
  const open = (engine: Engine = createMemoryEngine(), maxCount = 10_000) => {
    hub = createHub({ engine, retentionRules: [{ pattern: 'jobs.*', maxCount }] });
    jobs = createJobs({ hub, callbacks: callbacks() });
    jobs.start();
  };
  afterEach(async () => {
    jobs.stop();
    await hub.close();
  });

  it('gives waiting jobs whose submissions were trimmed a fresh submission', async () => {
    open(createMemoryEngine(), 3); // the queue topic keeps 3 messages
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await jobs.submit('media', { payload: String(i) })).job.id);
    const claimed = async () => (await jobs.claim('media'))?.job.id;
    const first = [await claimed(), await claimed(), await claimed(), await claimed()];
    expect(first).toEqual([ids[2], ids[3], ids[4], undefined]);
    await jobs.maintenance.recoverSubmissions();
    expect([await claimed(), await claimed()]).toEqual([ids[0], ids[1]]);
    expect(await claimed()).toBeUndefined();
  });

  it('removes finished jobs after retention, with their status topics and callbacks', async () => {
    open();
    const { job } = await jobs.submit('media', { payload: '1' });
    const running = (await jobs.submit('media', { payload: '2' })).job;
    const claim = (await jobs.claim('media'))!;
    await jobs.complete(job.id, claim.lease, null);
    await jobs.claim('media');
    expect(await jobs.maintenance.purgeFinished(Date.now() - 60_000)).toBe(0);
    expect(await jobs.maintenance.purgeFinished(Date.now() + 1)).toBe(1);
    await expect(jobs.read(job.id)).rejects.toMatchObject({ code: 'not_found' });
    expect((await hub.engine.state(`jobs.media.${job.id}`)).epoch).toBeNull();
    expect((await jobs.read(running.id)).status).toBe('running'); // unfinished jobs stay
  });

  it('skips and settles messages on a queue topic that are not jobs', async () => {
    open();
    // Doors cannot publish here any more (system topic), but a store written by an older version may hold such messages.
    await expect(hub.publish('jobs.media', { not: 'a job' })).rejects.toMatchObject({ code: 'forbidden' });
    await hub.internal.publishInputs('jobs.media', [{ data: '{"not":"a job"}' }]);
    const { job } = await jobs.submit('media', { payload: '1' });
    expect((await jobs.claim('media'))?.job.id).toBe(job.id);
    expect((await hub.internal.groups.state('jobs.media', 'workers')).pending).toBe(1); // only the real job
  });

  it('hands a job back, uncounted, when its claimer leaves while it is being started', async () => {
    const engine = createMemoryEngine();
    const leaving = new AbortController();
    const getJob = engine.getJob;
    engine.getJob = async (id) => {
      leaving.abort(); // the worker disconnects right when the job is looked up
      return getJob(id);
    };
    open(engine);
    const { job } = await jobs.submit('media', { payload: '1' });
    expect(await jobs.claim('media', { signal: leaving.signal })).toBeNull();
    engine.getJob = getJob;
    expect(await jobs.read(job.id)).toMatchObject({ status: 'queued', attempts: 0 });
    expect(await jobs.claim('media')).toMatchObject({ job: { id: job.id, attempts: 1 } });
  });
});
