// The agent's version: injected by the single-executable build (esbuild `define`), read from the
// root package.json in a source checkout.
import { readFileSync } from 'node:fs';

declare const __AIOPS_AGENT_VERSION__: string | undefined;

export function agentVersion(): string {
  if (typeof __AIOPS_AGENT_VERSION__ === 'string') return __AIOPS_AGENT_VERSION__;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0-dev';
  } catch {
    return '0.0.0-dev';
  }
}
