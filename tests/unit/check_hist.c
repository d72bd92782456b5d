/*
 * check_hist.c - the log-linear latency histogram: bucket layout, exact min/max/mean,
 * and percentiles within 1% of the exact nearest-rank percentiles of known samples
 * (uniform, exponential, bimodal, and values at the edges of the range).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <stackrig.h>

#include "hist.h"
#include "testutil.h"

/* xorshift64*: a fixed, portable sequence so that every run checks the same samples */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
  rng_state = seed ? seed : 1;
}

static double rng_uniform(void) /* [0, 1) */
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static int compare_int64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Exact nearest-rank percentile, with p given in thousandths of a percent so that the
 * rank is computed in integers (independently of the histogram's floating point). */
static int64_t exact_percentile(const int64_t *sorted, size_t n, uint64_t p_milli)
{
  uint64_t rank = (p_milli * n + 99999) / 100000;
  if (rank < 1)
    rank = 1;
  return sorted[rank - 1];
}

static const uint64_t percentiles_milli[] = {1000,  10000, 25000, 50000, 75000, 90000,
                                             95000, 99000, 99900, 99990, 100000};

static void check_against_exact(int64_t *values, size_t n, const char *what)
{
  rig__hist *hist = malloc(sizeof *hist);
  rig__hist_init(hist);
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    rig__hist_record(hist, values[i]);
    sum += (double)values[i];
  }
  qsort(values, n, sizeof *values, compare_int64);
  ck_assert_uint_eq(hist->count, n);
  ck_assert_int_eq(hist->min, values[0]);
  ck_assert_int_eq(hist->max, values[n - 1]);
  ck_assert_double_eq_tol(rig__hist_mean(hist), sum / (double)n, sum / (double)n * 1e-12);
  for (size_t i = 0; i < sizeof percentiles_milli / sizeof percentiles_milli[0]; i++) {
    double p = (double)percentiles_milli[i] / 1000.0;
    int64_t exact = exact_percentile(values, n, percentiles_milli[i]);
    int64_t got = rig__hist_percentile(hist, p);
    double error = fabs((double)got - (double)exact) / (double)(exact ? exact : 1);
    ck_assert_msg(error <= 0.01, "%s: p(%g) = %lld, exact %lld, relative error %.4f%% > 1%%", what,
                  p, (long long)got, (long long)exact, error * 100);
    /* the design promises half a bucket: 1/256 */
    ck_assert_msg(error <= 1.0 / 256 + 1e-12, "%s: p(%g) error %.4f%% above the bucket bound", what,
                  p, error * 100);
  }
  free(hist);
}

START_TEST(buckets_cover_values_without_gaps)
{
  int previous = -1;
  for (int64_t v = 0; v < 100000; v++) {
    int index = rig__hist_index(v);
    ck_assert_int_ge(index, previous);
    ck_assert_int_le(index, previous + 1);
    previous = index;
    ck_assert_int_le(rig__hist_bucket_low(index), v);
    ck_assert_int_gt(rig__hist_bucket_low(index) + rig__hist_bucket_width(index), v);
  }
  /* every bucket's width is at most 1/128 of its lower bound above the exact range */
  for (int index = 256; index < RIG_HIST_BUCKETS; index++) {
    int64_t low = rig__hist_bucket_low(index);
    int64_t width = rig__hist_bucket_width(index);
    ck_assert_int_le(width * 128, low);
    if (index + 1 < RIG_HIST_BUCKETS)
      ck_assert_int_eq(low + width, rig__hist_bucket_low(index + 1));
    ck_assert_int_eq(rig__hist_index(low), index);
    ck_assert_int_eq(rig__hist_index(low + width - 1), index);
  }
}
END_TEST

START_TEST(small_values_are_exact)
{
  rig__hist hist;
  rig__hist_init(&hist);
  for (int64_t v = 1; v <= 200; v++)
    rig__hist_record(&hist, v);
  ck_assert_int_eq(rig__hist_percentile(&hist, 50), 100);
  ck_assert_int_eq(rig__hist_percentile(&hist, 0.5), 1);
  ck_assert_int_eq(rig__hist_percentile(&hist, 99.5), 199);
  ck_assert_int_eq(rig__hist_percentile(&hist, 100), 200);
  ck_assert_int_eq(rig__hist_percentile(&hist, 0), 1);
  ck_assert_double_eq(rig__hist_mean(&hist), 100.5);
}
END_TEST

START_TEST(empty_histogram_reports_zero)
{
  rig__hist hist;
  rig__hist_init(&hist);
  ck_assert_int_eq(rig__hist_percentile(&hist, 99), 0);
  ck_assert_double_eq(rig__hist_mean(&hist), 0);
  ck_assert_uint_eq(hist.count, 0);
}
END_TEST

START_TEST(uniform_samples)
{
  size_t n = 200000;
  int64_t *values = malloc(n * sizeof *values);
  rng_seed(42);
  for (size_t i = 0; i < n; i++)
    values[i] = 1000 + (int64_t)(rng_uniform() * 100e6); /* 1 us .. 100 ms */
  check_against_exact(values, n, "uniform");
  free(values);
}
END_TEST

START_TEST(exponential_samples)
{
  size_t n = 200000;
  int64_t *values = malloc(n * sizeof *values);
  rng_seed(7);
  for (size_t i = 0; i < n; i++)
    values[i] = 20000 + (int64_t)(-log(1.0 - rng_uniform()) * 1e6); /* mean 1 ms */
  check_against_exact(values, n, "exponential");
  free(values);
}
END_TEST

START_TEST(bimodal_samples)
{
  size_t n = 100000;
  int64_t *values = malloc(n * sizeof *values);
  rng_seed(2024);
  for (size_t i = 0; i < n; i++) {
    /* 90% fast answers around 200 us, 10% slow ones around 50 ms */
    if (rng_uniform() < 0.9)
      values[i] = 150000 + (int64_t)(rng_uniform() * 100000);
    else
      values[i] = 40000000 + (int64_t)(rng_uniform() * 20000000);
  }
  check_against_exact(values, n, "bimodal");
  free(values);
}
END_TEST

START_TEST(wide_range_samples)
{
  /* log-uniform from 100 ns to 1000 s: every power of two gets values */
  size_t n = 100000;
  int64_t *values = malloc(n * sizeof *values);
  rng_seed(99);
  for (size_t i = 0; i < n; i++)
    values[i] = (int64_t)(100.0 * pow(10.0, rng_uniform() * 10.0));
  check_against_exact(values, n, "log-uniform");
  free(values);
}
END_TEST

START_TEST(few_samples)
{
  int64_t values[] = {5000000, 1000000, 3000000};
  check_against_exact(values, 3, "three values");
  int64_t one[] = {123456789};
  check_against_exact(one, 1, "one value");
}
END_TEST

START_TEST(huge_values_share_the_last_bucket)
{
  rig__hist hist;
  rig__hist_init(&hist);
  int64_t huge = (int64_t)1 << 50;
  rig__hist_record(&hist, huge);
  rig__hist_record(&hist, -5); /* counts as 0 */
  ck_assert_int_eq(rig__hist_index(huge), RIG_HIST_BUCKETS - 1);
  ck_assert_int_eq(hist.max, huge);
  ck_assert_int_eq(hist.min, 0);
  ck_assert_int_eq(rig__hist_percentile(&hist, 100), huge);
  ck_assert_int_eq(rig__hist_percentile(&hist, 50), 0);
}
END_TEST

START_TEST(merge_equals_recording_everything)
{
  rig__hist *a = malloc(sizeof *a), *b = malloc(sizeof *b), *both = malloc(sizeof *both);
  rig__hist_init(a);
  rig__hist_init(b);
  rig__hist_init(both);
  rng_seed(5);
  for (int i = 0; i < 10000; i++) {
    int64_t v = (int64_t)(rng_uniform() * 1e7);
    rig__hist_record(i % 3 ? a : b, v);
    rig__hist_record(both, v);
  }
  rig__hist_merge(a, b);
  ck_assert_uint_eq(a->count, both->count);
  ck_assert_int_eq(a->min, both->min);
  ck_assert_int_eq(a->max, both->max);
  ck_assert_double_eq_tol(a->sum, both->sum, 1e-3);
  for (int p = 1; p <= 100; p++)
    ck_assert_int_eq(rig__hist_percentile(a, p), rig__hist_percentile(both, p));
  free(a);
  free(b);
  free(both);
}
END_TEST

START_TEST(fractional_percentile_ranks_are_not_rounded_up)
{
  /* 99.9% of 1000 values is the 999th, though 99.9 * 1000 / 100 is not exact in binary */
  rig__hist hist;
  rig__hist_init(&hist);
  for (int64_t v = 1; v <= 1000; v++)
    rig__hist_record(&hist, v < 999 ? 10 : v == 999 ? 20 : 1000000);
  ck_assert_int_eq(rig__hist_percentile(&hist, 99.9), 20);
  ck_assert_int_eq(rig__hist_percentile(&hist, 99.95), 1000000);
}
END_TEST

static Suite *hist_suite(void)
{
  Suite *s = suite_create("hist");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, buckets_cover_values_without_gaps);
  tcase_add_test(tc, small_values_are_exact);
  tcase_add_test(tc, empty_histogram_reports_zero);
  tcase_add_test(tc, uniform_samples);
  tcase_add_test(tc, exponential_samples);
  tcase_add_test(tc, bimodal_samples);
  tcase_add_test(tc, wide_range_samples);
  tcase_add_test(tc, few_samples);
  tcase_add_test(tc, huge_values_share_the_last_bucket);
  tcase_add_test(tc, merge_equals_recording_everything);
  tcase_add_test(tc, fractional_percentile_ranks_are_not_rounded_up);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(hist_suite());
}
