/**
 * The articles' upload-progress scenario, done as "long-running work should be async (job queue +
 * webhook)": a client submits an upload job and gets 202 at once; a worker claims it and reports
 * progress; one client follows the progress by long polling, another by Server-Sent Events; and when
 * the job finishes, Switchboard POSTs it to a callback receiver, which verifies the signature.
 *
 * Run: npx tsx examples/upload-progress.ts [http://127.0.0.1:8080]
 * The callback receiver listens on 127.0.0.1, so start the server with --allow-private-webhooks.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
type Job = { id: string; status: string; progress: number; version: number; result?: unknown };
const TERMINAL = ['succeeded', 'failed', 'canceled'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const postJson = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

// 1. The callback receiver: verifies the Standard Webhooks signature (see docs/webhooks.md).
const callbackSecret = `whsec_${randomBytes(32).toString('base64')}`;
function verified(headers: IncomingHttpHeaders, body: string): boolean {
  const [id, timestamp, signatures] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) =>
    String(headers[h]),
  );
  const key = Buffer.from(callbackSecret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest();
  return signatures!.split(' ').some((signature) => {
    const given = Buffer.from(signature.slice('v1,'.length), 'base64');
    return (
      signature.startsWith('v1,') && given.length === expected.length && timingSafeEqual(given, expected)
    );
  });
}
let callbackArrived: (line: string) => void;
const callback = new Promise<string>((resolve) => {
  callbackArrived = resolve;
});
const receiver = createServer((request, response) => {
  let body = '';
  request.setEncoding('utf8');
  request.on('data', (chunk: string) => {
    body += chunk;
  });
  request.on('end', () => {
    const ok = verified(request.headers, body);
    response.writeHead(ok ? 204 : 401).end();
    const job = JSON.parse(body) as Job;
    callbackArrived(
      `callback: signature ${ok ? 'verified' : 'INVALID'}, job ${job.status} with ${JSON.stringify(job.result)}`,
    );
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/upload-done`;

// 2. The client submits the upload; the answer comes at once (202), the work happens later.
const submitted = await postJson('/v1/queues/examples.uploads/jobs', {
  payload: { file: 'holiday.mp4', bytes: 52_428_800 },
  callbackUrl,
  callbackSecret,
});
if (submitted.status !== 202) throw new Error(`submit: ${submitted.status} ${await submitted.text()}`);
const { id } = (await submitted.json()) as { id: string };
console.log(`submitted upload job ${id} (202 Accepted, Location: ${submitted.headers.get('location')})`);

// 3. Client A: long polling — each request is held until the job's version changes.
const longPoll = (async () => {
  const seen: string[] = [];
  let job = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as Job;
  while (!TERMINAL.includes(job.status)) {
    seen.push(job.status === 'queued' ? 'queued' : `${job.progress}%`);
    job = (await (await fetch(`${base}/v1/jobs/${id}?version=${job.version}&wait=30`)).json()) as Job;
  }
  return `long poll saw: ${seen.join(' → ')} → ${job.status}`;
})();

// 4. Client B: Server-Sent Events — the stream ends by itself after the terminal state.
const sse = (async () => {
  const response = await fetch(`${base}/v1/jobs/${id}/events`);
  const text = await response.text();
  const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map(([, event, data]) =>
    event === 'progress' ? `${(JSON.parse(data!) as Job).progress}%` : event,
  );
  return `sse saw: ${events.join(', ')}`;
})();

// 5. The worker: claims the job (long-poll claim), uploads in steps, reports progress, completes.
await sleep(50);
const claim = (await (
  await fetch(`${base}/v1/queues/examples.uploads/claim?wait=10`, { method: 'POST' })
).json()) as {
  job: { id: string; payload: { file: string } };
  lease: string;
};
console.log(`worker claimed ${claim.job.id} (${claim.job.payload.file})`);
for (const progress of [20, 40, 60, 80]) {
  await sleep(100); // the articles wait 5 s per step
  await postJson(`/v1/jobs/${id}/progress`, { lease: claim.lease, progress, note: `${progress}% uploaded` });
}
await sleep(100);
await postJson(`/v1/jobs/${id}/complete`, {
  lease: claim.lease,
  result: { url: 'https://cdn.example.com/holiday.mp4' },
});
console.log('worker completed the upload');

console.log(await longPoll);
console.log(await sse);
console.log(await callback);
receiver.close();
