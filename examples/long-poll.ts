/**
 * Long polling: the server holds the request until a message arrives, so updates come at once
 * without a polling interval.
 * Run: npx tsx examples/long-poll.ts [http://127.0.0.1:8080]
 */
const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const topic = `${base}/v1/topics/examples.upload/messages`;

let after = ((await (await fetch(`${topic}?limit=1`)).json()) as { last: number }).last;
const uploader = (async () => {
  for (const percent of [10, 60, 100]) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await fetch(topic, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { percent } }),
    });
  }
})();

let done = false;
while (!done) {
  const started = Date.now();
  const page = (await (await fetch(`${topic}?after=${after}&wait=30`)).json()) as {
    messages: Array<{ data: { percent: number } }>;
    next: number;
  };
  for (const message of page.messages) {
    console.log(`upload ${message.data.percent}% (answered after ${Date.now() - started} ms held)`);
    done ||= message.data.percent === 100;
  }
  after = page.next;
}
await uploader;
