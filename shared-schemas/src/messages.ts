// Binary codecs (protobuf bytes, no envelope) of every aiops.v1 message other than
// FeatureFrame, with the same validation on both sides: decoders throw only
// SchemaDecodeError, encoders only SchemaEncodeError, both naming the field path.
// To put one of these on MQTT or Kafka, wrap the bytes with encodeEnvelope(bytes, { kind }).
import { limitsOf } from './config.js';
import type { DecodeLimits } from './config.js';
import { SchemaEncodeError, guardDecode, toEncodeError } from './errors.js';
import { labelsToPairs } from './feature-frame.js';
import { decodeMessage, encodeMessage, longToNumber } from './schema.js';
import type { MessageName } from './schema.js';
import type {
  Ack,
  AckStatus,
  AgentState,
  Alert,
  AlertBatch,
  AlertStatus,
  Anomaly,
  DetectionTier,
  ExecutionState,
  FeatureFrameEnvelope,
  Heartbeat,
  HeartbeatAck,
  Incident,
  IncidentStatus,
  MetricBatch,
  MetricPoint,
  RootCause,
  RunbookExecution,
  RunbookStepResult,
  Severity,
  StepState,
} from './types.js';
import {
  checkArray,
  checkBool,
  checkLabels,
  checkNumber,
  checkOneOf,
  checkString,
  checkTimestamp,
  checkUint32,
  checkUint64,
  fail,
  isPlainObject,
  labelsFromPairs,
  show,
} from './validate.js';
import type { ProtoLabel } from './validate.js';

// ---------------------------------------------------------------------------------------------
// Enums: TS string <-> proto number (proto value = index + 1; 0 is UNSPECIFIED and refused).

export const ACK_STATUSES: readonly AckStatus[] = ['ok', 'retry', 'rejected', 'resync_dictionary'];
export const ALERT_STATUSES: readonly AlertStatus[] = ['firing', 'resolved'];
export const DETECTION_TIERS: readonly DetectionTier[] = [1, 2, 3];
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];
export const INCIDENT_STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'mitigated', 'resolved'];
export const EXECUTION_STATES: readonly ExecutionState[] = [
  'pending_approval', 'approved', 'running', 'validating', 'succeeded', 'failed', 'rolled_back', 'escalated', 'rejected',
];
export const STEP_STATES: readonly StepState[] = ['pending', 'running', 'succeeded', 'failed', 'skipped', 'rolled_back'];
export const AGENT_STATES: readonly AgentState[] = ['ok', 'degraded', 'stopping'];

function enumToProto<T>(values: readonly T[], value: T): number {
  return values.indexOf(value) + 1;
}

function enumFromProto<T>(values: readonly T[], n: number, field: string): T {
  const v = values[n - 1];
  if (v === undefined) fail(field, `unknown or unset enum value ${n}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces.

/** Fingerprint format: Alertmanager's 16 lowercase hex digits; empty = not set. */
export const FINGERPRINT_PATTERN = /^[0-9a-f]{16}$/;

function checkFingerprint(value: unknown, field: string, limits: DecodeLimits, allowEmpty: boolean): string {
  const s = checkString(value, field, limits);
  if (s === '' && allowEmpty) return s;
  if (!FINGERPRINT_PATTERN.test(s)) fail(field, `must be 16 lowercase hex digits (got ${show(s)})`);
  return s;
}

function obj(value: unknown, field: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(field, `must be an object (got ${show(value)})`);
  return value;
}

function list<T>(value: unknown, field: string, limits: DecodeLimits, item: (v: unknown, f: string) => T): T[] {
  const arr = checkArray(value, field, limits.maxListLength);
  for (let i = 0; i < arr.length; i++) item(arr[i], `${field}[${i}]`);
  return arr as T[];
}

function strings(value: unknown, field: string, limits: DecodeLimits): string[] {
  return list(value, field, limits, (v, f) => checkString(v, f, limits));
}

/** Decoded repeated field of a protobufjs message: refuse oversized lists before mapping. */
function protoList<T>(value: T[], field: string, limits: DecodeLimits): T[] {
  if (value.length > limits.maxListLength) fail(field, `${value.length} items exceed the limit ${limits.maxListLength}`, 'TOO_LARGE');
  return value;
}

type ProtoMsg = Record<string, unknown> & { [k: string]: unknown };

function pm(value: unknown): ProtoMsg {
  return value as ProtoMsg;
}

function pLabels(m: ProtoMsg, key: string, field: string, limits: DecodeLimits) {
  return labelsFromPairs(m[key] as ProtoLabel[], field, limits);
}

function pLong(m: ProtoMsg, key: string, field: string): number {
  return longToNumber(m[key], field);
}

// ---------------------------------------------------------------------------------------------
// Per-message converters: validate (TS form, runtime-checked), toProto, fromProto.

interface Converter<T> {
  name: MessageName;
  validate(value: unknown, field: string, limits: DecodeLimits): T;
  toProto(value: T): object;
  fromProto(m: ProtoMsg, field: string, limits: DecodeLimits): T;
}

const metricPoint: Converter<MetricPoint> = {
  name: 'MetricPoint',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['name'], `${f}.name`, l, { nonEmpty: true });
    const labels = checkLabels(v['labels'], `${f}.labels`, l);
    if (Object.hasOwn(labels, '__name__')) fail(`${f}.labels.__name__`, `must not be set (the name is ${f}.name)`);
    checkTimestamp(v['timestampMs'], `${f}.timestampMs`);
    checkNumber(v['value'], `${f}.value`);
    return value as MetricPoint;
  },
  toProto: (v) => ({ name: v.name, labels: labelsToPairs(v.labels), timestampMs: v.timestampMs, value: v.value }),
  fromProto: (m, f, l) => ({
    name: m['name'] as string,
    labels: pLabels(m, 'labels', `${f}.labels`, l),
    timestampMs: pLong(m, 'timestampMs', `${f}.timestampMs`),
    value: m['value'] as number,
  }),
};

const metricBatch: Converter<MetricBatch> = {
  name: 'MetricBatch',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['agentId'], `${f}.agentId`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkUint64(v['sequence'], `${f}.sequence`);
    list(v['points'], `${f}.points`, l, (p, pf) => metricPoint.validate(p, pf, l));
    return value as MetricBatch;
  },
  toProto: (v) => ({ agentId: v.agentId, tenant: v.tenant, sequence: v.sequence, points: v.points.map((p) => metricPoint.toProto(p)) }),
  fromProto: (m, f, l) => ({
    agentId: m['agentId'] as string,
    tenant: m['tenant'] as string,
    sequence: pLong(m, 'sequence', `${f}.sequence`),
    points: protoList(m['points'] as ProtoMsg[], `${f}.points`, l).map((p, i) => metricPoint.fromProto(pm(p), `${f}.points[${i}]`, l)),
  }),
};

const featureFrameEnvelope: Converter<FeatureFrameEnvelope> = {
  name: 'FeatureFrameEnvelope',
  validate(value, f, l) {
    const v = obj(value, f);
    checkUint64(v['sequence'], `${f}.sequence`);
    const frame = v['frame'];
    if (!(frame instanceof Uint8Array)) fail(`${f}.frame`, `must be a Uint8Array (got ${show(frame)})`);
    if (frame.length === 0) fail(`${f}.frame`, 'must not be empty');
    if (frame.length > l.maxCompressedBytes) fail(`${f}.frame`, `${frame.length} bytes exceed the limit ${l.maxCompressedBytes}`, 'TOO_LARGE');
    return value as FeatureFrameEnvelope;
  },
  toProto: (v) => ({ sequence: v.sequence, frame: v.frame }),
  fromProto: (m, f) => {
    const frame = m['frame'] as Uint8Array;
    return {
      sequence: pLong(m, 'sequence', `${f}.sequence`),
      // Plain Uint8Array view (protobufjs may hand out a Buffer slice).
      frame: new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength),
    };
  },
};

const ack: Converter<Ack> = {
  name: 'Ack',
  validate(value, f, l) {
    const v = obj(value, f);
    checkUint64(v['sequence'], `${f}.sequence`);
    checkOneOf(v['status'], ACK_STATUSES, `${f}.status`);
    checkString(v['message'], `${f}.message`, l);
    checkUint32(v['retryAfterMs'], `${f}.retryAfterMs`);
    return value as Ack;
  },
  toProto: (v) => ({ sequence: v.sequence, status: enumToProto(ACK_STATUSES, v.status), message: v.message, retryAfterMs: v.retryAfterMs }),
  fromProto: (m, f) => ({
    sequence: pLong(m, 'sequence', `${f}.sequence`),
    status: enumFromProto(ACK_STATUSES, m['status'] as number, `${f}.status`),
    message: m['message'] as string,
    retryAfterMs: m['retryAfterMs'] as number,
  }),
};

const alert: Converter<Alert> = {
  name: 'Alert',
  validate(value, f, l) {
    const v = obj(value, f);
    checkOneOf(v['status'], ALERT_STATUSES, `${f}.status`);
    checkLabels(v['labels'], `${f}.labels`, l);
    checkLabels(v['annotations'], `${f}.annotations`, l);
    const starts = checkTimestamp(v['startsAtMs'], `${f}.startsAtMs`);
    const ends = checkTimestamp(v['endsAtMs'], `${f}.endsAtMs`, { optional: true });
    if (ends !== 0 && ends < starts) fail(`${f}.endsAtMs`, `end ${ends} is before start ${starts}`);
    checkString(v['generatorUrl'], `${f}.generatorUrl`, l);
    checkFingerprint(v['fingerprint'], `${f}.fingerprint`, l, true);
    checkString(v['tenant'], `${f}.tenant`, l);
    checkString(v['source'], `${f}.source`, l);
    return value as Alert;
  },
  toProto: (v) => ({
    status: enumToProto(ALERT_STATUSES, v.status),
    labels: labelsToPairs(v.labels),
    annotations: labelsToPairs(v.annotations),
    startsAtMs: v.startsAtMs,
    endsAtMs: v.endsAtMs,
    generatorUrl: v.generatorUrl,
    fingerprint: v.fingerprint,
    tenant: v.tenant,
    source: v.source,
  }),
  fromProto: (m, f, l) => ({
    status: enumFromProto(ALERT_STATUSES, m['status'] as number, `${f}.status`),
    labels: pLabels(m, 'labels', `${f}.labels`, l),
    annotations: pLabels(m, 'annotations', `${f}.annotations`, l),
    startsAtMs: pLong(m, 'startsAtMs', `${f}.startsAtMs`),
    endsAtMs: pLong(m, 'endsAtMs', `${f}.endsAtMs`),
    generatorUrl: m['generatorUrl'] as string,
    fingerprint: m['fingerprint'] as string,
    tenant: m['tenant'] as string,
    source: m['source'] as string,
  }),
};

const alertBatch: Converter<AlertBatch> = {
  name: 'AlertBatch',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['agentId'], `${f}.agentId`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkUint64(v['sequence'], `${f}.sequence`);
    list(v['alerts'], `${f}.alerts`, l, (a, af) => alert.validate(a, af, l));
    return value as AlertBatch;
  },
  toProto: (v) => ({ agentId: v.agentId, tenant: v.tenant, sequence: v.sequence, alerts: v.alerts.map((a) => alert.toProto(a)) }),
  fromProto: (m, f, l) => ({
    agentId: m['agentId'] as string,
    tenant: m['tenant'] as string,
    sequence: pLong(m, 'sequence', `${f}.sequence`),
    alerts: protoList(m['alerts'] as ProtoMsg[], `${f}.alerts`, l).map((a, i) => alert.fromProto(pm(a), `${f}.alerts[${i}]`, l)),
  }),
};

const ANOMALY_NUMBERS = ['score', 'threshold', 'value', 'expected', 'bandLower', 'bandUpper'] as const;

const anomaly: Converter<Anomaly> = {
  name: 'Anomaly',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['id'], `${f}.id`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkString(v['agentId'], `${f}.agentId`, l);
    checkLabels(v['labels'], `${f}.labels`, l);
    checkOneOf(v['tier'], DETECTION_TIERS, `${f}.tier`);
    checkString(v['detector'], `${f}.detector`, l, { nonEmpty: true });
    checkString(v['modelVersion'], `${f}.modelVersion`, l);
    for (const k of ANOMALY_NUMBERS) checkNumber(v[k], `${f}.${k}`);
    const start = checkTimestamp(v['windowStartMs'], `${f}.windowStartMs`);
    const end = checkTimestamp(v['windowEndMs'], `${f}.windowEndMs`);
    if (end < start) fail(`${f}.windowEndMs`, `window end ${end} is before window start ${start}`);
    checkTimestamp(v['detectedAtMs'], `${f}.detectedAtMs`);
    return value as Anomaly;
  },
  toProto: (v) => ({
    id: v.id,
    tenant: v.tenant,
    agentId: v.agentId,
    labels: labelsToPairs(v.labels),
    tier: v.tier,
    detector: v.detector,
    modelVersion: v.modelVersion,
    score: v.score,
    threshold: v.threshold,
    value: v.value,
    expected: v.expected,
    bandLower: v.bandLower,
    bandUpper: v.bandUpper,
    windowStartMs: v.windowStartMs,
    windowEndMs: v.windowEndMs,
    detectedAtMs: v.detectedAtMs,
  }),
  fromProto: (m, f, l) => ({
    id: m['id'] as string,
    tenant: m['tenant'] as string,
    agentId: m['agentId'] as string,
    labels: pLabels(m, 'labels', `${f}.labels`, l),
    tier: enumFromProto(DETECTION_TIERS, m['tier'] as number, `${f}.tier`),
    detector: m['detector'] as string,
    modelVersion: m['modelVersion'] as string,
    score: m['score'] as number,
    threshold: m['threshold'] as number,
    value: m['value'] as number,
    expected: m['expected'] as number,
    bandLower: m['bandLower'] as number,
    bandUpper: m['bandUpper'] as number,
    windowStartMs: pLong(m, 'windowStartMs', `${f}.windowStartMs`),
    windowEndMs: pLong(m, 'windowEndMs', `${f}.windowEndMs`),
    detectedAtMs: pLong(m, 'detectedAtMs', `${f}.detectedAtMs`),
  }),
};

const rootCause: Converter<RootCause> = {
  name: 'RootCause',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['service'], `${f}.service`, l, { nonEmpty: true });
    checkString(v['component'], `${f}.component`, l);
    checkString(v['metric'], `${f}.metric`, l);
    const p = checkNumber(v['probability'], `${f}.probability`);
    if (!(p >= 0 && p <= 1)) fail(`${f}.probability`, `must be in 0..1 (got ${show(p)})`);
    const rank = checkUint32(v['rank'], `${f}.rank`);
    if (rank === 0) fail(`${f}.rank`, 'must be >= 1 (got 0)');
    checkString(v['method'], `${f}.method`, l, { nonEmpty: true });
    strings(v['evidence'], `${f}.evidence`, l);
    checkTimestamp(v['onsetMs'], `${f}.onsetMs`, { optional: true });
    return value as RootCause;
  },
  toProto: (v) => ({ ...v, evidence: v.evidence }),
  fromProto: (m, f, l) => ({
    service: m['service'] as string,
    component: m['component'] as string,
    metric: m['metric'] as string,
    probability: m['probability'] as number,
    rank: m['rank'] as number,
    method: m['method'] as string,
    evidence: [...protoList(m['evidence'] as string[], `${f}.evidence`, l)],
    onsetMs: pLong(m, 'onsetMs', `${f}.onsetMs`),
  }),
};

const incident: Converter<Incident> = {
  name: 'Incident',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['id'], `${f}.id`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkString(v['title'], `${f}.title`, l);
    checkOneOf(v['status'], INCIDENT_STATUSES, `${f}.status`);
    checkOneOf(v['severity'], SEVERITIES, `${f}.severity`);
    const opened = checkTimestamp(v['openedAtMs'], `${f}.openedAtMs`);
    const updated = checkTimestamp(v['updatedAtMs'], `${f}.updatedAtMs`);
    if (updated < opened) fail(`${f}.updatedAtMs`, `update ${updated} is before opening ${opened}`);
    const resolved = checkTimestamp(v['resolvedAtMs'], `${f}.resolvedAtMs`, { optional: true });
    if (resolved !== 0 && resolved < opened) fail(`${f}.resolvedAtMs`, `resolution ${resolved} is before opening ${opened}`);
    checkFingerprint(v['representativeFingerprint'], `${f}.representativeFingerprint`, l, true);
    list(v['alertFingerprints'], `${f}.alertFingerprints`, l, (x, xf) => checkFingerprint(x, xf, l, false));
    strings(v['services'], `${f}.services`, l);
    checkLabels(v['commonLabels'], `${f}.commonLabels`, l);
    list(v['rootCauses'], `${f}.rootCauses`, l, (x, xf) => rootCause.validate(x, xf, l));
    return value as Incident;
  },
  toProto: (v) => ({
    id: v.id,
    tenant: v.tenant,
    title: v.title,
    status: enumToProto(INCIDENT_STATUSES, v.status),
    severity: enumToProto(SEVERITIES, v.severity),
    openedAtMs: v.openedAtMs,
    updatedAtMs: v.updatedAtMs,
    resolvedAtMs: v.resolvedAtMs,
    representativeFingerprint: v.representativeFingerprint,
    alertFingerprints: v.alertFingerprints,
    services: v.services,
    commonLabels: labelsToPairs(v.commonLabels),
    rootCauses: v.rootCauses.map((r) => rootCause.toProto(r)),
  }),
  fromProto: (m, f, l) => ({
    id: m['id'] as string,
    tenant: m['tenant'] as string,
    title: m['title'] as string,
    status: enumFromProto(INCIDENT_STATUSES, m['status'] as number, `${f}.status`),
    severity: enumFromProto(SEVERITIES, m['severity'] as number, `${f}.severity`),
    openedAtMs: pLong(m, 'openedAtMs', `${f}.openedAtMs`),
    updatedAtMs: pLong(m, 'updatedAtMs', `${f}.updatedAtMs`),
    resolvedAtMs: pLong(m, 'resolvedAtMs', `${f}.resolvedAtMs`),
    representativeFingerprint: m['representativeFingerprint'] as string,
    alertFingerprints: [...protoList(m['alertFingerprints'] as string[], `${f}.alertFingerprints`, l)],
    services: [...protoList(m['services'] as string[], `${f}.services`, l)],
    commonLabels: pLabels(m, 'commonLabels', `${f}.commonLabels`, l),
    rootCauses: protoList(m['rootCauses'] as ProtoMsg[], `${f}.rootCauses`, l).map((r, i) => rootCause.fromProto(pm(r), `${f}.rootCauses[${i}]`, l)),
  }),
};

const stepResult: Converter<RunbookStepResult> = {
  name: 'RunbookStepResult',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['name'], `${f}.name`, l, { nonEmpty: true });
    checkOneOf(v['state'], STEP_STATES, `${f}.state`);
    const started = checkTimestamp(v['startedAtMs'], `${f}.startedAtMs`, { optional: true });
    const finished = checkTimestamp(v['finishedAtMs'], `${f}.finishedAtMs`, { optional: true });
    if (finished !== 0 && finished < started) fail(`${f}.finishedAtMs`, `finish ${finished} is before start ${started}`);
    checkString(v['output'], `${f}.output`, l);
    checkString(v['error'], `${f}.error`, l);
    return value as RunbookStepResult;
  },
  toProto: (v) => ({ ...v, state: enumToProto(STEP_STATES, v.state) }),
  fromProto: (m, f) => ({
    name: m['name'] as string,
    state: enumFromProto(STEP_STATES, m['state'] as number, `${f}.state`),
    startedAtMs: pLong(m, 'startedAtMs', `${f}.startedAtMs`),
    finishedAtMs: pLong(m, 'finishedAtMs', `${f}.finishedAtMs`),
    output: m['output'] as string,
    error: m['error'] as string,
  }),
};

const runbookExecution: Converter<RunbookExecution> = {
  name: 'RunbookExecution',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['id'], `${f}.id`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkString(v['incidentId'], `${f}.incidentId`, l);
    checkString(v['runbookId'], `${f}.runbookId`, l, { nonEmpty: true });
    checkString(v['runbookVersion'], `${f}.runbookVersion`, l);
    checkOneOf(v['state'], EXECUTION_STATES, `${f}.state`);
    checkString(v['target'], `${f}.target`, l);
    checkUint32(v['blastRadius'], `${f}.blastRadius`);
    checkBool(v['approvalRequired'], `${f}.approvalRequired`);
    checkString(v['approvedBy'], `${f}.approvedBy`, l);
    checkBool(v['dryRun'], `${f}.dryRun`);
    const started = checkTimestamp(v['startedAtMs'], `${f}.startedAtMs`, { optional: true });
    const finished = checkTimestamp(v['finishedAtMs'], `${f}.finishedAtMs`, { optional: true });
    if (finished !== 0 && finished < started) fail(`${f}.finishedAtMs`, `finish ${finished} is before start ${started}`);
    list(v['steps'], `${f}.steps`, l, (x, xf) => stepResult.validate(x, xf, l));
    return value as RunbookExecution;
  },
  toProto: (v) => ({ ...v, state: enumToProto(EXECUTION_STATES, v.state), steps: v.steps.map((s) => stepResult.toProto(s)) }),
  fromProto: (m, f, l) => ({
    id: m['id'] as string,
    tenant: m['tenant'] as string,
    incidentId: m['incidentId'] as string,
    runbookId: m['runbookId'] as string,
    runbookVersion: m['runbookVersion'] as string,
    state: enumFromProto(EXECUTION_STATES, m['state'] as number, `${f}.state`),
    target: m['target'] as string,
    blastRadius: m['blastRadius'] as number,
    approvalRequired: m['approvalRequired'] as boolean,
    approvedBy: m['approvedBy'] as string,
    dryRun: m['dryRun'] as boolean,
    startedAtMs: pLong(m, 'startedAtMs', `${f}.startedAtMs`),
    finishedAtMs: pLong(m, 'finishedAtMs', `${f}.finishedAtMs`),
    steps: protoList(m['steps'] as ProtoMsg[], `${f}.steps`, l).map((s, i) => stepResult.fromProto(pm(s), `${f}.steps[${i}]`, l)),
  }),
};

const HEARTBEAT_COUNTERS = ['uptimeMs', 'framesSent', 'framesDropped', 'bufferBytes'] as const;

const heartbeat: Converter<Heartbeat> = {
  name: 'Heartbeat',
  validate(value, f, l) {
    const v = obj(value, f);
    checkString(v['agentId'], `${f}.agentId`, l, { nonEmpty: true });
    checkString(v['tenant'], `${f}.tenant`, l);
    checkTimestamp(v['timestampMs'], `${f}.timestampMs`);
    checkOneOf(v['state'], AGENT_STATES, `${f}.state`);
    checkString(v['version'], `${f}.version`, l);
    checkString(v['hostname'], `${f}.hostname`, l);
    for (const k of HEARTBEAT_COUNTERS) checkUint64(v[k], `${f}.${k}`);
    checkUint32(v['activeSeries'], `${f}.activeSeries`);
    checkLabels(v['hostLabels'], `${f}.hostLabels`, l);
    return value as Heartbeat;
  },
  toProto: (v) => ({ ...v, state: enumToProto(AGENT_STATES, v.state), hostLabels: labelsToPairs(v.hostLabels) }),
  fromProto: (m, f, l) => ({
    agentId: m['agentId'] as string,
    tenant: m['tenant'] as string,
    timestampMs: pLong(m, 'timestampMs', `${f}.timestampMs`),
    state: enumFromProto(AGENT_STATES, m['state'] as number, `${f}.state`),
    version: m['version'] as string,
    hostname: m['hostname'] as string,
    uptimeMs: pLong(m, 'uptimeMs', `${f}.uptimeMs`),
    activeSeries: m['activeSeries'] as number,
    framesSent: pLong(m, 'framesSent', `${f}.framesSent`),
    framesDropped: pLong(m, 'framesDropped', `${f}.framesDropped`),
    bufferBytes: pLong(m, 'bufferBytes', `${f}.bufferBytes`),
    hostLabels: pLabels(m, 'hostLabels', `${f}.hostLabels`, l),
  }),
};

const heartbeatAck: Converter<HeartbeatAck> = {
  name: 'HeartbeatAck',
  validate(value, f, l) {
    const v = obj(value, f);
    checkTimestamp(v['serverTimeMs'], `${f}.serverTimeMs`);
    checkString(v['configVersion'], `${f}.configVersion`, l);
    checkBool(v['resyncDictionary'], `${f}.resyncDictionary`);
    return value as HeartbeatAck;
  },
  toProto: (v) => ({ ...v }),
  fromProto: (m, f) => ({
    serverTimeMs: pLong(m, 'serverTimeMs', `${f}.serverTimeMs`),
    configVersion: m['configVersion'] as string,
    resyncDictionary: m['resyncDictionary'] as boolean,
  }),
};

// ---------------------------------------------------------------------------------------------
// Public encode/decode pairs.

export type Encoder<T> = (value: T, limits?: Partial<DecodeLimits>) => Uint8Array;
export type Decoder<T> = (bytes: Uint8Array, limits?: Partial<DecodeLimits>) => T;

function encoderFor<T>(c: Converter<T>): Encoder<T> {
  return (value, limits) => {
    const lim = limitsOf(limits);
    try {
      c.validate(value, c.name, lim);
    } catch (err) {
      throw toEncodeError(err);
    }
    const bytes = encodeMessage(c.name, c.toProto(value));
    if (bytes.length > lim.maxUncompressedBytes) {
      throw new SchemaEncodeError('TOO_LARGE', `${c.name}: ${bytes.length} bytes exceed the limit ${lim.maxUncompressedBytes}`, { field: c.name });
    }
    return bytes;
  };
}

function decoderFor<T>(c: Converter<T>): Decoder<T> {
  return (bytes, limits) => {
    const lim = limitsOf(limits);
    return guardDecode(c.name, () => {
      const m = decodeMessage(c.name, bytes, lim);
      return c.validate(c.fromProto(pm(m), c.name, lim), c.name, lim);
    });
  };
}

/** Runtime validation of a TS value (e.g. built from JSON); throws SchemaDecodeError. */
function validatorFor<T>(c: Converter<T>): (value: unknown, limits?: Partial<DecodeLimits>, field?: string) => T {
  return (value, limits, field) => c.validate(value, field ?? c.name, limitsOf(limits));
}

export const encodeMetricPoint = encoderFor(metricPoint);
export const decodeMetricPoint = decoderFor(metricPoint);
export const encodeMetricBatch = encoderFor(metricBatch);
export const decodeMetricBatch = decoderFor(metricBatch);
export const encodeFeatureFrameEnvelope = encoderFor(featureFrameEnvelope);
export const decodeFeatureFrameEnvelope = decoderFor(featureFrameEnvelope);
export const encodeAck = encoderFor(ack);
export const decodeAck = decoderFor(ack);
export const encodeAlert = encoderFor(alert);
export const decodeAlert = decoderFor(alert);
export const encodeAlertBatch = encoderFor(alertBatch);
export const decodeAlertBatch = decoderFor(alertBatch);
export const encodeAnomaly = encoderFor(anomaly);
export const decodeAnomaly = decoderFor(anomaly);
export const encodeRootCause = encoderFor(rootCause);
export const decodeRootCause = decoderFor(rootCause);
export const encodeIncident = encoderFor(incident);
export const decodeIncident = decoderFor(incident);
export const encodeRunbookExecution = encoderFor(runbookExecution);
export const decodeRunbookExecution = decoderFor(runbookExecution);
export const encodeHeartbeat = encoderFor(heartbeat);
export const decodeHeartbeat = decoderFor(heartbeat);
export const encodeHeartbeatAck = encoderFor(heartbeatAck);
export const decodeHeartbeatAck = decoderFor(heartbeatAck);

export const validateAlert = validatorFor(alert);
export const validateAnomaly = validatorFor(anomaly);
export const validateIncident = validatorFor(incident);
