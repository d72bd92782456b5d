/*
 * check_jaeger.c - the trace model from recorded Jaeger answers (fixtures/jaeger: v3
 * snake_case and camelCase, v1, legacy OTLP JSON, 404 and empty shapes), and the client
 * against a scripted server that answers with those recordings as each flavour of server
 * does: API detection, query parameter names, not-found and error handling, tags and
 * limits, and "eventually".
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "fake_http.h"
#include "testutil.h"
#include "util.h"

#define TRACE_ID "5b8efff798038103d269b633813fc60c"
#define SMALL_ID "00000000000000000000000000c0ffee"
#define BASE_NS 1764000000000000000LL
#define MS 1000000LL

static char *fixture(const char *name)
{
  char *relative = rig__sprintf("jaeger/%s", name);
  char *text = rig_test_fixture(relative);
  free(relative);
  return text;
}

static rig_trace *parse_fixture(const char *name)
{
  char *text = fixture(name);
  rig_trace *trace = NULL;
  int rc = rig_trace_parse(&trace, text, strlen(text));
  ck_assert_msg(rc == RIG_OK, "%s: %s", name, rig_error_last() ? rig_error_last()->text : "");
  free(text);
  return trace;
}

static const rig_span *span_by_id(const rig_trace *trace, const char *id)
{
  const rig_span *span = rig_trace_find_span(trace, id);
  ck_assert_msg(span != NULL, "no span %s", id);
  return span;
}

static char *attr_text(const rig_span *span, const char *key)
{
  const rig_value *v = rig_span_attribute(span, key);
  if (v == NULL)
    return rig__strdup("<absent>");
  char *text;
  rig_value_to_string(&text, v);
  return text;
}

static void assert_attr(const rig_span *span, const char *key, rig_value_type type,
                        const char *text)
{
  const rig_value *v = rig_span_attribute(span, key);
  ck_assert_msg(v != NULL, "span %s has no attribute %s", span->name, key);
  ck_assert_msg(v->type == type, "span %s attribute %s: type %d, expected %d", span->name, key,
                v->type, type);
  char *got = attr_text(span, key);
  ck_assert_str_eq(got, text);
  free(got);
}

/* ---- the model from each flavour ---- */

/* What every flavour must give for the 5-span trace of fixtures/jaeger/sent.json. */
static void check_reference_trace(const rig_trace *trace)
{
  ck_assert_str_eq(rig_trace_id_hex(trace), TRACE_ID);
  ck_assert_uint_eq(rig_trace_span_count(trace), 5);
  /* Start-time order. */
  static const char *const order[] = {"a000000000000001", "a000000000000002", "a000000000000003",
                                      "a000000000000004", "a000000000000005"};
  for (size_t i = 0; i < 5; i++) {
    ck_assert_str_eq(rig_trace_span(trace, i)->span_id_hex, order[i]);
    ck_assert_uint_eq(rig_trace_span(trace, i)->index, i);
    ck_assert_str_eq(rig_trace_span(trace, i)->trace_id_hex, TRACE_ID);
  }
  ck_assert_ptr_null(rig_trace_span(trace, 5));
  ck_assert_uint_eq(rig_trace_service_count(trace), 2);
  ck_assert_str_eq(rig_trace_service(trace, 0), "orders");
  ck_assert_str_eq(rig_trace_service(trace, 1), "inventory");

  const rig_span *root = rig_trace_root(trace);
  ck_assert_ptr_nonnull(root);
  ck_assert_str_eq(root->span_id_hex, "a000000000000001");
  ck_assert_str_eq(root->name, "POST /orders");
  ck_assert_str_eq(root->service, "orders");
  ck_assert_int_eq(root->kind, RIG_SPAN_KIND_SERVER);
  ck_assert_int_eq(root->status, RIG_STATUS_OK);
  ck_assert_str_eq(root->status_message, "");
  ck_assert_int_eq(root->start_unix_ns, BASE_NS);
  ck_assert_int_eq(root->duration_ns, 120 * MS);
  ck_assert_str_eq(root->parent_span_id_hex, "");
  ck_assert_ptr_null(root->parent);
  ck_assert_str_eq(root->scope_name, "orders-http");
  ck_assert_str_eq(root->scope_version, "2.0.1");
  ck_assert_uint_eq(root->attribute_count, 3); /* span.kind, otel.* lifted out of v1 tags */
  assert_attr(root, "http.request.method", RIG_VALUE_STRING, "POST");
  assert_attr(root, "http.response.status_code", RIG_VALUE_INT, "201");
  assert_attr(root, "http.route", RIG_VALUE_STRING, "/orders");
  /* Resource attributes, reachable through rig_span_attribute() as well. */
  ck_assert_uint_eq(root->resource_attribute_count, 3);
  ck_assert_str_eq(rig_span_resource_attribute(root, "service.version")->string, "1.4.2");
  assert_attr(root, "deployment.environment", RIG_VALUE_STRING, "test");
  ck_assert_str_eq(rig_span_resource_attribute(root, "service.name")->string, "orders");
  ck_assert_uint_eq(root->child_count, 2);
  ck_assert_str_eq(root->children[0]->name, "INSERT orders");
  ck_assert_str_eq(root->children[1]->name, "GET /inventory/reserve");

  const rig_span *insert = span_by_id(trace, "a000000000000002");
  ck_assert_int_eq(insert->kind, RIG_SPAN_KIND_CLIENT);
  ck_assert_int_eq(insert->status, RIG_STATUS_UNSET);
  ck_assert_str_eq(insert->scope_name, "libpq");
  ck_assert_str_eq(insert->scope_version, "");
  ck_assert_ptr_eq(insert->parent, root);
  assert_attr(insert, "db.retry", RIG_VALUE_BOOL, "false");
  ck_assert_int_eq(insert->duration_ns, 15 * MS);

  const rig_span *reserve = span_by_id(trace, "a000000000000004");
  ck_assert_str_eq(reserve->service, "inventory");
  ck_assert_str_eq(reserve->parent_span_id_hex, "a000000000000003");
  ck_assert_str_eq(reserve->parent->span_id_hex, "a000000000000003");
  ck_assert_int_eq(reserve->kind, RIG_SPAN_KIND_SERVER);
  ck_assert_int_eq(reserve->status, RIG_STATUS_ERROR);
  ck_assert_str_eq(reserve->status_message, "reservation failed");
  ck_assert_int_eq(reserve->start_unix_ns, BASE_NS + 35 * MS);
  ck_assert_int_eq(reserve->duration_ns, 70 * MS);
  ck_assert_uint_eq(reserve->attribute_count, 5); /* v1's "error" tag is the status */
  assert_attr(reserve, "http.response.status_code", RIG_VALUE_INT, "409");
  assert_attr(reserve, "stock.ratio", RIG_VALUE_DOUBLE, "0.75");
  assert_attr(reserve, "order.tags", RIG_VALUE_ARRAY, "[\"fragile\", \"express\"]");
  assert_attr(reserve, "order.quantities", RIG_VALUE_ARRAY, "[1, 2, 3]");
  const rig_value *digest = rig_span_attribute(reserve, "request.digest");
  ck_assert_int_eq(digest->type, RIG_VALUE_BYTES);
  ck_assert_uint_eq(digest->count, 4);
  ck_assert(memcmp(digest->bytes, "\x01\x02\xfe\xff", 4) == 0);
  ck_assert_uint_eq(reserve->event_count, 1);
  ck_assert_str_eq(reserve->events[0].name, "cache miss");
  ck_assert_int_eq(reserve->events[0].time_unix_ns, BASE_NS + 36 * MS);
  ck_assert_uint_eq(reserve->events[0].attribute_count, 1);
  ck_assert_str_eq(reserve->events[0].attributes[0].key, "cache.key");
  ck_assert_str_eq(reserve->events[0].attributes[0].value.string, "sku-42");
  assert_attr(reserve, "host.name", RIG_VALUE_STRING, "inv-1");
  assert_attr(reserve, "process.pid", RIG_VALUE_INT, "4242");
  ck_assert_str_eq(reserve->scope_name, "stackrig");
  ck_assert_str_eq(reserve->scope_version, "0.1.0");

  const rig_span *stock = span_by_id(trace, "a000000000000005");
  ck_assert_int_eq(stock->kind, RIG_SPAN_KIND_INTERNAL);
  ck_assert_str_eq(stock->status_message, "out of stock");
  ck_assert_uint_eq(stock->attribute_count, 0);
  ck_assert_uint_eq(stock->child_count, 0);
  ck_assert_uint_eq(stock->event_count, 1);
  ck_assert_str_eq(stock->events[0].name, "exception");
  ck_assert_uint_eq(stock->events[0].attribute_count, 2);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_OK);
}

START_TEST(v3_trace)
{
  rig_trace *trace = parse_fixture("v3/get_trace.json");
  check_reference_trace(trace);
  rig_trace_free(trace);
}
END_TEST

START_TEST(v1_trace)
{
  rig_trace *trace = parse_fixture("v1/get_trace.json");
  check_reference_trace(trace);
  rig_trace_free(trace);
}
END_TEST

START_TEST(legacy_otlp_trace)
{
  rig_trace *trace = parse_fixture("legacy/get_trace_otlp_0_11.json");
  check_reference_trace(trace);
  rig_trace_free(trace);
}
END_TEST

START_TEST(sent_request_reads_back)
{
  /* What the emitter sends is OTLP JSON too: the reader takes it as it is. */
  char *text = fixture("sent.json");
  rig_trace_list *list;
  ck_assert_int_eq(rig_trace_list_parse(&list, text, strlen(text)), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 2);
  check_reference_trace(rig_trace_list_get(list, 0));
  ck_assert_str_eq(rig_trace_id_hex(rig_trace_list_get(list, 1)), SMALL_ID);
  rig_trace_list_free(list);
  free(text);
}
END_TEST

static void check_search(const char *name, size_t traces, const char *first_id)
{
  char *text = fixture(name);
  rig_trace_list *list = NULL;
  int rc = rig_trace_list_parse(&list, text, strlen(text));
  ck_assert_msg(rc == RIG_OK, "%s: %s", name, rig_error_last() ? rig_error_last()->text : "");
  ck_assert_msg(rig_trace_list_count(list) == traces, "%s: %zu traces", name,
                rig_trace_list_count(list));
  if (traces > 0)
    ck_assert_str_eq(rig_trace_id_hex(rig_trace_list_get(list, 0)), first_id);
  for (size_t i = 0; i < traces; i++) {
    const rig_trace *t = rig_trace_list_get(list, i);
    if (strcmp(rig_trace_id_hex(t), TRACE_ID) == 0)
      ck_assert_uint_eq(rig_trace_span_count(t), 5);
    else
      ck_assert_uint_eq(rig_trace_span_count(t), 1);
  }
  ck_assert_ptr_null(rig_trace_list_get(list, traces));
  rig_trace_list_free(list);
  free(text);
}

START_TEST(search_answers)
{
  check_search("v3/find_traces_snake.json", 2, SMALL_ID);
  check_search("v3/find_traces_operation.json", 1, TRACE_ID);
  check_search("v3/find_traces_duration.json", 1, TRACE_ID);
  check_search("v3-camel/find_traces.json", 2, SMALL_ID);
  check_search("v1/find_traces.json", 2, SMALL_ID);
  check_search("v1/find_traces_tags.json", 1, TRACE_ID);
  check_search("v1/find_traces_duration.json", 1, TRACE_ID);
  /* Empty answers: v3 says 404 "No traces found", v1 an empty data array. */
  check_search("v3/find_traces_empty.json", 0, NULL);
  check_search("v1/find_traces_empty.json", 0, NULL);
}
END_TEST

START_TEST(v1_short_trace_id_padded)
{
  char *text = fixture("v1/find_traces.json");
  rig_trace_list *list;
  ck_assert_int_eq(rig_trace_list_parse(&list, text, strlen(text)), RIG_OK);
  const rig_trace *small = rig_trace_list_get(list, 0);
  ck_assert_str_eq(rig_trace_id_hex(small), SMALL_ID);
  ck_assert_str_eq(rig_trace_span(small, 0)->trace_id_hex, SMALL_ID);
  ck_assert_str_eq(rig_trace_span(small, 0)->name, "GET /orders/42");
  rig_trace_list_free(list);
  free(text);
}
END_TEST

static void check_error_answer(const char *name, int code, const char *words)
{
  char *text = fixture(name);
  rig_trace *trace = NULL;
  int rc = rig_trace_parse(&trace, text, strlen(text));
  ck_assert_msg(rc == code, "%s: %d, expected %d", name, rc, code);
  ck_assert_ptr_null(trace);
  ck_assert_msg(strstr(rig_error_last()->text, words) != NULL, "%s: '%s' lacks '%s'", name,
                rig_error_last()->text, words);
  free(text);
}

START_TEST(error_answers)
{
  check_error_answer("v3/get_trace_not_found.json", RIG_ENOTFOUND, "No traces found");
  check_error_answer("v1/get_trace_not_found.json", RIG_ENOTFOUND, "trace not found");
  check_error_answer("v3/get_trace_bad_id.json", RIG_EHTTP, "malformed parameter trace_id");
  check_error_answer("v3/find_traces_camel_rejected.json", RIG_EHTTP,
                     "query.start_time_min and query.start_time_max are required");
  check_error_answer("v3/find_traces_no_depth.json", RIG_EHTTP, "search depth");
  check_error_answer("v3-camel/find_traces_missing_times.json", RIG_EHTTP,
                     "query.startTimeMin and query.startTimeMax are required");
  check_error_answer("v3/find_traces_empty.json", RIG_ENOTFOUND, "No traces found");
  check_error_answer("v1/find_traces_empty.json", RIG_ENOTFOUND, "holds no spans");
  /* services and operations answers are not traces */
  check_error_answer("v1/services.json", RIG_EPARSE, "data[0]");
  check_error_answer("v3/services.json", RIG_EPARSE, "neither OTLP JSON");
  check_error_answer("v1/api_v3_not_found.txt", RIG_EPARSE, "expected a JSON object, got int");
}
END_TEST

START_TEST(malformed_fields_name_their_path)
{
  static const struct {
    const char *json;
    const char *words;
  } cases[] = {
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"zz\",\"spanId\":\"01\"}]}]}"
       "]}",
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected a hex or base64 id"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"spanId\":\"01\"}]}]}]}",
       "spans[0]: span without a traceId"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01\",\"spanId\":\"01\","
       "\"startTimeUnixNano\":\"12x\"}]}]}]}",
       "spans[0].startTimeUnixNano: expected a decimal integer, got \"12x\""},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01\",\"spanId\":\"01\","
       "\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"one\"}}]}]}]}]}",
       "spans[0].attributes[0].value.intValue"},
      {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"01\",\"spanId\":\"01\","
       "\"attributes\":[{\"value\":{}}]}]}]}]}",
       "attributes[0]: attribute without a \"key\""},
      {"{\"resourceSpans\":{}}", "resourceSpans: expected an array"},
      {"{\"data\":[{\"spans\":[{\"traceID\":\"01\",\"spanID\":\"02\",\"startTime\":\"x\"}]}]}",
       "data[0].spans[0].startTime"},
      {"{\"data\":[{\"spans\":[{\"traceID\":\"01\",\"spanID\":\"02\",\"tags\":[{\"key\":\"n\","
       "\"type\":\"int64\",\"value\":\"NaN\"}]}]}]}",
       "data[0].spans[0].tags[0].value"},
      {"[1,2]", "expected a JSON object, got array"},
      {"{\"result\":{\"resourceSpans\":[]}} {\"result\":{\"resourceSpans\":[{\"scopeSpans\":[{"
       "\"spans\":[{\"traceId\":\"q\"}]}]}]}}",
       "<document 2>.result.resourceSpans[0].scopeSpans[0].spans[0].traceId"},
      {"{\"resourceSpans\":[", "invalid JSON at byte"},
      {"   ", "empty body"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig_trace *trace = NULL;
    int rc = rig_trace_parse(&trace, cases[i].json, strlen(cases[i].json));
    ck_assert_msg(rc == RIG_EPARSE, "case %zu: %d", i, rc);
    ck_assert_msg(strstr(rig_error_last()->text, cases[i].words) != NULL,
                  "case %zu: '%s' lacks '%s'", i, rig_error_last()->text, cases[i].words);
  }
}
END_TEST

/* Builds a small OTLP trace from "span parent" pairs (hex ids; parent "" for a root). */
static rig_trace *tree(const char *const *pairs, size_t n)
{
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf,
                "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
                "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"spans\":[");
  for (size_t i = 0; i < n; i++) {
    rig__buf_printf(&buf,
                    "%s{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"%s\","
                    "\"parentSpanId\":\"%s\",\"name\":\"op%zu\",\"startTimeUnixNano\":\"%zu\","
                    "\"endTimeUnixNano\":\"%zu\"}",
                    i ? "," : "", pairs[2 * i], pairs[2 * i + 1], i, 1000 + i, 2000 + i);
  }
  rig__buf_puts(&buf, "]}]}]}");
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_trace_parse(&trace, buf.data, buf.len), RIG_OK);
  rig__buf_dispose(&buf);
  return trace;
}

START_TEST(connectedness)
{
  static const char *const good[] = {"01", "", "02", "01", "03", "02", "04", "01"};
  rig_trace *trace = tree(good, 4);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_OK);
  ck_assert_uint_eq(rig_trace_span(trace, 0)->child_count, 2);
  rig_trace_free(trace);

  static const char *const orphan[] = {"01", "", "02", "01", "03", "99"};
  trace = tree(orphan, 3);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "1 orphan span (svc: op2 (0000000000000003) "
                                                       "whose parent 0000000000000099 is not in "
                                                       "the trace)"));
  rig_trace_free(trace);

  static const char *const two_roots[] = {"01", "", "02", ""};
  trace = tree(two_roots, 2);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "2 root spans"));
  rig_trace_free(trace);

  static const char *const cycle[] = {"01", "", "02", "03", "03", "02"};
  trace = tree(cycle, 3);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "2 spans are in a parent cycle"));
  rig_trace_free(trace);

  static const char *const no_root[] = {"02", "03", "03", "02"};
  trace = tree(no_root, 2);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "no root span"));
  ck_assert_ptr_null(rig_trace_root(trace));
  rig_trace_free(trace);

  /* The same span reported twice counts once. */
  static const char *const repeated[] = {"01", "", "02", "01", "02", "01"};
  trace = tree(repeated, 3);
  ck_assert_uint_eq(rig_trace_span_count(trace), 2);
  ck_assert_int_eq(rig_trace_check_connected(trace), RIG_OK);
  rig_trace_free(trace);
}
END_TEST

START_TEST(describe_and_json)
{
  rig_trace *trace = parse_fixture("v3/get_trace.json");
  char *text;
  ck_assert_int_eq(rig_trace_describe(&text, trace), RIG_OK);
  ck_assert_ptr_nonnull(strstr(text, "trace " TRACE_ID ": 5 spans, 2 services (orders: 3, "
                                     "inventory: 2)"));
  ck_assert_ptr_nonnull(strstr(text, "\n  orders: POST /orders [server, ok, 120ms]"));
  ck_assert_ptr_nonnull(strstr(text, "\n      inventory: GET /inventory/reserve [server, error "
                                     "\"reservation failed\", 70ms]"));
  ck_assert_ptr_nonnull(strstr(text, "\n        inventory: reserve stock [internal, error \"out "
                                     "of stock\", 5ms]"));
  free(text);

  char *json;
  ck_assert_int_eq(rig_trace_to_json(&json, trace), RIG_OK);
  json_object *doc = json_tokener_parse(json);
  ck_assert_ptr_nonnull(doc);
  json_object *spans, *v;
  ck_assert(json_object_object_get_ex(doc, "spans", &spans));
  ck_assert_uint_eq(json_object_array_length(spans), 5);
  json_object *reserve = json_object_array_get_idx(spans, 3);
  json_object_object_get_ex(reserve, "status", &v);
  ck_assert_str_eq(json_object_get_string(v), "error");
  json_object_object_get_ex(reserve, "durationNano", &v);
  ck_assert_str_eq(json_object_get_string(v), "70000000");
  json_object_object_get_ex(reserve, "parentSpanId", &v);
  ck_assert_str_eq(json_object_get_string(v), "a000000000000003");
  json_object_put(doc);
  free(json);
  rig_trace_free(trace);
}
END_TEST

START_TEST(find_span_and_values)
{
  rig_trace *trace = parse_fixture("v3/get_trace.json");
  ck_assert_ptr_nonnull(rig_trace_find_span(trace, "A000000000000004"));
  ck_assert_ptr_null(rig_trace_find_span(trace, "ffff"));
  ck_assert_ptr_null(rig_trace_find_span(trace, "not hex"));
  ck_assert_ptr_null(rig_span_attribute(rig_trace_span(trace, 0), "nope"));
  ck_assert_ptr_null(rig_span_attribute(NULL, "x"));
  char *text;
  ck_assert_int_eq(
      rig_value_to_string(
          &text, rig_span_attribute(span_by_id(trace, "a000000000000004"), "request.digest")),
      RIG_OK);
  ck_assert_str_eq(text, "AQL+/w==");
  free(text);
  ck_assert_int_eq(rig_value_to_string(&text, NULL), RIG_EINVAL);
  rig_trace_free(trace);
  rig_trace_free(NULL);
  rig_trace_list_free(NULL);
}
END_TEST

/* ---- a scripted Jaeger ---- */

typedef enum flavour { FLAVOUR_V3_SNAKE, FLAVOUR_V3_CAMEL, FLAVOUR_V1, FLAVOUR_NOT_JAEGER } flavour;

typedef struct server {
  fake_http *http;
  char url[64];
  flavour flavour;
  int hide_trace_for; /* answer "not found" to this many trace requests first */
  volatile int trace_requests;
} server;

static int has_param(const char *target, const char *name)
{
  char *needle = rig__sprintf("%s=", name);
  const char *q = strchr(target, '?');
  int found = 0;
  for (const char *p = q; p && !found; p = strchr(p + 1, '&'))
    found = strncmp(p + 1, needle, strlen(needle)) == 0;
  free(needle);
  return found;
}

/* Answers as the flavour of server would, with the recorded bodies. */
static void route(server *srv, const char *target, int *status, char **body)
{
  *status = 200;
  *body = NULL;
  int v3 = strncmp(target, "/api/v3/", 8) == 0;
  if (srv->flavour == FLAVOUR_NOT_JAEGER || (srv->flavour == FLAVOUR_V1 && v3)) {
    *status = 404;
    *body = fixture("v1/api_v3_not_found.txt");
    return;
  }
  if (strncmp(target, "/api/v3/traces/", 15) == 0 || strncmp(target, "/api/traces/", 12) == 0) {
    int n = srv->trace_requests++;
    if (strstr(target, TRACE_ID) == NULL || n < srv->hide_trace_for) {
      *status = 404;
      *body = fixture(v3 ? "v3/get_trace_not_found.json" : "v1/get_trace_not_found.json");
    } else {
      *body = fixture(v3 ? "v3/get_trace.json" : "v1/get_trace.json");
    }
    return;
  }
  if (strncmp(target, "/api/v3/traces?", 15) == 0) {
    int camel = has_param(target, "query.startTimeMin");
    int snake = has_param(target, "query.start_time_min");
    if (srv->flavour == FLAVOUR_V3_SNAKE && !snake) {
      *status = 400;
      *body = fixture("v3/find_traces_camel_rejected.json");
    } else if (srv->flavour == FLAVOUR_V3_CAMEL && !camel && !snake) {
      *status = 400;
      *body = fixture("v3-camel/find_traces_missing_times.json");
    } else if (!has_param(target, "query.num_traces") && !has_param(target, "query.searchDepth")) {
      *status = 500;
      *body = fixture("v3/find_traces_no_depth.json");
    } else if (strstr(target, "Name=nobody") || strstr(target, "name=nobody") ||
               strstr(target, "stackrig-api-probe")) {
      *status = 404;
      *body = fixture("v3/find_traces_empty.json");
    } else if (strstr(target, "Name=broken") || strstr(target, "name=broken")) {
      *status = 500;
      *body = rig__strdup("{\"error\":{\"httpCode\":500,\"message\":\"storage is on fire\"}}");
    } else {
      *body = fixture(srv->flavour == FLAVOUR_V3_CAMEL ? "v3-camel/find_traces.json"
                                                       : "v3/find_traces_snake.json");
    }
    return;
  }
  if (strncmp(target, "/api/traces?", 12) == 0) {
    if (strstr(target, "service=nobody"))
      *body = fixture("v1/find_traces_empty.json");
    else
      *body = fixture("v1/find_traces.json");
    return;
  }
  if (strcmp(target, "/api/v3/services") == 0) {
    *body = fixture("v3/services.json");
  } else if (strcmp(target, "/api/services") == 0) {
    *body = fixture("v1/services.json");
  } else if (strncmp(target, "/api/v3/operations?service=orders", 33) == 0) {
    *body = fixture("v3/operations.json");
  } else if (strcmp(target, "/api/services/orders/operations") == 0) {
    *body = fixture("v1/operations.json");
  } else {
    *status = 404;
    *body = rig__strdup("404 page not found\n");
  }
}

static char *answer(void *userdata, const fake_http_request *req, fake_http_reply *reply)
{
  char *body;
  route(userdata, req->target, &reply->status, &body);
  return body;
}

static server *server_start(flavour f)
{
  server *srv = rig__calloc(1, sizeof *srv);
  srv->flavour = f;
  srv->http = fake_http_start(answer, srv);
  snprintf(srv->url, sizeof srv->url, "%s", fake_http_url(srv->http));
  return srv;
}

static void server_stop(server *srv)
{
  fake_http_stop(srv->http);
  free(srv);
}

/* The request targets so far, one a line; free() it. */
static char *requests(server *srv)
{
  return fake_http_log(srv->http);
}

static rig_jaeger *client_for(server *srv)
{
  rig_jaeger *client;
  ck_assert_int_eq(rig_jaeger_new(&client, srv->url, NULL), RIG_OK);
  return client;
}

static void check_flavour(flavour f, rig_jaeger_api expected, const char *service_param,
                          const char *limit_param)
{
  server *srv = server_start(f);
  rig_jaeger *client = client_for(srv);
  rig_jaeger_api api;
  ck_assert_int_eq(rig_jaeger_api_in_use(&api, client), RIG_OK);
  ck_assert_str_eq(rig_jaeger_api_name(api), rig_jaeger_api_name(expected));

  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, TRACE_ID), RIG_OK);
  check_reference_trace(trace);
  rig_trace_free(trace);
  trace = NULL;
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, "dead"), RIG_ENOTFOUND);
  ck_assert_ptr_null(trace);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "trace 0000000000000000000000000000dead "
                                                       "not found in Jaeger"));

  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = "orders";
  query.operation = "POST /orders";
  query.duration_min_ns = 100 * MS;
  rig_trace_list *list = NULL;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 2);
  rig_trace_list_free(list);

  query.service = "nobody";
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 0);
  rig_trace_list_free(list);

  char **names;
  ck_assert_int_eq(rig_jaeger_services(&names, client), RIG_OK);
  ck_assert_str_eq(names[0], "inventory");
  ck_assert_str_eq(names[1], "orders");
  ck_assert_ptr_null(names[2]);
  rig_jaeger_names_free(names);
  ck_assert_int_eq(rig_jaeger_operations(&names, client, "orders"), RIG_OK);
  ck_assert_str_eq(names[0], "GET /inventory/reserve");
  ck_assert_str_eq(names[3], "POST /orders");
  ck_assert_ptr_null(names[4]);
  rig_jaeger_names_free(names);

  char *log = requests(srv);
  char *needle = rig__sprintf("%s=orders", service_param);
  ck_assert_msg(strstr(log, needle) != NULL, "no %s in\n%s", needle, log);
  free(needle);
  needle = rig__sprintf("%s=20", limit_param);
  ck_assert_msg(strstr(log, needle) != NULL, "no %s in\n%s", needle, log);
  free(needle);
  /* Detection happens once. */
  char *first = strstr(log, "/api/v3/services\n");
  if (first)
    ck_assert_ptr_null(strstr(first + 1, "/api/v3/services\n/api/v3/traces?"));
  free(log);
  rig_jaeger_free(client);
  server_stop(srv);
}

START_TEST(client_v3_snake_case)
{
  check_flavour(FLAVOUR_V3_SNAKE, RIG_JAEGER_API_V3_SNAKE, "query.service_name",
                "query.num_traces");
}
END_TEST

START_TEST(client_v3_camel_case)
{
  check_flavour(FLAVOUR_V3_CAMEL, RIG_JAEGER_API_V3, "query.serviceName", "query.searchDepth");
}
END_TEST

START_TEST(client_v1)
{
  check_flavour(FLAVOUR_V1, RIG_JAEGER_API_V1, "service", "limit");
}
END_TEST

START_TEST(client_parameters)
{
  server *srv = server_start(FLAVOUR_V3_SNAKE);
  rig_jaeger *client = client_for(srv);
  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = "orders";
  query.operation = "POST /orders";
  query.start_min_unix_ns = BASE_NS - 3600 * 1000 * MS;
  query.start_max_unix_ns = BASE_NS + 1500 * MS;
  query.duration_min_ns = 100 * MS;
  query.duration_max_ns = 2500 * MS;
  query.limit = 7;
  rig_trace_list *list = NULL;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  rig_trace_list_free(list);
  char *log = requests(srv);
  ck_assert_msg(strstr(log, "/api/v3/traces?query.service_name=orders&query.operation_name="
                            "POST%20%2Forders&query.start_time_min=2025-11-24T15%3A00%3A00."
                            "000000000Z&query.start_time_max=2025-11-24T16%3A00%3A01.500000000Z&"
                            "query.duration_min=100000000ns&query.duration_max=2500000000ns&"
                            "query.num_traces=7\n"),
                "%s", log);
  free(log);
  rig_jaeger_free(client);
  server_stop(srv);

  srv = server_start(FLAVOUR_V1);
  client = client_for(srv);
  rig_jaeger_tag tags[] = {{"host.name", "inv-1"}};
  query.tags = tags;
  query.tag_count = 1;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  rig_trace_list_free(list);
  log = requests(srv);
  ck_assert_msg(strstr(log, "/api/traces?service=orders&operation=POST%20%2Forders&start="
                            "1763996400000000&end=1764000001500000&minDuration=100000000ns&"
                            "maxDuration=2500000000ns&limit=7&tags=%7B%22host.name%22%3A%22"
                            "inv-1%22%7D\n"),
                "%s", log);
  free(log);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(client_tags_and_limit_filter_here)
{
  /* v3 has no tag filter: the client applies tags, then the limit. */
  server *srv = server_start(FLAVOUR_V3_SNAKE);
  rig_jaeger *client = client_for(srv);
  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = "orders";
  rig_jaeger_tag tags[] = {{"host.name", "inv-1"}, {"http.response.status_code", "409"}};
  query.tags = tags;
  query.tag_count = 2;
  rig_trace_list *list = NULL;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 1);
  ck_assert_str_eq(rig_trace_id_hex(rig_trace_list_get(list, 0)), TRACE_ID);
  rig_trace_list_free(list);
  tags[1].value = "410";
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 0);
  rig_trace_list_free(list);
  query.tag_count = 0;
  query.limit = 1;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_OK);
  ck_assert_uint_eq(rig_trace_list_count(list), 1);
  rig_trace_list_free(list);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(client_errors)
{
  server *srv = server_start(FLAVOUR_V3_SNAKE);
  rig_jaeger *client = client_for(srv);
  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = "broken";
  rig_trace_list *list = NULL;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_EHTTP);
  ck_assert_ptr_null(list);
  const rig_error *err = rig_error_last();
  ck_assert_ptr_nonnull(strstr(err->text, "HTTP 500: storage is on fire"));
  ck_assert_str_eq(rig_error_detail_get(err, "status"), "500");
  query.service = NULL;
  ck_assert_int_eq(rig_jaeger_find_traces(&list, client, &query), RIG_EINVAL);
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, "not-hex"), RIG_EINVAL);
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, "000"), RIG_EINVAL);
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, "123456789012345678901234567890123"),
                   RIG_EINVAL);
  ck_assert_ptr_null(trace);
  rig_jaeger_free(client);
  server_stop(srv);

  srv = server_start(FLAVOUR_NOT_JAEGER);
  client = client_for(srv);
  rig_jaeger_api api = RIG_JAEGER_API_AUTO;
  ck_assert_int_eq(rig_jaeger_api_in_use(&api, client), RIG_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "is not a Jaeger query service"));
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, TRACE_ID), RIG_EUNSUPPORTED);
  rig_jaeger_free(client);
  server_stop(srv);

  /* Forcing an API skips detection. */
  srv = server_start(FLAVOUR_V1);
  rig_jaeger_options opts = RIG_JAEGER_OPTIONS_INIT;
  opts.api = RIG_JAEGER_API_V1;
  ck_assert_int_eq(rig_jaeger_new(&client, srv->url, &opts), RIG_OK);
  ck_assert_int_eq(rig_jaeger_get_trace(&trace, client, TRACE_ID), RIG_OK);
  rig_trace_free(trace);
  char *log = requests(srv);
  ck_assert_str_eq(log, "/api/traces/" TRACE_ID "\n");
  free(log);
  rig_jaeger_free(client);
  server_stop(srv);
  opts.version = 0;
  ck_assert_int_eq(rig_jaeger_new(&client, "http://127.0.0.1:1", &opts), RIG_EINVAL);
}
END_TEST

/* ---- eventually ---- */

START_TEST(eventually_waits_for_the_trace)
{
  server *srv = server_start(FLAVOUR_V3_SNAKE);
  srv->hide_trace_for = 3;
  rig_jaeger *client = client_for(srv);
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[service.name=inventory]", "count == 2"),
                   RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, NULL, "connected"), RIG_OK);
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 20000;
  opts.initial_backoff_ms = 1;
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_trace(&trace, client, TRACE_ID, expect, &opts), RIG_OK);
  ck_assert_ptr_nonnull(trace);
  ck_assert_uint_eq(rig_trace_span_count(trace), 5);
  /* Three "not found", then two answers with the same span count. */
  ck_assert_int_eq(srv->trace_requests, 5);
  rig_trace_free(trace);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(eventually_reports_what_was_there)
{
  server *srv = server_start(FLAVOUR_V1);
  rig_jaeger *client = client_for(srv);
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_add(
                       expect, "span[service.name=\"orders\" name=\"POST /order\"]", "count == 1"),
                   RIG_OK);
  char *dir = rig_test_tempdir();
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 300;
  opts.artifacts_dir = dir;
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_trace(&trace, client, TRACE_ID, expect, &opts), RIG_EASSERT);
  const rig_error *err = rig_error_last();
  ck_assert_msg(strstr(err->text, "1 of 1 expectation failed") != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, "picked 0 spans; closest: orders: POST /orders "
                                  "(a000000000000001) fails name = \"POST /order\" (name is "
                                  "\"POST /orders\")") != NULL,
                "%s", err->text);
  ck_assert_msg(strstr(err->text, "2 services (orders: 3, inventory: 2)") != NULL, "%s", err->text);
  const char *artifact = rig_error_detail_get(err, "artifact");
  ck_assert_ptr_nonnull(artifact);
  char *expected = rig__sprintf("%s/trace-%s.json", dir, TRACE_ID);
  ck_assert_str_eq(artifact, expected);
  char *json = NULL;
  ck_assert_int_eq(rig__read_file(&json, NULL, expected), RIG_OK);
  ck_assert_ptr_nonnull(strstr(json, "\"name\":\"reserve stock\""));
  free(json);
  free(expected);
  ck_assert_ptr_nonnull(trace); /* the last trace seen comes back for inspection */
  rig_trace_free(trace);
  rig_test_rmtree(dir);
  free(dir);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(eventually_times_out_when_absent)
{
  server *srv = server_start(FLAVOUR_V3_SNAKE);
  rig_jaeger *client = client_for(srv);
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 200;
  rig_trace *trace = NULL;
  ck_assert_int_eq(
      rig_jaeger_expect_trace(&trace, client, "0af7651916cd43dd8448eb211c80319c", NULL, &opts),
      RIG_ETIMEOUT);
  ck_assert_ptr_null(trace);
  const rig_error *err = rig_error_last();
  ck_assert_msg(strstr(err->text, "did not show up in Jaeger") != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, "services Jaeger knows: inventory, orders") != NULL, "%s",
                err->text);
  /* The pause grows: far fewer polls than 200 ms / 5 ms. */
  ck_assert_int_lt(srv->trace_requests, 20);
  ck_assert_int_ge(srv->trace_requests, 2);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

START_TEST(eventually_search)
{
  server *srv = server_start(FLAVOUR_V3_CAMEL);
  rig_jaeger *client = client_for(srv);
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[status=error]", "count >= 1"), RIG_OK);
  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = "orders";
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_search(&trace, client, &query, expect, NULL), RIG_OK);
  ck_assert_str_eq(rig_trace_id_hex(trace), TRACE_ID);
  rig_trace_free(trace);
  rig_trace_expect_free(expect);
  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[name=\"DELETE /orders\"]", "count == 1"),
                   RIG_OK);
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 200;
  trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_search(&trace, client, &query, expect, &opts), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "found 2 traces, none meets"));
  rig_trace_free(trace);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  server_stop(srv);
}
END_TEST

static Suite *jaeger_suite(void)
{
  Suite *s = suite_create("jaeger");
  TCase *tc = tcase_create("model");
  tcase_add_test(tc, v3_trace);
  tcase_add_test(tc, v1_trace);
  tcase_add_test(tc, legacy_otlp_trace);
  tcase_add_test(tc, sent_request_reads_back);
  tcase_add_test(tc, search_answers);
  tcase_add_test(tc, v1_short_trace_id_padded);
  tcase_add_test(tc, error_answers);
  tcase_add_test(tc, malformed_fields_name_their_path);
  tcase_add_test(tc, connectedness);
  tcase_add_test(tc, describe_and_json);
  tcase_add_test(tc, find_span_and_values);
  suite_add_tcase(s, tc);
  tc = tcase_create("client");
  tcase_add_test(tc, client_v3_snake_case);
  tcase_add_test(tc, client_v3_camel_case);
  tcase_add_test(tc, client_v1);
  tcase_add_test(tc, client_parameters);
  tcase_add_test(tc, client_tags_and_limit_filter_here);
  tcase_add_test(tc, client_errors);
  tcase_add_test(tc, eventually_waits_for_the_trace);
  tcase_add_test(tc, eventually_reports_what_was_there);
  tcase_add_test(tc, eventually_times_out_when_absent);
  tcase_add_test(tc, eventually_search);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(jaeger_suite());
}
