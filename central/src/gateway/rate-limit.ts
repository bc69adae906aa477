// Token buckets keyed by a string (an API key id, a client address). Time comes from the
// injected clock, so tests refill a bucket by moving the clock instead of sleeping.
//
// A bucket holds at most `burst` tokens and gains `ratePerSecond` tokens per second; a request
// takes one. Buckets live in a map bounded by `maxBuckets`: the least recently used bucket is
// dropped beyond it (a dropped bucket comes back full, which only ever errs towards letting a
// request through; evictions are counted so an undersized map is visible).

export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

export type TakeResult =
  | { allowed: true; remaining: number }
  | { allowed: false; remaining: 0; retryAfterMs: number };

interface Bucket {
  tokens: number;
  atMs: number;
  limit: RateLimit;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly overrides: ReadonlyMap<string, RateLimit>;
  /** Buckets dropped to stay within maxBuckets, since creation. */
  evictions = 0;

  constructor(
    private readonly opts: {
      defaults: RateLimit;
      /** Limits for particular keys (e.g. a high-volume remote-write key). */
      overrides?: Readonly<Record<string, RateLimit>>;
      maxBuckets: number;
      now(): number;
    },
  ) {
    this.overrides = new Map(Object.entries(opts.overrides ?? {}));
  }

  get size(): number {
    return this.buckets.size;
  }

  limitFor(key: string): RateLimit {
    return this.overrides.get(key) ?? this.opts.defaults;
  }

  /** Takes `cost` tokens from `key`'s bucket when it holds them. */
  take(key: string, cost = 1): TakeResult {
    const b = this.refill(key, true)!;
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { allowed: true, remaining: Math.floor(b.tokens) };
    }
    return { allowed: false, remaining: 0, retryAfterMs: Math.ceil(((cost - b.tokens) / b.limit.ratePerSecond) * 1000) };
  }

  /** True when `key`'s bucket cannot give one token now (without taking one). Unknown keys are full. */
  exhausted(key: string): boolean {
    const b = this.refill(key, false);
    return b !== undefined && b.tokens < 1;
  }

  /** Milliseconds until `key`'s bucket holds one token (0 when it does). */
  waitMs(key: string): number {
    const b = this.refill(key, false);
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.ceil(((1 - b.tokens) / b.limit.ratePerSecond) * 1000);
  }

  private refill(key: string, create: boolean): Bucket | undefined {
    const now = this.opts.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (!create) return undefined;
      const limit = this.limitFor(key);
      b = { tokens: limit.burst, atMs: now, limit };
      if (this.buckets.size >= this.opts.maxBuckets) this.evictOldest();
      this.buckets.set(key, b);
      return b;
    }
    // A clock that steps back adds nothing (and takes nothing away).
    const elapsed = now - b.atMs;
    if (elapsed > 0) {
      b.tokens = Math.min(b.limit.burst, b.tokens + (elapsed * b.limit.ratePerSecond) / 1000);
      b.atMs = now;
    }
    if (create) {
      // Most recently used last: the map's insertion order is the eviction order.
      this.buckets.delete(key);
      this.buckets.set(key, b);
    }
    return b;
  }

  private evictOldest(): void {
    const first = this.buckets.keys().next();
    if (!first.done) {
      this.buckets.delete(first.value);
      this.evictions++;
    }
  }
}
