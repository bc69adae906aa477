// Per-agent configuration pushed by central (ARCHITECTURE section 6: retained on
// `aiops/v1/<tenant>/agents/<id>/config`): PUT stores the document (versioned, audited) and
// publishes it retained, so the agent gets it now if connected, else when it next subscribes;
// central re-publishes every stored document at start (the embedded broker keeps retained
// messages in memory only).
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import type { AgentStore, ConfigStore } from '../storage/index.js';
import { AGENT_ID_PATTERN } from './agents.js';
import { ERR, storageToApi } from './common.js';

export interface AgentConfigDeps {
  agents: AgentStore;
  configs: ConfigStore;
  /** Publishes the bytes retained to the agent; undefined when no MQTT ingest runs. */
  push?: (tenant: string, agentId: string, payload: Uint8Array) => Promise<void>;
  /** Largest document, bytes of JSON. Default 64 KiB. */
  maxBytes?: number;
}

/** ConfigStore names are short lower-case identifiers: one per agent, from its id's hash. */
export function agentConfigName(agentId: string): string {
  return `agent.${createHash('sha256').update(agentId).digest('hex').slice(0, 40)}`;
}

const Out = z.object({ agent_id: z.string(), version: z.number().int(), updated_at: z.string().nullable(), pushed: z.boolean(), config: z.unknown() });

/** Re-publishes every stored agent config (central start). Returns how many were pushed. */
export async function republishAgentConfigs(deps: Required<Pick<AgentConfigDeps, 'agents' | 'configs' | 'push'>>): Promise<number> {
  let n = 0;
  for (const a of await deps.agents.list()) {
    if (a.revokedAtMs > 0) continue;
    const doc = await deps.configs.get(a.tenant, agentConfigName(a.agentId));
    if (doc === undefined) continue;
    await deps.push(a.tenant, a.agentId, Buffer.from(JSON.stringify((doc.body as { config: unknown }).config)));
    n++;
  }
  return n;
}

export function registerAgentConfigRoutes(gateway: Gateway, deps: AgentConfigDeps): void {
  const maxBytes = deps.maxBytes ?? 64 * 1024;
  const params = z.object({ id: z.string().regex(AGENT_ID_PATTERN, 'must be an agent id') });
  const agentOf = async (id: string) => {
    const a = await deps.agents.get(id);
    if (a === undefined) throw new ApiError(404, 'not_found', `no agent ${JSON.stringify(id)} (see GET /api/v1/agents)`);
    return a;
  };

  gateway.route({
    method: 'PUT',
    path: '/api/v1/agents/{id}/config',
    scope: 'admin',
    summary: "Set an agent's configuration document; pushed to it retained over MQTT",
    tags: ['agents'],
    params,
    body: z.record(z.string(), z.unknown()),
    audit: { action: 'agent.config.put' },
    responses: { 200: { description: 'Stored (and pushed when the MQTT ingest runs)', body: Out }, 400: ERR[400], 404: ERR[404], 409: ERR[409], 413: ERR[413], 503: ERR[503] },
    handler: async (ctx) => {
      const a = await agentOf(ctx.params.id);
      if (a.revokedAtMs > 0) throw new ApiError(409, 'conflict', `agent ${ctx.params.id} is revoked`);
      const bytes = Buffer.from(JSON.stringify(ctx.body));
      if (bytes.length > maxBytes) throw new ApiError(413, 'payload_too_large', `config document of ${bytes.length} bytes exceeds ${maxBytes}`);
      let stored;
      try {
        stored = await deps.configs.put({ tenant: a.tenant, name: agentConfigName(a.agentId), body: { agent_id: a.agentId, config: ctx.body }, updatedBy: ctx.principal?.keyId ?? 'unknown' }, ctx.nowMs);
      } catch (err) {
        return storageToApi(err);
      }
      let pushed = false;
      if (deps.push) {
        try {
          await deps.push(a.tenant, a.agentId, bytes);
          pushed = true;
        } catch (err) {
          ctx.log.warn({ agent: a.agentId, err: (err as Error).message }, 'agent config stored but not pushed (it is re-published at the next start)');
        }
      }
      return { status: 200, body: { agent_id: a.agentId, version: stored.version, updated_at: new Date(stored.updatedAtMs).toISOString(), pushed, config: ctx.body } };
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/agents/{id}/config',
    scope: 'read',
    summary: "An agent's configuration document (version 0 and null when none was set)",
    tags: ['agents'],
    params,
    responses: { 200: { description: 'The document', body: Out }, 404: ERR[404], 503: ERR[503] },
    handler: async (ctx) => {
      const a = await agentOf(ctx.params.id);
      try {
        const d = await deps.configs.get(a.tenant, agentConfigName(a.agentId));
        return { status: 200, body: { agent_id: a.agentId, version: d?.version ?? 0, updated_at: d ? new Date(d.updatedAtMs).toISOString() : null, pushed: false, config: d ? (d.body as { config: unknown }).config : null } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
