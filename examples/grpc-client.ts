/**
 * gRPC: publish, subscribe with resume, and read back over the main port, with @grpc/grpc-js and
 * the proto shipped in the package (docs/grpc.md).
 * Run: npx tsx examples/grpc-client.ts [http://127.0.0.1:8080]
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

const base = process.argv[2] ?? 'http://127.0.0.1:8080';
const proto = fileURLToPath(new URL('../proto/switchboard/v1/switchboard.proto', import.meta.url));
const definition = loadSync(proto, {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
// biome-ignore lint/suspicious/noExplicitAny: a client generated at run time from the proto
const { Switchboard } = (grpc.loadPackageDefinition(definition) as any).switchboard.v1;
const client = new Switchboard(new URL(base).host, grpc.credentials.createInsecure());

const call = <T>(method: string, request: object): Promise<T> =>
  new Promise((resolve, reject) =>
    client[method](request, (error: grpc.ServiceError | null, answer: T) =>
      error ? reject(error) : resolve(answer),
    ),
  );

const topic = `examples.grpc.${Date.now()}`;
const first = await call<{ offset: number }>('Publish', {
  topic,
  data: JSON.stringify({ id: 1 }),
  event: 'created',
});
console.log(`published at offset ${first.offset}`);

// Replay everything after offset 0, then live; stop after three messages.
const stream = client.Subscribe({ topic, after: 0 });
const seen: number[] = [];
let epoch = '';
const done = new Promise<void>((resolve) => {
  stream.on(
    'data',
    (event: { event: string; ready?: { epoch: string }; message?: { offset: number; data: string } }) => {
      if (event.ready) epoch = event.ready.epoch;
      if (!event.message) return;
      console.log(`message ${event.message.offset}: ${event.message.data}`);
      seen.push(event.message.offset);
      if (seen.length === 3) resolve();
    },
  );
});
stream.on('error', () => {}); // cancelled below
await call('Publish', { topic, data: JSON.stringify({ id: 2 }) });
await call('Publish', { topic, data: '"three"' });
await done;
stream.cancel();

// Resume later from the last offset seen: only what came after it.
await call('Publish', { topic, data: '4' });
const page = await call<{ messages: Array<{ offset: number; data: string }> }>('Fetch', {
  topic,
  after: seen.at(-1),
  epoch,
});
console.log(`after ${seen.at(-1)}: ${page.messages.map((m) => `${m.offset}=${m.data}`).join(', ')}`);

// Errors carry the contract code in a trailer.
try {
  await call('Publish', { topic: 'not a topic!', data: '1' });
} catch (error) {
  const e = error as grpc.ServiceError;
  console.log(`refused: ${grpc.status[e.code]} ${e.metadata.get('switchboard-error-code')[0]}`);
}
client.close();
