// Public surface of central's alert receivers (ingest bodies: Alertmanager webhook v4, generic JSON).
export { AlertIngestError, DEFAULT_ALERT_INGEST_LIMITS, parseAlertBody } from './parse.js';
export type { AlertBodyFormat, AlertIngestLimits, ParseContext } from './parse.js';
