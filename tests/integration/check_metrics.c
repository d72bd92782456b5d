/*
 * check_metrics.c - the prom module and the Check glue against the real default stack
 * (compose/stack.yml): Prometheus reports every configured target up; spans posted to the
 * collector over OTLP/HTTP show up in its self-metrics (under whichever name it uses, with
 * or without _total); the counter's delta is exactly the number of spans sent; the pipeline
 * account says "all sent", and "never sent" when nothing was sent.
 *
 * The stack comes from the environment when `stackrig run` hands one to the suite
 * (STACKRIG_PROMETHEUS_URL, STACKRIG_OTLP_HTTP_ENDPOINT, STACKRIG_JAEGER_URL); otherwise the
 * suite brings up its own default stack (tests/integration/defaultstack.h). The exact deltas
 * need a stack that no other suite sends spans to while this one runs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>
#include <stackrig/check.h>

#include "defaultstack.h"
#include "testutil.h"

#define WAIT_MS 30000

static rig_attach *attached;
static rig_prom *prom;

static void attach_setup(void)
{
  rig_ck_attach(&attached, RIG_ATTACH_PROMETHEUS | RIG_ATTACH_OTLP | RIG_ATTACH_JAEGER);
  prom = rig_attach_prom(attached);
}

static void attach_teardown(void)
{
  rig_attach_free(attached);
  attached = NULL;
  prom = NULL;
}

/* Sends count spans of one new trace from service "check-metrics"; gives the trace id. */
static void send_spans(size_t count, char trace_id[RIG_TRACE_ID_HEX_LEN + 1])
{
  rig_otlp_batch *batch = NULL;
  rig_otlp_resource *resource = NULL;
  rig_otlp_span *root = NULL;
  rig_ck_assert_ok(rig_otlp_batch_new(&batch));
  rig_ck_assert_ok(rig_otlp_batch_add_resource(&resource, batch, "check-metrics"));
  rig_ck_assert_ok(rig_otlp_span_start(&root, resource, "GET /metrics-test", NULL));
  rig_otlp_span_set_kind(root, RIG_SPAN_KIND_SERVER);
  for (size_t i = 1; i < count; i++) {
    rig_otlp_span *child = NULL;
    rig_ck_assert_ok(rig_otlp_span_start(&child, resource, "SELECT", root));
    rig_otlp_span_set_kind(child, RIG_SPAN_KIND_CLIENT);
    rig_otlp_span_end(child);
  }
  rig_otlp_span_end(root);
  ck_assert_uint_eq(rig_otlp_batch_span_count(batch), count);
  rig_otlp_span_trace_id_hex(trace_id, root);
  rig_ck_assert_ok(rig_otlp_exporter_send(rig_attach_otlp(attached), batch));
  rig_otlp_batch_free(batch);
}

static char *collector_selector(const char *name)
{
  char *selector = NULL;
  rig_ck_assert_ok(rig_prom_selector_total(&selector, name, "job=\"otel-collector\""));
  char *sum = NULL;
  ck_assert_int_ge(asprintf(&sum, "sum(%s)", selector), 0);
  free(selector);
  return sum;
}

START_TEST(every_target_up)
{
  rig_ck_assert_targets_up(prom, WAIT_MS);
  rig_prom_target_list *targets = NULL;
  rig_ck_assert_ok(rig_prom_targets(&targets, prom));
  /* compose/prometheus.yml scrapes these jobs, every second. */
  const char *jobs[] = {"prometheus", "otel-collector", "otel-collector-exporter", "jaeger"};
  for (size_t j = 0; j < sizeof jobs / sizeof jobs[0]; j++) {
    int found = 0;
    for (size_t i = 0; i < targets->count; i++) {
      const rig_prom_target *t = &targets->items[i];
      if (strcmp(t->job, jobs[j]) != 0)
        continue;
      found = 1;
      ck_assert_int_eq(t->health, RIG_PROM_HEALTH_UP);
      ck_assert_str_eq(t->last_error, "");
      ck_assert_int_eq(t->scrape_interval_ms, 1000);
      ck_assert_int_gt(t->last_scrape_ms, 0);
      ck_assert_msg(strncmp(t->scrape_url, "http://", 7) == 0, "%s", t->scrape_url);
    }
    ck_assert_msg(found, "Prometheus has no target of job %s", jobs[j]);
  }
  rig_prom_target_list_free(targets);
  int64_t interval = 0;
  rig_ck_assert_ok(rig_prom_scrape_interval(&interval, prom, "otel-collector"));
  ck_assert_int_eq(interval, 1000);
  /* The same through PromQL, with eventually. */
  rig_ck_assert_promql(prom, "up", RIG_PROM_EQ, 1, WAIT_MS);
  rig_ck_assert_promql(
      prom, "count(up{job=~\"prometheus|otel-collector|otel-collector-exporter|jaeger\"})",
      RIG_PROM_EQ, 4, WAIT_MS);
}
END_TEST

START_TEST(live_answers_of_each_type)
{
  rig_prom_result *r = NULL;
  rig_ck_assert_ok(rig_prom_query(&r, prom, "time()", 0));
  ck_assert_int_eq(r->type, RIG_PROM_SCALAR);
  rig_prom_result_free(r);
  rig_ck_assert_ok(rig_prom_query(&r, prom, "\"stackrig\"", 0));
  ck_assert_int_eq(r->type, RIG_PROM_STRING);
  ck_assert_str_eq(r->string, "stackrig");
  rig_prom_result_free(r);
  rig_ck_assert_ok(rig_prom_query(&r, prom, "vector(0)/0", 0));
  ck_assert_int_eq(r->type, RIG_PROM_VECTOR);
  ck_assert(r->series[0].samples[0].value != r->series[0].samples[0].value); /* NaN */
  rig_prom_result_free(r);
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, "prometheus", WAIT_MS));
  int64_t end = rig_prom_mark_time(mark);
  rig_ck_assert_ok(rig_prom_query_range(&r, prom, "up{job=\"prometheus\"}", end - 3000, end, 1000));
  ck_assert_int_eq(r->type, RIG_PROM_MATRIX);
  ck_assert_uint_eq(r->series_count, 1);
  ck_assert_uint_ge(r->series[0].sample_count, 1);
  rig_prom_result_free(r);
  rig_prom_mark_free(mark);
  /* The server's own words for a malformed query, naming it. */
  r = NULL;
  ck_assert_int_eq(rig_prom_query(&r, prom, "rate(x[1m)", 0), RIG_EINVAL);
  ck_assert_ptr_null(r);
  ck_assert_msg(strncmp(rig_error_last()->text, "prometheus: query 'rate(x[1m)': bad_data: ", 42) ==
                    0,
                "%s", rig_error_last()->text);
  rig_prom_label_sets *sets = NULL;
  const char *matchers[] = {"up{job=\"otel-collector\"}", NULL};
  rig_ck_assert_ok(rig_prom_series_match(&sets, prom, matchers, 0, 0));
  ck_assert_uint_eq(sets->count, 1);
  rig_prom_label_sets_free(sets);
}
END_TEST

START_TEST(spans_counted_exactly_and_all_sent)
{
  const size_t spans = 3;
  char *accepted = collector_selector("otelcol_receiver_accepted_spans");
  char *sent = collector_selector("otelcol_exporter_sent_spans");
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, "otel-collector", WAIT_MS));
  char trace_id[RIG_TRACE_ID_HEX_LEN + 1];
  send_spans(spans, trace_id);

  /* Whatever the collector's version calls it, the counter saw the spans. */
  rig_ck_assert_promql(prom, accepted, RIG_PROM_GE, (double)spans, WAIT_MS);
  /* Exactly the spans sent: the receiver counts them before it answers the request, and
   * the delta is read after a scrape newer than this line. */
  double delta = -1;
  rig_ck_assert_ok(rig_prom_delta(&delta, prom, accepted, mark, WAIT_MS));
  ck_assert_double_eq(delta, (double)spans);
  /* Exported spans lag behind by the batch processor's timeout: wait for them. */
  rig_ck_assert_delta(prom, sent, mark, RIG_PROM_EQ, (double)spans, WAIT_MS);

  rig_prom_pipeline_options opts = RIG_PROM_PIPELINE_OPTIONS_INIT;
  opts.expected_spans = (double)spans;
  rig_prom_pipeline_report *report = NULL;
  rig_ck_assert_ok(rig_prom_pipeline_check(&report, prom, mark, &opts, WAIT_MS));
  ck_assert_msg(report->verdict == RIG_PROM_PIPELINE_ALL_SENT, "%s", report->message);
  ck_assert_double_eq(report->accepted, (double)spans);
  ck_assert_double_eq(report->sent, (double)spans);
  ck_assert_double_eq(
      report->refused + report->failed + report->send_failed + report->enqueue_failed, 0);
  ck_assert_str_eq(report->message, "pipeline: all sent: the collector accepted 3 spans and its "
                                    "exporters sent 3 (refused 0, send failed 0)");
  rig_prom_pipeline_report_free(report);
  rig_ck_assert_pipeline_all_sent(prom, mark, (double)spans, WAIT_MS);

  /* And the trace reached Jaeger in one piece. */
  rig_ck_assert_trace_all(rig_attach_jaeger(attached), trace_id, WAIT_MS, "span", "count == 3",
                          "span[kind=server]", "name = \"GET /metrics-test\"", "span", "connected");
  rig_prom_mark_free(mark);
  free(accepted);
  free(sent);
}
END_TEST

START_TEST(nothing_sent_is_not_received)
{
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, "otel-collector", WAIT_MS));
  rig_prom_pipeline_options opts = RIG_PROM_PIPELINE_OPTIONS_INIT;
  opts.expected_spans = 1;
  rig_prom_pipeline_report *report = NULL;
  rig_ck_assert_ok(rig_prom_pipeline_check(&report, prom, mark, &opts, 2500));
  ck_assert_msg(report->verdict == RIG_PROM_PIPELINE_NOT_RECEIVED, "%s", report->message);
  ck_assert_double_eq(report->accepted, 0);
  ck_assert_msg(strncmp(report->message, "pipeline: the service never sent them: ", 39) == 0, "%s",
                report->message);
  rig_prom_pipeline_report_free(report);
  rig_prom_mark_free(mark);
}
END_TEST

START_TEST(self_metric_names_differ_between_collector_and_jaeger)
{
  /* The collector and Jaeger v2 (built on the collector) spell the same counter
   * differently on this stack; the tolerant lookup finds each. Needs spans to have flowed. */
  char trace_id[RIG_TRACE_ID_HEX_LEN + 1];
  send_spans(1, trace_id);
  char *accepted_any = NULL;
  rig_ck_assert_ok(
      rig_prom_selector_total(&accepted_any, "otelcol_receiver_accepted_spans", "job=\"jaeger\""));
  rig_ck_assert_promql(prom, accepted_any, RIG_PROM_GE, 1, WAIT_MS);
  free(accepted_any);
  char *collector = NULL, *jaeger = NULL;
  rig_ck_assert_ok(rig_prom_metric_resolve(
      &collector, prom, "otelcol_receiver_accepted_spans_total", "job=\"otel-collector\""));
  rig_ck_assert_ok(
      rig_prom_metric_resolve(&jaeger, prom, "otelcol_receiver_accepted_spans", "job=\"jaeger\""));
  /* Either spelling is fine: what matters is that each resolves to a name that exists. */
  char *query = NULL;
  ck_assert_int_ge(asprintf(&query, "sum(%s{job=\"otel-collector\"}) + sum(%s{job=\"jaeger\"})",
                            collector, jaeger),
                   0);
  rig_ck_assert_promql(prom, query, RIG_PROM_GE, 2, WAIT_MS);
  free(query);
  free(collector);
  free(jaeger);
}
END_TEST

static Suite *metrics_suite(void)
{
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("default stack");
  tcase_add_checked_fixture(tc, attach_setup, attach_teardown);
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, every_target_up);
  tcase_add_test(tc, live_answers_of_each_type);
  tcase_add_test(tc, spans_counted_exactly_and_all_sent);
  tcase_add_test(tc, nothing_sent_is_not_received);
  tcase_add_test(tc, self_metric_names_differ_between_collector_and_jaeger);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  /* Under `stackrig run` the stack is given; otherwise the suite brings up its own default
   * stack (unique project), which also keeps other suites' spans out of its deltas. */
  rig_stack *stack = NULL;
  const char *given = getenv("STACKRIG_PROMETHEUS_URL");
  if (!given || !*given) {
    if (rig_test_default_stack_up(&stack) != RIG_OK)
      return 1;
  }
  int rc = rig_test_main(metrics_suite());
  rig_test_default_stack_down(stack);
  return rc;
}
