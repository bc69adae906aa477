// The config-file mechanics the agent and central share (CONVENTIONS 7): YAML text with the
// syntax error located, environment overrides for keys the file leaves out, and zod issues
// turned into `path message (got value)` lines that never echo a secret-named key's value (nor
// does --print-config: hideSecrets).
import { parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';

export interface ConfigIssue {
  path: string;
  message: string;
}

/** Keys whose values are never echoed in errors (passwords, tokens, private keys...). */
export const SECRET_KEY_RE = /pass(word)?|secret|token|private|credential|api_?key|authorization/i;

/**
 * A config value as plain data to print, with the value of every key matching `secretKey` (at
 * any depth, unless empty) replaced by "[redacted]".
 */
export function hideSecrets(v: unknown, secretKey: RegExp = SECRET_KEY_RE, key = ''): unknown {
  if (secretKey.test(key) && v !== undefined && v !== null && v !== '') return '[redacted]';
  if (Array.isArray(v)) return v.map((x) => hideSecrets(x, secretKey));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hideSecrets(x, secretKey, k)]));
  return v;
}

/** A value as config errors show it: JSON, cut at 80 characters. */
export function showConfigValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** zod issues as config issues under `prefix`, values of secret-named keys hidden. */
export function configIssues(error: z.ZodError, prefix: string): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
    let message = i.message;
    if (i.code === 'unrecognized_keys') message = `has unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    const secret = i.path.some((k) => SECRET_KEY_RE.test(String(k)));
    const got = 'input' in i && i.code !== 'unrecognized_keys' ? (secret ? ' (value hidden: secret)' : ` (got ${showConfigValue(i.input)})`) : '';
    return { path: path || '(root)', message: `${message}${got}` };
  });
}

/** YAML text as a plain value, or the first syntax error with `source:line:col`. */
export function parseYamlConfig(text: string, source: string): { value: unknown } | { problem: string } {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    return { problem: `${source}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}` };
  }
  return { value: doc.toJS() ?? {} };
}

/**
 * `<PREFIX>A__B=v` sets a.b (lower-cased) where the document left it unset; values are read as
 * YAML scalars. Names with fewer than `minDepth` parts are ignored. Changes `raw` in place.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, prefix: string, minDepth = 2): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(prefix) || value === undefined) continue;
    const parts = name.slice(prefix.length).split('__').map((p) => p.toLowerCase());
    if (parts.length < minDepth || parts.some((p) => p === '')) continue;
    let node: Record<string, unknown> = raw;
    for (const p of parts.slice(0, -1)) {
      const next = node[p];
      if (next === undefined || next === null) node[p] = {};
      else if (typeof next !== 'object') break;
      node = node[p] as Record<string, unknown>;
    }
    const leaf = parts[parts.length - 1]!;
    if (node[leaf] === undefined) {
      let parsed: unknown = value;
      try {
        parsed = parseYaml(value);
      } catch {
        parsed = value;
      }
      node[leaf] = parsed;
    }
  }
}
