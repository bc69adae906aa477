// Drain-style online template mining (He, Zhu, Zheng, Lyu: "Drain: An Online Log Parsing Approach
// with Fixed Depth Tree", ICWS 2017), with the refinements of the Drain3 implementation:
//
// 1. a line is masked (mask.ts) and split on whitespace into at most `maxTokens` tokens;
// 2. the tree's first layer is the token count, the next `depth - 3` layers the leading tokens
//    (never a line's last token; a token with a digit, or any token once a node has
//    `maxChildren` children, goes to `<*>`);
// 3. the leaf holds clusters; the line joins the most similar one when the share of positions
//    with equal tokens reaches `simTh` (positions already `<*>` do not count, ties go to the
//    cluster with more `<*>`), and positions that differ become `<*>`;
// 4. otherwise a new cluster is made, unless `maxClusters` exist: then the line has no template
//    (the caller counts it as `other`).
//
// Cluster ids are a short hash of the cluster's first template text: stable while the template
// generalises, the same on every agent that first sees the same text, and kept in the receiver's
// checkpoint so they survive restarts. The tree itself is rebuilt from each cluster's `route`.

import { createHash } from 'node:crypto';
import { levelFromWord } from './level.js';
import { createMasker } from './mask.js';

export const WILDCARD = '<*>';
/** Stands for the tokens cut off a line longer than `maxTokens`. */
export const ELLIPSIS = '<...>';

export interface MinerOptions {
  simTh: number;
  depth: number;
  maxChildren: number;
  maxClusters: number;
  maxTokens: number;
  /** Longer tokens are cut to this many characters (a cut token ends with `...`). */
  maxTokenChars?: number;
}

export interface TemplateCluster {
  readonly id: string;
  /** The template: tokens, `<*>` where members differ, typed placeholders from masking. */
  tokens: string[];
  /** Lines assigned since the cluster was made (including lines before a restart). */
  size: number;
  /** Tree keys from the token-count node down to the leaf (to rebuild the tree on restore). */
  readonly route: readonly string[];
}

export interface ClusterSnapshot {
  id: string;
  tokens: string[];
  size: number;
  route: string[];
}

export type AddOutcome = 'matched' | 'updated' | 'created' | 'overflow';

export interface AddResult {
  cluster: TemplateCluster | undefined;
  outcome: AddOutcome;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusters: TemplateCluster[];
}

const newNode = (): TreeNode => ({ children: new Map(), clusters: [] });
const HAS_DIGIT = /\d/;
const LEADING_TS = /^[[(]?<TS>[\])]?[,:]?$/;
/** `INFO`, `[error]`, `<warn>`, `WARNING:`, `level=info`: the level is a label, not part of the template. */
const LEADING_LEVEL = /^(?:[[(<]?([A-Za-z]{3,13})[\])>]?:?|(?:level|lvl|severity)=["']?([A-Za-z]{3,13})["']?)$/;
const MAX_HEADER_TOKENS = 4;

function isHeaderToken(tok: string): boolean {
  if (LEADING_TS.test(tok)) return true;
  const m = LEADING_LEVEL.exec(tok);
  if (!m) return false;
  const word = m[1] ?? m[2]!;
  // A bare word counts only in upper case (`ERROR`), as in level.ts; bracketed or key=value in any case.
  if (m[1] !== undefined && tok === word && word !== word.toUpperCase()) return false;
  return levelFromWord(word) !== undefined;
}

export function templateText(tokens: readonly string[]): string {
  return tokens.join(' ');
}

/** Truncates a template for use as a label or in a log line. */
export function truncateTemplate(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 3))}...`;
}

export class TemplateMiner {
  private readonly root = newNode();
  private readonly byId = new Map<string, TemplateCluster>();
  private readonly mask = createMasker();
  private readonly prefixLayers: number;
  private readonly maxTokenChars: number;

  constructor(private readonly opts: MinerOptions) {
    this.prefixLayers = Math.max(0, opts.depth - 3);
    this.maxTokenChars = opts.maxTokenChars ?? 96;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): TemplateCluster | undefined {
    return this.byId.get(id);
  }

  clusters(): IterableIterator<TemplateCluster> {
    return this.byId.values();
  }

  /**
   * Masked, bounded tokens of a line. A leading header of timestamps and a level marker is
   * dropped: it carries no template (the level is a label of its own).
   */
  tokenize(text: string): string[] {
    const masked = this.mask(text);
    const out: string[] = [];
    const max = this.opts.maxTokens;
    const re = /\S+/g;
    let m: RegExpExecArray | null;
    let header = 0;
    while ((m = re.exec(masked)) !== null) {
      let tok = m[0];
      if (out.length === 0 && header < MAX_HEADER_TOKENS && isHeaderToken(tok)) {
        header++;
        continue;
      }
      if (out.length === max) {
        out.push(ELLIPSIS);
        break;
      }
      if (tok.length > this.maxTokenChars) tok = `${tok.slice(0, this.maxTokenChars - 3)}...`;
      out.push(tok);
    }
    return out;
  }

  /** Assigns a line to a template, making or generalising one. */
  add(text: string): AddResult {
    return this.addTokens(this.tokenize(text));
  }

  addTokens(tokens: string[]): AddResult {
    const found = this.search(tokens);
    if (found) {
      found.size++;
      let changed = false;
      const t = found.tokens;
      for (let i = 0; i < t.length; i++) {
        if (t[i] !== WILDCARD && t[i] !== tokens[i]) {
          t[i] = WILDCARD;
          changed = true;
        }
      }
      return { cluster: found, outcome: changed ? 'updated' : 'matched' };
    }
    if (this.byId.size >= this.opts.maxClusters) return { cluster: undefined, outcome: 'overflow' };
    const route = this.insertRoute(tokens);
    const cluster: TemplateCluster = { id: this.newId(templateText(tokens)), tokens: tokens.slice(), size: 1, route };
    this.leafAt(route).clusters.push(cluster);
    this.byId.set(cluster.id, cluster);
    return { cluster, outcome: 'created' };
  }

  /** The template a line would join, without changing anything. */
  match(text: string): TemplateCluster | undefined {
    return this.search(this.tokenize(text));
  }

  snapshot(): ClusterSnapshot[] {
    return [...this.byId.values()].map((c) => ({ id: c.id, tokens: c.tokens.slice(), size: c.size, route: [...c.route] }));
  }

  /** Rebuilds clusters saved by `snapshot()`; entries that do not fit (limits, duplicates) are skipped. */
  restore(snapshots: readonly ClusterSnapshot[]): number {
    let skipped = 0;
    for (const s of snapshots) {
      const depthOk = s.route.length === this.layers(s.tokens.length) + 1;
      if (this.byId.size >= this.opts.maxClusters || this.byId.has(s.id) || !depthOk || s.tokens.length > this.opts.maxTokens + 1) {
        skipped++;
        continue;
      }
      const cluster: TemplateCluster = { id: s.id, tokens: s.tokens.slice(), size: s.size, route: [...s.route] };
      this.leafAt(cluster.route).clusters.push(cluster);
      this.byId.set(cluster.id, cluster);
    }
    return skipped;
  }

  /** Leading-token layers a line of `n` tokens descends: never its last token (as Drain3 does). */
  private layers(n: number): number {
    return Math.min(this.prefixLayers, Math.max(0, n - 1));
  }

  private newId(text: string): string {
    const base = createHash('sha256').update(text).digest('hex').slice(0, 8);
    if (!this.byId.has(base)) return base;
    for (let n = 2; ; n++) {
      const id = `${base}-${n}`;
      if (!this.byId.has(id)) return id;
    }
  }

  private search(tokens: string[]): TemplateCluster | undefined {
    let node: TreeNode | undefined = this.root.children.get(String(tokens.length));
    if (!node) return undefined;
    const layers = this.layers(tokens.length);
    for (let i = 0; i < layers; i++) {
      const next: TreeNode | undefined = node.children.get(tokens[i]!) ?? node.children.get(WILDCARD);
      if (!next) return undefined;
      node = next;
    }
    return this.fastMatch(node.clusters, tokens);
  }

  private fastMatch(clusters: TemplateCluster[], tokens: string[]): TemplateCluster | undefined {
    let best: TemplateCluster | undefined;
    let bestSim = -1;
    let bestParams = -1;
    const n = tokens.length;
    for (const c of clusters) {
      const t = c.tokens;
      let same = 0;
      let params = 0;
      for (let i = 0; i < n; i++) {
        const a = t[i];
        if (a === WILDCARD) params++;
        else if (a === tokens[i]) same++;
      }
      const sim = n === 0 ? 1 : same / n;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = c;
        bestSim = sim;
        bestParams = params;
      }
    }
    return best && bestSim >= this.opts.simTh ? best : undefined;
  }

  /** The path a new cluster takes, creating nodes as Drain does. */
  private insertRoute(tokens: string[]): string[] {
    const route = [String(tokens.length)];
    let node: TreeNode | undefined = this.root.children.get(route[0]!);
    if (!node) {
      node = newNode();
      this.root.children.set(route[0]!, node);
    }
    const layers = this.layers(tokens.length);
    const max = this.opts.maxChildren;
    for (let i = 0; i < layers; i++) {
      const tok = tokens[i]!;
      let key: string;
      if (node.children.has(tok)) key = tok;
      else if (tok === WILDCARD || HAS_DIGIT.test(tok)) key = WILDCARD;
      else if (node.children.has(WILDCARD)) key = node.children.size < max ? tok : WILDCARD;
      else key = node.children.size + 1 < max ? tok : WILDCARD;
      let next: TreeNode | undefined = node.children.get(key);
      if (!next) {
        next = newNode();
        node.children.set(key, next);
      }
      route.push(key);
      node = next;
    }
    return route;
  }

  private leafAt(route: readonly string[]): TreeNode {
    let node = this.root;
    for (const key of route) {
      let next = node.children.get(key);
      if (!next) {
        next = newNode();
        node.children.set(key, next);
      }
      node = next;
    }
    return node;
  }
}
