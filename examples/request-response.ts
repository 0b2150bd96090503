/**
 * Request-response: publish a message and read it back.
 * Run: npx tsx examples/request-response.ts [http://127.0.0.1:8080]
 */
const base = process.argv[2] ?? 'http://127.0.0.1:8080';

const published = await fetch(`${base}/v1/topics/examples.orders/messages`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ data: { id: 42, total: 99.5 }, event: 'created' }),
});
const { offset } = (await published.json()) as { offset: number };
console.log(`published at offset ${offset}`);

const page = (await (
  await fetch(`${base}/v1/topics/examples.orders/messages?after=${offset - 1}`)
).json()) as {
  messages: Array<{ offset: number; event?: string; data: unknown }>;
};
console.log(`read back: ${JSON.stringify(page.messages[0])}`);
