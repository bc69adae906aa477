// Shared code of the frame exporters (mqtt, grpc): config pieces, the window -> frame ->
// buffer -> ordered send loop, and the Transport interface a wire protocol implements.
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export {
  COMPRESSIONS,
  MAX_FRAME_BYTES_LIMIT,
  refineCertPair,
  refineSender,
  retryConfigSchema,
  senderConfigShape,
  tlsFilesShape,
} from './config.js';
export type { Compression, RetryConfig, SenderConfig } from './config.js';
export { DEFAULT_AGENT_VERSION, FrameExporter } from './frame-exporter.js';
export type { FrameExporterOptions } from './frame-exporter.js';
export { WindowFramer } from './framer.js';
export type { BuiltFrame, FramerOptions, RowDropReason, SequenceSource } from './framer.js';
export { FrameSender } from './sender.js';
export type { SenderOptions } from './sender.js';
export { SEQUENCE_BLOCK, SequenceLease } from './sequence.js';
export { readTlsFiles } from './tls.js';
export type { TlsFileConfig, TlsFiles } from './tls.js';
export type { ConnectResult, ConnectionEvents, FrameAck, FrameAckStatus, Transport, TransportConnection } from './transport.js';
export { StreamReencoder } from './wire.js';
export type { ReencoderOptions } from './wire.js';
