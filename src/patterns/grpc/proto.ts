/**
 * The shipped proto (`proto/switchboard/v1/switchboard.proto`), loaded once with the options the
 * door's handlers are written for: field names as in the proto (snake_case), 64-bit integers as
 * JS numbers (offsets and times stay below 2^53), enums as their names, and unset fields left
 * out, so `optional` fields (Subscribe's `after`) keep their presence.
 */
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

/** The proto file: `proto/` at the package root, from `src/patterns/grpc/` and `dist/patterns/grpc/` alike. */
export const PROTO_PATH = fileURLToPath(
  new URL('../../../proto/switchboard/v1/switchboard.proto', import.meta.url),
);

export const SERVICE_NAME = 'switchboard.v1.Switchboard';

export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: false,
  oneofs: true,
};

export interface LoadedProto {
  packageDefinition: PackageDefinition;
  service: ServiceDefinition;
}

let loaded: LoadedProto | undefined;

export function loadProto(): LoadedProto {
  if (!loaded) {
    const packageDefinition = loadSync(PROTO_PATH, LOADER_OPTIONS);
    const service = packageDefinition[SERVICE_NAME] as unknown as ServiceDefinition;
    loaded = { packageDefinition, service };
  }
  return loaded;
}
