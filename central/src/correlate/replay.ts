// Offline replay (issue #8, Deliver 8): an alert stream, one JSON object per line, through the
// same CorrelationEngine and configuration as central's online path, in event time.
//
// Input line: {"startsAt": <RFC 3339 text, or a number: Unix ms when >= 1e11, else Unix s>,
//              "labels": {...}, "endsAt"?: same forms (absent, null, 0 or Go's zero time = still
//              firing), "annotations"?: {...}}; other fields are ignored. The fingerprint is
// Alertmanager's (shared-schemas alertFingerprint of the labels).
// Events: every alert fires at startsAt and, with an endsAt, resolves then. Events run in time
// order; at one instant resolves run before fires (an alert that re-fires as it resolves is a
// re-fire), then input order. Each input alert's incident is the one it ended in (after any
// merge), or null when it stayed unassigned.
import { alertFingerprint } from '../../../shared-schemas/src/index.js';
import { CodedError } from '../../../shared-schemas/src/runtime/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import type { CorrelationConfig } from './config.js';
import { CorrelationEngine } from './engine.js';
import type { EngineCounters, IncidentEvent } from './engine.js';
import type { EntityGraph } from './entities.js';

export const MAX_LINE_BYTES = 1 << 20;
const MAX_LABELS = 128;
const MAX_VALUE = 16_384;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class AlertLineError extends CodedError<'BAD_ALERT'> {
  override name = 'AlertLineError';
  constructor(
    readonly line: number,
    readonly field: string,
    message: string,
  ) {
    super('BAD_ALERT', `line ${line}: ${field} ${message}`);
  }
}

export interface ReplayAlert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
  /** 0 = still firing at the end of the stream. */
  endsAtMs: number;
}

function timeOf(v: unknown, line: number, field: string, optional: boolean): number {
  if (optional && (v === undefined || v === null || v === 0 || v === '' || v === '0001-01-01T00:00:00Z')) return 0;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0) throw new AlertLineError(line, field, `must be a positive time (got ${v})`);
    const ms = v >= 1e11 ? v : v * 1000;
    if (ms > 8.64e15) throw new AlertLineError(line, field, `is out of range (got ${v})`);
    return Math.round(ms);
  }
  if (typeof v === 'string' && v.length <= 64 && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(v)) {
    const ms = Date.parse(v);
    if (Number.isFinite(ms) && ms > 0) return ms;
  }
  throw new AlertLineError(line, field, `must be RFC 3339 text such as "2024-03-04T08:00:00Z" or a Unix time number (got ${JSON.stringify(v)?.slice(0, 80)})`);
}

function labelsOf(v: unknown, line: number, field: string, required: boolean): Labels {
  if (v === undefined || v === null) {
    if (required) throw new AlertLineError(line, field, 'is required (an object of label names to strings)');
    return {};
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new AlertLineError(line, field, `must be an object of strings (got ${Array.isArray(v) ? 'an array' : typeof v})`);
  const keys = Object.keys(v);
  if (keys.length > MAX_LABELS) throw new AlertLineError(line, field, `has ${keys.length} entries, more than ${MAX_LABELS}`);
  const out: Labels = {};
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (!LABEL_NAME.test(k) || k.length > 1024) throw new AlertLineError(line, `${field}.${k.slice(0, 64)}`, 'is not a valid label name ([A-Za-z_][A-Za-z0-9_]*)');
    if (typeof x !== 'string') throw new AlertLineError(line, `${field}.${k}`, `must be a string (got ${typeof x})`);
    if (x.length > MAX_VALUE) throw new AlertLineError(line, `${field}.${k}`, `is longer than ${MAX_VALUE} characters`);
    Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** One input line (1-based `line` for errors); undefined for a blank line. */
export function parseAlertLine(text: string, line: number): ReplayAlert | undefined {
  if (text.trim() === '') return undefined;
  if (Buffer.byteLength(text) > MAX_LINE_BYTES) throw new AlertLineError(line, '(line)', `is longer than ${MAX_LINE_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new AlertLineError(line, '(line)', `is not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AlertLineError(line, '(line)', 'must be a JSON object');
  const o = v as Record<string, unknown>;
  const labels = labelsOf(o['labels'], line, 'labels', true);
  if (Object.keys(labels).length === 0) throw new AlertLineError(line, 'labels', 'must not be empty');
  const startsAtMs = timeOf(o['startsAt'], line, 'startsAt', false);
  const endsAtMs = timeOf(o['endsAt'], line, 'endsAt', true);
  if (endsAtMs !== 0 && endsAtMs < startsAtMs) throw new AlertLineError(line, 'endsAt', 'is before startsAt');
  return { fingerprint: alertFingerprint(labels), labels, annotations: labelsOf(o['annotations'], line, 'annotations', false), startsAtMs, endsAtMs };
}

export interface ReplayEvent {
  /** Event time: the alert's startsAt (fire) or endsAt (resolve). */
  t: number;
  kind: 'resolve' | 'fire';
  /** Index of the alert in the input. */
  i: number;
}

/**
 * The order alerts are replayed in: by time; at one instant resolves before fires; then input
 * order. Feeding central the same events in this order gives the online path the same input.
 */
export function eventOrder(alerts: readonly ReplayAlert[]): ReplayEvent[] {
  const order: ReplayEvent[] = [];
  alerts.forEach((a, i) => {
    order.push({ t: a.startsAtMs, kind: 'fire', i });
    if (a.endsAtMs > 0) order.push({ t: a.endsAtMs, kind: 'resolve', i });
  });
  order.sort((x, y) => x.t - y.t || (x.kind === y.kind ? 0 : x.kind === 'resolve' ? -1 : 1) || x.i - y.i);
  return order;
}

export interface ReplayIncident {
  id: string;
  openedAtMs: number;
  resolvedAtMs: number;
  representative: string;
  alerts: number;
}

export interface ReplayResult {
  /** Per input alert, in input order: its final incident id or null. */
  assignments: Array<string | null>;
  incidents: ReplayIncident[];
  events: number;
  counters: EngineCounters;
  maxHops: number;
}

/** Runs the alerts through a fresh engine in event time (see the file comment). */
export function replayAlerts(alerts: readonly ReplayAlert[], config: CorrelationConfig, graph?: EntityGraph, onEvent?: (e: IncidentEvent) => void): ReplayResult {
  const engine = new CorrelationEngine(config, graph);
  const order = eventOrder(alerts);
  const direct: Array<string | null> = new Array(alerts.length).fill(null);
  const mergedInto = new Map<string, string>();
  const incidents = new Map<string, ReplayIncident>();
  let events = 0;
  const take = (list: IncidentEvent[]) => {
    for (const e of list) {
      events++;
      onEvent?.(e);
      if (e.type === 'opened') incidents.set(e.incident, { id: e.incident, openedAtMs: e.atMs, resolvedAtMs: 0, representative: e.fingerprint ?? '', alerts: 0 });
      else if (e.type === 'merged' && e.other) {
        mergedInto.set(e.other, e.incident);
        incidents.delete(e.other);
      } else if (e.type === 'resolved') {
        const inc = incidents.get(e.incident);
        if (inc) inc.resolvedAtMs = e.atMs;
      } else if (e.type === 'representative_changed') {
        const inc = incidents.get(e.incident);
        if (inc && e.fingerprint) inc.representative = e.fingerprint;
      }
    }
  };
  for (const ev of order) {
    const a = alerts[ev.i]!;
    if (ev.kind === 'resolve') take(engine.resolve(a.fingerprint, ev.t));
    else {
      const r = engine.fire(a);
      take(r.events);
      direct[ev.i] = r.incident;
    }
  }
  const final = (id: string | null): string | null => {
    let x = id;
    for (let n = 0; x !== null && mergedInto.has(x) && n < 1_000_000; n++) x = mergedInto.get(x)!;
    return x;
  };
  const assignments = direct.map(final);
  for (const id of assignments) if (id !== null) incidents.get(id)!.alerts++;
  return { assignments, incidents: [...incidents.values()], events, counters: { ...engine.counters }, maxHops: engine.maxHops };
}
