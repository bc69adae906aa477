// JSON forms of Alert, Anomaly and Incident for REST bodies and webhooks, derived from the same
// TypeScript types and validated by the same rules as the binary decoders.
//
// - Timestamps are RFC 3339 strings in UTC with millisecond precision
//   ("2024-05-01T12:00:00.000Z"); unset optional timestamps are null, except Alert.endsAt which
//   uses Alertmanager's zero time "0001-01-01T00:00:00Z". Readers accept any RFC 3339 offset
//   and fractional digits (truncated to ms).
// - Doubles that JSON cannot hold are strings: "NaN", "Infinity", "-Infinity". -0 becomes 0
//   and NaN payloads are not preserved (the binary forms preserve both).
// - Alerts follow the Alertmanager webhook / API v2 alert object (status, labels,
//   annotations, startsAt, endsAt, generatorURL, fingerprint); `tenant` and `source` are
//   extensions, omitted when empty. Unknown properties are ignored on input.
import { limitsOf } from './config.js';
import type { DecodeLimits } from './config.js';
import { guardDecode, toEncodeError } from './errors.js';
import { alertFingerprint, setLabel } from './labels.js';
import { validateAlert, validateAnomaly, validateIncident } from './messages.js';
import type { Alert, Anomaly, Incident, Labels, RootCause } from './types.js';
import { checkArray, checkLabels, checkString, fail, isPlainObject, MAX_TIMESTAMP_MS, show } from './validate.js';

/** JSON number or one of the non-finite spellings. */
export type JSONDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface AlertJSON {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  tenant?: string;
  source?: string;
}

export interface AnomalyJSON {
  id: string;
  tenant: string;
  agentId: string;
  labels: Labels;
  tier: 1 | 2 | 3;
  detector: string;
  modelVersion: string;
  score: JSONDouble;
  threshold: JSONDouble;
  value: JSONDouble;
  expected: JSONDouble;
  bandLower: JSONDouble;
  bandUpper: JSONDouble;
  windowStart: string;
  windowEnd: string;
  detectedAt: string;
}

export interface RootCauseJSON {
  service: string;
  component: string;
  metric: string;
  probability: number;
  rank: number;
  method: string;
  evidence: string[];
  /** RFC 3339; null = unknown. */
  onsetAt: string | null;
}

export interface IncidentJSON {
  id: string;
  tenant: string;
  title: string;
  status: Incident['status'];
  severity: Incident['severity'];
  openedAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  representativeFingerprint: string;
  alertFingerprints: string[];
  services: string[];
  commonLabels: Labels;
  rootCauses: RootCauseJSON[];
}

/** Alertmanager's "not set" time (Go's zero time.Time). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
const ZERO_TIME_MS = -62_135_596_800_000;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp to integer ms (fraction truncated). Throws SchemaDecodeError. */
export function parseTimestamp(value: unknown, field: string): number {
  if (typeof value !== 'string') fail(field, `must be an RFC 3339 timestamp string (got ${show(value)})`);
  const m = RFC3339.exec(value);
  if (m === null) fail(field, `must be an RFC 3339 timestamp (got ${show(value)})`);
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const year = Number(y), month = Number(mo), day = Number(d), hour = Number(h), minute = Number(mi), second = Number(s);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, 0);
  const base = check.getTime();
  // Reject what Date would roll over (Feb 30, hour 24, second 60).
  if (
    check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day ||
    check.getUTCHours() !== hour || check.getUTCMinutes() !== minute || check.getUTCSeconds() !== second
  ) {
    fail(field, `is not a valid date-time (got ${show(value)})`);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000 + 1e-9);
  let offset = 0;
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) fail(field, `has an invalid UTC offset (got ${show(value)})`);
    offset = sign * (oh * 60 + om) * 60_000;
  }
  return base + Math.min(ms, 999) - offset;
}

function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** Timestamp that must be set: > 0 and representable. */
function parseRequired(value: unknown, field: string): number {
  const ms = parseTimestamp(value, field);
  if (ms <= 0 || ms > MAX_TIMESTAMP_MS) fail(field, `must be after 1970-01-01T00:00:00Z (got ${show(value)})`);
  return ms;
}

/** Optional timestamp: null / absent / zero time -> 0. */
function parseOptional(value: unknown, field: string): number {
  if (value === undefined || value === null || value === ZERO_TIME) return 0;
  const ms = parseTimestamp(value, field);
  if (ms < 0) {
    // Any other spelling of Go's zero time (fraction, offset) is "not set" as well.
    if (ms === ZERO_TIME_MS) return 0;
    fail(field, `must not be before 1970-01-01T00:00:00Z (got ${show(value)})`);
  }
  if (ms > MAX_TIMESTAMP_MS) fail(field, `is out of range (got ${show(value)})`);
  return ms;
}

export function doubleToJSON(v: number): JSONDouble {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v === 0 ? 0 : v;
}

export function doubleFromJSON(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return fail(field, `must be a number or "NaN" / "Infinity" / "-Infinity" (got ${show(value)})`);
}

function root(value: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(value)) fail(name, `JSON body must be an object (got ${show(value)})`, 'INVALID_JSON');
  return value;
}

/** Copy of a label object as own properties (JSON.parse output may carry `__proto__` keys). */
function labelsFrom(value: unknown, field: string, limits: DecodeLimits): Labels {
  const src = checkLabels(value ?? {}, field, limits);
  const out: Labels = {};
  for (const k of Object.keys(src)) setLabel(out, k, src[k] as string);
  return out;
}

function optString(value: unknown, field: string, limits: DecodeLimits): string {
  return value === undefined || value === null ? '' : checkString(value, field, limits);
}

// ----- Alert -------------------------------------------------------------------------------

export function alertToJSON(alert: Alert, limits?: Partial<DecodeLimits>): AlertJSON {
  try {
    validateAlert(alert, limits);
  } catch (err) {
    throw toEncodeError(err);
  }
  const out: AlertJSON = {
    status: alert.status,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    startsAt: formatTimestamp(alert.startsAtMs),
    endsAt: alert.endsAtMs === 0 ? ZERO_TIME : formatTimestamp(alert.endsAtMs),
    generatorURL: alert.generatorUrl,
    fingerprint: alert.fingerprint,
  };
  if (alert.tenant !== '') out.tenant = alert.tenant;
  if (alert.source !== '') out.source = alert.source;
  return out;
}

/**
 * Alertmanager-style alert object -> Alert. `status` defaults from endsAt like Alertmanager
 * does (resolved when endsAt is set and not after `nowMs`, firing otherwise) only when
 * absent; a missing `fingerprint` is computed from the labels. Throws SchemaDecodeError.
 */
export function alertFromJSON(value: unknown, options: { limits?: Partial<DecodeLimits>; nowMs?: number } = {}): Alert {
  const limits = limitsOf(options.limits);
  return guardDecode('Alert', () => {
    const v = root(value, 'Alert');
    const labels = labelsFrom(v['labels'], 'Alert.labels', limits);
    const annotations = labelsFrom(v['annotations'], 'Alert.annotations', limits);
    const startsAtMs = parseRequired(v['startsAt'], 'Alert.startsAt');
    const endsAtMs = parseOptional(v['endsAt'], 'Alert.endsAt');
    let status = v['status'];
    if (status === undefined) {
      const now = options.nowMs ?? Date.now();
      status = endsAtMs !== 0 && endsAtMs <= now ? 'resolved' : 'firing';
    }
    const fingerprint = v['fingerprint'] === undefined ? alertFingerprint(labels) : v['fingerprint'];
    const alert = {
      status,
      labels,
      annotations,
      startsAtMs,
      endsAtMs,
      generatorUrl: optString(v['generatorURL'], 'Alert.generatorURL', limits),
      fingerprint,
      tenant: optString(v['tenant'], 'Alert.tenant', limits),
      source: optString(v['source'], 'Alert.source', limits),
    };
    return validateAlert(alert, limits);
  });
}

// ----- Anomaly -----------------------------------------------------------------------------

export function anomalyToJSON(anomaly: Anomaly, limits?: Partial<DecodeLimits>): AnomalyJSON {
  try {
    validateAnomaly(anomaly, limits);
  } catch (err) {
    throw toEncodeError(err);
  }
  return {
    id: anomaly.id,
    tenant: anomaly.tenant,
    agentId: anomaly.agentId,
    labels: { ...anomaly.labels },
    tier: anomaly.tier,
    detector: anomaly.detector,
    modelVersion: anomaly.modelVersion,
    score: doubleToJSON(anomaly.score),
    threshold: doubleToJSON(anomaly.threshold),
    value: doubleToJSON(anomaly.value),
    expected: doubleToJSON(anomaly.expected),
    bandLower: doubleToJSON(anomaly.bandLower),
    bandUpper: doubleToJSON(anomaly.bandUpper),
    windowStart: formatTimestamp(anomaly.windowStartMs),
    windowEnd: formatTimestamp(anomaly.windowEndMs),
    detectedAt: formatTimestamp(anomaly.detectedAtMs),
  };
}

export function anomalyFromJSON(value: unknown, options: { limits?: Partial<DecodeLimits> } = {}): Anomaly {
  const limits = limitsOf(options.limits);
  return guardDecode('Anomaly', () => {
    const v = root(value, 'Anomaly');
    const anomaly = {
      id: v['id'],
      tenant: optString(v['tenant'], 'Anomaly.tenant', limits),
      agentId: optString(v['agentId'], 'Anomaly.agentId', limits),
      labels: labelsFrom(v['labels'], 'Anomaly.labels', limits),
      tier: v['tier'],
      detector: v['detector'],
      modelVersion: optString(v['modelVersion'], 'Anomaly.modelVersion', limits),
      score: doubleFromJSON(v['score'], 'Anomaly.score'),
      threshold: doubleFromJSON(v['threshold'], 'Anomaly.threshold'),
      value: doubleFromJSON(v['value'] ?? 'NaN', 'Anomaly.value'),
      expected: doubleFromJSON(v['expected'] ?? 'NaN', 'Anomaly.expected'),
      bandLower: doubleFromJSON(v['bandLower'] ?? 'NaN', 'Anomaly.bandLower'),
      bandUpper: doubleFromJSON(v['bandUpper'] ?? 'NaN', 'Anomaly.bandUpper'),
      windowStartMs: parseRequired(v['windowStart'], 'Anomaly.windowStart'),
      windowEndMs: parseRequired(v['windowEnd'], 'Anomaly.windowEnd'),
      detectedAtMs: parseRequired(v['detectedAt'], 'Anomaly.detectedAt'),
    };
    return validateAnomaly(anomaly, limits);
  });
}

// ----- Incident ----------------------------------------------------------------------------

export function incidentToJSON(incident: Incident, limits?: Partial<DecodeLimits>): IncidentJSON {
  try {
    validateIncident(incident, limits);
  } catch (err) {
    throw toEncodeError(err);
  }
  return {
    id: incident.id,
    tenant: incident.tenant,
    title: incident.title,
    status: incident.status,
    severity: incident.severity,
    openedAt: formatTimestamp(incident.openedAtMs),
    updatedAt: formatTimestamp(incident.updatedAtMs),
    resolvedAt: incident.resolvedAtMs === 0 ? null : formatTimestamp(incident.resolvedAtMs),
    representativeFingerprint: incident.representativeFingerprint,
    alertFingerprints: [...incident.alertFingerprints],
    services: [...incident.services],
    commonLabels: { ...incident.commonLabels },
    rootCauses: incident.rootCauses.map(({ onsetMs, ...r }) => ({ ...r, evidence: [...r.evidence], onsetAt: onsetMs === 0 ? null : formatTimestamp(onsetMs) })),
  };
}

function rootCauseFromJSON(value: unknown, field: string, limits: DecodeLimits): RootCause {
  if (!isPlainObject(value)) fail(field, `must be an object (got ${show(value)})`);
  return {
    service: value['service'] as string,
    component: optString(value['component'], `${field}.component`, limits),
    metric: optString(value['metric'], `${field}.metric`, limits),
    probability: value['probability'] as number,
    rank: value['rank'] as number,
    method: value['method'] as string,
    evidence: value['evidence'] === undefined ? [] : (value['evidence'] as string[]),
    onsetMs: parseOptional(value['onsetAt'], `${field}.onsetAt`),
  };
}

export function incidentFromJSON(value: unknown, options: { limits?: Partial<DecodeLimits> } = {}): Incident {
  const limits = limitsOf(options.limits);
  return guardDecode('Incident', () => {
    const v = root(value, 'Incident');
    const causes = v['rootCauses'] === undefined ? [] : checkArray(v['rootCauses'], 'Incident.rootCauses', limits.maxListLength);
    const incident = {
      id: v['id'],
      tenant: optString(v['tenant'], 'Incident.tenant', limits),
      title: optString(v['title'], 'Incident.title', limits),
      status: v['status'],
      severity: v['severity'],
      openedAtMs: parseRequired(v['openedAt'], 'Incident.openedAt'),
      updatedAtMs: parseRequired(v['updatedAt'], 'Incident.updatedAt'),
      resolvedAtMs: parseOptional(v['resolvedAt'], 'Incident.resolvedAt'),
      representativeFingerprint: optString(v['representativeFingerprint'], 'Incident.representativeFingerprint', limits),
      alertFingerprints: v['alertFingerprints'] ?? [],
      services: v['services'] ?? [],
      commonLabels: labelsFrom(v['commonLabels'], 'Incident.commonLabels', limits),
      rootCauses: causes.map((c, i) => rootCauseFromJSON(c, `Incident.rootCauses[${i}]`, limits)),
    };
    return validateIncident(incident, limits);
  });
}
