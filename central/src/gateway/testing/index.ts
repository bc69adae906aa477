// Test helpers of the gateway: for the gateway's own tests and for components that register
// routes on it (their tests start a gateway on 127.0.0.1:0 with these).
export { MemoryApiKeyStore, secretOf } from './memory-api-key-store.js';
export { ManualClock } from './manual-clock.js';
export { captureLogs } from './log-capture.js';
export type { CapturedLogs } from './log-capture.js';
export { checkOpenApiDrift } from './openapi-drift.js';
export type { DriftCheckOptions } from './openapi-drift.js';
export { CountingKeyStore, startTestGateway } from './harness.js';
export type { TestGateway } from './harness.js';
