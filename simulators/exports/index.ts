// Public surface of the simulator exporters: NAB corpora (data, windows, profiles), RCAEval
// cases (data.csv, inject_time.txt, ground truth), the wide metrics CSV, and the run's JSON
// documents. All writers are deterministic.
export { exportOptionsSchema, nabExportSchema, rcaevalExportSchema, validateExportOptions } from './config.js';
export type { ExportOptions, ExportOptionsInput, NabExportOptions, RcaevalExportOptions } from './config.js';
export { writeChangesJson, writeGroundTruthJson, writeTopologyJson } from './documents.js';
export { ExportError } from './errors.js';
export type { ExportErrorCode } from './errors.js';
export { VALUE_DIGITS, formatNabLabelTimestamp, formatNabTimestamp, formatUnixSeconds, formatValue, jsonText, safeName, writeText } from './format.js';
export { formatMetricsCsv, metricsColumn, parseMetricsCsv, writeMetricsCsv } from './metrics-csv.js';
export { NAB_PROFILES, writeNabCorpus } from './nab.js';
export type { NabExportResult, NabFile } from './nab.js';
export { RCAEVAL_FAULT_NAME, RCAEVAL_HOST_METRIC, RCAEVAL_SERVICE_METRIC, rcaevalColumn, writeRcaevalCases } from './rcaeval.js';
export type { RcaevalCase, RcaevalColumn, RcaevalExportResult } from './rcaeval.js';
