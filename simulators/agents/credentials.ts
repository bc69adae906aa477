// Per-agent MQTT credentials. Central's embedded broker authenticates every agent on its own:
// username = agent id, password = the secret the agent received at enrollment
// (central/src/receivers/mqtt/embedded-broker.ts). One --username/--password pair for the whole
// fleet only fits brokers without per-agent accounts; a fleet enrolled in central needs one
// secret per agent: the library takes a function (agent id -> credentials), the command line a
// JSON file `{"<agent id>": "<secret>"}` (username = the agent id) or
// `{"<agent id>": {"username": "...", "password": "..."}}`.
//
// The function is called once per agent before anything connects (a missing or malformed entry
// is a BAD_OPTION naming the agent); its answers are used for every connection of the run.
import { readFile } from 'node:fs/promises';
import { VirtualAgentsError } from './config.js';

/** What one agent presents in its MQTT CONNECT. */
export interface AgentCredentials {
  username: string;
  password?: string;
}

/** Agent id -> its credentials; undefined when the agent has none (refused before connecting). */
export type CredentialsSource = (agentId: string) => AgentCredentials | undefined;

const OPTION = '--credentials-file';
const MAX_FIELD = 65_535;

function bad(message: string, cause?: unknown): VirtualAgentsError {
  return new VirtualAgentsError('BAD_OPTION', `${OPTION} ${message}`, { option: OPTION, ...(cause !== undefined ? { cause } : {}) });
}

/**
 * Checks one entry of a credentials map: a non-empty string (the password; username = agent
 * id) or {username, password?}. Returns undefined and the reason when it is not usable.
 */
export function checkCredentials(agentId: string, value: unknown): AgentCredentials | string {
  if (typeof value === 'string') {
    if (value === '' || value.length > MAX_FIELD) return `must map "${agentId}" to a non-empty secret of at most ${MAX_FIELD} characters`;
    return { username: agentId, password: value };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `must map "${agentId}" to a secret or {"username", "password"} (got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value})`;
  const { username, password, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) return `entry "${agentId}" has an unknown field "${extra[0]}" (known: username, password)`;
  if (typeof username !== 'string' || username === '' || username.length > MAX_FIELD) return `entry "${agentId}" needs a non-empty "username" string`;
  if (password !== undefined && (typeof password !== 'string' || password.length > MAX_FIELD)) return `entry "${agentId}" has a "password" that is not a string of at most ${MAX_FIELD} characters`;
  return password === undefined ? { username } : { username, password };
}

/** A credentials source over a parsed map (see the file header for the shapes). Throws BAD_OPTION on the first bad entry. */
export function credentialsFromMap(map: unknown): CredentialsSource {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw bad('must hold a JSON object {"<agent id>": "<secret>", ...}');
  const byId = new Map<string, AgentCredentials>();
  for (const [id, value] of Object.entries(map as Record<string, unknown>)) {
    const c = checkCredentials(id, value);
    if (typeof c === 'string') throw bad(c);
    byId.set(id, c);
  }
  return (agentId) => byId.get(agentId);
}

/** Reads a credentials file (JSON, see the file header). Throws BAD_OPTION naming --credentials-file. */
export async function loadCredentialsFile(path: string): Promise<CredentialsSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw bad(`cannot be read: ${(err as Error).message}`, err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON: ${(err as Error).message}`, err);
  }
  return credentialsFromMap(parsed);
}

/**
 * Asks `source` for every agent of the run (ids from agentIdOf) and checks each answer; throws
 * BAD_OPTION naming the first agent without usable credentials. Returns the map the links use.
 */
export function resolveFleetCredentials(source: CredentialsSource, agentIds: readonly string[]): Map<string, AgentCredentials> {
  const out = new Map<string, AgentCredentials>();
  for (const id of agentIds) {
    let c: unknown;
    try {
      c = source(id);
    } catch (err) {
      throw bad(`could not give credentials for agent "${id}": ${(err as Error).message}`, err);
    }
    if (c === undefined) throw bad(`has no credentials for agent "${id}" (every virtual agent needs an entry)`);
    const checked = typeof c === 'object' && c !== null && !Array.isArray(c) ? checkCredentials(id, c) : `must give {username, password} for "${id}" (got ${typeof c})`;
    if (typeof checked === 'string') throw bad(checked);
    out.set(id, checked);
  }
  return out;
}
