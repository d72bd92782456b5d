/*
 * check_checkglue.c - the Check glue (stackrig/check.h): each rig_ck_assert_* macro passes
 * when its condition holds and, when it does not, really fails the Check test it is in, at
 * the caller's line, with stackrig's whole diagnostic as the message. Failing tests run in
 * a nested SRunner (forked), whose results this suite inspects. Also the attach fixture.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <stackrig.h>
#include <stackrig/check.h>

#include "fake_http.h"
#include "testutil.h"
#include "util.h"

/* ---- a fake Prometheus whose answers the inner tests share ---- */

static fake_http *fake;
static rig_prom *prom;
/* The line of the macro that must fail, set by each inner test in its forked child: shared
 * memory, so that the parent reads what the child wrote. */
static int *line_of_failure;

/* x is 2; targets are down; time() ticks; every target was scraped just after "now"; no span
 * ever reaches the collector. */
static char *serve(void *userdata, const fake_http_request *req, fake_http_reply *reply)
{
  static int64_t clock_ms = 1700000000000LL;
  reply->status = 200;
  if (strcmp(req->path, "/api/v1/targets") == 0)
    return rig__strdup("{\"status\":\"success\",\"data\":{\"activeTargets\":[{\"labels\":{\"job\":"
                       "\"otel-collector\","
                       "\"instance\":\"c:8888\"},\"scrapeUrl\":\"http://c:8888/"
                       "metrics\",\"lastError\":\"connection "
                       "refused\",\"lastScrape\":\"2024-05-01T12:00:01Z\",\"health\":\"down\","
                       "\"scrapeInterval\":\"1s\"}]}}");
  char *query = fake_http_form_get(req->form, "query");
  char *body;
  if (strcmp(req->path, "/api/v1/query_range") == 0) {
    body =
        rig__strdup("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
  } else if (query && strcmp(query, "time()") == 0) {
    clock_ms += 1000;
    body = rig__sprintf(
        "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[%lld,\"%lld\"]}}",
        (long long)(clock_ms / 1000), (long long)(clock_ms / 1000));
  } else if (query && strncmp(query, "timestamp(up", 12) == 0) {
    body = rig__sprintf("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
                        "\"metric\":{},\"value\":[1,\"%lld.5\"]}]}}",
                        (long long)(clock_ms / 1000));
  } else {
    body = rig__strdup("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
                       "{\"metric\":{\"job\":\"a\"},\"value\":[1700000000,\"2\"]},"
                       "{\"metric\":{\"job\":\"b\"},\"value\":[1700000000,\"5\"]}]}}");
  }
  free(query);
  return body;
}

static void fake_up(void)
{
  fake = fake_http_start(serve, NULL);
  ck_assert_int_eq(rig_prom_new(&prom, fake_http_url(fake), NULL), RIG_OK);
}

static void fake_down(void)
{
  rig_prom_free(prom);
  prom = NULL;
  fake_http_stop(fake);
  fake = NULL;
}

/* ---- inner tests: each ends in a macro that must fail ---- */

START_TEST(inner_ok)
{
  rig_prom *p = NULL;
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_ok(rig_prom_new(&p, "localhost:9090", NULL));
  rig_prom_free(p);
}
END_TEST

START_TEST(inner_promql)
{
  rig_ck_assert_promql(prom, "x", RIG_PROM_GE, 2, 2000); /* both samples >= 2: passes */
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_promql(prom, "x", RIG_PROM_GE, 3, 100);
}
END_TEST

START_TEST(inner_promql_any)
{
  rig_ck_assert_promql_any(prom, "x", RIG_PROM_GE, 5, 2000); /* b is 5: passes */
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_promql_any(prom, "x", RIG_PROM_GT, 5, 100);
}
END_TEST

START_TEST(inner_targets_up)
{
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_targets_up(prom, 50);
}
END_TEST

START_TEST(inner_delta)
{
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, "otel-collector", 5000));
  rig_ck_assert_delta(prom, "x_total", mark, RIG_PROM_EQ, 0, 5000); /* nothing happened */
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_delta(prom, "x_total", mark, RIG_PROM_EQ, 1, 50);
}
END_TEST

START_TEST(inner_pipeline)
{
  rig_prom_mark *mark = NULL;
  rig_ck_assert_ok(rig_prom_mark_now(&mark, prom, NULL, 5000));
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_pipeline_all_sent(prom, mark, 3, 50);
}
END_TEST

START_TEST(inner_attach)
{
  rig_attach *attach = NULL;
  *line_of_failure = __LINE__ + 1;
  rig_ck_attach(&attach, RIG_ATTACH_PROMETHEUS | RIG_ATTACH_JAEGER);
  rig_attach_free(attach);
}
END_TEST

START_TEST(inner_trace_unreachable)
{
  char *url = fake_http_closed_url();
  rig_jaeger *jaeger = NULL;
  rig_ck_assert_ok(rig_jaeger_new(&jaeger, url, NULL));
  free(url);
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_trace(jaeger, "5b8efff798038103d269b633813fc60c", "span[kind=server]", "count == 1",
                      200);
}
END_TEST

START_TEST(inner_trace_typo)
{
  char *url = fake_http_closed_url();
  rig_jaeger *jaeger = NULL;
  rig_ck_assert_ok(rig_jaeger_new(&jaeger, url, NULL));
  free(url);
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_trace_all(jaeger, "5b8efff798038103d269b633813fc60c", 200, "span", "connected",
                          "span[kind=", "count == 1");
}
END_TEST

static int fail_with_a_long_message(void)
{
  char *text = rig__malloc(20000);
  memset(text, 'x', 19999);
  text[19999] = '\0';
  int rc = rig_error_set(RIG_EASSERT, "%s", text);
  free(text);
  return rc;
}

START_TEST(inner_long)
{
  *line_of_failure = __LINE__ + 1;
  rig_ck_assert_ok(fail_with_a_long_message());
}
END_TEST

/* Runs one inner test in a forked nested runner and returns its single result's message;
 * asserts it failed at line_of_failure of this file. */
static char *run_failing(const TTest *test, void (*setup)(void), void (*teardown)(void))
{
  Suite *s = suite_create("inner");
  TCase *tc = tcase_create("inner");
  if (setup)
    tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_FORK);
  *line_of_failure = 0;
  srunner_run(sr, NULL, NULL, CK_SILENT);
  ck_assert_int_eq(srunner_ntests_run(sr), 1);
  ck_assert_msg(srunner_ntests_failed(sr) == 1, "the inner test %s passed", test->name);
  TestResult **results = srunner_failures(sr);
  TestResult *tr = results[0];
  ck_assert_int_eq(tr_rtype(tr), CK_FAILURE);
  char *message = rig__strdup(tr_msg(tr));
  /* The failure is reported at the macro's line in the test, not inside the library. */
  ck_assert_str_eq(strrchr(tr_lfile(tr), '/') + 1, "check_checkglue.c");
  ck_assert_int_gt(*line_of_failure, 0);
  ck_assert_int_eq(tr_lno(tr), *line_of_failure);
  free(results);
  srunner_free(sr);
  return message;
}

static void assert_contains(const char *text, const char *part)
{
  ck_assert_msg(strstr(text, part) != NULL, "\n  message: %s\n  lacks:   %s", text, part);
}

START_TEST(ok_fails_with_the_call_and_the_error)
{
  char *message = run_failing(inner_ok, NULL, NULL);
  ck_assert_str_eq(message,
                   "rig_prom_new(&p, \"localhost:9090\", NULL): prometheus: invalid base URL "
                   "'localhost:9090': expected http:// or https:// [RIG_EINVAL]");
  free(message);
}
END_TEST

START_TEST(long_diagnostics_reach_check)
{
  /* Check would drop a message past its limit and report the failure without one. */
  char *message = run_failing(inner_long, NULL, NULL);
  ck_assert_uint_le(strlen(message), 4000);
  ck_assert_msg(strncmp(message, "fail_with_a_long_message(): xxx", 31) == 0, "%.60s", message);
  assert_contains(message, "xxx... [RIG_EASSERT]");
  free(message);
}
END_TEST

START_TEST(promql_fails_with_the_last_values)
{
  char *message = run_failing(inner_promql, fake_up, fake_down);
  assert_contains(message, "prometheus: 'x' >= 3 did not hold within ");
  assert_contains(message, "last result: {job=\"a\"} = 2 @ 1700000000.000\n{job=\"b\"} = 5 @ "
                           "1700000000.000 [RIG_EASSERT]");
  free(message);
  message = run_failing(inner_promql_any, fake_up, fake_down);
  assert_contains(message, "prometheus: 'x' > 5 did not hold for any sample within ");
  free(message);
}
END_TEST

START_TEST(targets_up_fails_naming_the_target)
{
  char *message = run_failing(inner_targets_up, fake_up, fake_down);
  assert_contains(message, "prometheus: targets not all up within ");
  assert_contains(message, "1 of 1 targets not up: otel-collector c:8888 (http://c:8888/metrics): "
                           "down: connection refused [RIG_EASSERT]");
  free(message);
}
END_TEST

START_TEST(delta_fails_with_the_increase)
{
  char *message = run_failing(inner_delta, fake_up, fake_down);
  assert_contains(message,
                  "prometheus: the increase of 'x_total' since the mark is 0, expected == 1 (");
  free(message);
}
END_TEST

START_TEST(pipeline_fails_telling_who_dropped_it)
{
  char *message = run_failing(inner_pipeline, fake_up, fake_down);
  ck_assert_str_eq(message,
                   "pipeline: the service never sent them: the collector accepted 0 spans of 3 "
                   "expected and refused none; check the service's OTLP endpoint and "
                   "exporter [RIG_EASSERT]");
  free(message);
}
END_TEST

static void clear_stack_env(void)
{
  unsetenv("STACKRIG_PROJECT");
  unsetenv("STACKRIG_PG_DSN");
  unsetenv("STACKRIG_JAEGER_URL");
  unsetenv("STACKRIG_PROMETHEUS_URL");
  unsetenv("STACKRIG_OTLP_HTTP_ENDPOINT");
}

START_TEST(attach_fails_naming_the_variables)
{
  clear_stack_env();
  char *message = run_failing(inner_attach, NULL, NULL);
  assert_contains(message,
                  "attach: STACKRIG_JAEGER_URL, STACKRIG_PROMETHEUS_URL are not set: this "
                  "suite needs a running stack\n  hint: run the suite under `stackrig run -- "
                  "COMMAND`");
  assert_contains(message, "[RIG_ENOTFOUND]");
  free(message);
}
END_TEST

START_TEST(trace_fails_with_the_client_error)
{
  char *message = run_failing(inner_trace_unreachable, NULL, NULL);
  assert_contains(message, "[RIG_ECONNECT]");
  free(message);
  message = run_failing(inner_trace_typo, NULL, NULL);
  assert_contains(message, "[RIG_EPARSE]");
  assert_contains(message, "span[kind=");
  free(message);
}
END_TEST

/* ---- the library side ---- */

START_TEST(message_text)
{
  rig_error_clear();
  ck_assert_str_eq(rig_check_message(RIG_ETIMEOUT), "timed out [RIG_ETIMEOUT]");
  rig_error_set(RIG_EASSERT, "inner");
  rig_error_wrap(RIG_OK, "outer");
  rig_error_add_detail("hint", "do this");
  rig_error_add_detail("artifact", "/tmp/trace.json");
  rig_error_add_detail("query", "not shown");
  ck_assert_str_eq(rig_check_message(RIG_EASSERT),
                   "outer: inner\n  hint: do this\n  artifact: /tmp/trace.json [RIG_EASSERT]");
  /* A code that is not the last error's: the last error belongs to something else. */
  ck_assert_str_eq(rig_check_message(RIG_ECONNECT), "cannot connect [RIG_ECONNECT]");
  /* Text longer than Check takes (4 KiB unless CK_MAX_MSG_SIZE says otherwise) is cut to
   * fit, keeping the hint and the code. */
  char *long_text = rig__malloc(40000);
  memset(long_text, 'a', 39999);
  long_text[39999] = '\0';
  rig_error_set(RIG_EASSERT, "%s", long_text);
  rig_error_add_detail("hint", "look here");
  unsetenv("CK_MAX_MSG_SIZE");
  const char *message = rig_check_message(RIG_EASSERT);
  ck_assert_uint_eq(strlen(message), 4000);
  const char *end = "aaa...\n  hint: look here [RIG_EASSERT]";
  ck_assert_str_eq(message + 4000 - strlen(end), end);
  setenv("CK_MAX_MSG_SIZE", "10000", 1);
  ck_assert_uint_eq(strlen(rig_check_message(RIG_EASSERT)), 10000 - 96);
  setenv("CK_MAX_MSG_SIZE", "1000000", 1);
  ck_assert_uint_eq(strlen(rig_check_message(RIG_EASSERT)), 16383);
  unsetenv("CK_MAX_MSG_SIZE");
  free(long_text);
  rig_error_clear();
}
END_TEST

START_TEST(attach_reads_the_environment)
{
  clear_stack_env();
  setenv("STACKRIG_PROJECT", "demo", 1);
  setenv("STACKRIG_PG_DSN", "postgres://u:secret@127.0.0.1:5/db", 1);
  setenv("STACKRIG_JAEGER_URL", "http://127.0.0.1:16686", 1);
  setenv("STACKRIG_PROMETHEUS_URL", "http://127.0.0.1:9090", 1);
  setenv("STACKRIG_OTLP_HTTP_ENDPOINT", "http://127.0.0.1:4318", 1);
  setenv("STACKRIG_SERVICE_OTEL_COLLECTOR_4318", "127.0.0.1:4318", 1);
  rig_attach *attach = NULL;
  rig_ck_attach(&attach, 0);
  ck_assert_str_eq(rig_attach_project(attach), "demo");
  ck_assert_str_eq(rig_attach_pg_dsn(attach), "postgres://u:secret@127.0.0.1:5/db");
  ck_assert_str_eq(rig_attach_jaeger_url(attach), "http://127.0.0.1:16686");
  ck_assert_str_eq(rig_attach_prometheus_url(attach), "http://127.0.0.1:9090");
  ck_assert_str_eq(rig_attach_otlp_endpoint(attach), "http://127.0.0.1:4318");
  ck_assert_ptr_nonnull(rig_attach_prom(attach));
  ck_assert_str_eq(rig_prom_url(rig_attach_prom(attach)), "http://127.0.0.1:9090");
  ck_assert_ptr_nonnull(rig_attach_jaeger(attach));
  ck_assert_ptr_nonnull(rig_attach_otlp(attach));
  char *address = NULL;
  rig_ck_assert_ok(rig_attach_service_address(&address, attach, "otel-collector", 4318));
  ck_assert_str_eq(address, "127.0.0.1:4318");
  free(address);
  address = (char *)0x1;
  ck_assert_int_eq(rig_attach_service_address(&address, attach, "postgres", 5432), RIG_ENOTFOUND);
  ck_assert_ptr_eq(address, (char *)0x1);
  ck_assert_str_eq(
      rig_error_last()->text,
      "attach: STACKRIG_SERVICE_POSTGRES_5432 is not set (service postgres, port 5432)");
  rig_attach_free(attach);

  /* What is not required may be missing: its client is then NULL. */
  unsetenv("STACKRIG_JAEGER_URL");
  unsetenv("STACKRIG_PG_DSN");
  rig_attach_options opts = RIG_ATTACH_OPTIONS_INIT;
  opts.require = RIG_ATTACH_PROMETHEUS;
  ck_assert_int_eq(rig_attach_env(&attach, &opts), RIG_OK);
  ck_assert_ptr_null(rig_attach_jaeger(attach));
  ck_assert_ptr_null(rig_attach_pg_dsn(attach));
  ck_assert_ptr_nonnull(rig_attach_prom(attach));
  rig_attach_free(attach);

  /* Every missing variable is named, with an example to export. */
  attach = (rig_attach *)0x1;
  ck_assert_int_eq(rig_attach_env(&attach, NULL), RIG_ENOTFOUND);
  ck_assert_ptr_eq(attach, (rig_attach *)0x1);
  ck_assert_str_eq(
      rig_error_last()->message,
      "attach: STACKRIG_PG_DSN, STACKRIG_JAEGER_URL are not set: this suite needs a running stack");
  assert_contains(rig_error_detail_get(rig_error_last(), "hint"),
                  "STACKRIG_JAEGER_URL=http://127.0.0.1:16686");
  opts.require = RIG_ATTACH_JAEGER; /* one: singular */
  ck_assert_int_eq(rig_attach_env(&attach, &opts), RIG_ENOTFOUND);
  ck_assert_str_eq(rig_error_last()->message,
                   "attach: STACKRIG_JAEGER_URL is not set: this suite needs a running stack");

  /* A malformed URL names its variable. */
  setenv("STACKRIG_PROMETHEUS_URL", "127.0.0.1:9090", 1);
  opts.require = RIG_ATTACH_PROMETHEUS;
  ck_assert_int_eq(rig_attach_env(&attach, &opts), RIG_EINVAL);
  assert_contains(rig_error_last()->text, "attach: STACKRIG_PROMETHEUS_URL=127.0.0.1:9090: ");
  rig_attach_free(NULL);
  clear_stack_env();
  unsetenv("STACKRIG_SERVICE_OTEL_COLLECTOR_4318");
}
END_TEST

static Suite *checkglue_suite(void)
{
  Suite *s = suite_create("checkglue");
  TCase *tc = tcase_create("macros");
  tcase_add_test(tc, ok_fails_with_the_call_and_the_error);
  tcase_add_test(tc, long_diagnostics_reach_check);
  tcase_add_test(tc, promql_fails_with_the_last_values);
  tcase_add_test(tc, targets_up_fails_naming_the_target);
  tcase_add_test(tc, delta_fails_with_the_increase);
  tcase_add_test(tc, pipeline_fails_telling_who_dropped_it);
  tcase_add_test(tc, attach_fails_naming_the_variables);
  tcase_add_test(tc, trace_fails_with_the_client_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("library");
  tcase_add_test(tc, message_text);
  tcase_add_test(tc, attach_reads_the_environment);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  line_of_failure = mmap(NULL, sizeof *line_of_failure, PROT_READ | PROT_WRITE,
                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (line_of_failure == MAP_FAILED)
    return 99;
  return rig_test_main(checkglue_suite());
}
