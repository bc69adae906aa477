/*
 * C reference of the Tier-1 kernel, for the throughput benchmark only (bench/tier1-throughput.ts
 * builds and runs it). Same state layout, same parameters, same order of floating-point operations
 * as wasm-detectors/src/kernel.ts and wasm-detectors/assembly/tier1.ts; built with
 * -ffp-contract=off so that the compiler does not fuse multiply-adds, which keeps its output
 * bit-identical to the other two (the benchmark compares checksums).
 *
 * usage: tier1_bench <params.bin> <values.bin> <series> <warm> <points> <reps>
 *   params.bin: PARAM_COUNT little-endian f64; values.bin: <warm> + <points> f64.
 *   Sample i belongs to series (i % series) with timestamp (i / series) * 1000 ms. The first
 *   <warm> samples bring every series past its warm-up and are not timed.
 * prints one line per repetition: "rep <k> <seconds>", then "checksum <sum of scores> <flags>".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK_SIZE 16
#define BLOCK_COUNT 8
#define STATE_SLOTS 64
#define STATE_MAGIC ((double)0x74310001)
#define PARAM_COUNT 20
#define RECORD_COUNT 8
#define SEVERITY_MAX 1e12

enum {
  S_MAGIC = 0, S_N = 1, S_LAST_TS = 2, S_MEAN = 3, S_VAR = 4, S_CUSUM_POS = 5, S_CUSUM_NEG = 6,
  S_FILL = 7, S_BLOCKS = 8, S_HEAD = 9, S_LOWER = 10, S_UPPER = 11, S_SPREAD = 12,
  S_REFRACTORY = 13, S_RECORD_MAX = 14, S_RECORD_CUR = 15, S_BLOCK = 16,
  S_LOWS = S_BLOCK + BLOCK_SIZE, S_HIGHS = S_LOWS + BLOCK_COUNT, S_RECORDS = S_HIGHS + BLOCK_COUNT
};
enum { FLAG_ANOMALY = 1, FLAG_INVALID = 2, FLAG_WARMUP = 4, FLAG_STALE = 8, FLAG_GAP = 16, FLAG_LEVEL_SHIFT = 32 };
enum {
  P_ALPHA = 0, P_WARMUP, P_Q_LOW_INDEX, P_Q_HIGH_INDEX, P_BAND_WIDTH, P_LAG_BLOCKS, P_Z_THRESHOLD,
  P_Z_CLAMP, P_CUSUM_DRIFT, P_CUSUM_THRESHOLD, P_SPREAD_FLOOR_REL, P_SPREAD_FLOOR_ABS,
  P_FLAG_THRESHOLD, P_REFRACTORY, P_GAP_RESET_MS, P_BAND_WEIGHT, P_Z_WEIGHT, P_CUSUM_WEIGHT,
  P_RECORD_BLOCK, P_NOVELTY_WEIGHT
};

static double P[PARAM_COUNT];
static double scratch[BLOCK_COUNT];

static void reset_state(double *st) {
  for (int i = 0; i < STATE_SLOTS; i++) st[i] = 0;
  st[S_MAGIC] = STATE_MAGIC;
  st[S_LOWER] = NAN;
  st[S_UPPER] = NAN;
  st[S_SPREAD] = NAN;
}

static inline void sort_range(double *a, int count) {
  for (int i = 1; i < count; i++) {
    double v = a[i];
    int j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

static double median_of_blocks(const double *st, int slot, int head, int lag, int m) {
  for (int j = 0; j < m; j++) {
    int k = head - 1 - lag - j;
    while (k < 0) k += BLOCK_COUNT;
    scratch[j] = st[slot + k];
  }
  sort_range(scratch, m);
  int h = m >> 1;
  if ((m & 1) == 1) return scratch[h];
  return (scratch[h - 1] + scratch[h]) * 0.5;
}

static void recompute_band(double *st) {
  double blocks = st[S_BLOCKS];
  double lag = P[P_LAG_BLOCKS];
  double m = blocks < BLOCK_COUNT ? blocks : BLOCK_COUNT;
  m = m - lag;
  if (m < 1) return;
  int head = (int)st[S_HEAD];
  double lo = median_of_blocks(st, S_LOWS, head, (int)lag, (int)m);
  double hi = median_of_blocks(st, S_HIGHS, head, (int)lag, (int)m);
  double mid = (lo + hi) * 0.5;
  double spread = hi - lo;
  double amid = mid < 0 ? -mid : mid;
  double floor_ = P[P_SPREAD_FLOOR_ABS] + P[P_SPREAD_FLOOR_REL] * amid;
  if (spread < floor_) spread = floor_;
  double w = P[P_BAND_WIDTH];
  st[S_SPREAD] = spread;
  st[S_LOWER] = lo - w * spread;
  st[S_UPPER] = hi + w * spread;
}

static inline void push_block(double *st, double x) {
  int fill = (int)st[S_FILL];
  st[S_BLOCK + fill] = x;
  fill = fill + 1;
  if (fill == BLOCK_SIZE) {
    sort_range(st + S_BLOCK, BLOCK_SIZE);
    int head = (int)st[S_HEAD];
    st[S_LOWS + head] = st[S_BLOCK + (int)P[P_Q_LOW_INDEX]];
    st[S_HIGHS + head] = st[S_BLOCK + (int)P[P_Q_HIGH_INDEX]];
    head = head + 1;
    if (head == BLOCK_COUNT) head = 0;
    st[S_HEAD] = head;
    st[S_BLOCKS] = st[S_BLOCKS] + 1;
    fill = 0;
    recompute_band(st);
  }
  st[S_FILL] = fill;
}

static inline int step(double *st, double x, double ts, double *score_out, uint32_t *flags_out,
                       double *lower_out, double *upper_out) {
  if (!(x - x == 0) || !(ts - ts == 0)) {
    *score_out = 0;
    *flags_out = FLAG_INVALID;
    *lower_out = st[S_LOWER];
    *upper_out = st[S_UPPER];
    return 0;
  }
  double n = st[S_N];
  uint32_t flags = 0;
  int stale = n > 0 && ts <= st[S_LAST_TS];
  if (stale) flags |= FLAG_STALE;
  double cus_pos = st[S_CUSUM_POS];
  double cus_neg = st[S_CUSUM_NEG];
  double gap_ms = P[P_GAP_RESET_MS];
  if (n > 0 && !stale && gap_ms > 0 && ts - st[S_LAST_TS] > gap_ms) {
    cus_pos = 0;
    cus_neg = 0;
    flags |= FLAG_GAP;
  }
  double mean = st[S_MEAN];
  double variance = st[S_VAR];
  double sd = sqrt(variance);
  double amean = mean < 0 ? -mean : mean;
  double sd_floor = P[P_SPREAD_FLOOR_ABS] + P[P_SPREAD_FLOOR_REL] * amean;
  if (sd < sd_floor) sd = sd_floor;
  double z = n > 0 ? (x - mean) / sd : 0;
  double z_clamp = P[P_Z_CLAMP];
  double zc = z;
  if (zc > z_clamp) zc = z_clamp;
  else if (zc < -z_clamp) zc = -z_clamp;
  double drift = P[P_CUSUM_DRIFT];
  double cp = cus_pos + zc - drift;
  if (cp < 0) cp = 0;
  double cn = cus_neg - zc - drift;
  if (cn < 0) cn = 0;
  double cmax = cp > cn ? cp : cn;
  double cusum_h = P[P_CUSUM_THRESHOLD];
  double lower = st[S_LOWER];
  double upper = st[S_UPPER];
  double score = 0;
  double refractory = st[S_REFRACTORY];
  double record_cur = st[S_RECORD_CUR];
  if (n < P[P_WARMUP]) {
    flags |= FLAG_WARMUP;
  } else {
    double eb = 0;
    if (upper - upper == 0) {
      double spread = st[S_SPREAD];
      if (x > upper) eb = (x - upper) / spread;
      else if (x < lower) eb = (lower - x) / spread;
    }
    double az = z < 0 ? -z : z;
    double ez = az - P[P_Z_THRESHOLD];
    if (ez < 0) ez = 0;
    double sev = P[P_BAND_WEIGHT] * eb + P[P_Z_WEIGHT] * ez + P[P_CUSUM_WEIGHT] * (cmax / cusum_h);
    double rec_max = st[S_RECORD_MAX];
    double prev = record_cur > rec_max ? record_cur : rec_max;
    double dev0 = x - mean;
    double dev = dev0 < 0 ? -dev0 : dev0;
    if (dev > record_cur) record_cur = dev;
    double novelty = dev > prev ? (P[P_NOVELTY_WEIGHT] * (dev - prev)) / (prev + sd) : 0;
    if (novelty < sev) sev = novelty;
    if (!(sev < SEVERITY_MAX)) sev = SEVERITY_MAX;
    score = sev / (1 + sev);
    if (score >= P[P_FLAG_THRESHOLD] && refractory <= 0) {
      flags |= FLAG_ANOMALY;
      refractory = P[P_REFRACTORY] + 1;
    }
  }
  if (!stale) {
    if (n == 0) {
      mean = x;
      variance = 0;
    } else {
      double d = x - mean;
      double lim = z_clamp * sd;
      if (d > lim) d = lim;
      else if (d < -lim) d = -lim;
      double alpha = P[P_ALPHA];
      mean = mean + alpha * d;
      variance = (1 - alpha) * (variance + alpha * d * d);
      if (!(mean - mean == 0) || !(variance - variance == 0)) {
        mean = x;
        variance = 0;
      }
    }
    if (n >= P[P_WARMUP]) {
      if (cmax >= cusum_h) {
        flags |= FLAG_LEVEL_SHIFT;
        cp = 0;
        cn = 0;
        mean = x;
      }
      st[S_CUSUM_POS] = cp;
      st[S_CUSUM_NEG] = cn;
    } else {
      st[S_CUSUM_POS] = cus_pos;
      st[S_CUSUM_NEG] = cus_neg;
    }
    st[S_MEAN] = mean;
    st[S_VAR] = variance;
    if (refractory > 0) refractory = refractory - 1;
    st[S_N] = n + 1;
    int64_t rb = (int64_t)P[P_RECORD_BLOCK];
    int64_t nn = (int64_t)n + 1;
    if (nn % rb == 0) {
      int slot = (int)((nn / rb - 1) % RECORD_COUNT);
      st[S_RECORDS + slot] = record_cur;
      double m = 0;
      for (int j = 0; j < RECORD_COUNT; j++) {
        double r = st[S_RECORDS + j];
        if (r > m) m = r;
      }
      st[S_RECORD_MAX] = m;
      record_cur = 0;
    }
    st[S_RECORD_CUR] = record_cur;
    st[S_LAST_TS] = ts;
    push_block(st, x);
  }
  st[S_REFRACTORY] = refractory;
  *score_out = score;
  *flags_out = flags;
  *lower_out = lower;
  *upper_out = upper;
  return (flags & FLAG_ANOMALY) != 0;
}

static double *read_file(const char *path, size_t count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  double *buf = malloc(count * sizeof(double));
  if (!buf || fread(buf, sizeof(double), count, f) != count) {
    fprintf(stderr, "%s: short read\n", path);
    exit(2);
  }
  fclose(f);
  return buf;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s <params.bin> <values.bin> <series> <warm> <points> <reps>\n", argv[0]);
    return 2;
  }
  double *params = read_file(argv[1], PARAM_COUNT);
  memcpy(P, params, sizeof P);
  size_t series = (size_t)atol(argv[3]);
  size_t warm = (size_t)atol(argv[4]);
  size_t points = (size_t)atol(argv[5]);
  int reps = atoi(argv[6]);
  size_t total = warm + points;
  double *values = read_file(argv[2], total);
  double *state = malloc(series * STATE_SLOTS * sizeof(double));
  /* outputs are written per batch of `series` samples, as the agent's batch would be */
  double *scores = malloc(series * sizeof(double));
  double *lower = malloc(series * sizeof(double));
  double *upper = malloc(series * sizeof(double));
  uint32_t *flags = malloc(series * sizeof(uint32_t));
  double checksum = 0;
  long flagged = 0;
  /* reps timed runs, then one untimed run that sums the scores for the cross-check */
  for (int r = 0; r <= reps; r++) {
    int verify = r == reps;
    for (size_t s = 0; s < series; s++) reset_state(state + s * STATE_SLOTS);
    for (size_t i = 0; i < warm; i++) {
      size_t sid = i % series;
      step(state + sid * STATE_SLOTS, values[i], (double)(i / series) * 1000.0, &scores[sid], &flags[sid], &lower[sid], &upper[sid]);
    }
    checksum = 0;
    flagged = 0;
    double t0 = now_s();
    for (size_t i = warm; i < total; i++) {
      size_t sid = i % series; /* also the output index within the batch */
      double ts = (double)(i / series) * 1000.0;
      flagged += step(state + sid * STATE_SLOTS, values[i], ts, &scores[sid], &flags[sid], &lower[sid], &upper[sid]);
      if (verify) checksum += scores[sid];
    }
    double t1 = now_s();
    if (!verify) printf("rep %d %.9f\n", r, t1 - t0);
  }
  printf("checksum %.17g %ld\n", checksum, flagged);
  free(values);
  free(params);
  free(state);
  free(scores);
  free(lower);
  free(upper);
  free(flags);
  return 0;
}
