// Shared contract suites of the storage interfaces (CONVENTIONS 6): every implementation of
// an interface (the embedded SQLite one, a future TSDB, PostgreSQL or Kafka-backed one) runs
// the same suite from its own test file. Test-only: not part of the runtime surface.
export { rejection, TestClock } from './clock.js';
export { runMetricStoreContract } from './metric-store-contract.js';
export type { MetricStoreContractContext, MetricStoreFactory } from './metric-store-contract.js';
export { runAlertStoreContract, runIncidentStoreContract } from './alert-incident-contract.js';
export type { ContractSubject, SubjectFactory } from './alert-incident-contract.js';
export { runAgentStoreContract, runApiKeyStoreContract, runAuditLogContract } from './security-contract.js';
