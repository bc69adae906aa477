// Public surface of shared-schemas: the aiops.v1 wire contracts (types, protobuf codecs,
// frame envelope, series dictionary, JSON forms). Import from here only.

export type {
  Ack,
  AckStatus,
  AgentState,
  Alert,
  AlertBatch,
  AlertStatus,
  Anomaly,
  DetectionTier,
  DictionaryScope,
  ExecutionState,
  FeatureFrame,
  FeatureFrameEnvelope,
  FeatureRow,
  Heartbeat,
  HeartbeatAck,
  Incident,
  IncidentStatus,
  Labels,
  MetricBatch,
  MetricPoint,
  RootCause,
  RunbookExecution,
  RunbookStepResult,
  SeriesDef,
  Severity,
  StepState,
} from './types.js';
export { FeatureFlags } from './types.js';

export { SchemaConfigError, SchemaDecodeError, SchemaEncodeError } from './errors.js';
export type { SchemaErrorCode } from './errors.js';

export {
  CODEC_NAMES,
  DEFAULT_CODEC,
  DEFAULT_CODEC_OPTIONS,
  DEFAULT_DECODE_LIMITS,
  DEFAULT_MAX_SERIES,
  resolveCodecOptions,
  resolveDecodeLimits,
} from './config.js';
export type { CodecName, CodecOptions, DecodeLimits } from './config.js';

export { CODEC_IDS, isCodecAvailable } from './codecs.js';
export {
  decodeEnvelope,
  encodeEnvelope,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MAGIC,
  ENVELOPE_VERSION,
  PayloadKind,
} from './envelope.js';
export type { DecodedEnvelope, DecodeEnvelopeOptions, EncodeEnvelopeOptions, PayloadKindId, PayloadKindName } from './envelope.js';

export {
  decodeFeatureFramePayload,
  decodeFrame,
  encodeFeatureFramePayload,
  encodeFrame,
  MAX_PRECISION_BITS,
  MIN_PRECISION_BITS,
  roundToPrecisionBits,
  validateFeatureFrame,
} from './feature-frame.js';
export type { DecodeFrameOptions, EncodeFrameOptions } from './feature-frame.js';

export { SeriesDictionaryDecoder, SeriesDictionaryEncoder } from './dictionary.js';
export type { DictionaryUpdate, SeriesDictionaryDecoderOptions, SeriesDictionaryEncoderOptions } from './dictionary.js';

export {
  decodeAck,
  decodeAlert,
  decodeAlertBatch,
  decodeAnomaly,
  decodeFeatureFrameEnvelope,
  decodeHeartbeat,
  decodeHeartbeatAck,
  decodeIncident,
  decodeMetricBatch,
  decodeMetricPoint,
  decodeRootCause,
  decodeRunbookExecution,
  encodeAck,
  encodeAlert,
  encodeAlertBatch,
  encodeAnomaly,
  encodeFeatureFrameEnvelope,
  encodeHeartbeat,
  encodeHeartbeatAck,
  encodeIncident,
  encodeMetricBatch,
  encodeMetricPoint,
  encodeRootCause,
  encodeRunbookExecution,
  INCIDENT_STATUSES,
  SEVERITIES,
  validateAlert,
  validateAnomaly,
  validateIncident,
} from './messages.js';
export type { Decoder, Encoder } from './messages.js';

export {
  alertFromJSON,
  alertToJSON,
  anomalyFromJSON,
  anomalyToJSON,
  incidentFromJSON,
  incidentToJSON,
  parseTimestamp,
  ZERO_TIME,
} from './json.js';
export type { AlertJSON, AnomalyJSON, IncidentJSON, JSONDouble, RootCauseJSON } from './json.js';

export { alertFingerprint, canonicalLabelKey, compareCodePoints, labelsEqual } from './labels.js';

export { AIOPS_PACKAGE, aiopsRoot } from './schema.js';
export { AIOPS_PROTO_SOURCE } from './proto-source.js';

export { AGENT_INGEST_SERVICE, agentIngestClientDefinition, agentIngestServiceDefinition } from './grpc.js';
export type { AckOrMalformed, AgentIngestServiceDefinition, GrpcMethodDefinition, MalformedAck } from './grpc.js';

export { TOPOLOGY_DOCUMENT_VERSION, TOPOLOGY_EDGE_KINDS, TOPOLOGY_NODE_KINDS, validateTopologyDocument } from './topology.js';
export type { TopologyDocument, TopologyEdge, TopologyEdgeKind, TopologyNode, TopologyNodeKind, TopologyProperties } from './topology.js';
