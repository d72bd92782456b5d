/*
 * hist.h - a log-linear latency histogram in fixed memory, internal to libstackrig.
 *
 * Values (nanoseconds) below 256 have a bucket each; above, every power of two is split
 * into 128 equal buckets, so a bucket is never wider than 1/128 of its lower bound and a
 * value reported as its bucket's midpoint is within 1/256 (0.4%) of any value the bucket
 * holds. Values up to 2^44 ns (about 4.9 hours) are kept apart; larger ones share the last
 * bucket. Min, max, count and sum are exact. One histogram is about 38 KiB.
 */
#ifndef RIG_HIST_H
#define RIG_HIST_H

#include <stdint.h>

#define RIG_HIST_LINEAR_BITS 8 /* 256 exact buckets, then 128 per power of two */
#define RIG_HIST_MAX_BITS 44   /* values >= 2^44 go to the last bucket */
#define RIG_HIST_HALF (1 << (RIG_HIST_LINEAR_BITS - 1))
#define RIG_HIST_BUCKETS                                                                           \
  ((RIG_HIST_MAX_BITS - RIG_HIST_LINEAR_BITS + 1) * RIG_HIST_HALF + RIG_HIST_HALF)

typedef struct rig__hist {
  uint64_t count;
  int64_t min;
  int64_t max;
  double sum;
  uint64_t buckets[RIG_HIST_BUCKETS];
} rig__hist;

void rig__hist_init(rig__hist *hist);
/* Records one value; negative values count as 0. */
void rig__hist_record(rig__hist *hist, int64_t value);
/* Adds every value of src to dst. */
void rig__hist_merge(rig__hist *dst, const rig__hist *src);
/* The value at percentile p (0..100) by nearest rank: the smallest recorded value v such
 * that at least p% of the values are <= v, within the bucket precision above and clamped
 * to [min, max]. 0 when empty. */
int64_t rig__hist_percentile(const rig__hist *hist, double p);
/* The exact mean; 0 when empty. */
double rig__hist_mean(const rig__hist *hist);

/* Bucket index of a value and the bounds of a bucket (exposed for tests). */
int rig__hist_index(int64_t value);
int64_t rig__hist_bucket_low(int index);
int64_t rig__hist_bucket_width(int index);

#endif
