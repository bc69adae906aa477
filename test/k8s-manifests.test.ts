// The Kubernetes deployment (deploy/k8s) without a cluster: every YAML document parses; every
// object passes the Kubernetes OpenAPI schema of its kind (kubernetes-models' validate());
// each kustomization lists files that exist and renders (resources + strategic-merge patches,
// the subset this layout uses) to objects that pass the same schemas and the rules below;
// central's ConfigMaps pass central's own config validation and the agent's its own.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parseAllDocuments, parse } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { CentralConfigError, resolveCentralConfig } from '../central/src/config/config.js';
import type { CentralRole } from '../central/src/config/config.js';
import { CentralService } from '../central/src/service/service.js';
import { resolveConfig as resolveAgentConfig } from '../edge-agent/src/config/config.js';
import { buildRegistry } from '../edge-agent/src/components.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const k8sDir = join(root, 'deploy', 'k8s');

type Obj = { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** One model class per apiVersion/kind this deployment uses; anything else is refused. */
const MODELS: Record<string, new (o: Any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Throws unless `o` is a known kind that passes its Kubernetes schema. */
function validateK8s(o: Obj): void {
  const key = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key} (add it to MODELS if it is meant to be here)`);
  new Model(o).validate();
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((e) => {
      const p = join(dir, e);
      return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(e) ? [p] : [];
    })
    .sort();
}

function readDocs(file: string): Obj[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const out: Obj[] = [];
  for (const d of docs) {
    assert.equal(d.errors.length, 0, `${relative(root, file)}: ${d.errors.map((e) => e.message).join('; ')}`);
    const v = d.toJS() as Obj | null;
    if (v !== null) out.push(v);
  }
  return out;
}

const isKustomization = (o: Obj) => typeof o.apiVersion === 'string' && o.apiVersion.startsWith('kustomize.config.k8s.io/');
interface Kustomization { resources?: string[]; patches?: Array<{ path?: string }> }

const files = yamlFiles(k8sDir);
const kustomizationFiles = files.filter((f) => /\/kustomization\.ya?ml$/.test(f));
/** Files used as patches: partial objects, checked once applied to what they patch. */
const patchFiles = new Set(
  kustomizationFiles.flatMap((k) => ((readDocs(k)[0] as Kustomization).patches ?? []).flatMap((p) => (p.path ? [resolve(dirname(k), p.path)] : []))),
);

/** Strategic merge as far as this layout needs it: maps merge, lists of named items merge by name, other lists replace. */
function merge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const named = (xs: unknown[]) => xs.every((x) => x !== null && typeof x === 'object' && typeof (x as { name?: unknown }).name === 'string');
    if (!named(base) || !named(patch)) return structuredClone(patch);
    const out = base.map((x) => structuredClone(x)) as Array<{ name: string }>;
    for (const p of patch as Array<{ name: string }>) {
      const i = out.findIndex((x) => x.name === p.name);
      if (i < 0) out.push(structuredClone(p));
      else out[i] = merge(out[i], p) as { name: string };
    }
    return out;
  }
  if (base && patch && typeof base === 'object' && typeof patch === 'object' && !Array.isArray(base) && !Array.isArray(patch)) {
    const out: Record<string, unknown> = structuredClone(base as Record<string, unknown>);
    for (const [k, v] of Object.entries(patch)) out[k] = k in out ? merge(out[k], v) : structuredClone(v);
    return out;
  }
  return structuredClone(patch);
}

const idOf = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** The objects `kubectl kustomize <dir>` would produce for this layout (no generators, no transformers). */
function render(dir: string): Obj[] {
  const k = readDocs(join(dir, 'kustomization.yaml'))[0] as Kustomization;
  const objs: Obj[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    objs.push(...(statSync(p).isDirectory() ? render(p) : readDocs(p)));
  }
  for (const { path } of k.patches ?? []) {
    for (const patch of readDocs(resolve(dir, path!))) {
      const i = objs.findIndex((o) => idOf(o) === idOf(patch));
      assert.ok(i >= 0, `${relative(root, resolve(dir, path!))}: patches ${idOf(patch)}, which ${relative(root, dir)} does not contain`);
      objs[i] = merge(objs[i], patch) as Obj;
    }
  }
  const ids = objs.map(idOf);
  assert.deepEqual(ids.filter((x, i) => ids.indexOf(x) !== i), [], `${relative(root, dir)}: duplicate objects`);
  return objs;
}

/** CPU in cores, memory in bytes, plain counts as numbers. */
function quantity(q: unknown): number {
  const m = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(String(q));
  assert.ok(m, `quantity ${String(q)}`);
  const f: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9 };
  return Number(m[1]) * (m[2] ? f[m[2]]! : 1);
}

interface Container { name: string; image?: string; readinessProbe?: Any; livenessProbe?: Any; resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> }; securityContext?: Any; ports?: Array<{ name?: string; containerPort: number }>; envFrom?: Any[]; env?: Any[] }
const podSpec = (o: Obj): Any => (o.spec as Any).template.spec;
const workloads = (objs: Obj[]) => objs.filter((o) => o.kind === 'Deployment' || o.kind === 'DaemonSet');

/** The rules every variant keeps (ARCHITECTURE 7: /healthz and /readyz; least privilege). */
function checkWorkloads(name: string, objs: Obj[]): void {
  const byKind = (kind: string) => objs.filter((o) => o.kind === kind);
  const names = (kind: string) => new Set(byKind(kind).map((o) => o.metadata!.name));
  assert.ok(workloads(objs).length > 0, `${name}: no workloads`);
  for (const w of workloads(objs)) {
    const at = `${name}: ${w.kind} ${w.metadata!.name}`;
    const pod = podSpec(w);
    const central = w.metadata!.labels?.['app.kubernetes.io/name'] === 'aiops-central';
    for (const c of pod.containers as Container[]) {
      assert.ok(c.readinessProbe, `${at}/${c.name}: readinessProbe`);
      assert.ok(c.livenessProbe, `${at}/${c.name}: livenessProbe`);
      if (central) {
        assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 8080 }, `${at}: readiness on /readyz:8080`);
        assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 8080 }, `${at}: liveness on /healthz:8080`);
        assert.deepEqual(c.envFrom?.[0], { configMapRef: { name: 'aiops-external' } }, `${at}: external endpoints from aiops-external`);
        // The pods that read or write the model registry (api: promote; detect: serve) share its bucket.
        const registryPod = /^aiops-central-(api|detect)/.test(String(w.metadata!.name));
        assert.deepEqual((c.envFrom ?? []).slice(1), registryPod ? [{ secretRef: { name: 'aiops-models-s3', optional: true } }] : [], `${at}: the registry bucket's credentials (optional Secret) exactly where the registry is used`);
      }
      const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
      assert.equal(nonRoot, true, `${at}/${c.name}: runAsNonRoot`);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${at}/${c.name}: readOnlyRootFilesystem`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${at}/${c.name}: allowPrivilegeEscalation false`);
      assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] }, `${at}/${c.name}: drop ALL capabilities, add none`);
    }
    for (const c of (pod.initContainers ?? []) as Container[]) {
      // The one justified exception: the agent's init container chowns its hostPath as root.
      if (c.securityContext?.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) assert.fail(`${at}/${c.name}: runAsNonRoot`);
      if (c.securityContext?.runAsUser === 0) assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'], add: ['CHOWN'] }, `${at}/${c.name}: root only with CHOWN`);
      else assert.deepEqual(c.securityContext?.capabilities, { drop: ['ALL'] }, `${at}/${c.name}: drop ALL`);
    }
    for (const c of [...pod.containers, ...(pod.initContainers ?? [])] as Container[]) {
      const { requests, limits } = c.resources ?? {};
      assert.ok(requests?.cpu !== undefined && requests.memory !== undefined, `${at}/${c.name}: cpu and memory requests`);
      assert.ok(limits?.cpu !== undefined && limits.memory !== undefined, `${at}/${c.name}: cpu and memory limits`);
      for (const r of Object.keys(requests!)) assert.ok(quantity(requests![r]) <= quantity(limits![r]), `${at}/${c.name}: ${r} request <= limit`);
    }
    // Everything a pod refers to is part of the same variant.
    for (const v of pod.volumes ?? []) {
      if (v.configMap) assert.ok(names('ConfigMap').has(v.configMap.name), `${at}: ConfigMap ${v.configMap.name}`);
      if (v.secret) assert.ok(names('Secret').has(v.secret.secretName), `${at}: Secret ${v.secret.secretName}`);
      if (v.persistentVolumeClaim) assert.ok(names('PersistentVolumeClaim').has(v.persistentVolumeClaim.claimName), `${at}: PVC ${v.persistentVolumeClaim.claimName}`);
    }
    for (const c of pod.containers as Container[]) {
      for (const e of c.envFrom ?? []) if (e.configMapRef) assert.ok(names('ConfigMap').has(e.configMapRef.name), `${at}: ConfigMap ${e.configMapRef.name}`);
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) assert.ok(names('Secret').has(e.valueFrom.secretKeyRef.name), `${at}: Secret ${e.valueFrom.secretKeyRef.name}`);
    }
  }
  const selects = (sel: Record<string, string>) =>
    workloads(objs).filter((w) => Object.entries(sel).every(([k, v]) => (w.spec as Any).template.metadata.labels?.[k] === v));
  for (const s of byKind('Service')) {
    const targets = selects((s.spec as Any).selector);
    assert.equal(targets.length, 1, `${name}: Service ${s.metadata!.name} selects one workload`);
    const ports = (podSpec(targets[0]!).containers as Container[]).flatMap((c) => c.ports ?? []);
    for (const p of (s.spec as Any).ports) assert.ok(ports.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `${name}: Service ${s.metadata!.name} port ${p.name}`);
  }
  for (const p of byKind('PodDisruptionBudget')) assert.equal(selects((p.spec as Any).selector.matchLabels).length, 1, `${name}: PDB ${p.metadata!.name} selects one workload`);
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const t = (h.spec as Any).scaleTargetRef;
    const dep = byKind('Deployment').find((d) => d.metadata!.name === t.name);
    assert.ok(dep && t.kind === 'Deployment', `${name}: HPA ${h.metadata!.name} targets a Deployment of this variant`);
    assert.ok((h.spec as Any).minReplicas <= (h.spec as Any).maxReplicas, `${name}: HPA ${h.metadata!.name} min <= max`);
  }
}

const centralConfigs = (objs: Obj[]) =>
  objs
    .filter((o) => o.kind === 'ConfigMap' && o.metadata!.name!.startsWith('aiops-central-'))
    .map((o) => ({ name: o.metadata!.name!, doc: parse((o.data as Record<string, string>)['central.yaml']!) as unknown }));
const externalEnv = (objs: Obj[]) => (objs.find((o) => o.kind === 'ConfigMap' && o.metadata!.name === 'aiops-external')!.data as Record<string, string>);

describe('deploy/k8s manifests', () => {
  it('finds the layout', () => {
    for (const d of ['common', 'base', 'overlays/small', 'overlays/single']) assert.ok(existsSync(join(k8sDir, d, 'kustomization.yaml')), d);
  });

  for (const file of files) {
    const rel = relative(root, file);
    it(`${rel}: every document parses and ${patchFiles.has(file) ? 'patches an object (checked when rendered)' : 'passes its Kubernetes schema'}`, () => {
      const docs = readDocs(file);
      assert.ok(docs.length > 0, 'no documents');
      for (const o of docs) {
        if (isKustomization(o)) {
          assert.equal(o.kind, 'Kustomization');
          const k = o as Kustomization;
          for (const r of k.resources ?? []) assert.ok(existsSync(resolve(dirname(file), r)), `${rel}: resource ${r} does not exist`);
          for (const p of k.patches ?? []) assert.ok(p.path && existsSync(resolve(dirname(file), p.path)), `${rel}: patch ${p.path} does not exist`);
        } else if (patchFiles.has(file)) {
          assert.ok(o.kind && o.metadata?.name, `${rel}: a patch names its target`);
        } else {
          assert.doesNotThrow(() => validateK8s(o), `${rel}: ${idOf(o)}`);
          assert.equal(o.metadata?.namespace ?? (o.kind === 'Namespace' ? undefined : 'missing'), o.kind === 'Namespace' ? undefined : 'aiops', `${rel}: ${idOf(o)} namespace`);
        }
      }
    });
  }

  it('the schema check refuses broken objects (it can fail)', () => {
    const good = readDocs(join(k8sDir, 'base', 'central-detect.yaml')).find((o) => o.kind === 'Deployment')!;
    assert.doesNotThrow(() => validateK8s(good));
    const broken: Array<[string, Obj]> = [
      ['replicas "two"', merge(good, { spec: { replicas: 'two' } }) as Obj],
      ['a cpu limit that is no quantity', merge(good, { spec: { template: { spec: { containers: [{ name: 'central', resources: { limits: { cpu: 'lots' } } }] } } } }) as Obj],
      ['no selector', (() => { const o = structuredClone(good) as Any; delete o.spec.selector; return o as Obj; })()],
      ['a probe port that is a list', merge(good, { spec: { template: { spec: { containers: [{ name: 'central', readinessProbe: { httpGet: { path: '/readyz', port: [8080] } } }] } } } }) as Obj],
    ];
    for (const [what, o] of broken) assert.throws(() => validateK8s(o), /must be|must have required property/, what);
    assert.throws(() => validateK8s({ ...good, apiVersion: 'apps/v1beta1' }), /no schema for apps\/v1beta1\/Deployment/);
  });

  const variants = ['base', 'overlays/small', 'overlays/single'];
  for (const v of variants) {
    it(`${v}: renders to valid objects with probes, resources and least privilege`, () => {
      const objs = render(join(k8sDir, v));
      for (const o of objs) assert.doesNotThrow(() => validateK8s(o), `${v}: ${idOf(o)}`);
      checkWorkloads(v, objs);
      assert.ok(objs.some((o) => o.kind === 'DaemonSet' && o.metadata!.name === 'aiops-agent'), `${v}: agent DaemonSet`);
    });

    it(`${v}: central's ConfigMaps pass central's config validation (with aiops-external in the environment)`, () => {
      const objs = render(join(k8sDir, v));
      const env = externalEnv(objs);
      // Central maps AIOPS_CENTRAL__* variables onto config keys: the references must not collide.
      for (const k of Object.keys(env)) assert.ok(!k.startsWith('AIOPS_CENTRAL__'), `aiops-external ${k}`);
      const cfgs = centralConfigs(objs);
      assert.ok(cfgs.length > 0);
      for (const { name, doc } of cfgs) {
        const cfg = resolveCentralConfig(doc, env);
        assert.equal(cfg.api.listen, '0.0.0.0:8080', `${name}: the probes reach the gateway`);
        const dep = workloads(objs).find((w) => (podSpec(w).volumes as Any[]).some((vol) => vol.configMap?.name === name));
        assert.ok(dep, `${name} is mounted by a workload`);
      }
    });
  }

  it('overlays/single is the working variant today: one `all` replica that central accepts', () => {
    const objs = render(join(k8sDir, 'overlays', 'single'));
    const deps = objs.filter((o) => o.kind === 'Deployment');
    assert.equal(deps.length, 1);
    assert.equal((deps[0]!.spec as Any).replicas, 1);
    assert.equal((deps[0]!.spec as Any).strategy.type, 'Recreate');
    const [cfg] = centralConfigs(objs);
    const resolved = resolveCentralConfig(cfg!.doc, externalEnv(objs));
    assert.deepEqual(resolved.role, ['all']);
    assert.doesNotThrow(() => CentralService.checkRoles(resolved.role));
    assert.equal(objs.filter((o) => o.kind === 'HorizontalPodAutoscaler').length, 0, 'SQLite: one writer, no autoscaling');
  });

  it('base: the split roles are schema-valid and joined by the Kafka bus, which central accepts', () => {
    const objs = render(join(k8sDir, 'base'));
    const cfgs = new Map(centralConfigs(objs).map(({ name, doc }) => [name, resolveCentralConfig(doc, {})]));
    assert.deepEqual([...cfgs].map(([n, c]) => [n, c.role]).sort(), [
      ['aiops-central-api', ['api']],
      ['aiops-central-detect', ['detect']],
      ['aiops-central-detect-tier3', ['detect']],
      ['aiops-central-ingest', ['ingest']],
    ]);
    for (const [name, c] of cfgs) {
      assert.doesNotThrow(() => CentralService.checkRoles(c.role, c.bus.kind), name);
      if (name !== 'aiops-central-api') {
        assert.equal(c.bus.kind, 'kafka', `${name} joins the other roles through Kafka`);
        assert.ok(c.bus.partitions >= 10, `${name}: enough partitions for the detect replicas`);
      }
    }
    // Without the bus, central refuses the split (so the check above can fail).
    for (const r of ['ingest', 'detect'] as const) {
      assert.throws(() => CentralService.checkRoles([r], 'in-process'), (e: unknown) => e instanceof CentralConfigError && /Kafka bus/.test(e.message));
    }
  });

  it('base follows the ARCHITECTURE section 8 sizing; overlays/small scales it down', () => {
    const spec = (objs: Obj[], name: string) => {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata!.name === name)!;
      const c = podSpec(d).containers[0] as Container;
      return { replicas: (d.spec as Any).replicas as number, ...c.resources };
    };
    const base = render(join(k8sDir, 'base'));
    const Gi = (n: number) => `${n}Gi`;
    const row = (replicas: number, cpu: [string, string], mem: [number, number], gpu?: number) => ({
      replicas,
      requests: { cpu: cpu[0], memory: Gi(mem[0]), ...(gpu ? { 'nvidia.com/gpu': gpu } : {}) },
      limits: { cpu: cpu[1], memory: Gi(mem[1]), ...(gpu ? { 'nvidia.com/gpu': gpu } : {}) },
    });
    assert.deepEqual(spec(base, 'aiops-central-ingest'), row(10, ['2', '4'], [4, 8]), 'telemetry ingest');
    assert.deepEqual(spec(base, 'aiops-central-detect'), row(10, ['4', '8'], [8, 16]), 'detection tier 2');
    assert.deepEqual(spec(base, 'aiops-central-detect-tier3'), row(10, ['4', '8'], [16, 32], 1), 'detection tier 3');
    const small = render(join(k8sDir, 'overlays', 'small'));
    for (const d of base.filter((o) => o.kind === 'Deployment')) {
      const b = spec(base, d.metadata!.name!);
      const s = spec(small, d.metadata!.name!);
      assert.ok(s.replicas < b.replicas, `${d.metadata!.name}: fewer replicas`);
      for (const r of ['cpu', 'memory']) assert.ok(quantity(s.requests![r]) <= quantity(b.requests![r]), `${d.metadata!.name}: ${r} not above base`);
    }
    const hpas = base.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((h) => (h.spec as Any).scaleTargetRef.name).sort();
    assert.deepEqual(hpas, ['aiops-central-detect', 'aiops-central-ingest']);
  });

  it('Secrets are templates: placeholders only, never real values', () => {
    const secrets = files.flatMap(readDocs).filter((o) => o.kind === 'Secret');
    assert.ok(secrets.length >= 3);
    for (const s of secrets) {
      assert.equal(s.data, undefined, `${s.metadata!.name}: stringData placeholders only, no data`);
      for (const [k, v] of Object.entries(s.stringData as Record<string, string>)) assert.ok(v === '' || v.startsWith('REPLACE_ME'), `${s.metadata!.name}.${k} is a placeholder`);
    }
  });

  it("the agent's ConfigMap passes the agent's config validation", () => {
    const cm = readDocs(join(k8sDir, 'common', 'agent.yaml')).find((o) => o.kind === 'ConfigMap')!;
    const doc = parse((cm.data as Record<string, string>)['agent.yaml']!) as unknown;
    const cfg = resolveAgentConfig(doc, buildRegistry(), { NODE_NAME: 'node-1' });
    assert.equal(cfg.agent.id, 'node-1');
    // Without NODE_NAME (the downward API) the config is refused, not silently defaulted.
    assert.throws(() => resolveAgentConfig(doc, buildRegistry(), {}), /NODE_NAME/);
    const ds = readDocs(join(k8sDir, 'common', 'agent.yaml')).find((o) => o.kind === 'DaemonSet')!;
    const pod = podSpec(ds);
    assert.equal(pod.hostPID, true);
    const agent = (pod.containers as Container[])[0]!;
    assert.ok((agent.env ?? []).some((e: Any) => e.name === 'AIOPS_ENROLLMENT_TOKEN' && e.valueFrom?.secretKeyRef?.name === 'aiops-agent-enrollment'));
    assert.ok((agent as Any).volumeMounts.some((m: Any) => m.mountPath === '/host/proc' && m.readOnly === true));
  });
});
