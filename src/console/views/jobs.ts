/** Job queues counted by state, and one job followed live (its SSE stream) with a cancel button. */
import { api, refusal } from '../api.js';
import { byId, fillTable, storedToken } from '../dom.js';

interface QueueSummary {
  queue: string;
  counts: Record<'queued' | 'running' | 'succeeded' | 'failed' | 'canceled', number>;
}

interface JobJson {
  id: string;
  status: string;
  progress: number;
  note?: string;
}

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export function startJobs(): () => Promise<void> {
  let events: EventSource | undefined;
  let followed: string | undefined;
  const cancel = byId<HTMLButtonElement>('job-cancel');

  const showJob = (job: JobJson): void => {
    const note = job.note ? ` — ${job.note}` : '';
    byId('job-status').textContent = `${job.id}: ${job.status}, ${job.progress}%${note}`;
    (byId('job-progress') as HTMLProgressElement).value = job.progress;
    byId('job-json').textContent = JSON.stringify(job, null, 2);
    cancel.disabled = TERMINAL.has(job.status);
  };

  const follow = async (id: string): Promise<void> => {
    events?.close();
    followed = id;
    const answer = await api<JobJson>(`/v1/jobs/${encodeURIComponent(id)}`);
    if (!answer.ok) {
      byId('job-status').textContent = refusal(answer, `Reading job ${id}`);
      cancel.disabled = true;
      return;
    }
    showJob(answer.body);
    if (TERMINAL.has(answer.body.status)) return;
    const token = storedToken();
    const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
    events = new EventSource(`/v1/jobs/${encodeURIComponent(id)}/events${query}`);
    const onChange = (event: MessageEvent<string>): void => {
      const job = JSON.parse(event.data) as JobJson; // each event's data is the job's JSON
      showJob(job);
      if (TERMINAL.has(job.status)) events?.close();
    };
    for (const name of [
      'message',
      'queued',
      'running',
      'progress',
      'succeeded',
      'failed',
      'canceled',
      'retrying',
    ]) {
      events.addEventListener(name, onChange as EventListener);
    }
  };

  cancel.addEventListener('click', async () => {
    if (followed === undefined) return;
    const answer = await api<JobJson>(`/v1/jobs/${encodeURIComponent(followed)}`, { method: 'DELETE' });
    if (answer.ok) showJob(answer.body);
    else byId('job-status').textContent = refusal(answer, 'Canceling');
  });
  byId('job-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void follow((byId('job-id') as HTMLInputElement).value.trim());
  });

  return async () => {
    const answer = await api<{ queues: QueueSummary[] }>('/v1/queues');
    byId('jobs-notice').textContent = answer.ok ? '' : refusal(answer, 'Listing job queues');
    if (!answer.ok) return;
    fillTable(
      byId('queues'),
      answer.body.queues.map((q) => [
        q.queue,
        q.counts.queued,
        q.counts.running,
        q.counts.succeeded,
        q.counts.failed,
        q.counts.canceled,
      ]),
      'No jobs yet: POST /v1/queues/{queue}/jobs submits one.',
    );
  };
}
