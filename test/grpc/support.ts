/**
 * A real gRPC client for the tests: @grpc/grpc-js with the shipped proto loaded by
 * @grpc/proto-loader (as a Node user of the package would), plus promise helpers.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export const PROTO = fileURLToPath(new URL('../../proto/switchboard/v1/switchboard.proto', import.meta.url));

const definition = loadSync(PROTO, {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
// biome-ignore lint/suspicious/noExplicitAny: the generated client has one method per RPC
const SwitchboardClient = (grpc.loadPackageDefinition(definition) as any).switchboard.v1
  .Switchboard as typeof grpc.Client;

// biome-ignore lint/suspicious/noExplicitAny: answers of many shapes
export type Answer = any;

export interface GrpcTestClient {
  raw: grpc.Client;
  call(method: string, request: object, options?: CallOptions): Promise<Answer>;
  stream(method: string, request: object, options?: CallOptions): grpc.ClientReadableStream<Answer>;
  close(): void;
}

export interface CallOptions {
  token?: string;
  deadlineMs?: number;
  metadata?: Record<string, string>;
}

/** `http://127.0.0.1:1234` → a client on `127.0.0.1:1234` over an insecure (h2c) channel. */
export function grpcClient(url: string, channelOptions: grpc.ChannelOptions = {}): GrpcTestClient {
  const target = new URL(url).host;
  const raw = new SwitchboardClient(target, grpc.credentials.createInsecure(), channelOptions);
  const metadataOf = (options: CallOptions): grpc.Metadata => {
    const metadata = new grpc.Metadata();
    if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    return metadata;
  };
  const callOptions = (options: CallOptions): grpc.CallOptions =>
    options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return {
    raw,
    call(method, request, options = {}) {
      return new Promise((resolve, reject) => {
        // biome-ignore lint/suspicious/noExplicitAny: generated method
        (raw as any)[method](
          request,
          metadataOf(options),
          callOptions(options),
          (error: Error | null, answer: Answer) => (error ? reject(error) : resolve(answer)),
        );
      });
    },
    stream(method, request, options = {}) {
      // biome-ignore lint/suspicious/noExplicitAny: generated method
      return (raw as any)[method](request, metadataOf(options), callOptions(options));
    },
    close: () => raw.close(),
  };
}

/** The error a call failed with: gRPC status, details and the contract code trailer. */
export async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; details: string; errorCode: string | undefined; metadata: grpc.Metadata }> {
  try {
    await promise;
  } catch (error) {
    const e = error as grpc.ServiceError;
    return {
      code: e.code,
      details: e.details,
      errorCode: e.metadata?.get('switchboard-error-code')[0] as string | undefined,
      metadata: e.metadata,
    };
  }
  throw new Error('expected the call to fail');
}

/** Collects stream events until `until` says stop (or the stream ends/fails). */
export function collect(
  stream: grpc.ClientReadableStream<Answer>,
  until: (events: Answer[]) => boolean,
  timeoutMs = 5_000,
): Promise<{ events: Answer[]; error?: grpc.ServiceError; ended: boolean }> {
  return new Promise((resolve, reject) => {
    const events: Answer[] = [];
    const timer = setTimeout(
      () => reject(new Error(`stream timed out with ${JSON.stringify(events)}`)),
      timeoutMs,
    );
    const done = (result: { error?: grpc.ServiceError; ended: boolean }) => {
      clearTimeout(timer);
      resolve({ events, ...result });
    };
    stream.on('data', (event: Answer) => {
      events.push(event);
      if (until(events)) done({ ended: false });
    });
    stream.on('error', (error: grpc.ServiceError) => done({ error, ended: true }));
    stream.on('end', () => done({ ended: true }));
  });
}

export const messagesOf = (events: Answer[]): Answer[] =>
  events.filter((e) => e.event === 'message').map((e) => e.message);

export { grpc };
