// Feature rows on the bus (`aiops.features`, ARCHITECTURE section 6): one record per
// series-window, keyed by the series (tenant and canonical label set), so that one series'
// windows keep their order on one partition and its detector state lives with one consumer.
// The value is a FeatureFrame of that one row: standalone dictionary scope (the record decodes
// on its own, whichever process reads it), the agent's id and frame sequence kept (the row's
// origin, for the store's per-agent bookkeeping and for tracing a resend), no compression of
// its own (Kafka compresses batches; a one-row payload gains nothing from the frame codec).
import { canonicalLabelKey, decodeFrame, encodeFrame, SchemaDecodeError } from '../../../shared-schemas/src/index.js';
import type { FeatureFrame, Labels } from '../../../shared-schemas/src/index.js';
import type { IngestedFrame } from '../component.js';
import type { BusMessage, BusRecord } from '../bus/index.js';

/** The bus key of a series: records of one series share a partition. */
export function featureRecordKey(tenant: string, labels: Labels): string {
  return `${tenant}|${canonicalLabelKey(labels)}`;
}

/** One record per row of the frame. */
export function featureRecords(frame: IngestedFrame): BusMessage[] {
  const out: BusMessage[] = new Array<BusMessage>(frame.rows.length);
  for (let i = 0; i < frame.rows.length; i++) {
    const r = frame.rows[i]!;
    const one: FeatureFrame = {
      agentId: frame.agentId,
      tenant: frame.tenant,
      sequence: frame.sequence,
      windowStartMs: frame.windowStartMs,
      windowEndMs: frame.windowEndMs,
      dictionaryScope: 'standalone',
      dictionaryEpoch: 0,
      seriesDefs: [{ id: 1, labels: r.labels }],
      rows: [{ ...r.row, seriesId: 1 }],
    };
    out[i] = { key: featureRecordKey(frame.tenant, r.labels), value: encodeFrame(one, { codec: { codec: 'none' } }) };
  }
  return out;
}

/** A decoded record: the frame of its one row, as the ingest handed it on. */
export type FeatureRecord = IngestedFrame & { rows: [IngestedFrame['rows'][number]] };

export class FeatureRecordError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FeatureRecordError';
  }
}

/**
 * Decodes one `aiops.features` record. Throws FeatureRecordError naming the record when it is
 * not one standalone one-row FeatureFrame whose key matches its series (a poison record).
 */
export function decodeFeatureRecord(record: Pick<BusRecord, 'id' | 'key' | 'value'>): FeatureRecord {
  let f: FeatureFrame;
  try {
    f = decodeFrame(record.value);
  } catch (err) {
    const what = err instanceof SchemaDecodeError ? err.message : String(err);
    throw new FeatureRecordError(`record ${record.id}: not a feature frame: ${what}`, { cause: err });
  }
  if (f.dictionaryScope !== 'standalone' || f.rows.length !== 1 || f.seriesDefs.length !== 1 || f.seriesDefs[0]!.id !== f.rows[0]!.seriesId) {
    throw new FeatureRecordError(`record ${record.id}: a feature record is a standalone frame of exactly one row and its series (got ${f.dictionaryScope}, ${f.rows.length} rows, ${f.seriesDefs.length} series)`);
  }
  const labels = f.seriesDefs[0]!.labels;
  const key = featureRecordKey(f.tenant, labels);
  if (key !== record.key) throw new FeatureRecordError(`record ${record.id}: key ${JSON.stringify(record.key.slice(0, 200))} is not its series' key ${JSON.stringify(key.slice(0, 200))}`);
  const { seriesId: _id, ...row } = f.rows[0]!;
  return { tenant: f.tenant, agentId: f.agentId, sequence: f.sequence, windowStartMs: f.windowStartMs, windowEndMs: f.windowEndMs, rows: [{ labels, row }] };
}
