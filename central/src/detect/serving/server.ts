// Tier-2/3 model serving (issue #7, Deliver 4-6): keeps an ONNX session (and its Batcher) for
// each model a tier serves - production, canary, shadows - as the registry says, and reloads
// when a stage changes (hot reload: the registry's revision is checked every reload_interval;
// new sessions are opened before the old ones are drained and released, so scoring never
// stops). A tier with no production model serves its built-in model (version 0: the default
// parameters, untrained), so detection works from the first start. The multivariate tier has no
// built-in model (it is learnt from each service's own metrics): it serves nothing until a
// trained bundle is promoted.
//
// Reported: the log line at each load, `aiops_central_model_serving{tier,stage,version} 1` for
// what serves now, reload counts and failures; `status()` for the API.
import { createHash } from 'node:crypto';
import type { BoundCounter } from '../../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings, Component } from '../../component.js';
import { AGILE_DEFAULTS, agileGraph, checkAgileParams } from '../agile/index.js';
import type { AgileParams } from '../agile/index.js';
import { encodeOnnxModel, OnnxRuntime } from '../onnx/index.js';
import { checkRobustParams, ROBUST_DEFAULTS, robustGraph } from '../robust/index.js';
import type { RobustParams } from '../robust/index.js';
import { bundleWidth, checkMultivariateBundle, MULTIVARIATE_OUTPUTS } from '../multivariate/index.js';
import type { MultivariateBundle } from '../multivariate/index.js';
import { MODEL_TIERS } from '../registry/index.js';
import type { ModelRegistry, ModelTier } from '../registry/index.js';
import { Batcher } from './batcher.js';
import type { ModelsConfig } from './config.js';

type Session = Awaited<ReturnType<OnnxRuntime['session']>>;
export type ServingStage = 'production' | 'canary' | 'shadow';

export interface LoadedModel {
  tier: ModelTier;
  version: number;
  stage: ServingStage;
  /** 'registry' or 'builtin' (version 0). */
  source: 'registry' | 'builtin';
  params: AgileParams | RobustParams | MultivariateBundle;
  batcher: Batcher;
  session: Session;
  /** Multivariate: each service's index in the bundle (the `svc` input). */
  services?: ReadonlyMap<string, number>;
}

export interface ServingStatus {
  revision: string;
  loadedAt: string | null;
  provider: string | null;
  tiers: Record<ModelTier, Array<{ version: number; stage: ServingStage; source: 'registry' | 'builtin' }>>;
}

function inputsOf(tier: ModelTier, p: AgileParams | RobustParams | MultivariateBundle): Array<{ name: string; shape: number[] }> {
  if (tier === 'multivariate') {
    return [
      { name: 'x', shape: [bundleWidth(p as MultivariateBundle).metrics] },
      { name: 'svc', shape: [1] },
    ];
  }
  if (tier === 'agile') {
    const a = p as AgileParams;
    return [
      { name: 'x', shape: [a.window] },
      { name: 'xs', shape: [a.window] },
      { name: 'seasonal', shape: [1] },
    ];
  }
  const r = p as RobustParams;
  return [
    { name: 'cycles', shape: [r.cycles + 1, r.window] },
    { name: 'seasonal', shape: [1] },
  ];
}

export class ModelServer implements Component {
  private rt: OnnxRuntime | undefined;
  private models: LoadedModel[] = [];
  private revision = '';
  /** The revision whose reload failed last (logged once). */
  private failedRevision = '';
  private loadedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<void> | undefined;
  private readonly reloads: BoundCounter;
  private readonly failures: BoundCounter;
  private readonly serving;

  constructor(
    private readonly settings: CentralSettings,
    private readonly cfg: ModelsConfig,
    private readonly registry: ModelRegistry,
  ) {
    const m = settings.metrics;
    this.reloads = m.counter('aiops_central_model_reloads_total', 'Times the served models changed (a promotion or rollback picked up).');
    this.failures = m.counter('aiops_central_model_reload_failures_total', 'Reloads that failed (the previous models kept serving).');
    this.serving = m.gauge('aiops_central_model_serving', 'Models served now (1), by tier, stage and version (0: built-in).', ['tier', 'stage', 'version']);
  }

  async start(): Promise<void> {
    this.rt = await OnnxRuntime.open(this.settings, this.cfg.onnx);
    await this.reload();
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.reload()
          .catch(() => undefined)
          .finally(() => {
            if (this.timer !== undefined) tick();
          });
      }, this.cfg.reload_interval);
      this.timer.unref();
    };
    tick();
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.loading;
    const old = this.models;
    this.models = [];
    await this.release(old);
  }

  /** The model serving a stage of a tier (production always exists once started). */
  model(tier: ModelTier, stage: ServingStage = 'production'): LoadedModel | undefined {
    return this.models.find((m) => m.tier === tier && m.stage === stage);
  }

  shadows(tier: ModelTier): LoadedModel[] {
    return this.models.filter((m) => m.tier === tier && m.stage === 'shadow');
  }

  /** Runs every model's queued rows now (the caller submitted all it has). */
  flush(): void {
    for (const m of this.models) m.batcher.flush();
  }

  /** Whether a series is in the canary share (a stable hash of its key). */
  inCanary(seriesKey: string): boolean {
    const h = createHash('sha1').update(seriesKey).digest().readUInt32BE(0) / 2 ** 32;
    return h < this.cfg.canary_fraction;
  }

  status(): ServingStatus {
    const tiers = Object.fromEntries(MODEL_TIERS.map((t) => [t, this.models.filter((m) => m.tier === t).map((m) => ({ version: m.version, stage: m.stage, source: m.source }))])) as ServingStatus['tiers'];
    return { revision: this.revision, loadedAt: this.loadedAt === undefined ? null : new Date(this.loadedAt).toISOString(), provider: this.rt?.provider ?? null, tiers };
  }

  /** Loads what the registry says when its revision changed; keeps serving the old models on failure. */
  reload(): Promise<void> {
    this.loading ??= this.doReload().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /**
   * Tiers are loaded one by one: a version that cannot be loaded (unreadable, invalid
   * parameters, refused by the runtime) keeps its tier on the models it served before, while the
   * other tiers take their changes. The failing revision is retried every reload interval (a
   * transient read error heals) and logged once.
   */
  private async doReload(): Promise<void> {
    const rt = this.rt;
    if (!rt) return;
    let revision: string;
    try {
      revision = await this.registry.revision();
    } catch (err) {
      this.failures.inc();
      this.settings.logger.error({ err: (err as Error).message }, 'model registry unreadable: the models loaded before keep serving');
      throw err;
    }
    if (revision === this.revision) return;
    const next: LoadedModel[] = [];
    const reuse = new Set<LoadedModel>();
    const failed: string[] = [];
    let changed = false;
    for (const tier of MODEL_TIERS) {
      const opened: LoadedModel[] = [];
      const tierNext: LoadedModel[] = [];
      try {
        const s = await this.registry.serving(tier);
        const wanted: Array<{ version: number; stage: ServingStage }> = [];
        if (s.production !== undefined || tier !== 'multivariate') wanted.push({ version: s.production ?? 0, stage: 'production' });
        if (s.canary !== undefined) wanted.push({ version: s.canary, stage: 'canary' });
        for (const v of s.shadow) wanted.push({ version: v, stage: 'shadow' });
        for (const w of wanted) {
          const had = this.models.find((m) => m.tier === tier && m.version === w.version);
          if (had) {
            reuse.add(had);
            tierNext.push({ ...had, stage: w.stage });
            continue;
          }
          const m = await this.open(rt, tier, w.version, w.stage);
          opened.push(m);
          tierNext.push(m);
        }
      } catch (err) {
        await this.release(opened);
        failed.push(`${tier}: ${(err as Error).message}`);
        for (const m of this.models.filter((x) => x.tier === tier)) {
          reuse.add(m);
          next.push(m);
        }
        continue;
      }
      const before = this.models.filter((m) => m.tier === tier).map((m) => `${m.version}:${m.stage}`).join(',');
      if (opened.length > 0 || tierNext.map((m) => `${m.version}:${m.stage}`).join(',') !== before) changed = true;
      next.push(...tierNext);
    }
    if (failed.length > 0) {
      this.failures.inc();
      if (this.failedRevision !== revision) {
        this.failedRevision = revision;
        this.settings.logger.error({ revision, errors: failed }, 'model reload failed for a tier: its models loaded before keep serving (retried every reload interval)');
      }
    } else {
      this.revision = revision;
    }
    if (!changed) return;
    const old = this.models.filter((m) => !reuse.has(m));
    for (const m of this.models) this.serving.set(0, { tier: m.tier, stage: m.stage, version: String(m.version) });
    this.models = next;
    this.loadedAt = this.settings.clock.now();
    this.reloads.inc();
    for (const m of next) this.serving.set(1, { tier: m.tier, stage: m.stage, version: String(m.version) });
    this.settings.logger.info({ revision, models: next.map((m) => `${m.tier}:${m.version}(${m.stage}${m.source === 'builtin' ? ', built-in' : ''})`) }, 'models loaded');
    await this.release(old);
  }

  private async open(rt: OnnxRuntime, tier: ModelTier, version: number, stage: ServingStage): Promise<LoadedModel> {
    let params: AgileParams | RobustParams | MultivariateBundle;
    let bytes: Uint8Array;
    if (tier === 'multivariate') {
      const meta = await this.registry.get(tier, version);
      params = meta.metadata.params as unknown as MultivariateBundle;
      checkMultivariateBundle(params);
      bytes = await this.registry.model(tier, version);
    } else if (version === 0) {
      params = tier === 'agile' ? AGILE_DEFAULTS : ROBUST_DEFAULTS;
      bytes = encodeOnnxModel(tier === 'agile' ? agileGraph(params as AgileParams) : robustGraph(params as RobustParams));
    } else {
      const meta = await this.registry.get(tier, version);
      params = meta.metadata.params as unknown as AgileParams | RobustParams;
      if (tier === 'agile') checkAgileParams(params as AgileParams);
      else checkRobustParams(params as RobustParams);
      bytes = await this.registry.model(tier, version);
    }
    const session = await rt.session(bytes);
    const b = this.cfg.batching;
    const batcher = new Batcher({
      session,
      inputs: inputsOf(tier, params),
      outputs: tier === 'multivariate' ? MULTIVARIATE_OUTPUTS : ['expected', 'lower', 'upper', 'score', 'r'],
      maxBatch: b.max_batch,
      maxQueue: b.max_queue,
      latencyBudgetMs: b.latency_budget,
      metrics: this.settings.metrics,
      labels: { tier, version: String(version) },
    });
    const services = tier === 'multivariate' ? new Map((params as MultivariateBundle).services.map((x, i) => [x.service, i] as const)) : undefined;
    return { tier, version, stage, source: version === 0 ? 'builtin' : 'registry', params, batcher, session, ...(services ? { services } : {}) };
  }

  private async release(models: readonly LoadedModel[]): Promise<void> {
    for (const m of models) {
      await m.batcher.drain();
      await m.session.release();
    }
  }
}
