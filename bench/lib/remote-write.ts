// Bytes that Prometheus remote-write 1.0 (protobuf WriteRequest + snappy block) needs for a
// stream of samples: the peer of the agent's feature frames in the wire benchmark. Requests are
// cut the way Prometheus' queue manager cuts them: samples in arrival order, at most
// `maxSamplesPerSend` per request, each request carrying every series it touches with its full
// label set.
import snappy from 'snappy';
import { prompbTypes } from '../../edge-agent/src/receivers/remotewrite/index.js';

export interface RwSeries {
  labels: Array<{ name: string; value: string }>;
}

/**
 * `samplesAt(t)` gives, for second t, the value of every series (index = series number).
 * Returns total bytes on the wire (compressed request bodies) and the number of requests.
 */
export function remoteWriteBytes(series: RwSeries[], seconds: number, samplesAt: (t: number) => Float64Array, maxSamplesPerSend: number, t0Ms: number): { bytes: number; requests: number; samples: number } {
  const { writeRequest } = prompbTypes();
  let bytes = 0;
  let requests = 0;
  let samples = 0;
  let batch = new Map<number, Array<{ value: number; timestamp: number }>>();
  let inBatch = 0;
  const flush = (): void => {
    if (inBatch === 0) return;
    const timeseries = [...batch.entries()].map(([i, s]) => ({ labels: series[i]!.labels, samples: s }));
    const body = writeRequest.encode(writeRequest.create({ timeseries })).finish();
    bytes += snappy.compressSync(Buffer.from(body)).length;
    requests++;
    batch = new Map();
    inBatch = 0;
  };
  for (let t = 0; t < seconds; t++) {
    const v = samplesAt(t);
    for (let i = 0; i < series.length; i++) {
      let list = batch.get(i);
      if (!list) {
        list = [];
        batch.set(i, list);
      }
      list.push({ value: v[i]!, timestamp: t0Ms + t * 1000 });
      inBatch++;
      samples++;
      if (inBatch >= maxSamplesPerSend) flush();
    }
  }
  flush();
  return { bytes, requests, samples };
}
