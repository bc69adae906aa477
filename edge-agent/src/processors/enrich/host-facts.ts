// Facts about the host the agent runs on. Read once at start; the readers are injectable so
// tests do not depend on the machine.
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, hostname, release, type } from 'node:os';

export interface HostFacts {
  host: string;
  os: string;
  kernel: string;
  machine_id: string;
  cpus: string;
  arch: string;
  /** From the Kubernetes downward API, when set. */
  k8s: { namespace?: string; pod?: string; node?: string };
}

export interface HostFactSources {
  env: NodeJS.ProcessEnv;
  readText(path: string): string | undefined;
  hostname(): string;
}

export const systemSources: HostFactSources = {
  env: process.env,
  readText: (p) => {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return undefined;
    }
  },
  hostname: () => hostname(),
};

function osRelease(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const m = /^PRETTY_NAME=(?:"([^"]*)"|(.*))$/m.exec(text);
  return (m?.[1] ?? m?.[2])?.trim() || undefined;
}

export function collectHostFacts(src: HostFactSources = systemSources): HostFacts {
  const env = src.env;
  const first = (...names: string[]): string | undefined => {
    for (const n of names) if (env[n]) return env[n];
    return undefined;
  };
  const k8s: HostFacts['k8s'] = {};
  const ns = first('K8S_NAMESPACE', 'POD_NAMESPACE', 'KUBERNETES_NAMESPACE');
  const pod = first('K8S_POD_NAME', 'POD_NAME');
  const node = first('K8S_NODE_NAME', 'NODE_NAME');
  if (ns) k8s.namespace = ns;
  if (pod) k8s.pod = pod;
  if (node) k8s.node = node;
  return {
    host: src.hostname(),
    os: osRelease(src.readText('/etc/os-release')) ?? `${type()}`,
    kernel: release(),
    machine_id: (src.readText('/etc/machine-id') ?? src.readText('/var/lib/dbus/machine-id') ?? '').trim(),
    cpus: String(availableParallelism()),
    arch: arch(),
    k8s,
  };
}
