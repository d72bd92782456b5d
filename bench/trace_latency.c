/*
 * trace_latency.c - the measuring half of bench/trace-latency: sends N traces (3 spans, 2
 * services) to the collector's OTLP/HTTP endpoint one after another and, for each, times
 * from the moment the export returned to the moment rig_jaeger_expect_trace() saw the
 * trace complete with its expectations met (span count 3, connected, a child selector).
 * Exports start at random moments (0-250 ms after the previous trace was seen) so that they
 * do not lock onto the phase of the batch processors' timers.
 *
 * usage: trace_latency OTLP_URL JAEGER_URL [N] [BUDGET_MS]
 * Prints one line per trace and a summary; exits 1 when the median exceeds BUDGET_MS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stackrig.h>

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double percentile(const double *sorted, int n, double p)
{
  int i = (int)(p * (n - 1) + 0.5);
  return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int fail(const char *what)
{
  const rig_error *err = rig_error_last();
  fprintf(stderr, "trace_latency: %s: %s\n", what, err ? err->text : "?");
  return 2;
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: trace_latency OTLP_URL JAEGER_URL [N] [BUDGET_MS]\n");
    return 2;
  }
  int n = argc > 3 ? atoi(argv[3]) : 50;
  double budget = argc > 4 ? atof(argv[4]) : 0;
  if (n < 1)
    n = 1;
  rig_otlp_exporter *exporter;
  rig_jaeger *jaeger;
  if (rig_otlp_exporter_new(&exporter, argv[1], NULL) != RIG_OK)
    return fail("exporter");
  if (rig_jaeger_new(&jaeger, argv[2], NULL) != RIG_OK)
    return fail("jaeger client");
  rig_jaeger_api api;
  if (rig_jaeger_api_in_use(&api, jaeger) != RIG_OK)
    return fail("jaeger API detection");
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  rig_trace_expect_span_count(expect, 3);
  rig_trace_expect_add(expect, NULL, "connected");
  rig_trace_expect_add(
      expect, "span[service.name=bench-frontend] > span[service.name=bench-orders]", "count == 1");
  rig_jaeger_wait_options wait = RIG_JAEGER_WAIT_OPTIONS_INIT;
  wait.timeout_ms = 30000;

  double *latency = calloc((size_t)n, sizeof *latency);
  double *send = calloc((size_t)n, sizeof *send);
  printf("# trace  export_ms  visible_ms\n");
  for (int i = 0; i < n; i++) {
    rig_otlp_batch *batch;
    rig_otlp_batch_new(&batch);
    rig_otlp_resource *frontend, *orders;
    rig_otlp_batch_add_resource(&frontend, batch, "bench-frontend");
    rig_otlp_batch_add_resource(&orders, batch, "bench-orders");
    rig_otlp_span *root, *child, *leaf;
    int64_t t = wall_ns();
    rig_otlp_span_start(&root, frontend, "GET /checkout", NULL);
    rig_otlp_span_start(&child, orders, "POST /orders", root);
    rig_otlp_span_start(&leaf, orders, "INSERT orders", child);
    rig_otlp_span_set_times(root, t, t + 3000000);
    rig_otlp_span_set_times(child, t + 1000000, t + 2000000);
    rig_otlp_span_set_times(leaf, t + 1200000, t + 1800000);
    char id[RIG_TRACE_ID_HEX_LEN + 1];
    rig_otlp_span_trace_id_hex(id, root);
    /* The batch processors flush on timers; sending right after the previous trace showed
     * up would lock onto their phase. A random pause makes each export land anywhere. */
    uint16_t r;
    rig_random_bytes(&r, sizeof r);
    struct timespec pause = {0, (long)(r % 250) * 1000000L};
    nanosleep(&pause, NULL);
    double start = now_ms();
    if (rig_otlp_exporter_send(exporter, batch) != RIG_OK)
      return fail("export");
    double exported = now_ms();
    if (rig_jaeger_expect_trace(NULL, jaeger, id, expect, &wait) != RIG_OK)
      return fail(id);
    double visible = now_ms();
    send[i] = exported - start;
    latency[i] = visible - exported;
    printf("%s  %8.1f  %9.1f\n", id, send[i], latency[i]);
    rig_otlp_batch_free(batch);
  }
  qsort(latency, (size_t)n, sizeof *latency, compare);
  qsort(send, (size_t)n, sizeof *send, compare);
  double median = percentile(latency, n, 0.5);
  printf("traces %d  api %s\n", n, rig_jaeger_api_name(api));
  printf("export      median %.1f ms\n", percentile(send, n, 0.5));
  printf("visible     min %.1f  median %.1f  p90 %.1f  max %.1f ms\n", latency[0], median,
         percentile(latency, n, 0.9), latency[n - 1]);
  int rc = 0;
  if (budget > 0) {
    printf("budget      %.0f ms: median %s\n", budget, median <= budget ? "within" : "OVER");
    rc = median <= budget ? 0 : 1;
  }
  free(latency);
  free(send);
  rig_trace_expect_free(expect);
  rig_jaeger_free(jaeger);
  rig_otlp_exporter_free(exporter);
  return rc;
}
