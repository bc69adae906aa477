// The model registry (issue #7, Deliver 4): versioned Tier-2/3 models with their metadata, and
// the stage each version is in:
//   shadow      registered; served beside production, scores recorded, never alerts
//   canary      served for a share of the series (serving config), alerts for them
//   production  served for every series not in the canary share; one at a time
//   retired     was production or canary, replaced or rolled back (kept: rollback target)
// Promotion moves a version to a later stage (shadow -> canary -> production; shadow ->
// production is allowed, never backwards); the production it replaces is retired and
// remembered, so `rollback` brings it back. Every change is appended to the tier's history with
// who made it and when. The serving side watches `revision()` and reloads (hot reload).
//
// Layout over an ArtifactStore: `<tier>/<version>/model.onnx`, `<tier>/<version>/metadata.json`
// and `<tier>/state.json` (stages, history, revision), written with a conditional write so two
// writers (the API and a training job) never lose each other's change.
import { createHash } from 'node:crypto';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import { ArtifactError } from './artifacts.js';
import type { ArtifactStore } from './artifacts.js';

export const MODEL_TIERS = ['agile', 'robust', 'multivariate'] as const;
export type ModelTier = (typeof MODEL_TIERS)[number];
export const STAGES = ['shadow', 'canary', 'production', 'retired'] as const;
export type Stage = (typeof STAGES)[number];
const RANK: Record<Stage, number> = { shadow: 0, canary: 1, production: 2, retired: -1 };

export type RegistryErrorCode = 'NOT_FOUND' | 'INVALID_ARGUMENT' | 'CONFLICT' | 'NO_ROLLBACK_TARGET';
export class RegistryError extends CodedError<RegistryErrorCode> {
  override name = 'RegistryError';
}

/** What a training job records with a model. */
export interface ModelMetadata {
  /** The graph's inputs and outputs, with their shapes ("batch" for the batch dimension). */
  inputs: Array<{ name: string; dims: Array<number | string> }>;
  outputs: Array<{ name: string; dims: Array<number | string> }>;
  /** The model's parameters (AgileParams or RobustParams), from which the graph is built. */
  params: Record<string, unknown>;
  training: { dataDigest: string; series: number; rows: number; seed: number; options: Record<string, unknown>; sources: string[] };
  metrics: Record<string, unknown>;
  /** Free text (the command that made it). */
  note?: string;
}

export interface ModelVersion {
  tier: ModelTier;
  version: number;
  stage: Stage;
  createdAt: string;
  createdBy: string;
  /** sha256 of the ONNX bytes. */
  sha256: string;
  bytes: number;
  metadata: ModelMetadata;
}

export interface HistoryEntry {
  at: string;
  actor: string;
  action: 'register' | 'promote' | 'rollback';
  version: number;
  from?: Stage;
  to: Stage;
  /** The production version this change retired, if any. */
  replaced?: number;
}

interface TierState {
  revision: number;
  next: number;
  stages: Record<string, Stage>;
  /** Production versions in the order they were promoted (rollback pops). */
  productionLine: number[];
  history: HistoryEntry[];
}

const emptyState = (): TierState => ({ revision: 0, next: 1, stages: {}, productionLine: [], history: [] });
const MAX_HISTORY = 1000;

export function checkTier(tier: unknown): ModelTier {
  if (!MODEL_TIERS.includes(tier as ModelTier)) throw new RegistryError('INVALID_ARGUMENT', `tier must be one of ${MODEL_TIERS.join(', ')} (got ${JSON.stringify(tier)})`, false);
  return tier as ModelTier;
}

export class ModelRegistry {
  constructor(
    private readonly store: ArtifactStore,
    private readonly now: () => number = Date.now,
  ) {}

  private async state(tier: ModelTier): Promise<{ s: TierState; etag: string | null }> {
    const a = await this.store.read(`${tier}/state.json`);
    if (a === undefined) return { s: emptyState(), etag: null };
    return { s: JSON.parse(Buffer.from(a.bytes).toString('utf8')) as TierState, etag: a.etag };
  }

  /** Reads, changes and writes a tier's state; retried when another writer got there first. */
  private async change<T>(tier: ModelTier, fn: (s: TierState) => T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const { s, etag } = await this.state(tier);
      const out = fn(s);
      s.revision++;
      if (s.history.length > MAX_HISTORY) s.history.splice(0, s.history.length - MAX_HISTORY);
      try {
        await this.store.write(`${tier}/state.json`, Buffer.from(JSON.stringify(s, null, 1)), etag);
        return out;
      } catch (err) {
        if (err instanceof ArtifactError && err.code === 'CONFLICT' && attempt < 20) continue;
        throw err;
      }
    }
  }

  /** Revision of the tiers' states: changes whenever a stage does (the serving side polls it). */
  async revision(): Promise<string> {
    const parts: string[] = [];
    for (const t of MODEL_TIERS) parts.push(String((await this.state(t)).s.revision));
    return parts.join('.');
  }

  /** Stores a new version in stage shadow. */
  async register(tier: ModelTier, onnx: Uint8Array, metadata: ModelMetadata, actor: string): Promise<ModelVersion> {
    checkTier(tier);
    if (!(onnx instanceof Uint8Array) || onnx.length === 0) throw new RegistryError('INVALID_ARGUMENT', 'model bytes must be a non-empty ONNX file', false);
    if (metadata === null || typeof metadata !== 'object' || typeof metadata.params !== 'object') throw new RegistryError('INVALID_ARGUMENT', 'metadata.params must be an object', false);
    // Reserve the number first (state write), then the files: a crash in between leaves a gap, never two models under one number.
    const version = await this.change(tier, (s) => s.next++);
    const v: ModelVersion = {
      tier,
      version,
      stage: 'shadow',
      createdAt: new Date(this.now()).toISOString(),
      createdBy: actor,
      sha256: createHash('sha256').update(onnx).digest('hex'),
      bytes: onnx.length,
      metadata,
    };
    await this.store.write(`${tier}/${version}/model.onnx`, onnx, null);
    await this.store.write(`${tier}/${version}/metadata.json`, Buffer.from(JSON.stringify(v, null, 1)), null);
    await this.change(tier, (s) => {
      s.stages[String(version)] = 'shadow';
      s.history.push({ at: v.createdAt, actor, action: 'register', version, to: 'shadow' });
    });
    return v;
  }

  async list(tier: ModelTier): Promise<ModelVersion[]> {
    checkTier(tier);
    const { s } = await this.state(tier);
    const out: ModelVersion[] = [];
    for (const [k, stage] of Object.entries(s.stages)) {
      const m = await this.store.read(`${tier}/${k}/metadata.json`);
      if (m) out.push({ ...(JSON.parse(Buffer.from(m.bytes).toString('utf8')) as ModelVersion), stage });
    }
    return out.sort((a, b) => a.version - b.version);
  }

  async get(tier: ModelTier, version: number): Promise<ModelVersion> {
    checkTier(tier);
    const { s } = await this.state(tier);
    const stage = s.stages[String(version)];
    const m = stage === undefined ? undefined : await this.store.read(`${tier}/${version}/metadata.json`);
    if (m === undefined) throw new RegistryError('NOT_FOUND', `no ${tier} model version ${version}`, false);
    return { ...(JSON.parse(Buffer.from(m.bytes).toString('utf8')) as ModelVersion), stage: stage! };
  }

  /** The ONNX bytes of a version, checked against the recorded digest. */
  async model(tier: ModelTier, version: number): Promise<Uint8Array> {
    const v = await this.get(tier, version);
    const a = await this.store.read(`${tier}/${version}/model.onnx`);
    if (a === undefined) throw new RegistryError('NOT_FOUND', `${tier} model version ${version}: model.onnx is missing`, false);
    if (createHash('sha256').update(a.bytes).digest('hex') !== v.sha256) throw new RegistryError('CONFLICT', `${tier} model version ${version}: model.onnx does not match its recorded sha256`, false);
    return a.bytes;
  }

  async history(tier: ModelTier): Promise<HistoryEntry[]> {
    checkTier(tier);
    return (await this.state(tier)).s.history;
  }

  /** The versions serving now: production, canary and the shadows. */
  async serving(tier: ModelTier): Promise<{ production?: number; canary?: number; shadow: number[] }> {
    checkTier(tier);
    const { s } = await this.state(tier);
    const out: { production?: number; canary?: number; shadow: number[] } = { shadow: [] };
    for (const [k, stage] of Object.entries(s.stages)) {
      if (stage === 'production') out.production = Number(k);
      else if (stage === 'canary') out.canary = Number(k);
      else if (stage === 'shadow') out.shadow.push(Number(k));
    }
    out.shadow.sort((a, b) => a - b);
    return out;
  }

  /** Moves a version to a later stage (canary or production). */
  async promote(tier: ModelTier, version: number, to: 'canary' | 'production', actor: string): Promise<HistoryEntry> {
    checkTier(tier);
    if (to !== 'canary' && to !== 'production') throw new RegistryError('INVALID_ARGUMENT', `to must be canary or production (got ${JSON.stringify(to)})`, false);
    await this.get(tier, version);
    return this.change(tier, (s) => {
      const from = s.stages[String(version)]!;
      if (from === 'retired') throw new RegistryError('CONFLICT', `${tier} version ${version} is retired; register it again or roll back to it`, false);
      if (RANK[to] <= RANK[from]) throw new RegistryError('CONFLICT', `${tier} version ${version} is ${from}: promotion goes forward only (shadow -> canary -> production)`, false);
      const e: HistoryEntry = { at: new Date(this.now()).toISOString(), actor, action: 'promote', version, from, to };
      for (const [k, st] of Object.entries(s.stages)) {
        if (st === to) {
          s.stages[k] = 'retired';
          if (to === 'production') e.replaced = Number(k);
        }
      }
      s.stages[String(version)] = to;
      if (to === 'production') s.productionLine.push(version);
      s.history.push(e);
      return e;
    });
  }

  /** Retires the production version and brings back the one it replaced. */
  async rollback(tier: ModelTier, actor: string): Promise<HistoryEntry> {
    checkTier(tier);
    return this.change(tier, (s) => {
      const line = s.productionLine.filter((v) => s.stages[String(v)] !== undefined);
      const current = line.pop();
      if (current === undefined || s.stages[String(current)] !== 'production') throw new RegistryError('NO_ROLLBACK_TARGET', `${tier} has no production model to roll back`, false);
      const previous = line[line.length - 1];
      if (previous === undefined) throw new RegistryError('NO_ROLLBACK_TARGET', `${tier} version ${current} is the first production model: nothing to roll back to (the built-in model serves when none is promoted; promote another version instead)`, false);
      s.stages[String(current)] = 'retired';
      s.stages[String(previous)] = 'production';
      s.productionLine = line;
      const e: HistoryEntry = { at: new Date(this.now()).toISOString(), actor, action: 'rollback', version: previous, from: 'retired', to: 'production', replaced: current };
      s.history.push(e);
      return e;
    });
  }
}
