// Public surface of the Prometheus remote-write receiver (`receivers.remotewrite`).
import type { ReceiverFactory } from '../../component.js';
import { RemoteWriteConfigSchema } from './config.js';
import { RemoteWriteReceiver } from './receiver.js';

export type { RemoteWriteReceiverConfig } from './config.js';

export const remoteWriteReceiverFactory: ReceiverFactory<typeof RemoteWriteConfigSchema> = {
  kind: 'receiver',
  type: 'remotewrite',
  description: 'Prometheus remote-write 1.0 (snappy protobuf) on 9201, POST /api/v1/write',
  configSchema: RemoteWriteConfigSchema,
  create: (settings, config, next) => new RemoteWriteReceiver(settings, config, next),
};
/** The remote-write 1.0 protobuf schema this receiver accepts (also used to encode, in benchmarks). */
export { prompbTypes, PROMPB_PROTO } from './prompb-proto.js';
export type { PrompbTypes } from './prompb-proto.js';
/** Bounded decoding of a whole remote-write body (shared with central's metrics/write). */
export { decodeRemoteWriteBody, decodeRemoteWriteColumns, maxSnappyEncodedLength } from './decode.js';
export type { ColumnsOptions as RemoteWriteColumnsOptions, DecodedColumns as DecodedRemoteWriteColumns, LabelSetCache, RemoteWriteColumns, RemoteWriteSeries, WriteLimits as RemoteWriteLimits } from './decode.js';
export { BadInputError as RemoteWriteInputError } from '../../errors.js';
