// The topic contract of ARCHITECTURE section 6: `<prefix>/<tenant>/agents/<agentId>/<kind>`.
// Agents publish `features`, `alerts`, `logs` and `heartbeat` under their own id; central
// publishes the retained `config`, which only that agent may read.

/** What an agent may publish. */
export const AGENT_KINDS = ['features', 'alerts', 'logs', 'heartbeat'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

const KIND_SET = new Set<string>(AGENT_KINDS);
/** Agent ids as the AgentStore accepts them. */
const AGENT_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
/** Tenants as central's config and stores accept them. */
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export function isAgentId(s: string): boolean {
  return AGENT_ID_RE.test(s);
}

export function isTenant(s: string): boolean {
  return TENANT_RE.test(s);
}

export interface AgentTopics {
  /** `<prefix>/<tenant>/agents/<agentId>/`: everything the agent may publish starts with it. */
  base: string;
  config: string;
}

export function agentTopics(prefix: string, tenant: string, agentId: string): AgentTopics {
  const base = `${prefix}/${tenant}/agents/${agentId}/`;
  return { base, config: `${base}config` };
}

/** The kind an agent publishes on `topic`, or undefined when the topic is not one of its own. */
export function ownKind(topics: AgentTopics, topic: string): AgentKind | undefined {
  if (!topic.startsWith(topics.base)) return undefined;
  const kind = topic.slice(topics.base.length);
  return KIND_SET.has(kind) ? (kind as AgentKind) : undefined;
}

export interface ParsedTopic {
  tenant: string;
  agentId: string;
  kind: AgentKind;
}

/** Parses a topic received from an external broker; undefined when it is not an agent topic. */
export function parseAgentTopic(prefix: string, topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const parts = topic.slice(prefix.length + 1).split('/');
  if (parts.length !== 4 || parts[1] !== 'agents') return undefined;
  const [tenant, , agentId, kind] = parts as [string, string, string, string];
  if (!isTenant(tenant) || !isAgentId(agentId) || !KIND_SET.has(kind)) return undefined;
  return { tenant, agentId, kind: kind as AgentKind };
}

/** Subscriptions central holds on an external broker (one level wildcard for tenant and agent). */
export function externalSubscriptions(prefix: string, kinds: readonly AgentKind[]): string[] {
  return kinds.map((k) => `${prefix}/+/agents/+/${k}`);
}
