/*
 * check_threshold.c - the threshold grammar (a table of valid expressions with what they
 * parse to, a table of invalid ones with the message each must give) and verdicts over
 * results with known contents.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "testutil.h"
#include "traffic_internal.h"

static const struct {
  const char *expr;
  rig__metric metric;
  double percentile;
  int status;
  rig__op op;
  double limit;
} valid_cases[] = {
    {"p(95)<200ms", RIG__METRIC_PERCENTILE, 95, 0, RIG__OP_LT, 200e6},
    {"p(99)<1s", RIG__METRIC_PERCENTILE, 99, 0, RIG__OP_LT, 1e9},
    {"p(99.9)<=2s", RIG__METRIC_PERCENTILE, 99.9, 0, RIG__OP_LE, 2e9},
    {"p(50) < 250", RIG__METRIC_PERCENTILE, 50, 0, RIG__OP_LT, 250e6}, /* bare number: ms */
    {"  p(100)>=1.5ms  ", RIG__METRIC_PERCENTILE, 100, 0, RIG__OP_GE, 1.5e6},
    {"p(0.1)>10us", RIG__METRIC_PERCENTILE, 0.1, 0, RIG__OP_GT, 10e3},
    {"p(90)<500\xc2\xb5s", RIG__METRIC_PERCENTILE, 90, 0, RIG__OP_LT, 500e3},
    {"p(99){status:200}<300ms", RIG__METRIC_PERCENTILE, 99, 200, RIG__OP_LT, 300e6},
    {"p(99){ status = 503 }<1m", RIG__METRIC_PERCENTILE, 99, 503, RIG__OP_LT, 60e9},
    {"med<50ms", RIG__METRIC_PERCENTILE, 50, 0, RIG__OP_LT, 50e6},
    {"avg<100ms", RIG__METRIC_AVG, 0, 0, RIG__OP_LT, 100e6},
    {"mean<100ms", RIG__METRIC_AVG, 0, 0, RIG__OP_LT, 100e6},
    {"min>=0ns", RIG__METRIC_MIN, 0, 0, RIG__OP_GE, 0},
    {"max<3s", RIG__METRIC_MAX, 0, 0, RIG__OP_LT, 3e9},
    {"max{status:404}!=0", RIG__METRIC_MAX, 0, 404, RIG__OP_NE, 0},
    {"error_rate<1%", RIG__METRIC_ERROR_RATE, 0, 0, RIG__OP_LT, 0.01},
    {"error_rate<=0.05", RIG__METRIC_ERROR_RATE, 0, 0, RIG__OP_LE, 0.05},
    {"http_req_failed<0.1%", RIG__METRIC_ERROR_RATE, 0, 0, RIG__OP_LT, 0.001},
    {"rate>100", RIG__METRIC_RATE, 0, 0, RIG__OP_GT, 100},
    {"rate>=99.5/s", RIG__METRIC_RATE, 0, 0, RIG__OP_GE, 99.5},
    {"requests==1000", RIG__METRIC_REQUESTS, 0, 0, RIG__OP_EQ, 1000},
    {"errors==0", RIG__METRIC_ERRORS, 0, 0, RIG__OP_EQ, 0},
};

START_TEST(valid_expressions_parse)
{
  rig__threshold t;
  memset(&t, 0xff, sizeof t);
  int rc = rig__threshold_parse(&t, valid_cases[_i].expr);
  ck_assert_msg(rc == RIG_OK, "'%s' did not parse: %s", valid_cases[_i].expr,
                rig_error_last() ? rig_error_last()->text : "?");
  ck_assert_int_eq(t.metric, valid_cases[_i].metric);
  ck_assert_double_eq_tol(t.percentile, valid_cases[_i].percentile, 1e-9);
  ck_assert_int_eq(t.status, valid_cases[_i].status);
  ck_assert_int_eq(t.op, valid_cases[_i].op);
  ck_assert_double_eq_tol(t.limit, valid_cases[_i].limit,
                          fabs(valid_cases[_i].limit) * 1e-12 + 1e-9);
  ck_assert_int_eq(rig_traffic_threshold_validate(valid_cases[_i].expr), RIG_OK);
}
END_TEST

static const struct {
  const char *expr;
  const char *message; /* the whole message must contain this */
} invalid_cases[] = {
    {"", "threshold '': empty expression"},
    {"   ", "empty expression"},
    {"p95<200ms", "threshold 'p95<200ms': unknown metric 'p95' (expected p(N), avg"},
    {"latency<1s", "unknown metric 'latency'"},
    {"<1s", "expected a metric"},
    {"p(abc)<1s", "percentile 'abc' is not a number above 0 and up to 100"},
    {"p(101)<1s", "percentile '101'"},
    {"p(0)<1s", "percentile '0'"},
    {"p()<1s", "percentile ''"},
    {"p(95<1s", "'p(' without a closing ')'"},
    {"p(95)", "missing comparison"},
    {"p(95)=200ms", "expected a comparison (<, <=, >, >=, == or !=) at '=200ms'"},
    {"p(95)<", "missing value after '<'"},
    {"p(95)<=  ", "missing value after '<='"},
    {"p(95)<fast", "value 'fast' is not a non-negative number"},
    {"p(95)<-1ms", "value '-1ms' is not a non-negative number"},
    {"p(95)<200parsecs", "unknown unit 'parsecs' for a latency (use ns, us, ms, s or m"},
    {"p(95)<200 ms", "unexpected 'ms' after the value"},
    {"p(95)<200ms and more", "unexpected 'and more' after the value"},
    {"p(99){status:abc}<1s", "status 'abc' is not an HTTP status"},
    {"p(99){status:99}<1s", "status '99' is not an HTTP status (100..599)"},
    {"p(99){code:200}<1s", "expected {status:NNN}, got '{code:200}'"},
    {"p(99){status:200<1s", "'{' without a closing '}'"},
    {"rate{status:200}>1", "{status:...} applies to latency metrics only"},
    {"error_rate<5ms", "unknown unit 'ms' for error_rate (use % or a fraction)"},
    {"error_rate<2", "error_rate 2 is not a fraction between 0 and 1 (write 2% for percent)"},
    {"error_rate<150%", "error_rate 150% is above 100%"},
    {"rate>100rps", "unknown unit 'rps' for rate"},
    {"requests>10ms", "unexpected unit 'ms' for a count"},
    {"rate>1e999", "is not a non-negative number"},
};

START_TEST(invalid_expressions_name_the_problem)
{
  rig__threshold t, before;
  memset(&t, 0x5a, sizeof t);
  before = t;
  int rc = rig__threshold_parse(&t, invalid_cases[_i].expr);
  ck_assert_msg(rc == RIG_EINVAL, "'%s' parsed", invalid_cases[_i].expr);
  const char *message = rig_error_last()->message;
  ck_assert_msg(strstr(message, invalid_cases[_i].message) != NULL,
                "message for '%s' is \"%s\", expected it to contain \"%s\"", invalid_cases[_i].expr,
                message, invalid_cases[_i].message);
  ck_assert_msg(strncmp(message, "threshold '", 11) == 0, "message does not quote: %s", message);
  ck_assert_int_eq(memcmp(&t, &before, sizeof t), 0); /* untouched on failure */
  ck_assert_int_eq(rig_traffic_threshold_validate(invalid_cases[_i].expr), RIG_EINVAL);
}
END_TEST

/* A result with 1000 answers: 900 of 200 at 1..900 us, 100 of 503 at 10 ms, plus 20
 * connection failures; measured over 2 seconds. */
static rig_traffic_result *known_result(void)
{
  rig_traffic_result *r = rig__traffic_result_new("GET", "http://127.0.0.1:1/", 0);
  for (int i = 1; i <= 900; i++)
    rig__traffic_result_record(r, 200, RIG_TRAFFIC_ERR_NONE, (int64_t)i * 1000);
  for (int i = 0; i < 100; i++)
    rig__traffic_result_record(r, 503, RIG_TRAFFIC_ERR_HTTP, 10000000);
  for (int i = 0; i < 20; i++)
    rig__traffic_result_record(r, 0, RIG_TRAFFIC_ERR_CONNECT, 0);
  rig__traffic_result_finish(r, 2.0);
  return r;
}

static const struct {
  const char *expr;
  int passed;
  const char *actual_text;
} verdict_cases[] = {
    {"p(50)<1ms", 1,
     "500.7us"}, /* rank 500 of 1000: 500 us, reported as its 2 us bucket's middle */
    {"p(90)<=900us", 1, "899.1us"},
    {"p(95)<5ms", 0, "9.99ms"},
    {"p(99){status:200}<1ms", 1, "890.9us"},
    {"p(99){status:503}<1ms", 0, "10.00ms"},
    {"p(99){status:404}<1ms", 0, "no data"},
    {"avg<2ms", 1, "1.41ms"},
    {"min>=1us", 1, "1.0us"},
    {"max<10ms", 0, "10.00ms"},
    {"max<=10ms", 1, "10.00ms"},
    {"error_rate<1%", 0, "11.76%"}, /* (100 + 20) / 1020 */
    {"error_rate<0.2", 1, "11.76%"},
    {"rate>500", 1, "510.0/s"},
    {"rate>=600/s", 0, "510.0/s"},
    {"requests==1020", 1, "1020"},
    {"requests!=1020", 0, "1020"},
    {"errors==120", 1, "120"},
    {"errors<100", 0, "120"},
};

START_TEST(verdicts_over_a_known_result)
{
  rig_traffic_result *r = known_result();
  rig_traffic_verdict v;
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, verdict_cases[_i].expr), RIG_OK);
  ck_assert_ptr_eq(v.expr, verdict_cases[_i].expr);
  ck_assert_msg(v.passed == verdict_cases[_i].passed, "'%s': passed=%d, actual %s",
                verdict_cases[_i].expr, v.passed, v.actual_text);
  ck_assert_str_eq(v.actual_text, verdict_cases[_i].actual_text);
  ck_assert_int_eq(v.has_value, strcmp(verdict_cases[_i].actual_text, "no data") != 0);
  rig_traffic_result_free(r);
}
END_TEST

START_TEST(verdict_values_are_in_documented_units)
{
  rig_traffic_result *r = known_result();
  rig_traffic_verdict v;
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "max<1s"), RIG_OK);
  ck_assert_double_eq_tol(v.actual, 10.0, 1e-9); /* milliseconds */
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "error_rate<1%"), RIG_OK);
  ck_assert_double_eq_tol(v.actual, 120.0 / 1020.0, 1e-12); /* a fraction */
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "rate>1"), RIG_OK);
  ck_assert_double_eq_tol(v.actual, 510.0, 1e-9);
  memset(&v, 0x33, sizeof v);
  rig_traffic_verdict before = v;
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "p(95)<<1s"), RIG_EINVAL);
  ck_assert_int_eq(memcmp(&v, &before, sizeof v), 0);
  rig_traffic_result_free(r);
}
END_TEST

START_TEST(check_names_every_failure)
{
  rig_traffic_result *r = known_result();
  const char *passing[] = {"p(90)<1ms", "rate>100", NULL};
  ck_assert_int_eq(rig_traffic_check(r, passing), RIG_OK);
  const char *failing[] = {"p(95)<5ms", "rate>100", "error_rate<1%", NULL};
  ck_assert_int_eq(rig_traffic_check(r, failing), RIG_EASSERT);
  ck_assert_str_eq(rig_error_last()->message,
                   "thresholds failed: p(95)<5ms (actual 9.99ms); error_rate<1% (actual "
                   "11.76%)");
  const char *one[] = {"errors==0", NULL};
  ck_assert_int_eq(rig_traffic_check(r, one), RIG_EASSERT);
  ck_assert_str_eq(rig_error_last()->message, "threshold failed: errors==0 (actual 120)");
  const char *malformed[] = {"rate>100", "p99<1s", NULL};
  ck_assert_int_eq(rig_traffic_check(r, malformed), RIG_EINVAL);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->message, "p99"));
  ck_assert_int_eq(rig_traffic_check(r, NULL), RIG_OK);
  rig_traffic_result_free(r);
}
END_TEST

START_TEST(an_empty_result_has_no_data_for_rates_and_latency)
{
  rig_traffic_result *r = rig__traffic_result_new("GET", "http://127.0.0.1:1/", 0);
  rig__traffic_result_finish(r, 0);
  rig_traffic_verdict v;
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "error_rate<1%"), RIG_OK);
  ck_assert(!v.passed);
  ck_assert_str_eq(v.actual_text, "no data");
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "p(99)<1s"), RIG_OK);
  ck_assert(!v.passed);
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "requests==0"), RIG_OK);
  ck_assert(v.passed);
  ck_assert_int_eq(rig_traffic_threshold_eval(&v, r, "rate<1"), RIG_OK);
  ck_assert(v.passed);
  ck_assert_str_eq(v.actual_text, "0.0/s");
  rig_traffic_result_free(r);
}
END_TEST

static Suite *threshold_suite(void)
{
  Suite *s = suite_create("threshold");
  TCase *tc = tcase_create("grammar");
  tcase_add_loop_test(tc, valid_expressions_parse, 0,
                      (int)(sizeof valid_cases / sizeof valid_cases[0]));
  tcase_add_loop_test(tc, invalid_expressions_name_the_problem, 0,
                      (int)(sizeof invalid_cases / sizeof invalid_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("verdicts");
  tcase_add_loop_test(tc, verdicts_over_a_known_result, 0,
                      (int)(sizeof verdict_cases / sizeof verdict_cases[0]));
  tcase_add_test(tc, verdict_values_are_in_documented_units);
  tcase_add_test(tc, check_names_every_failure);
  tcase_add_test(tc, an_empty_result_has_no_data_for_rates_and_latency);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(threshold_suite());
}
