// Alert ingest bodies -> shared-schemas Alerts. Two accepted forms (POST /api/v1/alerts/ingest):
//
// 1. Alertmanager's webhook v4 notification (what Alertmanager POSTs to a webhook receiver):
//    `{ "version": "4", "status", "receiver", "groupKey", "alerts": [ { status, labels,
//    annotations, startsAt, endsAt, generatorURL, fingerprint } ], ... }`.
// 2. The generic JSON form, for anything that is not Alertmanager:
//    `{ "alerts": [ { "labels": {...}, "annotations": {...}, "status": "firing"|"resolved",
//    "startsAt": <RFC 3339 or epoch ms>, "endsAt": <same, optional>, "generatorURL": "..." } ] }`
//    or the array alone. `status` defaults to "resolved" when endsAt is in the past, else firing
//    (as Alertmanager's own API decides); `startsAt` defaults to the receive time.
//
// Every alert gets central's own fingerprint (prometheus/common LabelSet.Fingerprint over its
// labels): a client-supplied fingerprint is never trusted. Errors name the field:
// `alerts[3].labels.bad-name: label names must match [a-zA-Z_][a-zA-Z0-9_]*`.
import { alertFingerprint } from '../../../../shared-schemas/src/index.js';
import type { Alert, Labels } from '../../../../shared-schemas/src/index.js';

export class AlertIngestError extends Error {
  override readonly name = 'AlertIngestError';
  readonly code = 'INVALID_ALERTS';
  readonly retryable = false;
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export interface AlertIngestLimits {
  /** Alerts in one body. */
  maxAlerts: number;
  /** Labels (and annotations) per alert. */
  maxLabels: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** Annotation values may be longer (descriptions, runbook text). */
  maxAnnotationValueLength: number;
}

export const DEFAULT_ALERT_INGEST_LIMITS: Readonly<AlertIngestLimits> = Object.freeze({
  maxAlerts: 10_000,
  maxLabels: 64,
  maxLabelNameLength: 256,
  maxLabelValueLength: 4096,
  maxAnnotationValueLength: 65_536,
});

export interface ParseContext {
  tenant: string;
  /** Who sent it, e.g. "alertmanager" or "api:<key id>"; stored on every alert. */
  source: string;
  /** Receive time, ms (defaults and the firing/resolved decision use it). */
  nowMs: number;
  limits?: Partial<AlertIngestLimits>;
}

export type AlertBodyFormat = 'alertmanager-v4' | 'generic';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Go's zero time: Alertmanager's "not set" for endsAt. */
const GO_ZERO_MS = Date.parse('0001-01-01T00:00:00Z');
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function labelSet(v: unknown, field: string, lim: AlertIngestLimits, maxValue: number, required: boolean): Labels {
  if (v === undefined && !required) return {};
  if (!isObject(v)) throw new AlertIngestError(field, `must be an object of string values (got ${show(v)})`);
  const keys = Object.keys(v);
  if (keys.length > lim.maxLabels) throw new AlertIngestError(field, `${keys.length} entries exceed the limit ${lim.maxLabels}`);
  const out: Labels = Object.create(null) as Labels;
  for (const k of keys) {
    if (!LABEL_NAME.test(k) || k.length > lim.maxLabelNameLength) {
      throw new AlertIngestError(`${field}.${k.slice(0, 64)}`, `names must match [a-zA-Z_][a-zA-Z0-9_]* and be at most ${lim.maxLabelNameLength} characters`);
    }
    const val = v[k];
    if (typeof val !== 'string') throw new AlertIngestError(`${field}.${k}`, `must be a string (got ${show(val)})`);
    if (val.length > maxValue) throw new AlertIngestError(`${field}.${k}`, `${val.length} characters exceed the limit ${maxValue}`);
    if (val === '') continue; // an empty value is the same as no label (Prometheus semantics)
    out[k] = val;
  }
  return { ...out };
}

function time(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new AlertIngestError(field, `must be epoch milliseconds or RFC 3339 (got ${show(v)})`);
    return v;
  }
  if (typeof v !== 'string' || !RFC3339.test(v)) throw new AlertIngestError(field, `must be an RFC 3339 time like 2024-03-04T09:30:00Z (got ${show(v)})`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw new AlertIngestError(field, `is not a valid time (got ${show(v)})`);
  return ms <= GO_ZERO_MS ? undefined : ms;
}

function oneAlert(v: unknown, field: string, ctx: ParseContext, lim: AlertIngestLimits): Alert {
  if (!isObject(v)) throw new AlertIngestError(field, `must be an object (got ${show(v)})`);
  const labels = labelSet(v['labels'], `${field}.labels`, lim, lim.maxLabelValueLength, true);
  if (Object.keys(labels).length === 0) throw new AlertIngestError(`${field}.labels`, 'must hold at least one non-empty label (an alert is identified by its labels)');
  const annotations = labelSet(v['annotations'], `${field}.annotations`, lim, lim.maxAnnotationValueLength, false);
  const startsAtMs = time(v['startsAt'], `${field}.startsAt`) ?? ctx.nowMs;
  const endsAtMs = time(v['endsAt'], `${field}.endsAt`) ?? 0;
  if (endsAtMs !== 0 && endsAtMs < startsAtMs) throw new AlertIngestError(`${field}.endsAt`, 'is before startsAt');
  let status: Alert['status'];
  const s = v['status'];
  if (s === undefined) status = endsAtMs !== 0 && endsAtMs <= ctx.nowMs ? 'resolved' : 'firing';
  else if (s === 'firing' || s === 'resolved') status = s;
  else throw new AlertIngestError(`${field}.status`, `must be "firing" or "resolved" (got ${show(s)})`);
  const gen = v['generatorURL'] ?? '';
  if (typeof gen !== 'string' || gen.length > 4096) throw new AlertIngestError(`${field}.generatorURL`, `must be a string of at most 4096 characters (got ${show(gen)})`);
  return {
    status,
    labels,
    annotations,
    startsAtMs,
    endsAtMs,
    generatorUrl: gen,
    fingerprint: alertFingerprint(labels),
    tenant: ctx.tenant,
    source: ctx.source,
  };
}

/**
 * Parses an ingest body (already JSON-decoded) in either accepted form. Throws AlertIngestError
 * naming the first bad field; nothing of a refused body is accepted (a body is one unit).
 */
export function parseAlertBody(body: unknown, ctx: ParseContext): { format: AlertBodyFormat; alerts: Alert[] } {
  const lim: AlertIngestLimits = { ...DEFAULT_ALERT_INGEST_LIMITS, ...ctx.limits };
  let list: unknown;
  let format: AlertBodyFormat;
  if (Array.isArray(body)) {
    list = body;
    format = 'generic';
  } else if (isObject(body)) {
    if (body['version'] !== undefined && body['version'] !== '4') {
      throw new AlertIngestError('version', `only Alertmanager webhook version "4" is understood (got ${show(body['version'])})`);
    }
    format = body['version'] === '4' ? 'alertmanager-v4' : 'generic';
    list = body['alerts'];
  } else {
    throw new AlertIngestError('(body)', `must be a JSON object with "alerts" or an array of alerts (got ${show(body)})`);
  }
  if (!Array.isArray(list)) throw new AlertIngestError('alerts', `must be an array (got ${show(list)})`);
  if (list.length > lim.maxAlerts) throw new AlertIngestError('alerts', `${list.length} alerts exceed the limit ${lim.maxAlerts} per request`);
  const alerts = list.map((a, i) => oneAlert(a, `alerts[${i}]`, ctx, lim));
  return { format, alerts };
}
