// Who is calling: every AgentIngest call is authenticated on its own (a stream, a heartbeat).
//
//   1. `authorization: Bearer <secret>` with `x-aiops-agent-id: <agentId>`: the credential issued
//      at enrollment, checked by AgentStore.verify (constant-time; unknown agent, wrong secret
//      and revoked agent are indistinguishable by design, so they share the reason `invalid`).
//      When present it decides alone, also on an mTLS connection (a fleet may share one client
//      certificate and tell agents apart by secret).
//   2. Otherwise, on a connection whose client certificate was verified against tls.ca_file
//      (require_client_cert), the certificate's CN names the agent. It must be an enrolled,
//      non-revoked agent: the store gives its tenant and honours revocation. An
//      x-aiops-agent-id beside it must equal the CN.
//   3. Otherwise the call is refused (`missing`).
//
// Refusals are UNAUTHENTICATED, except a failing store (UNAVAILABLE: a retry can help). Secrets
// never leave this module: outcomes carry the claimed agent id and a reason only.
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../../shared-schemas/src/runtime/index.js';
import type { AgentRecord, AgentStore } from '../../storage/types.js';

export const AGENT_ID_HEADER = 'x-aiops-agent-id';
export const AUTHORIZATION_HEADER = 'authorization';

/** Why a call was refused (the `reason` label of aiops_central_grpc_auth_failures_total). */
export type AuthFailureReason = 'missing' | 'malformed' | 'invalid' | 'unknown_certificate' | 'certificate_mismatch' | 'store_error';

export const AUTH_FAILURE_REASONS: readonly AuthFailureReason[] = ['missing', 'malformed', 'invalid', 'unknown_certificate', 'certificate_mismatch', 'store_error'];

export interface AuthenticatedAgent {
  agentId: string;
  tenant: string;
  via: 'secret' | 'certificate';
}

export type AuthOutcome =
  | { ok: true; agent: AuthenticatedAgent }
  | { ok: false; reason: AuthFailureReason; code: grpc.status; details: string; claimedAgent: string | undefined };

/** What grpc-js reports about a call's transport (its AuthContext, not exported by 1.14). */
export interface CallAuthContext {
  transportSecurityType?: string;
  /** Set only when the client certificate was verified. */
  sslPeerCertificate?: PeerCertificate;
}

const MAX_AGENT_ID = 128;
const MAX_SECRET = 512;
/** Certificate-authenticated agents are looked up in a snapshot of the store at most this old. */
const CERT_SNAPSHOT_MS = 5_000;
/** A CN missing from the snapshot refreshes it, at most this often. */
const CERT_MISS_REFRESH_MS = 1_000;

export class AgentAuthenticator {
  private snapshot: { at: number; byId: Map<string, AgentRecord> } | undefined;
  private refreshing: Promise<void> | undefined;
  /** Bumped by forget(): a snapshot read before a revocation is never installed after it. */
  private generation = 0;

  constructor(
    private readonly agents: AgentStore,
    private readonly clock: Clock,
  ) {}

  async authenticate(metadata: grpc.Metadata, auth: CallAuthContext): Promise<AuthOutcome> {
    const ids = metadata.get(AGENT_ID_HEADER);
    const authz = metadata.get(AUTHORIZATION_HEADER);
    const id0 = ids[0];
    const claimed = typeof id0 === 'string' ? id0.slice(0, MAX_AGENT_ID) : undefined;
    const refuse = (reason: AuthFailureReason, details: string, code = grpc.status.UNAUTHENTICATED): AuthOutcome => ({ ok: false, reason, code, details, claimedAgent: claimed });
    if (ids.length > 1 || authz.length > 1) return refuse('malformed', `send ${AGENT_ID_HEADER} and ${AUTHORIZATION_HEADER} once each`);
    if (ids.length === 1 && (typeof id0 !== 'string' || id0.length === 0 || id0.length > MAX_AGENT_ID)) {
      return refuse('malformed', `${AGENT_ID_HEADER} must be 1-${MAX_AGENT_ID} characters`);
    }
    const agentId = ids.length === 1 ? (id0 as string) : undefined;

    if (authz.length === 1) {
      const value = authz[0];
      const m = typeof value === 'string' && value.length <= MAX_SECRET + 7 ? /^Bearer +(\S+)$/i.exec(value) : null;
      if (m === null) return refuse('malformed', `${AUTHORIZATION_HEADER} must be "Bearer <agent secret>"`);
      if (agentId === undefined) return refuse('malformed', `${AGENT_ID_HEADER} is required with a bearer secret`);
      let record: AgentRecord | undefined;
      try {
        record = await this.agents.verify(agentId, m[1]!, this.clock.now());
      } catch {
        return refuse('store_error', 'central cannot check credentials right now; retry later', grpc.status.UNAVAILABLE);
      }
      if (record === undefined) return refuse('invalid', 'invalid agent credentials (unknown agent, wrong secret or revoked)');
      return { ok: true, agent: { agentId: record.agentId, tenant: record.tenant, via: 'secret' } };
    }

    const cn = certificateCommonName(auth);
    if (cn === undefined) {
      return refuse('missing', `missing credentials: send ${AGENT_ID_HEADER} and ${AUTHORIZATION_HEADER}: Bearer <agent secret>, or a client certificate`);
    }
    if (agentId !== undefined && agentId !== cn) return refuse('certificate_mismatch', `${AGENT_ID_HEADER} does not match the client certificate`);
    let record: AgentRecord | undefined;
    try {
      record = await this.byCertificate(cn);
    } catch {
      return refuse('store_error', 'central cannot check credentials right now; retry later', grpc.status.UNAVAILABLE);
    }
    if (record === undefined) {
      return { ok: false, reason: 'unknown_certificate', code: grpc.status.UNAUTHENTICATED, details: 'the client certificate names no enrolled, active agent', claimedAgent: cn.slice(0, MAX_AGENT_ID) };
    }
    return { ok: true, agent: { agentId: record.agentId, tenant: record.tenant, via: 'certificate' } };
  }

  /** Drops what is cached about an agent (called on revocation, before its streams are cut). */
  forget(agentId: string): void {
    this.generation++;
    this.snapshot?.byId.delete(agentId);
  }

  private async byCertificate(agentId: string): Promise<AgentRecord | undefined> {
    const now = this.clock.now();
    const s = this.snapshot;
    if (s === undefined || now - s.at >= CERT_SNAPSHOT_MS || (!s.byId.has(agentId) && now - s.at >= CERT_MISS_REFRESH_MS)) await this.refresh();
    const r = this.snapshot?.byId.get(agentId);
    return r !== undefined && r.revokedAtMs === 0 ? r : undefined;
  }

  // One listing per snapshot, shared by the certificate-authenticated calls until it ages out
  // (AgentStore.get would make each call a point read instead; the snapshot predates it).
  private refresh(): Promise<void> {
    if (this.refreshing !== undefined) return this.refreshing;
    const generation = this.generation;
    const at = this.clock.now();
    const run = this.agents
      .list()
      .then((all) => {
        if (generation !== this.generation) return;
        this.snapshot = { at, byId: new Map(all.map((r) => [r.agentId, r])) };
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    this.refreshing = run;
    return run;
  }
}

/** CN of the verified client certificate, when the connection has one. */
export function certificateCommonName(auth: CallAuthContext): string | undefined {
  if (auth.transportSecurityType !== 'ssl') return undefined;
  const cn = auth.sslPeerCertificate?.subject?.CN as string | string[] | undefined;
  const v = Array.isArray(cn) ? (cn.length === 1 ? cn[0] : undefined) : cn;
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_AGENT_ID ? v : undefined;
}
