/**
 * Short polling: ask "anything new?" on a timer, carrying the cursor (`next`) between calls.
 * Run: npx tsx examples/short-poll.ts [http://127.0.0.1:8080] [rounds]
 */
const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const rounds = Number(process.argv[3] ?? 5);
const topic = `${base}/v1/topics/examples.progress/messages`;

let after = ((await (await fetch(`${topic}?limit=1`)).json()) as { last: number }).last;
// Something to find: a worker reporting progress while we poll.
const worker = (async () => {
  for (const percent of [25, 50, 75, 100]) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    await fetch(topic, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { percent } }),
    });
  }
})();

for (let round = 0; round < rounds; round++) {
  const page = (await (await fetch(`${topic}?after=${after}`)).json()) as {
    messages: Array<{ data: unknown }>;
    next: number;
  };
  for (const message of page.messages) console.log(`progress: ${JSON.stringify(message.data)}`);
  after = page.next;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
await worker;
