/*
 * check_prom.c - the Prometheus client: recorded answers of a real Prometheus 2.53 (and a
 * few written by hand in the documented format, see fixtures/prometheus/README.md) parsed
 * into the model, every result type and error type, NaN and infinities; the small text
 * formats; and the polling logic (eventually, marks, deltas, the pipeline account) against a
 * fake API server in a thread that answers from scripts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "fake_http.h"
#include "prom_internal.h"
#include "testutil.h"
#include "util.h"

static void assert_prefix(const char *text, const char *prefix)
{
  ck_assert_msg(strncmp(text, prefix, strlen(prefix)) == 0, "\n  got  %s\n  want %s...", text,
                prefix);
}

/* ---- fixtures ---- */

/* The HTTP status a fixture was recorded with, from MANIFEST or MANIFEST.synthesized. */
static long fixture_status(const char *name)
{
  const char *manifests[] = {"fixtures/prometheus/MANIFEST",
                             "fixtures/prometheus/MANIFEST.synthesized"};
  for (size_t m = 0; m < 2; m++) {
    char *path = rig_test_path(manifests[m]);
    char *text = NULL;
    size_t len = 0;
    ck_assert_int_eq(rig__read_file(&text, &len, path), RIG_OK);
    free(path);
    long status = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
      char file[128];
      long code;
      if (sscanf(line, "%127s %ld", file, &code) == 2 && strcmp(file, name) == 0)
        status = code;
    }
    free(text);
    if (status > 0)
      return status;
  }
  ck_abort_msg("fixture %s is in no MANIFEST", name);
  return -1;
}

/* A recorded Prometheus answer, fixtures/prometheus/NAME.json. */
static char *prom_fixture(const char *name)
{
  char *relative = rig__sprintf("prometheus/%s.json", name);
  char *text = rig_test_fixture(relative);
  free(relative);
  return text;
}

static rig_prom_result *parse_fixture(const char *name, const char *expr)
{
  char *body = prom_fixture(name);
  char *what = rig__sprintf("query '%s'", expr);
  rig_prom_result *result = NULL;
  int rc = rig__prom_parse_result(&result, fixture_status(name), body, strlen(body), expr, what);
  ck_assert_msg(rc == RIG_OK, "%s: %s", name, rig_error_last() ? rig_error_last()->text : "");
  free(body);
  free(what);
  ck_assert_str_eq(result->expr, expr);
  return result;
}

static const rig_prom_series *series_with(const rig_prom_result *r, const char *label,
                                          const char *value)
{
  for (size_t i = 0; i < r->series_count; i++)
    if (rig__streq(rig_prom_labels_get(&r->series[i].labels, label), value))
      return &r->series[i];
  ck_abort_msg("no series with %s=%s", label, value);
  return NULL;
}

START_TEST(vector_of_up)
{
  rig_prom_result *r = parse_fixture("vector", "up");
  ck_assert_int_eq(r->type, RIG_PROM_VECTOR);
  ck_assert_uint_eq(r->series_count, 4); /* the default stack's four targets */
  const char *jobs[] = {"prometheus", "otel-collector", "otel-collector-exporter", "jaeger"};
  for (size_t i = 0; i < 4; i++) {
    const rig_prom_series *s = series_with(r, "job", jobs[i]);
    ck_assert_uint_eq(s->sample_count, 1);
    ck_assert_double_eq(s->samples[0].value, 1.0);
    ck_assert_int_gt(s->samples[0].time_ms, 1700000000000LL);
    ck_assert_uint_eq(s->skipped_histograms, 0);
    /* Labels in the server's order: it sorts them by name. */
    ck_assert_uint_eq(s->labels.count, 3);
    ck_assert_str_eq(s->labels.items[0].name, "__name__");
    ck_assert_str_eq(s->labels.items[0].value, "up");
    ck_assert_str_eq(s->labels.items[1].name, "instance");
    ck_assert_str_eq(s->labels.items[2].name, "job");
  }
  /* Every sample of one instant query carries the same evaluation time, in ms. */
  for (size_t i = 1; i < r->series_count; i++)
    ck_assert_int_eq(r->series[i].samples[0].time_ms, r->series[0].samples[0].time_ms);
  ck_assert_uint_eq(r->warning_count, 0);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(vector_empty)
{
  rig_prom_result *r = parse_fixture("vector_empty", "stackrig_no_such_metric");
  ck_assert_int_eq(r->type, RIG_PROM_VECTOR);
  ck_assert_uint_eq(r->series_count, 0);
  char *text = NULL;
  rig_prom_result_format(&text, r, 0);
  ck_assert_str_eq(text, "empty vector");
  free(text);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(vector_nan_and_infinities)
{
  rig_prom_result *r = parse_fixture("vector_nan_inf", "label_replace(...)");
  ck_assert_uint_eq(r->series_count, 4);
  double pos = series_with(r, "v", "pos")->samples[0].value;
  double neg = series_with(r, "v", "neg")->samples[0].value;
  double nan = series_with(r, "v", "nan")->samples[0].value;
  ck_assert(isinf(pos) && pos > 0);
  ck_assert(isinf(neg) && neg < 0);
  ck_assert(isnan(nan));
  ck_assert_double_eq(series_with(r, "v", "num")->samples[0].value, 0.125);
  char *text = NULL;
  rig_prom_result_format(&text, r, 0);
  ck_assert_msg(strstr(text, "{v=\"pos\"} = +Inf @ ") && strstr(text, "{v=\"neg\"} = -Inf @ ") &&
                    strstr(text, "{v=\"nan\"} = NaN @ ") && strstr(text, "{v=\"num\"} = 0.125 @ "),
                "%s", text);
  free(text);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(vector_selfmetric_spellings)
{
  /* Recorded from the default stack: the collector writes its counter without _total, while
   * Jaeger v2 (built on the collector) writes the same counter with it. */
  rig_prom_result *r = parse_fixture("vector_selfmetric",
                                     "{__name__=~\"otelcol_receiver_accepted_spans(_total)?\"}");
  ck_assert_uint_eq(r->series_count, 2);
  ck_assert_str_eq(
      rig_prom_labels_get(&series_with(r, "job", "otel-collector")->labels, "__name__"),
      "otelcol_receiver_accepted_spans");
  ck_assert_str_eq(rig_prom_labels_get(&series_with(r, "job", "jaeger")->labels, "__name__"),
                   "otelcol_receiver_accepted_spans_total");
  rig_prom_result_free(r);
}
END_TEST

START_TEST(matrix_from_range_selector)
{
  rig_prom_result *r = parse_fixture("matrix_instant", "up{job=\"prometheus\"}[3s]");
  ck_assert_int_eq(r->type, RIG_PROM_MATRIX);
  ck_assert_uint_eq(r->series_count, 1);
  const rig_prom_series *s = &r->series[0];
  ck_assert_uint_eq(s->sample_count, 3);
  for (size_t i = 1; i < s->sample_count; i++)
    ck_assert_int_eq(s->samples[i].time_ms - s->samples[i - 1].time_ms, 1000); /* 1s scrapes */
  /* Scrape times keep their milliseconds. */
  ck_assert_int_ne(s->samples[0].time_ms % 1000, 0);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(matrix_from_range_query)
{
  rig_prom_result *r = parse_fixture("matrix_range", "up");
  ck_assert_int_eq(r->type, RIG_PROM_MATRIX);
  ck_assert_uint_eq(r->series_count, 4);
  for (size_t i = 0; i < r->series_count; i++) {
    const rig_prom_series *s = &r->series[i];
    ck_assert_uint_ge(s->sample_count, 1);
    ck_assert_uint_le(s->sample_count, 6);
    for (size_t j = 0; j < s->sample_count; j++) {
      ck_assert_int_eq(s->samples[j].time_ms % 1000, 0); /* step 1 from a whole second */
      ck_assert_double_eq(s->samples[j].value, 1.0);
    }
  }
  char *text = NULL;
  rig_prom_result_format(&text, r, 2);
  ck_assert_msg(strstr(text, "\n... and 2 more") != NULL, "%s", text);
  free(text);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(scalar_and_string)
{
  rig_prom_result *r = parse_fixture("scalar", "time()");
  ck_assert_int_eq(r->type, RIG_PROM_SCALAR);
  ck_assert_uint_eq(r->series_count, 0);
  /* time() is the evaluation time, so value and timestamp agree to the millisecond. */
  ck_assert_int_eq((int64_t)llround(r->scalar.value * 1000), r->scalar.time_ms);
  rig_prom_result_free(r);

  r = parse_fixture("scalar_nan", "scalar(vector(0)/0)");
  ck_assert_int_eq(r->type, RIG_PROM_SCALAR);
  ck_assert(isnan(r->scalar.value));
  char *text = NULL;
  rig_prom_result_format(&text, r, 0);
  assert_prefix(text, "scalar NaN @ ");
  free(text);
  rig_prom_result_free(r);

  r = parse_fixture("string", "\"stackrig\"");
  ck_assert_int_eq(r->type, RIG_PROM_STRING);
  ck_assert_str_eq(r->string, "stackrig");
  ck_assert_int_gt(r->scalar.time_ms, 0);
  rig_prom_result_format(&text, r, 0);
  ck_assert_str_eq(text, "string \"stackrig\"");
  free(text);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(warnings_kept)
{
  rig_prom_result *r = parse_fixture("warnings", "rate(up[1m])");
  ck_assert_int_eq(r->type, RIG_PROM_VECTOR);
  ck_assert_uint_eq(r->warning_count, 1);
  ck_assert_msg(strstr(r->warnings[0], "might not be a counter") != NULL, "%s", r->warnings[0]);
  ck_assert_uint_eq(r->info_count, 0);
  rig_prom_result_free(r);
}
END_TEST

START_TEST(native_histograms_skipped)
{
  rig_prom_result *r = parse_fixture("vector_histogram", "x");
  ck_assert_uint_eq(r->series_count, 2);
  const rig_prom_series *h = series_with(r, "__name__", "http_request_duration_seconds");
  ck_assert_uint_eq(h->sample_count, 0);
  ck_assert_uint_eq(h->skipped_histograms, 1);
  ck_assert_double_eq(series_with(r, "__name__", "http_requests_total")->samples[0].value, 42);
  rig_prom_result_free(r);

  r = parse_fixture("matrix_histograms", "x");
  ck_assert_int_eq(r->type, RIG_PROM_MATRIX);
  h = series_with(r, "__name__", "http_request_duration_seconds");
  ck_assert_uint_eq(h->sample_count, 0);
  ck_assert_uint_eq(h->skipped_histograms, 2);
  const rig_prom_series *mixed = series_with(r, "__name__", "mixed");
  ck_assert_uint_eq(mixed->sample_count, 1);
  ck_assert_uint_eq(mixed->skipped_histograms, 1);
  ck_assert_int_eq(mixed->samples[0].time_ms, 1700000000000LL);
  rig_prom_result_free(r);
}
END_TEST

/* Every error type, recorded where a server produces it on demand. */
static const struct {
  const char *fixture;
  const char *expr;
  int code;
  const char *message; /* the whole message, or its beginning when it ends with "..." */
  const char *error_type;
} error_cases[] = {
    {"error_bad_data", "rate(x[1m)", RIG_EINVAL,
     "prometheus: query 'rate(x[1m)': bad_data: invalid parameter \"query\": 1:10: parse error: "
     "unexpected \")\" in subquery or range, expected \":\" or \"]\"",
     "bad_data"},
    {"error_execution", "up * on() up", RIG_EINVAL,
     "prometheus: query 'up * on() up': execution: found duplicate series for the match group {} "
     "...",
     "execution"},
    {"error_timeout", "max_over_time(sum({__name__=~\".+\"})[10m:1ms])", RIG_ETIMEOUT,
     "prometheus: query 'max_over_time(sum({__name__=~\".+\"})[10m:1ms])': timeout: query timed "
     "out in expression evaluation",
     "timeout"},
    {"error_unavailable", "snapshot", RIG_ENOTREADY,
     "prometheus: query 'snapshot': unavailable: admin APIs disabled", "unavailable"},
    {"error_canceled", "up", RIG_EINTERRUPTED,
     "prometheus: query 'up': canceled: query was canceled in expression evaluation", "canceled"},
    {"error_internal", "up", RIG_EHTTP, "prometheus: query 'up': internal: unexpected error: ...",
     "internal"},
    {"error_not_found", "up", RIG_ENOTFOUND,
     "prometheus: query 'up': not_found: specified metadata not found", "not_found"},
    {"error_unknown_type", "up", RIG_EHTTP,
     "prometheus: query 'up': no_such_type: a future error type", "no_such_type"},
    {"not_json_404", "up", RIG_EHTTP, "prometheus: query 'up': HTTP 404: 404 page not found", NULL},
    {"malformed_truncated", "up", RIG_EPARSE,
     "prometheus: query 'up': the answer is not the API's JSON: {\"status\":\"success\"...", NULL},
    {"malformed_result_type", "up", RIG_EPARSE,
     "prometheus: query 'up': unknown resultType 'table'", NULL},
    {"malformed_value", "up", RIG_EPARSE, "prometheus: query 'up': malformed sample value 'one'",
     NULL},
    {"malformed_label", "up", RIG_EPARSE,
     "prometheus: query 'up': malformed answer: a label value is not a string", NULL},
    {"malformed_time", "up", RIG_EPARSE,
     "prometheus: query 'up': malformed answer: a sample is not [time, \"value\"]", NULL},
};

START_TEST(error_answers)
{
  const char *name = error_cases[_i].fixture;
  char *body = prom_fixture(name);
  char *what = rig__sprintf("query '%s'", error_cases[_i].expr);
  rig_prom_result *result = (rig_prom_result *)0x1; /* must stay untouched */
  rig_error_clear();
  int rc = rig__prom_parse_result(&result, fixture_status(name), body, strlen(body),
                                  error_cases[_i].expr, what);
  ck_assert_msg(rc == error_cases[_i].code, "%s: %s, expected %s", name, rig_error_name(rc),
                rig_error_name(error_cases[_i].code));
  ck_assert_ptr_eq(result, (rig_prom_result *)0x1);
  const rig_error *err = rig_error_last();
  ck_assert_ptr_nonnull(err);
  ck_assert_int_eq(err->code, rc);
  const char *expected = error_cases[_i].message;
  size_t n = strlen(expected);
  if (n > 3 && strcmp(expected + n - 3, "...") == 0)
    ck_assert_msg(strncmp(err->text, expected, n - 3) == 0, "%s:\n  got  %s\n  want %s", name,
                  err->text, expected);
  else
    ck_assert_msg(strcmp(err->text, expected) == 0, "%s:\n  got  %s\n  want %s", name, err->text,
                  expected);
  if (error_cases[_i].error_type)
    ck_assert_str_eq(rig_error_detail_get(err, "errorType"), error_cases[_i].error_type);
  /* Errors of the envelope carry the HTTP status; a malformed model inside a good envelope
   * has no status to tell. */
  if (rc != RIG_EPARSE || strstr(expected, "JSON")) {
    char status[16];
    snprintf(status, sizeof status, "%ld", fixture_status(name));
    ck_assert_str_eq(rig_error_detail_get(err, "status"), status);
  }
  free(body);
  free(what);
}
END_TEST

START_TEST(targets_recorded)
{
  char *body = prom_fixture("targets");
  rig_prom_target_list *list = NULL;
  ck_assert_int_eq(rig__prom_parse_targets(&list, 200, body, strlen(body)), RIG_OK);
  free(body);
  ck_assert_uint_eq(list->count, 4);
  int seen_collector = 0;
  for (size_t i = 0; i < list->count; i++) {
    const rig_prom_target *t = &list->items[i];
    ck_assert_int_eq(t->health, RIG_PROM_HEALTH_UP);
    ck_assert_str_eq(t->last_error, "");
    ck_assert_int_eq(t->scrape_interval_ms, 1000);
    ck_assert_int_eq(t->scrape_timeout_ms, 1000);
    ck_assert_int_gt(t->last_scrape_ms, 1700000000000LL);
    ck_assert(t->last_scrape_duration_s > 0 && t->last_scrape_duration_s < 1);
    ck_assert_str_eq(t->job, rig_prom_labels_get(&t->labels, "job"));
    ck_assert_str_eq(t->scrape_pool, t->job);
    ck_assert_ptr_nonnull(rig_prom_labels_get(&t->discovered_labels, "__address__"));
    if (strcmp(t->job, "otel-collector") == 0) {
      seen_collector = 1;
      ck_assert_str_eq(t->instance, "otel-collector:8888");
      ck_assert_str_eq(t->scrape_url, "http://otel-collector:8888/metrics");
      ck_assert_str_eq(t->global_url, "http://otel-collector:8888/metrics");
    }
  }
  ck_assert(seen_collector);
  rig_prom_target_list_free(list);
}
END_TEST

START_TEST(targets_of_old_servers)
{
  char *body = prom_fixture("targets_old");
  rig_prom_target_list *list = NULL;
  ck_assert_int_eq(rig__prom_parse_targets(&list, 200, body, strlen(body)), RIG_OK);
  free(body);
  ck_assert_uint_eq(list->count, 2);
  const rig_prom_target *down = &list->items[0];
  ck_assert_int_eq(down->health, RIG_PROM_HEALTH_DOWN);
  ck_assert_str_eq(rig_prom_health_name(down->health), "down");
  ck_assert_msg(strstr(down->last_error, "connection refused") != NULL, "%s", down->last_error);
  ck_assert_int_eq(down->scrape_interval_ms, -1);
  ck_assert_int_eq(down->scrape_timeout_ms, -1);
  ck_assert_int_eq(down->last_scrape_ms, 1714564801500LL); /* 14:00:01.5+02:00 */
  ck_assert_str_eq(down->global_url, "http://api.example:9464/metrics");
  const rig_prom_target *fresh = &list->items[1];
  ck_assert_int_eq(fresh->health, RIG_PROM_HEALTH_UNKNOWN);
  ck_assert_int_eq(fresh->last_scrape_ms, 0);
  rig_prom_target_list_free(list);
}
END_TEST

START_TEST(series_recorded)
{
  char *body = prom_fixture("series");
  rig_prom_label_sets *sets = NULL;
  ck_assert_int_eq(rig__prom_parse_series(&sets, 200, body, strlen(body), "series 'up'"), RIG_OK);
  free(body);
  ck_assert_uint_eq(sets->count, 4);
  for (size_t i = 0; i < sets->count; i++) {
    ck_assert_str_eq(rig_prom_labels_get(&sets->items[i], "__name__"), "up");
    ck_assert_ptr_nonnull(rig_prom_labels_get(&sets->items[i], "job"));
  }
  rig_prom_label_sets_free(sets);
  body = prom_fixture("error_bad_data");
  sets = NULL;
  ck_assert_int_eq(rig__prom_parse_series(&sets, 400, body, strlen(body), "series '{'"),
                   RIG_EINVAL);
  ck_assert_ptr_null(sets);
  free(body);
}
END_TEST

static const struct {
  const char *fixture;
  const char *job;
  int code;
  int64_t interval_ms;
} config_cases[] = {
    {"status_config", "otel-collector", RIG_OK, 1000},
    {"status_config", NULL, RIG_OK, 1000},
    {"status_config", "no-such-job", RIG_ENOTFOUND, 0},
    {"status_config_jobs", "fast", RIG_OK, 500},
    {"status_config_jobs", "inherits", RIG_OK, 15000},
    {"status_config_jobs", "odd", RIG_OK, 90000},
    {"status_config_jobs", NULL, RIG_OK, 15000},
    {"status_config_default", "only", RIG_OK, 60000},
    {"status_config_default", NULL, RIG_OK, 60000},
    {"error_bad_data", NULL, RIG_EINVAL, 0},
};

START_TEST(config_intervals)
{
  char *body = prom_fixture(config_cases[_i].fixture);
  int64_t interval = -7;
  int rc = rig__prom_parse_config_interval(&interval, fixture_status(config_cases[_i].fixture),
                                           body, strlen(body), config_cases[_i].job);
  ck_assert_msg(rc == config_cases[_i].code, "%s/%s: %s", config_cases[_i].fixture,
                config_cases[_i].job ? config_cases[_i].job : "(global)",
                rc ? rig_error_last()->text : "ok");
  ck_assert_int_eq(interval, rc == RIG_OK ? config_cases[_i].interval_ms : -7);
  if (rc == RIG_ENOTFOUND)
    ck_assert_str_eq(rig_error_last()->text,
                     "prometheus: no scrape config has job_name 'no-such-job'");
  free(body);
}
END_TEST

/* ---- the small text formats ---- */

static const struct {
  const char *text;
  int ok;
  double value; /* for ok; NAN compares with isnan */
} value_cases[] = {
    {"1", 1, 1},
    {"0", 1, 0},
    {"0.25", 1, 0.25},
    {"-3", 1, -3},
    {"1e+06", 1, 1e6},
    {"1.5e-07", 1, 1.5e-7},
    {"1795818718.725", 1, 1795818718.725},
    {"NaN", 1, NAN},
    {"+Inf", 1, INFINITY},
    {"Inf", 1, INFINITY},
    {"-Inf", 1, -INFINITY},
    {"", 0, 0},
    {"one", 0, 0},
    {" 1", 0, 0},
    {"1 ", 0, 0},
    {"nan", 0, 0},
    {"inf", 0, 0},
    {"1e400", 0, 0},
    {"0x", 0, 0},
};

START_TEST(sample_values)
{
  double value = -42;
  int rc = rig__prom_parse_value(&value, value_cases[_i].text);
  ck_assert_msg((rc == RIG_OK) == value_cases[_i].ok, "'%s': %d", value_cases[_i].text, rc);
  if (!value_cases[_i].ok)
    return;
  if (isnan(value_cases[_i].value))
    ck_assert(isnan(value));
  else
    ck_assert_double_eq(value, value_cases[_i].value);
}
END_TEST

static const struct {
  const char *text;
  int ok;
  int64_t ms;
} time_cases[] = {
    {"1970-01-01T00:00:00Z", 1, 0},
    {"2024-05-01T12:00:01Z", 1, 1714564801000LL},
    {"2024-05-01T12:00:01.5Z", 1, 1714564801500LL},
    {"2024-05-01T12:00:01.123456789Z", 1, 1714564801123LL},
    {"2024-05-01T14:00:01.5+02:00", 1, 1714564801500LL},
    {"2024-05-01T07:30:01-04:30", 1, 1714564801000LL},
    {"2000-02-29T00:00:00Z", 1, 951782400000LL},
    {"0001-01-01T00:00:00Z", 1, 0}, /* Go's zero time: never scraped */
    {"2024-05-01", 0, 0},
    {"2024-05-01T12:00:01", 0, 0},
    {"2024-13-01T12:00:01Z", 0, 0},
    {"2024-05-01T12:00:01.Z", 0, 0},
    {"2024-05-01T12:00:01Zjunk", 0, 0},
    {"", 0, 0},
};

START_TEST(rfc3339_times)
{
  int64_t ms = -1;
  int rc = rig__prom_parse_time(&ms, time_cases[_i].text);
  ck_assert_msg((rc == RIG_OK) == time_cases[_i].ok, "'%s': %d", time_cases[_i].text, rc);
  if (time_cases[_i].ok)
    ck_assert_int_eq(ms, time_cases[_i].ms);
}
END_TEST

static const struct {
  const char *text;
  int ok;
  int64_t ms;
} duration_cases[] = {
    {"0", 1, 0},
    {"1s", 1, 1000},
    {"15s", 1, 15000},
    {"500ms", 1, 500},
    {"1m30s", 1, 90000},
    {"1h", 1, 3600000},
    {"2d", 1, 172800000},
    {"1w", 1, 604800000},
    {"1y", 1, 31536000000LL},
    {"1h1m1s1ms", 1, 3661001},
    {"", 0, 0},
    {"s", 0, 0},
    {"1", 0, 0},
    {"1.5s", 0, 0},
    {"1sec", 0, 0},
    {"-1s", 0, 0},
    {"1x", 0, 0},
};

START_TEST(prometheus_durations)
{
  int64_t ms = -1;
  int rc = rig_prom_duration_parse(&ms, duration_cases[_i].text);
  ck_assert_msg((rc == RIG_OK) == duration_cases[_i].ok, "'%s': %d", duration_cases[_i].text, rc);
  if (duration_cases[_i].ok) {
    ck_assert_int_eq(ms, duration_cases[_i].ms);
  } else {
    ck_assert_int_eq(rc, RIG_EINVAL);
    ck_assert_int_eq(ms, -1);
    ck_assert_msg(strstr(rig_error_last()->text, "invalid Prometheus duration") != NULL, "%s",
                  rig_error_last()->text);
  }
}
END_TEST

START_TEST(comparisons)
{
  static const struct {
    double value;
    rig_prom_op op;
    double expected;
    int holds;
  } cases[] = {
      {1, RIG_PROM_EQ, 1, 1},
      {1, RIG_PROM_EQ, 2, 0},
      {1, RIG_PROM_NE, 2, 1},
      {1, RIG_PROM_LT, 2, 1},
      {2, RIG_PROM_LT, 2, 0},
      {2, RIG_PROM_LE, 2, 1},
      {3, RIG_PROM_GT, 2, 1},
      {2, RIG_PROM_GT, 2, 0},
      {2, RIG_PROM_GE, 2, 1},
      {NAN, RIG_PROM_EQ, NAN, 0},
      {NAN, RIG_PROM_GE, 0, 0},
      {NAN, RIG_PROM_NE, 1, 1},
      {INFINITY, RIG_PROM_GT, 1e308, 1},
      {-INFINITY, RIG_PROM_LT, -1e308, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(rig_prom_compare(cases[i].value, cases[i].op, cases[i].expected) ==
                      cases[i].holds,
                  "case %zu", i);
  ck_assert_str_eq(rig_prom_op_symbol(RIG_PROM_GE), ">=");
  ck_assert_str_eq(rig_prom_op_symbol(RIG_PROM_NE), "!=");
  ck_assert_str_eq(rig_prom_op_symbol((rig_prom_op)99), "?");
}
END_TEST

START_TEST(selectors_with_or_without_total)
{
  char *s = NULL;
  ck_assert_int_eq(
      rig_prom_selector_total(&s, "otelcol_receiver_accepted_spans", "receiver=\"otlp\""), RIG_OK);
  ck_assert_str_eq(s, "{__name__=~\"otelcol_receiver_accepted_spans(_total)?\",receiver=\"otlp\"}");
  free(s);
  ck_assert_int_eq(rig_prom_selector_total(&s, "otelcol_exporter_sent_spans_total", NULL), RIG_OK);
  ck_assert_str_eq(s, "{__name__=~\"otelcol_exporter_sent_spans(_total)?\"}");
  free(s);
  ck_assert_int_eq(rig_prom_selector_total(&s, "ns:rule:rate5m", ""), RIG_OK);
  ck_assert_str_eq(s, "{__name__=~\"ns:rule:rate5m(_total)?\"}");
  free(s);
  s = (char *)0x1;
  ck_assert_int_eq(rig_prom_selector_total(&s, "bad name", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_prom_selector_total(&s, "9lives", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_prom_selector_total(&s, "a.b", NULL), RIG_EINVAL);
  ck_assert_ptr_eq(s, (char *)0x1);
  ck_assert_str_eq(rig_error_last()->text, "prometheus: 'a.b' is not a metric name");
}
END_TEST

START_TEST(label_formatting)
{
  rig_prom_label items[] = {{"__name__", "up"}, {"job", "a\"b\\c"}, {"instance", "x:1"}};
  rig_prom_labels labels = {3, items};
  char *text = NULL;
  ck_assert_int_eq(rig_prom_labels_format(&text, &labels), RIG_OK);
  ck_assert_str_eq(text, "up{job=\"a\\\"b\\\\c\", instance=\"x:1\"}");
  free(text);
  rig_prom_labels empty = {0, NULL};
  ck_assert_int_eq(rig_prom_labels_format(&text, &empty), RIG_OK);
  ck_assert_str_eq(text, "{}");
  free(text);
  ck_assert_ptr_null(rig_prom_labels_get(&labels, "nope"));
  ck_assert_str_eq(rig_prom_labels_get(&labels, "instance"), "x:1");
  ck_assert_str_eq(rig_prom_result_type_name(RIG_PROM_MATRIX), "matrix");
}
END_TEST

/* ---- the pipeline verdicts ---- */

static const struct {
  double accepted, refused, failed, sent, send_failed, enqueue_failed, expected;
  rig_prom_pipeline_verdict verdict;
  const char *message;
} verdict_cases[] = {
    {3, 0, 0, 3, 0, 0, 3, RIG_PROM_PIPELINE_ALL_SENT,
     "pipeline: all sent: the collector accepted 3 spans and its exporters sent 3 (refused 0, send "
     "failed 0)"},
    {5, 0, 0, 5, 0, 0, -1, RIG_PROM_PIPELINE_ALL_SENT, NULL},
    {0, 0, 0, 0, 0, 0, 3, RIG_PROM_PIPELINE_NOT_RECEIVED,
     "pipeline: the service never sent them: the collector accepted 0 spans of 3 expected and "
     "refused none; check the service's OTLP endpoint and exporter"},
    {0, 0, 0, 0, 0, 0, -1, RIG_PROM_PIPELINE_NOT_RECEIVED,
     "pipeline: the service never sent them: the collector accepted 0 spans and refused none; "
     "check the service's OTLP endpoint and exporter"},
    {2, 0, 0, 2, 0, 0, 3, RIG_PROM_PIPELINE_PARTLY_RECEIVED,
     "pipeline: the service sent too few: the collector accepted 2 of 3 expected spans and "
     "refused none (sent 2)"},
    {3, 2, 0, 3, 0, 0, 5, RIG_PROM_PIPELINE_REFUSED,
     "pipeline: the pipeline dropped spans: receivers refused 2 and failed 0 (accepted 3, sent 3)"},
    {3, 0, 1, 2, 0, 0, 3, RIG_PROM_PIPELINE_REFUSED, NULL},
    {3, 0, 0, 0, 3, 0, 3, RIG_PROM_PIPELINE_SEND_FAILED,
     "pipeline: the pipeline dropped spans: exporters failed to send 3 and to enqueue 0 "
     "(accepted 3, sent 0); the collector's log says why"},
    {3, 0, 0, 0, 0, 3, 3, RIG_PROM_PIPELINE_SEND_FAILED, NULL},
    {3, 0, 0, 1, 0, 0, 3, RIG_PROM_PIPELINE_NOT_SENT,
     "pipeline: spans not exported: the collector accepted 3 but its exporters sent 1 and "
     "reported no failure: 2 are still queued or a processor dropped them"},
};

START_TEST(pipeline_verdicts)
{
  rig_prom_pipeline_report r = {0};
  r.accepted = verdict_cases[_i].accepted;
  r.refused = verdict_cases[_i].refused;
  r.failed = verdict_cases[_i].failed;
  r.sent = verdict_cases[_i].sent;
  r.send_failed = verdict_cases[_i].send_failed;
  r.enqueue_failed = verdict_cases[_i].enqueue_failed;
  r.expected = verdict_cases[_i].expected;
  rig_buf message = RIG_BUF_INIT;
  rig__prom_pipeline_judge(&r, &message);
  ck_assert_msg(r.verdict == verdict_cases[_i].verdict, "case %d: %s", _i,
                rig_prom_pipeline_verdict_name(r.verdict));
  if (verdict_cases[_i].message)
    ck_assert_str_eq(message.data, verdict_cases[_i].message);
  rig__buf_dispose(&message);
}
END_TEST

/* ---- the client against a fake server ---- */

/* Answers /api/v1/query from a list of bodies, one per request; the last one repeats. */
typedef struct sequence {
  const char *const *bodies;
  const int *statuses; /* NULL: 200 */
  size_t count;
  int served;
  char *last_form;
} sequence;

static char *serve_sequence(void *userdata, const fake_http_request *req, fake_http_reply *reply)
{
  sequence *seq = userdata;
  size_t i = (size_t)seq->served < seq->count ? (size_t)seq->served : seq->count - 1;
  seq->served++;
  free(seq->last_form);
  seq->last_form = rig__strdup(req->form);
  reply->status = seq->statuses ? seq->statuses[i] : 200;
  if (strncmp(req->path, "/api/v1/query", 13) != 0) {
    reply->status = 404;
    return rig__strdup("404 page not found");
  }
  return rig__strdup(seq->bodies[i]);
}

#define VEC1(value)                                                                                \
  "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":"  \
  "\"x\"},\"value\":[1700000000.5,\"" value "\"]}]}}"
#define VEC2(a, b)                                                                                 \
  "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"i\":"    \
  "\"a\"},\"value\":[1700000000,\"" a "\"]},{\"metric\":{\"i\":\"b\"},\"value\":[1700000000,\"" b  \
  "\"]}]}}"
#define EMPTY "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}"
#define SCALAR(v)                                                                                  \
  "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1700000000,\"" v "\"]}" \
  "}"
#define BAD_DATA                                                                                   \
  "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 5: "           \
  "unexpected end\"}"
#define UNAVAILABLE                                                                                \
  "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"TSDB not ready\"}"

static rig_prom *client_for(const fake_http *fake)
{
  rig_prom *prom = NULL;
  ck_assert_int_eq(rig_prom_new(&prom, fake_http_url(fake), NULL), RIG_OK);
  ck_assert_str_eq(rig_prom_url(prom), fake_http_url(fake));
  return prom;
}

START_TEST(query_request_shape)
{
  const char *bodies[] = {VEC1("1")};
  sequence seq = {bodies, NULL, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  rig_prom_result *r = NULL;
  ck_assert_int_eq(
      rig_prom_query(&r, prom, "sum by (job) (rate(x{a=\"b&c\"}[1m]))", 1700000000250LL), RIG_OK);
  ck_assert_uint_eq(r->series_count, 1);
  rig_prom_result_free(r);
  char *query = fake_http_form_get(seq.last_form, "query");
  char *time = fake_http_form_get(seq.last_form, "time");
  ck_assert_str_eq(query, "sum by (job) (rate(x{a=\"b&c\"}[1m]))");
  ck_assert_str_eq(time, "1700000000.250");
  free(query);
  free(time);
  ck_assert_int_eq(rig_prom_query(&r, prom, "up", 0), RIG_OK);
  rig_prom_result_free(r);
  ck_assert_ptr_null(fake_http_form_get(seq.last_form, "time")); /* the server's now */
  /* A range query sends start, end and step in seconds with milliseconds. */
  ck_assert_int_eq(rig_prom_query_range(&r, prom, "up", 1000, 5500, 1500), RIG_OK);
  rig_prom_result_free(r);
  char *start = fake_http_form_get(seq.last_form, "start");
  char *end = fake_http_form_get(seq.last_form, "end");
  char *step = fake_http_form_get(seq.last_form, "step");
  ck_assert_str_eq(start, "1.000");
  ck_assert_str_eq(end, "5.500");
  ck_assert_str_eq(step, "1.500");
  free(start);
  free(end);
  free(step);
  r = (rig_prom_result *)0x1;
  ck_assert_int_eq(rig_prom_query_range(&r, prom, "up", 5000, 1000, 1000), RIG_EINVAL);
  ck_assert_int_eq(rig_prom_query_range(&r, prom, "up", 1000, 5000, 0), RIG_EINVAL);
  ck_assert_ptr_eq(r, (rig_prom_result *)0x1);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(query_error_names_the_query)
{
  const char *bodies[] = {BAD_DATA};
  const int statuses[] = {400};
  sequence seq = {bodies, statuses, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  rig_prom_result *r = NULL;
  ck_assert_int_eq(rig_prom_query(&r, prom, "rate(x[1m]", 0), RIG_EINVAL);
  ck_assert_ptr_null(r);
  ck_assert_str_eq(
      rig_error_last()->text,
      "prometheus: query 'rate(x[1m]': bad_data: parse error at char 5: unexpected end");
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "query"), "rate(x[1m]");
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "errorType"), "bad_data");
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(unreachable_server)
{
  char *url = fake_http_closed_url();
  rig_prom *prom = NULL;
  ck_assert_int_eq(rig_prom_new(&prom, url, NULL), RIG_OK);
  rig_prom_result *r = NULL;
  ck_assert_int_eq(rig_prom_query(&r, prom, "up", 0), RIG_ECONNECT);
  char *prefix = rig__sprintf("prometheus: query 'up': POST %s/api/v1/query: ", url);
  ck_assert_msg(strncmp(rig_error_last()->text, prefix, strlen(prefix)) == 0, "%s",
                rig_error_last()->text);
  free(prefix);
  /* eventually retries an unreachable server until the deadline, then says what it saw. */
  ck_assert_int_eq(rig_prom_eventually(prom, "up", RIG_PROM_EQ, 1, 100, NULL), RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text, "last error: prometheus: query 'up': POST") != NULL,
                "%s", rig_error_last()->text);
  rig_prom_free(prom);
  free(url);
  prom = NULL;
  ck_assert_int_eq(rig_prom_new(&prom, "localhost:9090", NULL), RIG_EINVAL);
  ck_assert_ptr_null(prom);
}
END_TEST

START_TEST(eventually_holds_after_a_few_answers)
{
  const char *bodies[] = {EMPTY, VEC1("0"), VEC1("1"), VEC1("3")};
  sequence seq = {bodies, NULL, 4, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "x", RIG_PROM_GE, 3, 10000, NULL), RIG_OK);
  ck_assert_int_eq(seq.served, 4); /* it stops at the first answer that holds */
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_reports_the_last_value)
{
  const char *bodies[] = {VEC1("1"), VEC1("2")};
  sequence seq = {bodies, NULL, 2, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "sum(x)", RIG_PROM_GE, 3, 500, NULL), RIG_EASSERT);
  const char *text = rig_error_last()->text;
  assert_prefix(text, "prometheus: 'sum(x)' >= 3 did not hold within ");
  ck_assert_msg(strstr(text, "; last result: {job=\"x\"} = 2 @ 1700000000.500") != NULL, "%s",
                text);
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "query"), "sum(x)");
  /* It backs off (5 ms doubling to 200 ms) rather than spinning, yet polls more than once. */
  ck_assert_int_ge(seq.served, 3);
  ck_assert_int_le(seq.served, 30);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_fails_at_once_on_a_bad_query)
{
  const char *bodies[] = {BAD_DATA};
  const int statuses[] = {400};
  sequence seq = {bodies, statuses, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "rate(x[1m]", RIG_PROM_GE, 1, 60000, NULL),
                   RIG_EINVAL);
  ck_assert_int_eq(seq.served, 1);
  ck_assert_str_eq(
      rig_error_last()->text,
      "prometheus: query 'rate(x[1m]': bad_data: parse error at char 5: unexpected end");
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_retries_an_unready_server)
{
  const char *bodies[] = {UNAVAILABLE, "Service Unavailable", SCALAR("7")};
  const int statuses[] = {503, 503, 200};
  sequence seq = {bodies, statuses, 3, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "scalar(x)", RIG_PROM_EQ, 7, 10000, NULL), RIG_OK);
  ck_assert_int_eq(seq.served, 3);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_every_or_any_sample)
{
  const char *bodies[] = {VEC2("1", "5")};
  sequence seq = {bodies, NULL, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "x", RIG_PROM_GE, 3, 50, NULL), RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text,
                       "last result: {i=\"a\"} = 1 @ 1700000000.000\n{i=\"b\"} = 5") != NULL,
                "%s", rig_error_last()->text);
  rig_prom_eventually_options opts = RIG_PROM_EVENTUALLY_OPTIONS_INIT;
  opts.match = RIG_PROM_MATCH_ANY;
  ck_assert_int_eq(rig_prom_eventually(prom, "x", RIG_PROM_GE, 3, 50, &opts), RIG_OK);
  ck_assert_int_eq(rig_prom_eventually(prom, "x", RIG_PROM_GE, 6, 50, &opts), RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text, ">= 6 did not hold for any sample within") != NULL,
                "%s", rig_error_last()->text);
  ck_assert_int_eq(rig_prom_eventually(prom, "x", RIG_PROM_GE, 1, 50, NULL), RIG_OK);
  ck_assert_int_eq(rig_prom_eventually(prom, "x", (rig_prom_op)0, 1, 50, NULL), RIG_EINVAL);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_empty_vector_never_holds)
{
  const char *bodies[] = {EMPTY};
  sequence seq = {bodies, NULL, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "absent_metric", RIG_PROM_EQ, 0, 50, NULL),
                   RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text, "last result: empty vector") != NULL, "%s",
                rig_error_last()->text);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

START_TEST(eventually_rejects_strings)
{
  const char *bodies[] = {
      "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"a\"]}}"};
  sequence seq = {bodies, NULL, 1, 0, NULL};
  fake_http *fake = fake_http_start(serve_sequence, &seq);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_eventually(prom, "\"a\"", RIG_PROM_EQ, 0, 5000, NULL), RIG_EINVAL);
  ck_assert_int_eq(seq.served, 1);
  ck_assert_str_eq(rig_error_last()->text, "prometheus: '\"a\"' gives a string, not a number");
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(seq.last_form);
}
END_TEST

/* ---- a scripted server for targets, intervals, marks, deltas and the pipeline ---- */

typedef struct script {
  const char *targets; /* body of /api/v1/targets */
  const char *config;  /* body of /api/v1/status/config */
  const char *series;  /* body of /api/v1/series */
  char *last_match;    /* the match[] of the last /api/v1/series */
  int64_t clock_ms;    /* what time() answers; advances 1 s per call */
  int stale_scrapes;   /* timestamp(up) answers this many stale times before a fresh one */
  int timestamp_queries;
  int target_calls;
  int up_after;     /* targets answer "down" until this many calls */
  char *range_expr; /* the last range query */
  int64_t range_start_ms, range_end_ms, range_step_ms;
  /* per counter: the matrix the range query gives ("" for none) */
  const char *accepted, *sent, *send_failed, *other;
} script;

static const char *targets_one(int up)
{
  return up ? "{\"status\":\"success\",\"data\":{\"activeTargets\":[{\"labels\":{\"job\":\"otel-"
              "collector\",\"instance\":\"c:8888\"},"
              "\"scrapeUrl\":\"http://c:8888/"
              "metrics\",\"lastError\":\"\",\"lastScrape\":\"2024-05-01T12:00:01Z\","
              "\"health\":\"up\",\"scrapeInterval\":\"1s\",\"scrapeTimeout\":\"1s\"}]}}"
            : "{\"status\":\"success\",\"data\":{\"activeTargets\":[{\"labels\":{\"job\":\"otel-"
              "collector\",\"instance\":\"c:8888\"},"
              "\"scrapeUrl\":\"http://c:8888/metrics\",\"lastError\":\"connection "
              "refused\",\"lastScrape\":\"2024-05-01T12:00:01Z\","
              "\"health\":\"down\",\"scrapeInterval\":\"1s\",\"scrapeTimeout\":\"1s\"}]}}";
}

static int64_t form_ms(const char *form, const char *key)
{
  char *text = fake_http_form_get(form, key);
  int64_t ms = text ? (int64_t)llround(strtod(text, NULL) * 1000) : -1;
  free(text);
  return ms;
}

static char *matrix_answer(const char *series)
{
  return rig__sprintf(
      "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[%s]}}",
      series ? series : "");
}

static char *serve_script(void *userdata, const fake_http_request *req, fake_http_reply *reply)
{
  script *s = userdata;
  reply->status = 200;
  if (strcmp(req->path, "/api/v1/targets") == 0) {
    s->target_calls++;
    return rig__strdup(s->targets ? s->targets : targets_one(s->target_calls > s->up_after));
  }
  if (strcmp(req->path, "/api/v1/status/config") == 0)
    return prom_fixture(s->config);
  if (strcmp(req->path, "/api/v1/series") == 0) {
    free(s->last_match);
    s->last_match = fake_http_form_get(req->form, "match[]");
    return rig__strdup(s->series);
  }
  char *query = fake_http_form_get(req->form, "query");
  char *body = NULL;
  if (strcmp(req->path, "/api/v1/query") == 0 && strcmp(query, "time()") == 0) {
    s->clock_ms += 1000;
    body = rig__sprintf("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[%"
                        "lld.%03lld,\"%lld.%03lld\"]}}",
                        (long long)(s->clock_ms / 1000), (long long)(s->clock_ms % 1000),
                        (long long)(s->clock_ms / 1000), (long long)(s->clock_ms % 1000));
  } else if (strcmp(req->path, "/api/v1/query") == 0 && strncmp(query, "timestamp(up", 12) == 0) {
    s->timestamp_queries++;
    /* Stale: a scrape from before the clock's now; fresh: half a second after it. */
    int64_t ts = s->stale_scrapes-- > 0 ? s->clock_ms - 500 : s->clock_ms + 500;
    body = rig__sprintf("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
                        "\"metric\":{\"job\":\"otel-collector\"},\"value\":[1,\"%lld.%03lld\"]}]}}",
                        (long long)(ts / 1000), (long long)(ts % 1000));
  } else if (strcmp(req->path, "/api/v1/query_range") == 0) {
    free(s->range_expr);
    s->range_expr = rig__strdup(query);
    s->range_start_ms = form_ms(req->form, "start");
    s->range_end_ms = form_ms(req->form, "end");
    s->range_step_ms = form_ms(req->form, "step");
    const char *series = strstr(query, "accepted_spans") ? s->accepted
                         : strstr(query, "send_failed")  ? s->send_failed
                         : strstr(query, "sent_spans")   ? s->sent
                                                         : s->other;
    body = matrix_answer(series);
  } else {
    reply->status = 400;
    body = rig__strdup(BAD_DATA);
  }
  free(query);
  return body;
}

START_TEST(targets_wait_up)
{
  script s = {0};
  s.up_after = 2;
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  ck_assert_int_eq(rig_prom_targets_wait_up(prom, 10000), RIG_OK);
  ck_assert_int_eq(s.target_calls, 3);
  s.target_calls = 0;
  s.up_after = 1000000;
  ck_assert_int_eq(rig_prom_targets_wait_up(prom, 50), RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text,
                       "1 of 1 targets not up: otel-collector c:8888 "
                       "(http://c:8888/metrics): down: connection refused") != NULL,
                "%s", rig_error_last()->text);
  s.targets = "{\"status\":\"success\",\"data\":{\"activeTargets\":[]}}";
  ck_assert_int_eq(rig_prom_targets_wait_up(prom, 20), RIG_EASSERT);
  ck_assert_msg(strstr(rig_error_last()->text, "Prometheus has no active target") != NULL, "%s",
                rig_error_last()->text);
  rig_prom_free(prom);
  fake_http_stop(fake);
}
END_TEST

START_TEST(scrape_interval_sources)
{
  script s = {0};
  s.up_after = 0;
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  int64_t interval = 0;
  /* From the targets API. */
  ck_assert_int_eq(rig_prom_scrape_interval(&interval, prom, "otel-collector"), RIG_OK);
  ck_assert_int_eq(interval, 1000);
  ck_assert_int_eq(rig_prom_scrape_interval(&interval, prom, NULL), RIG_OK);
  ck_assert_int_eq(interval, 1000);
  /* A server before 2.30: from the configuration, by job, else the global interval. */
  char *old = prom_fixture("targets_old");
  s.targets = old;
  s.config = "status_config_jobs";
  ck_assert_int_eq(rig_prom_scrape_interval(&interval, prom, "fast"), RIG_OK);
  ck_assert_int_eq(interval, 500);
  ck_assert_int_eq(rig_prom_scrape_interval(&interval, prom, "api"), RIG_OK); /* relabelled job */
  ck_assert_int_eq(interval, 15000);
  interval = -3;
  ck_assert_int_eq(rig_prom_scrape_interval(&interval, prom, "nowhere"), RIG_ENOTFOUND);
  ck_assert_int_eq(interval, -3);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(old);
}
END_TEST

START_TEST(mark_waits_for_a_fresh_scrape)
{
  script s = {0};
  s.clock_ms = 1700000000000LL;
  s.stale_scrapes = 3;
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  rig_prom_mark *mark = NULL;
  ck_assert_int_eq(rig_prom_mark_now(&mark, prom, "otel-collector", 10000), RIG_OK);
  /* Three stale answers were not taken for the mark: the fourth, newer than now, was. */
  ck_assert_int_eq(s.timestamp_queries, 4);
  ck_assert_int_eq(rig_prom_mark_time(mark), 1700000001500LL);
  rig_prom_mark_free(mark);
  /* A scrape that never comes is a timeout naming the job. */
  s.stale_scrapes = 1000000;
  mark = NULL;
  ck_assert_int_eq(rig_prom_mark_now(&mark, prom, "otel-collector", 50), RIG_ETIMEOUT);
  ck_assert_ptr_null(mark);
  assert_prefix(rig_error_last()->text, "prometheus: no scrape of job 'otel-collector' after ");
  ck_assert_ptr_nonnull(rig_error_detail_get(rig_error_last(), "hint"));
  rig_prom_free(prom);
  fake_http_stop(fake);
}
END_TEST

#define SERIES(labels, samples) "{\"metric\":{" labels "},\"values\":[" samples "]}"

START_TEST(delta_walks_resets_and_new_series)
{
  script s = {0};
  s.clock_ms = 1000000;
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  rig_prom_mark *mark = NULL;
  ck_assert_int_eq(rig_prom_mark_now(&mark, prom, "otel-collector", 10000), RIG_OK);
  ck_assert_int_eq(rig_prom_mark_time(mark), 1001500);
  /* a: 5 at the mark, 7, reset to 2, 4: +2 +2 +2; b: born during the window at 3: +3;
   * c: 10 at the mark, a NaN gap is skipped, 11: +1. */
  s.other =
      SERIES("\"i\":\"a\"", "[1001.5,\"5\"],[1002.5,\"7\"],[1003.5,\"2\"],[1004.5,\"4\"]") "," SERIES(
          "\"i\":\"b\"",
          "[1003.5,\"3\"]") "," SERIES("\"i\":\"c\"",
                                       "[1001.5,\"10\"],[1002.5,\"NaN\"],[1003.5,\"11\"]");
  double delta = -1;
  ck_assert_int_eq(rig_prom_delta(&delta, prom, "x_total", mark, 10000), RIG_OK);
  ck_assert_double_eq(delta, 10);
  ck_assert_str_eq(s.range_expr, "x_total");
  /* The window starts at the mark's scrape and ends at a scrape newer than the call, walked
   * at the 1 s scrape interval. */
  ck_assert_int_eq(s.range_start_ms, 1001500);
  ck_assert_int_eq(s.range_step_ms, 1000);
  ck_assert_int_eq(s.range_end_ms, 1002500);
  /* No series at all: nothing happened. */
  s.other = "";
  ck_assert_int_eq(rig_prom_delta(&delta, prom, "x_total", mark, 10000), RIG_OK);
  ck_assert_double_eq(delta, 0);
  /* delta_eventually reads again after each new scrape until the delta holds. */
  s.other = SERIES("\"i\":\"a\"", "[1001.5,\"5\"],[1002.5,\"6\"]");
  ck_assert_int_eq(rig_prom_delta_eventually(prom, "x_total", mark, RIG_PROM_EQ, 1, 10000), RIG_OK);
  ck_assert_int_eq(rig_prom_delta_eventually(prom, "x_total", mark, RIG_PROM_EQ, 2, 30),
                   RIG_EASSERT);
  assert_prefix(rig_error_last()->text,
                "prometheus: the increase of 'x_total' since the mark is 1, expected == 2 (");
  rig_prom_mark_free(mark);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(s.range_expr);
}
END_TEST

START_TEST(pipeline_check_reads_the_counters)
{
  script s = {0};
  s.clock_ms = 1000000;
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  rig_prom_mark *mark = NULL;
  ck_assert_int_eq(rig_prom_mark_now(&mark, prom, NULL, 10000), RIG_OK);
  s.accepted = SERIES("\"receiver\":\"otlp\"", "[1001.5,\"2\"],[1002.5,\"5\"]");
  s.sent = SERIES("\"exporter\":\"otlp_grpc/jaeger\"", "[1001.5,\"2\"],[1002.5,\"5\"]");
  rig_prom_pipeline_options opts = RIG_PROM_PIPELINE_OPTIONS_INIT;
  opts.expected_spans = 3;
  opts.exporter = "otlp_grpc/jaeger";
  rig_prom_pipeline_report *report = NULL;
  ck_assert_int_eq(rig_prom_pipeline_check(&report, prom, mark, &opts, 10000), RIG_OK);
  ck_assert_int_eq(report->verdict, RIG_PROM_PIPELINE_ALL_SENT);
  ck_assert_double_eq(report->accepted, 3);
  ck_assert_double_eq(report->sent, 3);
  ck_assert_double_eq(report->refused, 0);
  ck_assert_double_eq(report->send_failed, 0);
  ck_assert_str_eq(report->message, "pipeline: all sent: the collector accepted 3 spans and its "
                                    "exporters sent 3 (refused 0, send failed 0)");
  rig_prom_pipeline_report_free(report);
  /* The selectors: tolerant of _total, scoped to the collector's job and the exporter. */
  ck_assert_str_eq(s.range_expr, "{__name__=~\"otelcol_exporter_enqueue_failed_spans(_total)?\","
                                 "job=\"otel-collector\",exporter=\"otlp_grpc/jaeger\"}");
  ck_assert_int_eq(rig_prom_pipeline_all_sent(prom, mark, &opts, 10000), RIG_OK);
  /* Nothing arrived: the service never sent it; the check polls until its deadline. */
  s.accepted = "";
  s.sent = "";
  ck_assert_int_eq(rig_prom_pipeline_check(&report, prom, mark, &opts, 30), RIG_OK);
  ck_assert_int_eq(report->verdict, RIG_PROM_PIPELINE_NOT_RECEIVED);
  rig_prom_pipeline_report_free(report);
  ck_assert_int_eq(rig_prom_pipeline_all_sent(prom, mark, &opts, 30), RIG_EASSERT);
  assert_prefix(rig_error_last()->text, "pipeline: the service never sent them: ");
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "verdict"), "not received");
  ck_assert_str_eq(rig_error_detail_get(rig_error_last(), "accepted"), "0");
  /* Exporters failed: the pipeline dropped it. */
  s.accepted = SERIES("\"receiver\":\"otlp\"", "[1002.5,\"3\"]");
  s.send_failed = SERIES("\"exporter\":\"otlp_grpc/jaeger\"", "[1002.5,\"3\"]");
  ck_assert_int_eq(rig_prom_pipeline_check(&report, prom, mark, &opts, 30), RIG_OK);
  ck_assert_int_eq(report->verdict, RIG_PROM_PIPELINE_SEND_FAILED);
  ck_assert_double_eq(report->send_failed, 3);
  rig_prom_pipeline_report_free(report);
  rig_prom_mark_free(mark);
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(s.range_expr);
}
END_TEST

START_TEST(metric_resolve_tries_both_names)
{
  script s = {0};
  fake_http *fake = fake_http_start(serve_script, &s);
  rig_prom *prom = client_for(fake);
  char *name = NULL;
  s.series = "{\"status\":\"success\",\"data\":[{\"__name__\":\"otelcol_receiver_accepted_spans\","
             "\"job\":\"c\"}]}";
  ck_assert_int_eq(
      rig_prom_metric_resolve(&name, prom, "otelcol_receiver_accepted_spans_total", "job=\"c\""),
      RIG_OK);
  ck_assert_str_eq(s.last_match,
                   "{__name__=~\"otelcol_receiver_accepted_spans(_total)?\",job=\"c\"}");
  ck_assert_str_eq(name, "otelcol_receiver_accepted_spans");
  free(name);
  s.series = "{\"status\":\"success\",\"data\":[{\"__name__\":\"otelcol_receiver_accepted_spans\"},"
             "{\"__name__\":\"otelcol_receiver_accepted_spans_total\"}]}";
  ck_assert_int_eq(rig_prom_metric_resolve(&name, prom, "otelcol_receiver_accepted_spans", NULL),
                   RIG_OK);
  ck_assert_str_eq(name, "otelcol_receiver_accepted_spans_total");
  free(name);
  s.series = "{\"status\":\"success\",\"data\":[]}";
  name = (char *)0x1;
  ck_assert_int_eq(rig_prom_metric_resolve(&name, prom, "otelcol_x", NULL), RIG_ENOTFOUND);
  ck_assert_ptr_eq(name, (char *)0x1);
  ck_assert_str_eq(rig_error_last()->text,
                   "prometheus: no series named otelcol_x or otelcol_x_total");
  ck_assert_int_eq(rig_prom_metric_resolve(&name, prom, "otelcol_x", "job=\"j\""), RIG_ENOTFOUND);
  ck_assert_str_eq(rig_error_last()->text,
                   "prometheus: no series named otelcol_x or otelcol_x_total with {job=\"j\"}");
  rig_prom_free(prom);
  fake_http_stop(fake);
  free(s.last_match);
}
END_TEST

START_TEST(null_safety)
{
  rig_prom_free(NULL);
  rig_prom_result_free(NULL);
  rig_prom_target_list_free(NULL);
  rig_prom_label_sets_free(NULL);
  rig_prom_mark_free(NULL);
  rig_prom_pipeline_report_free(NULL);
  ck_assert_ptr_null(rig_prom_url(NULL));
  ck_assert_int_eq(rig_prom_mark_time(NULL), 0);
  ck_assert_int_eq(rig_prom_query(NULL, NULL, "up", 0), RIG_EINVAL);
  ck_assert_int_eq(rig_prom_eventually(NULL, "up", RIG_PROM_EQ, 1, 1, NULL), RIG_EINVAL);
  ck_assert_str_eq(rig_prom_pipeline_verdict_name(RIG_PROM_PIPELINE_NOT_SENT), "not sent");
  ck_assert_str_eq(rig_prom_health_name(RIG_PROM_HEALTH_UNKNOWN), "unknown");
}
END_TEST

static Suite *prom_suite(void)
{
  Suite *s = suite_create("prom");
  TCase *tc = tcase_create("answers");
  tcase_add_test(tc, vector_of_up);
  tcase_add_test(tc, vector_empty);
  tcase_add_test(tc, vector_nan_and_infinities);
  tcase_add_test(tc, vector_selfmetric_spellings);
  tcase_add_test(tc, matrix_from_range_selector);
  tcase_add_test(tc, matrix_from_range_query);
  tcase_add_test(tc, scalar_and_string);
  tcase_add_test(tc, warnings_kept);
  tcase_add_test(tc, native_histograms_skipped);
  tcase_add_loop_test(tc, error_answers, 0, sizeof error_cases / sizeof error_cases[0]);
  tcase_add_test(tc, targets_recorded);
  tcase_add_test(tc, targets_of_old_servers);
  tcase_add_test(tc, series_recorded);
  tcase_add_loop_test(tc, config_intervals, 0, sizeof config_cases / sizeof config_cases[0]);
  suite_add_tcase(s, tc);

  tc = tcase_create("text");
  tcase_add_loop_test(tc, sample_values, 0, sizeof value_cases / sizeof value_cases[0]);
  tcase_add_loop_test(tc, rfc3339_times, 0, sizeof time_cases / sizeof time_cases[0]);
  tcase_add_loop_test(tc, prometheus_durations, 0,
                      sizeof duration_cases / sizeof duration_cases[0]);
  tcase_add_test(tc, comparisons);
  tcase_add_test(tc, selectors_with_or_without_total);
  tcase_add_test(tc, label_formatting);
  tcase_add_loop_test(tc, pipeline_verdicts, 0, sizeof verdict_cases / sizeof verdict_cases[0]);
  tcase_add_test(tc, null_safety);
  suite_add_tcase(s, tc);

  tc = tcase_create("client");
  tcase_add_test(tc, query_request_shape);
  tcase_add_test(tc, query_error_names_the_query);
  tcase_add_test(tc, unreachable_server);
  tcase_add_test(tc, eventually_holds_after_a_few_answers);
  tcase_add_test(tc, eventually_reports_the_last_value);
  tcase_add_test(tc, eventually_fails_at_once_on_a_bad_query);
  tcase_add_test(tc, eventually_retries_an_unready_server);
  tcase_add_test(tc, eventually_every_or_any_sample);
  tcase_add_test(tc, eventually_empty_vector_never_holds);
  tcase_add_test(tc, eventually_rejects_strings);
  tcase_add_test(tc, targets_wait_up);
  tcase_add_test(tc, scrape_interval_sources);
  tcase_add_test(tc, mark_waits_for_a_fresh_scrape);
  tcase_add_test(tc, delta_walks_resets_and_new_series);
  tcase_add_test(tc, pipeline_check_reads_the_counters);
  tcase_add_test(tc, metric_resolve_tries_both_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(prom_suite());
}
