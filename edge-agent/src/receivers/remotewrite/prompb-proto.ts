// The subset of Prometheus's remote-write 1.0 schema this receiver reads, written from the
// public specification (prometheus/prompb types.proto and remote.proto, "Remote-Write
// Specification" 1.0). Field numbers are Prometheus's; a real Prometheus is the proof
// (prometheus.test.ts). Exemplars (TimeSeries.exemplars = 3) and native histograms
// (TimeSeries.histograms = 4) are not materialised: decode.ts counts them on the wire and skips
// them. Embedded as text so nothing is read from disk at run time (single-binary agent).
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';

export const PROMPB_PROTO = `
syntax = "proto3";
package prometheus;

message WriteRequest {
  repeated TimeSeries timeseries = 1;
  reserved 2;
  repeated MetricMetadata metadata = 3;
}

message MetricMetadata {
  enum MetricType {
    UNKNOWN = 0;
    COUNTER = 1;
    GAUGE = 2;
    HISTOGRAM = 3;
    GAUGEHISTOGRAM = 4;
    SUMMARY = 5;
    INFO = 6;
    STATESET = 7;
  }
  MetricType type = 1;
  string metric_family_name = 2;
  string help = 4;
  string unit = 5;
}

message Sample {
  double value = 1;
  int64 timestamp = 2;
}

message TimeSeries {
  repeated Label labels = 1;
  repeated Sample samples = 2;
  // 3: repeated Exemplar exemplars; 4: repeated Histogram histograms (counted, skipped)
}

message Label {
  string name = 1;
  string value = 2;
}
`;

export interface PrompbTypes {
  writeRequest: Type;
  timeSeries: Type;
  metadata: Type;
}

// Parsed once, lazily: an immutable derivative of the constant above.
let types: PrompbTypes | undefined;

export function prompbTypes(): PrompbTypes {
  if (types !== undefined) return types;
  const { root } = protobuf.parse(PROMPB_PROTO, { keepCase: false });
  root.resolveAll();
  types = {
    writeRequest: root.lookupType('prometheus.WriteRequest'),
    timeSeries: root.lookupType('prometheus.TimeSeries'),
    metadata: root.lookupType('prometheus.MetricMetadata'),
  };
  return types;
}

/** MetricMetadata.MetricType values. */
export const MetricType = {
  UNKNOWN: 0,
  COUNTER: 1,
  GAUGE: 2,
  HISTOGRAM: 3,
  GAUGEHISTOGRAM: 4,
  SUMMARY: 5,
  INFO: 6,
  STATESET: 7,
} as const;
