// Public surface of agent enrollment: the `agent.enrollment` config section and
// ensureCredentials(), which main runs before the service is built.
export { DEFAULT_CREDENTIALS_FILE_NAME, ENROLLMENT_TOKEN_ENV, enrollmentConfigSchema, resolveEnrollmentConfig } from './config.js';
export type { EnrollmentConfig, EnrollmentSection, EnrollmentSectionInput } from './config.js';
export { checkEnrollment, ENROLL_PATH, ensureCredentials, isLoopbackUrl, readCredentialsFile, reconcileIdentity, writeCredentialsFile } from './enroll.js';
export type { AgentCredentials, ConfiguredIdentity, EnsureCredentialsOptions, EnsuredCredentials } from './enroll.js';
export { EnrollmentError } from './errors.js';
export type { EnrollmentErrorCode } from './errors.js';
