/**
 * The reserved-topic contract (test/security/system-topics-support.ts) at the gRPC door: every
 * write-like call refuses system topics with PERMISSION_DENIED, code `forbidden` in the trailer.
 */
import { afterAll } from 'vitest';
import {
  type DoorOutcome,
  describeSystemTopicContract,
  type SystemTopicDoor,
} from '../security/system-topics-support.js';
import { type GrpcTestClient, grpc, grpcClient } from './support.js';

const clients = new Map<string, GrpcTestClient>();
const clientFor = (url: string): GrpcTestClient => {
  let client = clients.get(url);
  if (!client) {
    client = grpcClient(url);
    clients.set(url, client);
  }
  return client;
};

function grpcDoor(name: string, method: string, request: (topic: string) => object): SystemTopicDoor {
  return {
    name,
    async write(target, topic): Promise<DoorOutcome> {
      try {
        await clientFor(target.url).call(method, request(topic), {
          ...(target.token ? { token: target.token } : {}),
        });
        return { code: undefined, message: 'accepted' };
      } catch (error) {
        const e = error as grpc.ServiceError;
        const code = e.metadata?.get('switchboard-error-code')[0];
        if (e.code === grpc.status.PERMISSION_DENIED && code !== 'forbidden') {
          return { code: 'inconsistent', message: `PERMISSION_DENIED with code ${String(code)}` };
        }
        return { code: code === undefined ? `grpc-${e.code}` : String(code), message: e.details };
      }
    },
  };
}

afterAll(() => {
  for (const client of clients.values()) client.close();
});

describeSystemTopicContract([
  grpcDoor('gRPC Publish', 'Publish', (topic) => ({ topic, data: '{"status":"succeeded"}' })),
  grpcDoor('gRPC Claim', 'Claim', (topic) => ({ topic, group: 'workers', max: 1 })),
  grpcDoor('gRPC Ack', 'Ack', (topic) => ({ topic, group: 'workers', offsets: [1] })),
  grpcDoor('gRPC Nack', 'Nack', (topic) => ({ topic, group: 'workers', offsets: [1] })),
]);
