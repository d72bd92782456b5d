/*
 * check_selector.c - the selector language and trace assertions: which spans each valid
 * selector picks on a recorded trace (fixtures/jaeger/v3/get_trace.json), the column and
 * expectation of every parse error, and the messages of failed assertions.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "testutil.h"
#include "util.h"

/*
 * The trace: 1 orders "POST /orders" server ok 120ms
 *              2 orders "INSERT orders" client 15ms
 *              3 orders "GET /inventory/reserve" client 80ms
 *                4 inventory "GET /inventory/reserve" server error 70ms
 *                  5 inventory "reserve stock" internal error 5ms
 * Span ids are a00000000000000N; the selections below list the N of each picked span.
 */
static rig_trace *trace;

static void load_trace(void)
{
  char *path = rig_test_path("fixtures/jaeger/v3/get_trace.json");
  char *text = NULL;
  ck_assert_int_eq(rig__read_file(&text, NULL, path), RIG_OK);
  ck_assert_int_eq(rig_trace_parse(&trace, text, strlen(text)), RIG_OK);
  free(text);
  free(path);
}

static void free_trace(void)
{
  rig_trace_free(trace);
  trace = NULL;
}

static const struct {
  const char *selector;
  const char *picked; /* the last digit of each picked span id, in trace order */
} valid[] = {
    {"span", "12345"},
    {"  span  ", "12345"},
    {"span[service.name=\"orders\"]", "123"},
    {"span[service.name=\"orders\" name=\"POST /orders\"]", "1"},
    {"span[ service.name = \"orders\"   name = \"POST /orders\" ]", "1"},
    {"span[service=inventory]", "45"},
    {"span[name=\"GET /inventory/reserve\"]", "34"},
    {"span[name='reserve stock']", "5"},
    {"span[name=\"say \\\"hi\\\"\"]", ""},
    {"span[kind=server]", "14"},
    {"span[kind=Server]", "14"},
    {"span[kind=SPAN_KIND_CLIENT]", "23"},
    {"span[kind!=server]", "235"},
    {"span[status=error]", "45"},
    {"span[status=STATUS_CODE_OK]", "1"},
    {"span[status=unset]", "23"},
    {"span[status != error]", "123"},
    {"span[status.message contains stock]", "5"},
    {"span[status.message=\"reservation failed\"]", "4"},
    {"span[duration<50ms]", "25"},
    {"span[duration >= 70ms]", "134"},
    {"span[duration<=1m30s]", "12345"},
    {"span[duration<0.1s]", "2345"},
    {"span[duration=5000us]", "5"},
    {"span[duration < 15000000]", "5"},
    {"span[duration = \"120ms\"]", "1"},
    {"span[duration > 1h]", ""},
    {"span[http.response.status_code = 201]", "1"},
    {"span[http.response.status_code == 201]", "1"},
    {"span[http.response.status_code >= 400]", "4"},
    {"span[http.response.status_code = \"409\"]", "4"},
    {"span[http.response.status_code < 1e3]", "14"},
    {"span[http.response.status_code != 201]", "4"},
    {"span[http.request.method = POST]", "1"},
    {"span[http.request.method > \"GET\"]", "1"},
    {"span[server.port = 8081]", "3"},
    {"span[stock.ratio > 0.5]", "4"},
    {"span[stock.ratio = .75]", "4"},
    {"span[stock.ratio < -1]", ""},
    {"span[order.tags contains \"express\"]", "4"},
    {"span[order.tags contains \"expr\"]", ""},
    {"span[order.quantities contains 2]", "4"},
    {"span[name contains \"inventory\"]", "34"},
    {"span[db.retry = false]", "2"},
    {"span[db.statement contains \"INSERT INTO\"]", "2"},
    {"span[host.name = \"inv-1\"]", "45"},
    {"span[process.pid = 4242]", "45"},
    {"span[deployment.environment=test]", "123"},
    {"span[attr:service.name = orders]", "123"},
    {"span[attr:name = \"POST /orders\"]", ""},
    {"span[scope.name = libpq]", "2"},
    {"span[scope.version = \"2.0.1\"]", "13"},
    {"span[span_id = a000000000000003]", "3"},
    {"span[parent_id = \"a000000000000001\"]", "23"},
    {"span[trace_id = \"5b8efff798038103d269b633813fc60c\"]", "12345"},
    {"span[no.such.attribute = 1]", ""},
    {"span[no.such.attribute != 1]", ""},
    {"span[service.name=orders] span[service.name=inventory]", "45"},
    {"span[service.name=orders] > span[service.name=inventory]", "4"},
    {"span[service.name=orders]>span[service.name=inventory]", "4"},
    {"span[kind=server] > span", "235"},
    {"span span span", "45"},
    {"span > span > span > span", "5"},
    {"span > span > span > span > span", ""},
    {"span[kind=server]>span[kind=client]", "23"},
    {"span[name=\"POST /orders\"] span[status=error]:first", "4"},
    {"span:first", "1"},
    {"span:last", "5"},
    {"span:nth_child(2)", "2"},
    {"span:nth_child( 3 )", "3"},
    {"span:nth_child(9)", ""},
    {"span[service.name=inventory]:nth_child(2)", "5"},
    {"span[kind=client]:last > span", "4"},
    {"span:first:last", "1"},
    {"span[status=error], span[kind=client]", "2345"},
    {"span[kind=client] , span[kind=client]", "23"},
    {"span[kind=server] span[kind=server], span:first", "14"},
};

static void picked_ids(char *out, const rig_selection *selection)
{
  size_t i = 0;
  for (; i < selection->count; i++)
    out[i] = selection->spans[i]->span_id_hex[15];
  out[i] = '\0';
}

START_TEST(valid_selectors_pick)
{
  rig_selector *selector = NULL;
  int rc = rig_selector_parse(&selector, valid[_i].selector);
  ck_assert_msg(rc == RIG_OK, "%s: %s", valid[_i].selector, rig_error_last()->text);
  ck_assert_str_eq(rig_selector_text(selector), valid[_i].selector);
  rig_selection *selection;
  ck_assert_int_eq(rig_selector_select(&selection, selector, trace), RIG_OK);
  char got[16];
  picked_ids(got, selection);
  ck_assert_msg(strcmp(got, valid[_i].picked) == 0, "%s picked \"%s\", expected \"%s\"",
                valid[_i].selector, got, valid[_i].picked);
  rig_selection_free(selection);
  rig_selector_free(selector);
}
END_TEST

static const struct {
  const char *selector;
  int column;
  const char *expected;
} invalid[] = {
    {"", 1, "'span'"},
    {"   ", 4, "'span'"},
    {"spam", 1, "'span'"},
    {"spans", 1, "'span'"},
    {"[name=x]", 1, "'span'"},
    {"span[", 6, "a property name"},
    {"span[]", 6, "a condition"},
    {"span[name]", 10, "an operator"},
    {"span[name ~ \"x\"]", 11, "an operator"},
    {"span[name=]", 11, "a value"},
    {"span[name=\"x\"", 14, "']' or a space and another condition"},
    {"span[name=\"x]", 14, "a closing '\"'"},
    {"span[name='x]", 14, "a closing \"'\""},
    {"span[name=\"x\"name=\"y\"]", 14, "']' or a space and another condition"},
    {"span[name=\"a\" , kind=server]", 15, "a property name"},
    {"span[duration<200xs]", 18, "a duration unit"},
    {"span[duration<20ms5]", 20, "a duration unit"},
    {"span[x=12abc]", 10, "a duration unit"},
    {"span[x=1.5.2]", 11, "']' or a space and another condition"},
    {"span[a.=1]", 7, "a letter or digit after the dot"},
    {"span[1a=1]", 6, "a property name"},
    {"span[name=\"x\"]]", 15, "',', '>', a space and another 'span', or the end"},
    {"span[kind=server]x", 18, "',', '>', a space and another 'span', or the end"},
    {"span:frist", 6, "a pseudo-class"},
    {"span:", 6, "a pseudo-class"},
    {"span:nth_child(0)", 16, "a positive integer"},
    {"span:nth_child(-1)", 16, "a positive integer"},
    {"span:nth_child(2", 17, "')'"},
    {"span:nth_child 2)", 16, "'(' after nth_child"},
    {"span >", 7, "'span'"},
    {"span > > span", 8, "'span'"},
    {"span,", 6, "'span'"},
    {"span, ,span", 7, "'span'"},
    {"span span[", 11, "a property name"},
    {"span [name=\"x\"]", 6, "'span'"},
    {"span[name=\"x\"] spam", 16, "'span'"},
};

START_TEST(invalid_selectors_report_column)
{
  rig_selector *selector = (rig_selector *)0x1;
  int rc = rig_selector_parse(&selector, invalid[_i].selector);
  ck_assert_msg(rc == RIG_EPARSE, "'%s' parsed", invalid[_i].selector);
  ck_assert_ptr_eq(selector, (rig_selector *)0x1); /* untouched on failure */
  const rig_error *err = rig_error_last();
  char column[16];
  snprintf(column, sizeof column, "%d", invalid[_i].column);
  ck_assert_msg(strcmp(rig_error_detail_get(err, "column"), column) == 0,
                "'%s': column %s, expected %s (%s)", invalid[_i].selector,
                rig_error_detail_get(err, "column"), column, err->text);
  ck_assert_msg(strncmp(rig_error_detail_get(err, "expected"), invalid[_i].expected,
                        strlen(invalid[_i].expected)) == 0,
                "'%s': expected '%s', got '%s'", invalid[_i].selector, invalid[_i].expected,
                rig_error_detail_get(err, "expected"));
  char *prefix = rig__sprintf("selector \"%s\": column %d: expected ", invalid[_i].selector,
                              invalid[_i].column);
  ck_assert_msg(strncmp(err->text, prefix, strlen(prefix)) == 0, "%s", err->text);
  free(prefix);
}
END_TEST

START_TEST(error_names_what_was_found)
{
  rig_selector *selector;
  ck_assert_int_eq(rig_selector_parse(&selector, "span[name ~ \"x\"]"), RIG_EPARSE);
  ck_assert_str_eq(rig_error_last()->text,
                   "selector \"span[name ~ \"x\"]\": column 11: expected an "
                   "operator (=, !=, <, <=, >, >=, contains), found '~'");
  ck_assert_int_eq(rig_selector_parse(&selector, "span["), RIG_EPARSE);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "found the end"));
  ck_assert_int_eq(rig_selector_parse(&selector, "span[\x01"), RIG_EPARSE);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "found byte 0x01"));
  ck_assert_int_eq(rig_selector_parse(NULL, "span"), RIG_EINVAL);
  ck_assert_int_eq(rig_selector_parse(&selector, NULL), RIG_EINVAL);
  rig_selector_free(NULL);
  rig_selection_free(NULL);
}
END_TEST

START_TEST(matches_span_ignores_ancestors)
{
  rig_selector *selector;
  ck_assert_int_eq(rig_selector_parse(&selector, "span[kind=client] > span[status=error]:first"),
                   RIG_OK);
  ck_assert(rig_selector_matches_span(selector, rig_trace_find_span(trace, "a000000000000005")));
  ck_assert(!rig_selector_matches_span(selector, rig_trace_find_span(trace, "a000000000000001")));
  ck_assert(!rig_selector_matches_span(NULL, rig_trace_span(trace, 0)));
  rig_selector_free(selector);
}
END_TEST

/* ---- assertions ---- */

static const struct {
  const char *selector;
  const char *assertion;
} passing[] = {
    {"span[service.name=orders]", "count == 3"},
    {"span[service.name=orders]", "count = 3"},
    {"span[service.name=orders]", "count >= 1"},
    {"span[service.name=orders]", "count < 4"},
    {"span[service.name=orders]", "count != 0"},
    {"span[service.name=nobody]", "count == 0"},
    {"span[kind=server]", "duration < 200ms"},
    {"span[kind=server]", "duration >= 70ms"},
    {"span[service.name=orders name=\"POST /orders\"]", "status = ok"},
    {"span[service.name=inventory]", "status = error"},
    {"span[service.name=inventory]", "host.name = \"inv-1\""},
    {"span[kind=server]", "http.response.status_code >= 200"},
    {"span[kind=server]", "kind = server"},
    {"span:first", "name = \"POST /orders\""},
    {"span[status=error]", "status.message contains \"o\""},
    {NULL, "connected"},
    {"", "connected"},
    {"span", "connected"},
    {NULL, "trace_id = \"5b8efff798038103d269b633813fc60c\""},
    {"span[db.system=postgresql]", "attr:db.statement contains INSERT"},
};

START_TEST(assertions_hold)
{
  int rc = rig_trace_assert(trace, passing[_i].selector, passing[_i].assertion);
  ck_assert_msg(rc == RIG_OK, "%s / %s: %s", passing[_i].selector, passing[_i].assertion,
                rig_error_last()->text);
}
END_TEST

static const struct {
  const char *selector;
  const char *assertion;
  const char *words; /* the message must contain this */
} failing[] = {
    {"span[service.name=orders]", "count == 2",
     "span[service.name=orders]: count == 2: picked 3 spans: orders: POST /orders "
     "(a000000000000001), orders: INSERT orders (a000000000000002), orders: GET "
     "/inventory/reserve (a000000000000003)"},
    {"span[service.name=orders]", "count == 0", "picked 3 spans"},
    {"span[kind=server]", "duration < 100ms",
     "span[kind=server]: duration < 100ms: 1 of 2 picked spans fails: orders: POST /orders "
     "(a000000000000001) has duration 120ms"},
    {"span[name=\"POST /order\"]", "count >= 1",
     "picked 0 spans; closest: orders: POST /orders (a000000000000001) fails name = \"POST "
     "/order\" (name is \"POST /orders\")"},
    {"span[service.name=orders name=\"reserve stock\"]", "count == 1",
     "closest: orders: POST /orders (a000000000000001) fails name = \"reserve stock\" (name is "
     "\"POST /orders\")"},
    {"span[service.name=billing kind=producer]", "count == 1",
     "fails service.name = billing (service.name is orders), and kind = producer (kind is "
     "server)"},
    {"span[kind=server] > span[kind=server] > span[kind=internal]", "count == 1",
     "closest: inventory: reserve stock (a000000000000005) meets every condition of the last "
     "step but not the rest of the selector"},
    {"span[service.name=nobody]", "status = ok",
     "span[service.name=nobody]: status = ok: the selector picked no span; closest:"},
    {"span", "http.response.status_code = 201",
     "4 of 5 picked spans fail: orders: INSERT orders (a000000000000002) has "
     "http.response.status_code <absent>"},
    {"span[service.name=inventory]", "status.message = \"out of stock\"",
     "1 of 2 picked spans fails: inventory: GET /inventory/reserve (a000000000000004) has "
     "status.message \"reservation failed\""},
    {"span[kind=server]", "status = ok",
     "inventory: GET /inventory/reserve (a000000000000004) "
     "has status error"},
    {"span[missing.attr = 1]", "count == 1", "fails missing.attr = 1 (missing.attr is <absent>)"},
};

START_TEST(assertions_fail_with_diagnosis)
{
  int rc = rig_trace_assert(trace, failing[_i].selector, failing[_i].assertion);
  ck_assert_int_eq(rc, RIG_EASSERT);
  const rig_error *err = rig_error_last();
  ck_assert_msg(strstr(err->text, failing[_i].words) != NULL, "%s / %s:\n%s\nlacks\n%s",
                failing[_i].selector, failing[_i].assertion, err->text, failing[_i].words);
  /* Every failure shows the trace too. */
  ck_assert_ptr_nonnull(strstr(err->text, "\ntrace 5b8efff798038103d269b633813fc60c: 5 spans, 2 "
                                          "services (orders: 3, inventory: 2)\n  orders: POST "
                                          "/orders [server, ok, 120ms]"));
  ck_assert_str_eq(rig_error_detail_get(err, "trace_id"), "5b8efff798038103d269b633813fc60c");
}
END_TEST

static const struct {
  const char *selector;
  const char *assertion;
  int code;
  const char *words;
} bad_assertions[] = {
    {NULL, "count == x", RIG_EPARSE,
     "assertion \"count == x\": column 10: expected a whole number"},
    {NULL, "count == 1.5", RIG_EPARSE, "expected a whole number"},
    {NULL, "count == -1", RIG_EPARSE, "expected a whole number"},
    {NULL, "count contains 3", RIG_EPARSE, "expected a comparison"},
    {NULL, "duration <", RIG_EPARSE, "column 11: expected a value"},
    {NULL, "status = ok extra", RIG_EPARSE, "column 13: expected the end of the assertion"},
    {NULL, "", RIG_EPARSE, "column 1: expected a property name"},
    {NULL, "connected now", RIG_EPARSE, "column 11: expected an operator"},
    {"span[kind=server]", "connected", RIG_EINVAL, "is about the whole trace"},
    {"span[", "count == 1", RIG_EPARSE, "selector \"span[\": column 6"},
};

START_TEST(assertion_parse_errors)
{
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  int rc = rig_trace_expect_add(expect, bad_assertions[_i].selector, bad_assertions[_i].assertion);
  ck_assert_int_eq(rc, bad_assertions[_i].code);
  ck_assert_msg(strstr(rig_error_last()->text, bad_assertions[_i].words) != NULL, "%s lacks %s",
                rig_error_last()->text, bad_assertions[_i].words);
  /* Nothing was added: an empty list holds on any trace. */
  ck_assert_int_eq(rig_trace_expect_check(expect, trace), RIG_OK);
  rig_trace_expect_free(expect);
}
END_TEST

START_TEST(expectation_lists)
{
  rig_trace_expect *expect;
  ck_assert_int_eq(rig_trace_expect_new(&expect), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[kind=server]", "count == 2"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[status=error]", "duration < 10ms"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_span_count(expect, 6), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, NULL, "connected"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_check(expect, trace), RIG_EASSERT);
  const char *text = rig_error_last()->text;
  ck_assert_msg(strstr(text, "trace 5b8efff798038103d269b633813fc60c: 2 of 4 expectations "
                             "failed\n  2) span[status=error]: duration < 10ms: 1 of 2 picked "
                             "spans fails: inventory: GET /inventory/reserve (a000000000000004) "
                             "has duration 70ms\n  3) the trace has 6 spans: it has 5\n") != NULL,
                "%s", text);
  rig_trace_expect_free(expect);

  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_span_count(expect, 5), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_check(expect, trace), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_check(NULL, trace), RIG_EINVAL);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span", NULL), RIG_EINVAL);
  rig_trace_expect_free(expect);
  rig_trace_expect_free(NULL);
}
END_TEST

static Suite *selector_suite(void)
{
  Suite *s = suite_create("selector");
  TCase *tc = tcase_create("selectors");
  tcase_add_unchecked_fixture(tc, load_trace, free_trace);
  tcase_add_loop_test(tc, valid_selectors_pick, 0, sizeof valid / sizeof valid[0]);
  tcase_add_loop_test(tc, invalid_selectors_report_column, 0, sizeof invalid / sizeof invalid[0]);
  tcase_add_test(tc, error_names_what_was_found);
  tcase_add_test(tc, matches_span_ignores_ancestors);
  suite_add_tcase(s, tc);
  tc = tcase_create("assertions");
  tcase_add_unchecked_fixture(tc, load_trace, free_trace);
  tcase_add_loop_test(tc, assertions_hold, 0, sizeof passing / sizeof passing[0]);
  tcase_add_loop_test(tc, assertions_fail_with_diagnosis, 0, sizeof failing / sizeof failing[0]);
  tcase_add_loop_test(tc, assertion_parse_errors, 0,
                      sizeof bad_assertions / sizeof bad_assertions[0]);
  tcase_add_test(tc, expectation_lists);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(selector_suite());
}
