/*
 * hist.c - the log-linear latency histogram (see hist.h for its precision).
 */
#include "hist.h"

#include <math.h>
#include <string.h>

void rig__hist_init(rig__hist *hist)
{
  memset(hist, 0, sizeof *hist);
  hist->min = INT64_MAX;
}

int rig__hist_index(int64_t value)
{
  if (value < (1 << RIG_HIST_LINEAR_BITS))
    return value < 0 ? 0 : (int)value;
  if (value >= ((int64_t)1 << RIG_HIST_MAX_BITS))
    return RIG_HIST_BUCKETS - 1;
  int msb = 63 - __builtin_clzll((unsigned long long)value);
  int shift = msb - (RIG_HIST_LINEAR_BITS - 1);
  /* value >> shift lies in [HALF, 2*HALF): the sub-bucket within this power of two */
  return shift * RIG_HIST_HALF + (int)(value >> shift);
}

int64_t rig__hist_bucket_low(int index)
{
  if (index < 2 * RIG_HIST_HALF)
    return index;
  int shift = index / RIG_HIST_HALF - 1;
  return (int64_t)(index - shift * RIG_HIST_HALF) << shift;
}

int64_t rig__hist_bucket_width(int index)
{
  if (index < 2 * RIG_HIST_HALF)
    return 1;
  return (int64_t)1 << (index / RIG_HIST_HALF - 1);
}

void rig__hist_record(rig__hist *hist, int64_t value)
{
  if (value < 0)
    value = 0;
  hist->buckets[rig__hist_index(value)]++;
  hist->count++;
  hist->sum += (double)value;
  if (value < hist->min)
    hist->min = value;
  if (value > hist->max)
    hist->max = value;
}

void rig__hist_merge(rig__hist *dst, const rig__hist *src)
{
  if (src->count == 0)
    return;
  for (int i = 0; i < RIG_HIST_BUCKETS; i++)
    dst->buckets[i] += src->buckets[i];
  dst->count += src->count;
  dst->sum += src->sum;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
}

int64_t rig__hist_percentile(const rig__hist *hist, double p)
{
  if (hist->count == 0)
    return 0;
  if (p <= 0)
    return hist->min;
  if (p >= 100)
    return hist->max;
  /* nearest rank: the ceil(p/100 * n)-th smallest value */
  double exact_rank = p * (double)hist->count / 100.0;
  /* tolerate the rounding of p*n (99.9% of 1000 must be rank 999, not 1000) */
  uint64_t rank = (uint64_t)ceil(exact_rank - exact_rank * 1e-12);
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < RIG_HIST_BUCKETS; i++) {
    seen += hist->buckets[i];
    if (seen >= rank) {
      int64_t value = rig__hist_bucket_low(i) + (rig__hist_bucket_width(i) - 1) / 2;
      if (value < hist->min)
        value = hist->min;
      if (value > hist->max)
        value = hist->max;
      return value;
    }
  }
  return hist->max;
}

double rig__hist_mean(const rig__hist *hist)
{
  return hist->count ? hist->sum / (double)hist->count : 0.0;
}
