/**
 * Bad input at the gRPC door: malformed protobuf (fuzzed with fast-check), unknown methods,
 * garbage after a fake preface, an HTTP/1.1 "gRPC" client, a plain HTTP/2 client, and an h2
 * client opening 10,000 streams. Every case gets a clear status and the server stays up.
 */
import { connect as h2connect } from 'node:http2';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HTTP2_PREFACE } from '../../src/server/http2-preface.js';
import { memory } from '../security/support.js';
import { json, startServer, type TestServer } from '../support/server.js';
import { type GrpcTestClient, grpc, grpcClient } from './support.js';

let server: TestServer;
let client: GrpcTestClient;

beforeAll(async () => {
  server = await startServer(memory);
  client = grpcClient(server.url);
});
afterAll(async () => {
  client.close();
  await server.close();
});

const identity = (x: Buffer): Buffer => x;
const METHODS = ['Publish', 'Fetch', 'Subscribe', 'Claim', 'Ack', 'Nack', 'SubmitJob', 'GetJob', 'WatchJob'];
const CONTRACT_STATUSES = new Set([
  grpc.status.OK,
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  // grpc-js answers a request it cannot decode with INTERNAL "Error deserializing request"
  grpc.status.INTERNAL,
]);

/** Sends raw bytes as the request of `method`; resolves to the status it ended with. */
function rawCall(method: string, body: Buffer): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    const path = `/switchboard.v1.Switchboard/${method}`;
    const deadline = Date.now() + 300;
    if (method === 'Subscribe' || method === 'WatchJob') {
      const stream = client.raw.makeServerStreamRequest(path, identity, identity, body, new grpc.Metadata(), {
        deadline,
      });
      stream.on('data', () => {});
      stream.on('status', (status) => resolve(status));
      stream.on('error', () => {});
      return;
    }
    client.raw.makeUnaryRequest(path, identity, identity, body, new grpc.Metadata(), { deadline }, (error) =>
      resolve(error ? { code: error.code, details: error.details } : { code: 0, details: '' }),
    );
  });
}

it('answers random protobuf bytes with a status, never a crash (fuzz)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...METHODS),
      fc.uint8Array({ maxLength: 200 }),
      async (method, bytes) => {
        const status = await rawCall(method, Buffer.from(bytes));
        if (!CONTRACT_STATUSES.has(status.code))
          throw new Error(`${method}: status ${status.code} ${status.details}`);
        if (status.code === grpc.status.INTERNAL && !/deserializ/i.test(status.details)) {
          throw new Error(`${method}: INTERNAL that is not a decoding error: ${status.details}`);
        }
      },
    ),
    { numRuns: 150 },
  );
  expect((await client.call('Publish', { topic: 'fuzz.after', data: '1' })).offset).toBe(1);
});

it('answers an unknown method with UNIMPLEMENTED', async () => {
  const status = await new Promise<grpc.ServiceError>((resolve) =>
    client.raw.makeUnaryRequest(
      '/switchboard.v1.Switchboard/Nope',
      identity,
      identity,
      Buffer.alloc(0),
      (error) => resolve(error!),
    ),
  );
  expect(status.code).toBe(grpc.status.UNIMPLEMENTED);
});

it('closes a connection that sends garbage after a fake preface, and stays up', async () => {
  const url = new URL(server.url);
  const answer = await new Promise<Buffer>((resolve) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        Buffer.concat([HTTP2_PREFACE, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(50))]),
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => {});
  });
  // An HTTP/2 SETTINGS frame and then GOAWAY (type 0x07): never an HTTP/1 answer.
  expect(answer.toString('latin1')).not.toMatch(/^HTTP\/1/);
  expect(answer.includes(Buffer.from([0x07]))).toBe(true);
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
});

it('answers a gRPC-style request over HTTP/1.1 with the contract JSON', async () => {
  const response = await fetch(`${server.url}/switchboard.v1.Switchboard/Publish`, {
    method: 'POST',
    headers: { 'content-type': 'application/grpc' },
    body: new Uint8Array([0, 0, 0, 0, 0]),
  });
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect((await json(response)).error.code).toMatch(/not_found|unsupported_media_type/);
});

it('answers a plain HTTP/2 client (not gRPC) with an error status, and refuses streams past the limit', async () => {
  const session = h2connect(server.url);
  session.on('error', () => {});
  const status = await new Promise<number>((resolve, reject) => {
    const request = session.request({ ':method': 'GET', ':path': '/healthz' });
    request.on('response', (headers) => resolve(Number(headers[':status'])));
    request.on('error', reject);
    request.end();
  });
  expect(status).toBeGreaterThanOrEqual(400);

  // 10,000 streams of held long polls on one connection: at most max_concurrent_streams are served.
  const body = Buffer.from([0, 0, 0, 0, 15, 0x0a, 10, ...Buffer.from('flood.held'), 0x20, 0x88, 0x27]);
  const ends: Promise<void>[] = [];
  for (let i = 0; i < 10_000; i++) {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/switchboard.v1.Switchboard/Fetch',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => {});
    stream.on('data', () => {});
    ends.push(new Promise((resolve) => stream.on('close', () => resolve())));
    stream.end(body);
  }
  await new Promise((r) => setTimeout(r, 1_000));
  expect(server.server.hub.heldRequests).toBeLessThanOrEqual(100);
  expect(server.server.hub.heldRequests).toBeGreaterThan(0);
  session.destroy();
  await Promise.all(ends);
  await new Promise((r) => setTimeout(r, 200));
  expect(server.server.hub.heldRequests).toBe(0);
  expect((await client.call('Publish', { topic: 'flood.after', data: '1' })).offset).toBe(1);
}, 30_000);
