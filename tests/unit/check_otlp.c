/*
 * check_otlp.c - the OTLP emitter: the JSON encoding of every field type (read back with
 * json-c), escaping and repair of odd input, Retry-After parsing, and the exporter's retry
 * rules against a scripted HTTP server that runs in a thread of this test.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <arpa/inet.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stackrig.h>

#include "base64.h"
#include "fake_http.h"
#include "otlp_internal.h"
#include "testutil.h"

/* ---- json-c helpers ---- */

static json_object *get(json_object *obj, const char *key)
{
  json_object *value = NULL;
  ck_assert_msg(json_object_object_get_ex(obj, key, &value), "no member \"%s\" in %s", key,
                json_object_to_json_string(obj));
  return value;
}

static int has(json_object *obj, const char *key)
{
  return json_object_object_get_ex(obj, key, NULL);
}

static json_object *at(json_object *array, size_t i)
{
  ck_assert(json_object_is_type(array, json_type_array));
  ck_assert_uint_gt(json_object_array_length(array), i);
  return json_object_array_get_idx(array, i);
}

static const char *str(json_object *obj, const char *key)
{
  json_object *v = get(obj, key);
  ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
  return json_object_get_string(v);
}

/* The value object of the attribute named key in an OTLP attribute array. */
static json_object *attr(json_object *attributes, const char *key)
{
  for (size_t i = 0; i < json_object_array_length(attributes); i++) {
    json_object *kv = json_object_array_get_idx(attributes, i);
    if (strcmp(str(kv, "key"), key) == 0)
      return get(kv, "value");
  }
  ck_abort_msg("no attribute %s in %s", key, json_object_to_json_string(attributes));
  return NULL;
}

static json_object *parse_json(const char *text)
{
  enum json_tokener_error jerr;
  json_object *root = json_tokener_parse_verbose(text, &jerr);
  ck_assert_msg(root != NULL, "invalid JSON (%s): %s", json_tokener_error_desc(jerr), text);
  return root;
}

/* ---- encoding ---- */

static const uint8_t TRACE_ID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t ROOT_ID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t CHILD_ID[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

START_TEST(encodes_every_field)
{
  rig_otlp_batch *batch;
  ck_assert_int_eq(rig_otlp_batch_new(&batch), RIG_OK);
  rig_otlp_resource *orders, *inventory;
  ck_assert_int_eq(rig_otlp_batch_add_resource(&orders, batch, "orders"), RIG_OK);
  ck_assert_int_eq(rig_otlp_batch_add_resource(&inventory, batch, "inventory"), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_string(rig_otlp_resource_attributes(orders),
                                             "deployment.environment", "test"),
                   RIG_OK);
  ck_assert_int_eq(
      rig_otlp_attrs_set_int(rig_otlp_resource_attributes(orders), "process.pid", 4242), RIG_OK);

  rig_otlp_span *root, *child, *other_scope;
  ck_assert_int_eq(rig_otlp_span_start(&root, orders, "POST /orders", NULL), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_set_ids(root, TRACE_ID, ROOT_ID, NULL), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_set_times(root, 1700000000000000000LL, 1700000000250000000LL),
                   RIG_OK);
  rig_otlp_span_set_kind(root, RIG_SPAN_KIND_SERVER);
  rig_otlp_span_set_status(root, RIG_STATUS_ERROR, "out of stock");
  rig_otlp_attrs *a = rig_otlp_span_attributes(root);
  ck_assert_int_eq(rig_otlp_attrs_set_string(a, "http.request.method", "POST"), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_bool(a, "retry", 1), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_bool(a, "cached", 0), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_int(a, "big", INT64_MAX), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_int(a, "negative", -42), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_double(a, "ratio", 0.1), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_double(a, "nan", NAN), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_double(a, "inf", -INFINITY), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_bytes(a, "payload", "\x00\xff\x10hi", 5), RIG_OK);
  const char *tags[] = {"a", "b\"c"};
  ck_assert_int_eq(rig_otlp_attrs_set_string_array(a, "tags", tags, 2), RIG_OK);
  const int64_t ints[] = {1, -2, 3};
  ck_assert_int_eq(rig_otlp_attrs_set_int_array(a, "ints", ints, 3), RIG_OK);
  const double doubles[] = {1.5, 2};
  ck_assert_int_eq(rig_otlp_attrs_set_double_array(a, "doubles", doubles, 2), RIG_OK);
  const int bools[] = {1, 0};
  ck_assert_int_eq(rig_otlp_attrs_set_bool_array(a, "bools", bools, 2), RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_string_array(a, "empty", NULL, 0), RIG_OK);
  rig_value inner[2] = {{.type = RIG_VALUE_STRING, .string = "x"},
                        {.type = RIG_VALUE_INT, .integer = 7}};
  rig_attribute kvs[2] = {{"name", inner[0]}, {"n", inner[1]}};
  rig_value kvlist = {.type = RIG_VALUE_KVLIST, .attributes = kvs, .count = 2};
  ck_assert_int_eq(rig_otlp_attrs_set_value(a, "map", &kvlist), RIG_OK);
  /* A key set twice keeps its place and takes the new value. */
  ck_assert_int_eq(rig_otlp_attrs_set_string(a, "http.request.method", "PUT"), RIG_OK);
  ck_assert_uint_eq(rig_otlp_attrs_count(a), 15);
  ck_assert_str_eq(rig_otlp_attrs_get(a, "http.request.method")->string, "PUT");

  rig_otlp_attrs *event_attrs;
  ck_assert_int_eq(rig_otlp_span_add_event(&event_attrs, root, "exception", 1700000000100000000LL),
                   RIG_OK);
  ck_assert_int_eq(rig_otlp_attrs_set_string(event_attrs, "exception.message", "boom"), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_add_event(NULL, root, "retrying", 1700000000200000000LL), RIG_OK);

  ck_assert_int_eq(rig_otlp_span_start(&child, inventory, "reserve", root), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_set_ids(child, TRACE_ID, CHILD_ID, ROOT_ID), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_set_times(child, 1700000000010000000LL, 1700000000020000000LL),
                   RIG_OK);
  rig_otlp_span_set_kind(child, RIG_SPAN_KIND_CONSUMER);
  rig_otlp_span_set_status(child, RIG_STATUS_OK, "ignored for OK");

  ck_assert_int_eq(rig_otlp_span_start(&other_scope, orders, "db.query", root), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_set_scope(other_scope, "libpq-instrumentation", NULL), RIG_OK);
  rig_otlp_span_set_kind(other_scope, RIG_SPAN_KIND_CLIENT);
  rig_otlp_span_end(other_scope);
  ck_assert_uint_eq(rig_otlp_batch_span_count(batch), 3);

  char *json = NULL;
  ck_assert_int_eq(rig_otlp_batch_to_json(&json, batch), RIG_OK);
  json_object *doc = parse_json(json);
  json_object *rs = get(doc, "resourceSpans");
  ck_assert_uint_eq(json_object_array_length(rs), 2);

  /* resource 0: orders, with two scopes */
  json_object *r0 = at(rs, 0);
  json_object *res_attrs = get(get(r0, "resource"), "attributes");
  ck_assert_str_eq(json_object_get_string(get(attr(res_attrs, "service.name"), "stringValue")),
                   "orders");
  ck_assert_str_eq(
      json_object_get_string(get(attr(res_attrs, "deployment.environment"), "stringValue")),
      "test");
  ck_assert_str_eq(str(attr(res_attrs, "process.pid"), "intValue"), "4242");
  json_object *scopes = get(r0, "scopeSpans");
  ck_assert_uint_eq(json_object_array_length(scopes), 2);
  json_object *scope0 = get(at(scopes, 0), "scope");
  ck_assert_str_eq(str(scope0, "name"), "stackrig");
  ck_assert_str_eq(str(scope0, "version"), RIG_VERSION_STRING);
  json_object *scope1 = get(at(scopes, 1), "scope");
  ck_assert_str_eq(str(scope1, "name"), "libpq-instrumentation");
  ck_assert(!has(scope1, "version"));

  json_object *span = at(get(at(scopes, 0), "spans"), 0);
  ck_assert_str_eq(str(span, "traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  ck_assert_str_eq(str(span, "spanId"), "00f067aa0ba902b7");
  ck_assert(!has(span, "parentSpanId"));
  ck_assert_str_eq(str(span, "name"), "POST /orders");
  ck_assert(json_object_is_type(get(span, "kind"), json_type_int));
  ck_assert_int_eq(json_object_get_int(get(span, "kind")), 2);
  ck_assert_str_eq(str(span, "startTimeUnixNano"), "1700000000000000000");
  ck_assert_str_eq(str(span, "endTimeUnixNano"), "1700000000250000000");
  json_object *status = get(span, "status");
  ck_assert_int_eq(json_object_get_int(get(status, "code")), 2);
  ck_assert_str_eq(str(status, "message"), "out of stock");

  json_object *attrs = get(span, "attributes");
  ck_assert_uint_eq(json_object_array_length(attrs), 15);
  ck_assert_str_eq(str(at(attrs, 0), "key"), "http.request.method");
  ck_assert_str_eq(str(attr(attrs, "http.request.method"), "stringValue"), "PUT");
  ck_assert(json_object_is_type(get(attr(attrs, "retry"), "boolValue"), json_type_boolean));
  ck_assert(json_object_get_boolean(get(attr(attrs, "retry"), "boolValue")));
  ck_assert(!json_object_get_boolean(get(attr(attrs, "cached"), "boolValue")));
  ck_assert_str_eq(str(attr(attrs, "big"), "intValue"), "9223372036854775807");
  ck_assert_str_eq(str(attr(attrs, "negative"), "intValue"), "-42");
  json_object *ratio = get(attr(attrs, "ratio"), "doubleValue");
  ck_assert(json_object_is_type(ratio, json_type_double));
  ck_assert(json_object_get_double(ratio) == 0.1);
  ck_assert_str_eq(str(attr(attrs, "nan"), "doubleValue"), "NaN");
  ck_assert_str_eq(str(attr(attrs, "inf"), "doubleValue"), "-Infinity");
  ck_assert_str_eq(str(attr(attrs, "payload"), "bytesValue"), "AP8QaGk=");
  json_object *tag_values = get(get(attr(attrs, "tags"), "arrayValue"), "values");
  ck_assert_str_eq(str(at(tag_values, 0), "stringValue"), "a");
  ck_assert_str_eq(str(at(tag_values, 1), "stringValue"), "b\"c");
  json_object *int_values = get(get(attr(attrs, "ints"), "arrayValue"), "values");
  ck_assert_uint_eq(json_object_array_length(int_values), 3);
  ck_assert_str_eq(str(at(int_values, 1), "intValue"), "-2");
  json_object *double_values = get(get(attr(attrs, "doubles"), "arrayValue"), "values");
  ck_assert(json_object_get_double(get(at(double_values, 0), "doubleValue")) == 1.5);
  ck_assert(json_object_get_double(get(at(double_values, 1), "doubleValue")) == 2.0);
  json_object *bool_values = get(get(attr(attrs, "bools"), "arrayValue"), "values");
  ck_assert(json_object_get_boolean(get(at(bool_values, 0), "boolValue")));
  ck_assert(!json_object_get_boolean(get(at(bool_values, 1), "boolValue")));
  ck_assert_uint_eq(
      json_object_array_length(get(get(attr(attrs, "empty"), "arrayValue"), "values")), 0);
  json_object *map_values = get(get(attr(attrs, "map"), "kvlistValue"), "values");
  ck_assert_str_eq(str(at(map_values, 0), "key"), "name");
  ck_assert_str_eq(str(get(at(map_values, 0), "value"), "stringValue"), "x");
  ck_assert_str_eq(str(get(at(map_values, 1), "value"), "intValue"), "7");

  json_object *events = get(span, "events");
  ck_assert_uint_eq(json_object_array_length(events), 2);
  ck_assert_str_eq(str(at(events, 0), "name"), "exception");
  ck_assert_str_eq(str(at(events, 0), "timeUnixNano"), "1700000000100000000");
  ck_assert_str_eq(str(attr(get(at(events, 0), "attributes"), "exception.message"), "stringValue"),
                   "boom");
  ck_assert_uint_eq(json_object_array_length(get(at(events, 1), "attributes")), 0);

  json_object *db = at(get(at(scopes, 1), "spans"), 0);
  ck_assert_str_eq(str(db, "parentSpanId"), "00f067aa0ba902b7");
  ck_assert_str_eq(str(db, "traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  ck_assert_int_eq(json_object_get_int(get(db, "kind")), 3);
  ck_assert(!has(db, "status"));

  /* resource 1: inventory */
  json_object *r1 = at(rs, 1);
  ck_assert_str_eq(
      json_object_get_string(
          get(attr(get(get(r1, "resource"), "attributes"), "service.name"), "stringValue")),
      "inventory");
  json_object *reserve = at(get(at(get(r1, "scopeSpans"), 0), "spans"), 0);
  ck_assert_str_eq(str(reserve, "spanId"), "1122334455667788");
  ck_assert_str_eq(str(reserve, "parentSpanId"), "00f067aa0ba902b7");
  ck_assert_int_eq(json_object_get_int(get(reserve, "kind")), 5);
  ck_assert_int_eq(json_object_get_int(get(get(reserve, "status"), "code")), 1);
  ck_assert(!has(get(reserve, "status"), "message"));

  json_object_put(doc);
  free(json);
  rig_otlp_batch_free(batch);
}
END_TEST

START_TEST(parent_links_and_contexts)
{
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *res;
  rig_otlp_batch_add_resource(&res, batch, "svc");
  rig_otlp_span *root, *child, *remote_child;
  ck_assert_int_eq(rig_otlp_span_start(&root, res, "root", NULL), RIG_OK);
  ck_assert_int_eq(rig_otlp_span_start(&child, res, "child", root), RIG_OK);
  rig_traceparent rctx, cctx;
  rig_otlp_span_context(&rctx, root);
  rig_otlp_span_context(&cctx, child);
  ck_assert_mem_eq(rctx.trace_id, cctx.trace_id, 16);
  ck_assert(memcmp(rctx.span_id, cctx.span_id, 8) != 0);
  ck_assert_uint_eq(cctx.flags, RIG_TRACE_FLAG_SAMPLED);

  rig_traceparent incoming;
  ck_assert_int_eq(rig_traceparent_parse(&incoming, "00-0af7651916cd43dd8448eb211c80319c-"
                                                    "b7ad6b7169203331-01"),
                   RIG_OK);
  ck_assert_int_eq(rig_otlp_span_start_remote(&remote_child, res, "handler", &incoming), RIG_OK);
  char hex[33];
  rig_otlp_span_trace_id_hex(hex, remote_child);
  ck_assert_str_eq(hex, "0af7651916cd43dd8448eb211c80319c");

  char *json;
  ck_assert_int_eq(rig_otlp_batch_to_json(&json, batch), RIG_OK);
  json_object *doc = parse_json(json);
  json_object *spans = get(at(get(at(get(doc, "resourceSpans"), 0), "scopeSpans"), 0), "spans");
  ck_assert_uint_eq(json_object_array_length(spans), 3);
  char root_span[17];
  rig_span_id_to_hex(root_span, rctx.span_id);
  ck_assert_str_eq(str(at(spans, 1), "parentSpanId"), root_span);
  ck_assert_str_eq(str(at(spans, 2), "parentSpanId"), "b7ad6b7169203331");
  ck_assert_str_eq(str(at(spans, 2), "traceId"), "0af7651916cd43dd8448eb211c80319c");
  /* A span that was never ended is reported as ending when encoded, never before start. */
  int64_t start = strtoll(str(at(spans, 0), "startTimeUnixNano"), NULL, 10);
  int64_t end = strtoll(str(at(spans, 0), "endTimeUnixNano"), NULL, 10);
  ck_assert_int_ge(end, start);
  json_object_put(doc);
  free(json);

  /* A parent from another batch is refused. */
  rig_otlp_batch *other;
  rig_otlp_batch_new(&other);
  rig_otlp_resource *other_res;
  rig_otlp_batch_add_resource(&other_res, other, "svc");
  rig_otlp_span *stray = NULL;
  ck_assert_int_eq(rig_otlp_span_start(&stray, other_res, "x", root), RIG_EINVAL);
  ck_assert_ptr_null(stray);
  ck_assert_uint_eq(rig_otlp_batch_span_count(other), 0);
  rig_otlp_batch_free(other);
  rig_otlp_batch_free(batch);
}
END_TEST

START_TEST(odd_strings_stay_valid_json)
{
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *res;
  rig_otlp_batch_add_resource(&res, batch, "svc \"quoted\" \\ back");
  rig_otlp_span *span;
  rig_otlp_span_start(&span, res, "line\nbreak\ttab\x01", NULL);
  rig_otlp_attrs *a = rig_otlp_span_attributes(span);
  rig_otlp_attrs_set_string(a, "utf8", "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
  rig_otlp_attrs_set_string(a, "broken",
                            "a\xff"
                            "b\xc3"
                            "c\xed\xa0\x80"
                            "d\xc0\xaf");
  rig_otlp_attrs_set_string(a, "slash/key", "</script>");
  rig_otlp_attrs_set_double(a, "tiny", 5e-324);
  rig_otlp_attrs_set_double(a, "huge", 1.7976931348623157e308);
  char *json;
  ck_assert_int_eq(rig_otlp_batch_to_json(&json, batch), RIG_OK);
  json_object *doc = parse_json(json);
  json_object *rs = at(get(doc, "resourceSpans"), 0);
  ck_assert_str_eq(
      json_object_get_string(
          get(attr(get(get(rs, "resource"), "attributes"), "service.name"), "stringValue")),
      "svc \"quoted\" \\ back");
  json_object *s = at(get(at(get(rs, "scopeSpans"), 0), "spans"), 0);
  ck_assert_str_eq(str(s, "name"), "line\nbreak\ttab\x01");
  json_object *attrs = get(s, "attributes");
  ck_assert_str_eq(str(attr(attrs, "utf8"), "stringValue"),
                   "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
  /* Each invalid byte becomes U+FFFD; valid neighbours survive. */
  ck_assert_str_eq(str(attr(attrs, "broken"), "stringValue"),
                   "a\xef\xbf\xbd"
                   "b\xef\xbf\xbd"
                   "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                   "d\xef\xbf\xbd\xef\xbf\xbd");
  ck_assert_str_eq(str(attr(attrs, "slash/key"), "stringValue"), "</script>");
  ck_assert(json_object_get_double(get(attr(attrs, "tiny"), "doubleValue")) == 5e-324);
  ck_assert(json_object_get_double(get(attr(attrs, "huge"), "doubleValue")) ==
            1.7976931348623157e308);
  json_object_put(doc);
  free(json);
  rig_otlp_batch_free(batch);
}
END_TEST

START_TEST(invalid_arguments)
{
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *res = NULL;
  ck_assert_int_eq(rig_otlp_batch_add_resource(&res, batch, ""), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_batch_add_resource(&res, batch, NULL), RIG_EINVAL);
  ck_assert_ptr_null(res);
  rig_otlp_batch_add_resource(&res, batch, "svc");
  rig_otlp_span *span = NULL;
  ck_assert_int_eq(rig_otlp_span_start(&span, res, "", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_span_start(&span, NULL, "x", NULL), RIG_EINVAL);
  ck_assert_ptr_null(span);
  rig_otlp_span_start(&span, res, "x", NULL);
  rig_otlp_attrs *a = rig_otlp_span_attributes(span);
  ck_assert_int_eq(rig_otlp_attrs_set_string(a, "", "v"), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_attrs_set_string(a, "k", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_attrs_set_string(NULL, "k", "v"), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_attrs_set_int_array(a, "k", NULL, 3), RIG_EINVAL);
  ck_assert_uint_eq(rig_otlp_attrs_count(a), 0);
  ck_assert_int_eq(rig_otlp_span_set_times(span, 10, 5), RIG_EINVAL);
  uint8_t zero[16] = {0};
  ck_assert_int_eq(rig_otlp_span_set_ids(span, zero, ROOT_ID, NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_span_set_ids(span, TRACE_ID, ROOT_ID, zero), RIG_EINVAL);
  rig_traceparent bad;
  memset(&bad, 0, sizeof bad);
  rig_otlp_span *remote = NULL;
  ck_assert_int_eq(rig_otlp_span_start_remote(&remote, res, "y", &bad), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_span_add_event(NULL, span, "", 0), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_batch_to_json(NULL, batch), RIG_EINVAL);
  ck_assert_uint_eq(rig_otlp_batch_span_count(batch), 1);
  /* A resource without spans is left out of the request. */
  rig_otlp_resource *idle;
  rig_otlp_batch_add_resource(&idle, batch, "idle");
  char *json;
  rig_otlp_batch_to_json(&json, batch);
  ck_assert_ptr_null(strstr(json, "idle"));
  free(json);
  rig_otlp_batch_free(batch);
  rig_otlp_batch_free(NULL);
}
END_TEST

START_TEST(base64_round_trip)
{
  const char *cases[][2] = {{"", ""},
                            {"f", "Zg=="},
                            {"fo", "Zm8="},
                            {"foo", "Zm9v"},
                            {"foob", "Zm9vYg=="},
                            {"fooba", "Zm9vYmE="},
                            {"foobar", "Zm9vYmFy"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rig_buf buf = RIG_BUF_INIT;
    rig__base64_encode(&buf, cases[i][0], strlen(cases[i][0]), RIG_BASE64_STANDARD);
    ck_assert_str_eq(buf.data ? buf.data : "", cases[i][1]);
    rig__buf_dispose(&buf);
    uint8_t *bytes;
    size_t len;
    ck_assert_int_eq(
        rig__base64_decode(&bytes, &len, cases[i][1], strlen(cases[i][1]), RIG_BASE64_STANDARD), 0);
    ck_assert_uint_eq(len, strlen(cases[i][0]));
    ck_assert(memcmp(bytes, cases[i][0], len) == 0);
    free(bytes);
  }
  uint8_t *bytes;
  size_t len;
  /* Ids and bytes in Jaeger's answers come in either alphabet. */
  ck_assert_int_eq(rig__base64_decode(&bytes, &len, "Zm9v_-", 6, RIG_BASE64_EITHER), 0);
  ck_assert_uint_eq(len, 4);
  ck_assert_mem_eq(bytes, "foo\xff", 4);
  free(bytes);
  ck_assert_int_eq(rig__base64_decode(&bytes, &len, "Zm9v/+", 6, RIG_BASE64_EITHER), 0);
  ck_assert_mem_eq(bytes, "foo\xff", 4);
  free(bytes);
  bytes = NULL;
  ck_assert_int_eq(rig__base64_decode(&bytes, &len, "Zm9v_-", 6, RIG_BASE64_STANDARD), -1);
  ck_assert_int_eq(rig__base64_decode(&bytes, &len, "Zm9v!", 5, RIG_BASE64_EITHER), -1);
  ck_assert_int_eq(rig__base64_decode(&bytes, &len, "Z", 1, RIG_BASE64_EITHER), -1);
  ck_assert_ptr_null(bytes);
}
END_TEST

/* ---- Retry-After ---- */

START_TEST(retry_after_values)
{
  /* 1994-11-06 08:49:37 UTC, the RFC's example date. */
  const int64_t date_ms = 784111777000LL;
  struct {
    const char *value;
    int64_t now_ms;
    int64_t expected_ms; /* -1: parse error */
  } cases[] = {
      {"0", 0, 0},
      {"120", 0, 120000},
      {" 3 ", 0, 3000},
      {"99999999999999999999", 0, 999999999000LL},
      {"Sun, 06 Nov 1994 08:49:37 GMT", date_ms - 2500, 2500},
      {"Sunday, 06-Nov-94 08:49:37 GMT", date_ms - 1000, 1000},
      {"Sun Nov  6 08:49:37 1994", date_ms - 7000, 7000},
      {"Sun, 06 Nov 1994 08:49:37 GMT", date_ms + 5000, 0}, /* in the past */
      {"sun, 06 nov 1994 08:49:37 GMT", date_ms, 0},
      {"-5", 0, -1},
      {"1.5", 0, -1},
      {"", 0, -1},
      {"soon", 0, -1},
      {"Sun, 06 Nov 1994 08:49:37 CET", 0, -1},
      {"Sun, 06 Foo 1994 08:49:37 GMT", 0, -1},
      {"Sun, 06 Nov 1994 25:49:37 GMT", 0, -1},
      {"Sun, 06 Nov 1994 08:49:37 GMT trailing", 0, -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t got = -42;
    int rc = rig__retry_after_ms(&got, cases[i].value, cases[i].now_ms);
    if (cases[i].expected_ms < 0) {
      ck_assert_msg(rc == RIG_EPARSE, "'%s' should not parse (got %lld)", cases[i].value,
                    (long long)got);
      ck_assert_int_eq(got, -42);
    } else {
      ck_assert_msg(rc == RIG_OK, "'%s': %s", cases[i].value, rig_error_last()->text);
      ck_assert_msg(got == cases[i].expected_ms, "'%s': %lld ms, expected %lld", cases[i].value,
                    (long long)got, (long long)cases[i].expected_ms);
    }
  }
}
END_TEST

/* ---- a scripted HTTP server ---- */

typedef struct reply {
  int status;
  const char *headers; /* extra header lines, each ending in \r\n, or NULL */
  const char *body;
} reply;

typedef struct server {
  fake_http *http;
  char url[64];
  const reply *script;
  size_t script_len;
  size_t next;        /* index of the next reply, counted by the server thread */
  char *last_request; /* headers and body of the last request, read by server_stop() */
} server;

/* Answers with the script's next reply; the server thread is the only one counting. */
static char *next_reply(void *userdata, const fake_http_request *req, fake_http_reply *out)
{
  (void)req;
  server *srv = userdata;
  size_t i = srv->next++;
  reply r = i < srv->script_len ? srv->script[i] : (reply){500, NULL, "script exhausted"};
  out->status = r.status;
  out->headers = r.headers ? rig__strdup(r.headers) : NULL;
  return rig__strdup(r.body ? r.body : "");
}

static server *server_start(const reply *script, size_t script_len)
{
  server *srv = rig__calloc(1, sizeof *srv);
  srv->script = script;
  srv->script_len = script_len;
  srv->http = fake_http_start(next_reply, srv);
  snprintf(srv->url, sizeof srv->url, "%s", fake_http_url(srv->http));
  return srv;
}

/* The requests answered so far. */
static size_t served(server *srv)
{
  return (size_t)fake_http_requests(srv->http);
}

/* The last request as it arrived; valid until the next call or server_stop(). */
static const char *last_request(server *srv)
{
  free(srv->last_request);
  srv->last_request = fake_http_last_request(srv->http);
  ck_assert_ptr_nonnull(srv->last_request);
  return srv->last_request;
}

static void server_stop(server *srv)
{
  fake_http_stop(srv->http);
  free(srv->last_request);
  free(srv);
}

static rig_otlp_batch *one_span_batch(void)
{
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *res;
  rig_otlp_batch_add_resource(&res, batch, "svc");
  rig_otlp_span *span;
  rig_otlp_span_start(&span, res, "op", NULL);
  rig_otlp_span_end(span);
  return batch;
}

static rig_otlp_exporter *exporter_for(const char *url, int64_t deadline_ms)
{
  rig_otlp_exporter_options opts = RIG_OTLP_EXPORTER_OPTIONS_INIT;
  opts.deadline_ms = deadline_ms;
  opts.initial_backoff_ms = 10;
  opts.max_backoff_ms = 40;
  static const char *const headers[] = {"X-Test: yes", NULL};
  opts.headers = headers;
  rig_otlp_exporter *exporter;
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, url, &opts), RIG_OK);
  return exporter;
}

START_TEST(export_posts_json)
{
  static const reply script[] = {
      {200, "Content-Type: application/json\r\n", "{\"partialSuccess\":{}}"}};
  server *srv = server_start(script, 1);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_OK);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 1);
  ck_assert_ptr_nonnull(strstr(last_request(srv), "POST /v1/traces HTTP/1.1\r\n"));
  ck_assert_ptr_nonnull(strcasestr(last_request(srv), "\r\nContent-Type: application/json\r\n"));
  ck_assert_ptr_nonnull(strstr(last_request(srv), "\r\nX-Test: yes\r\n"));
  json_object *doc = parse_json(strstr(last_request(srv), "\r\n\r\n") + 4);
  ck_assert_uint_eq(json_object_array_length(get(doc, "resourceSpans")), 1);
  json_object_put(doc);
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_endpoint_with_path)
{
  static const reply script[] = {{200, NULL, ""}};
  server *srv = server_start(script, 1);
  char *url = rig__sprintf("%s/v1/traces/", srv->url);
  rig_otlp_exporter *exporter = exporter_for(url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_OK);
  ck_assert_ptr_nonnull(strstr(last_request(srv), "POST /v1/traces HTTP/1.1\r\n"));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  free(url);
  server_stop(srv);
}
END_TEST

START_TEST(export_retries_retryable_statuses)
{
  static char date_header[128];
  time_t soon = time(NULL) - 1; /* a date just past: retry at once */
  struct tm tm;
  gmtime_r(&soon, &tm);
  strftime(date_header, sizeof date_header, "Retry-After: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
  const reply script[] = {{503, "Retry-After: 0\r\n", "busy"},
                          {429, date_header, "{\"code\":8,\"message\":\"slow down\"}"},
                          {502, NULL, "bad gateway"},
                          {504, NULL, ""},
                          {200, NULL, "{}"}};
  server *srv = server_start(script, 5);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 10000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_OK);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 5);
  ck_assert_uint_eq(served(srv), 5);
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_never_retries_400)
{
  static const reply script[] = {
      {400, "Content-Type: application/json\r\n",
       "{\"code\":3,\"message\":\"proto: syntax error (line 1:2): invalid value\"}"},
      {200, NULL, "{}"}};
  server *srv = server_start(script, 2);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_EHTTP);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 1);
  const rig_error *err = rig_error_last();
  ck_assert_ptr_nonnull(strstr(err->text, "HTTP 400"));
  ck_assert_ptr_nonnull(strstr(err->text, "proto: syntax error (line 1:2): invalid value"));
  ck_assert_ptr_nonnull(strstr(err->text, "/v1/traces"));
  ck_assert_str_eq(rig_error_detail_get(err, "status"), "400");
  ck_assert_str_eq(rig_error_detail_get(err, "attempts"), "1");
  ck_assert_uint_eq(served(srv), 1);
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_plain_text_error)
{
  static const reply script[] = {{413, NULL, "request entity too large\n"}};
  server *srv = server_start(script, 1);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_EHTTP);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "HTTP 413: request entity too large"));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_retry_after_past_deadline_gives_up_at_once)
{
  static const reply script[] = {{503, "Retry-After: 3600\r\n", "maintenance"}};
  server *srv = server_start(script, 1);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 2000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_ETIMEOUT);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 1);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "3600000 ms"));
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "HTTP 503: maintenance"));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_backoff_stops_at_deadline)
{
  /* Every answer is 503 without Retry-After: the doubling delay (10, 20, 40, 40 ... ms)
   * runs into the 300 ms deadline after a bounded number of attempts. */
  static reply script[64];
  for (size_t i = 0; i < 64; i++)
    script[i] = (reply){503, NULL, "unavailable"};
  server *srv = server_start(script, 64);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 300);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_ETIMEOUT);
  int attempts = rig_otlp_exporter_last_attempts(exporter);
  ck_assert_int_ge(attempts, 3);
  ck_assert_int_le(attempts, 40);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "gave up after"));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_partial_success_rejected)
{
  static const reply script[] = {
      {200, NULL,
       "{\"partialSuccess\":{\"rejectedSpans\":\"1\",\"errorMessage\":\"span too old\"}}"}};
  server *srv = server_start(script, 1);
  rig_otlp_exporter *exporter = exporter_for(srv->url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_EHTTP);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "rejected 1 of 1 spans: span too old"));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
  server_stop(srv);
}
END_TEST

START_TEST(export_refused_connection)
{
  /* Find a port nothing listens on: bind, note it, close. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&addr, sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, (struct sockaddr *)&addr, &len);
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));
  rig_otlp_exporter *exporter = exporter_for(url, 5000);
  rig_otlp_batch *batch = one_span_batch();
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_ECONNECT);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 1);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, url));
  rig_otlp_batch_free(batch);
  rig_otlp_exporter_free(exporter);
}
END_TEST

START_TEST(export_argument_errors)
{
  rig_otlp_exporter *exporter = NULL;
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, "", NULL), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, NULL, NULL), RIG_EINVAL);
  rig_otlp_exporter_options opts = RIG_OTLP_EXPORTER_OPTIONS_INIT;
  opts.version = 99;
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, "http://127.0.0.1:1", &opts), RIG_EINVAL);
  ck_assert_ptr_null(exporter);
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, "http://127.0.0.1:1", NULL), RIG_OK);
  rig_otlp_batch *empty;
  rig_otlp_batch_new(&empty);
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, empty), RIG_EINVAL);
  ck_assert_int_eq(rig_otlp_exporter_last_attempts(exporter), 0);
  rig_otlp_batch_free(empty);
  rig_otlp_exporter_free(exporter);
  rig_otlp_exporter_free(NULL);
}
END_TEST

START_TEST(names_of_enums)
{
  ck_assert_str_eq(rig_span_kind_name(RIG_SPAN_KIND_SERVER), "server");
  ck_assert_str_eq(rig_span_kind_name(RIG_SPAN_KIND_CONSUMER), "consumer");
  ck_assert_str_eq(rig_span_kind_name((rig_span_kind)42), "unspecified");
  ck_assert_str_eq(rig_status_code_name(RIG_STATUS_ERROR), "error");
  ck_assert_str_eq(rig_status_code_name(RIG_STATUS_UNSET), "unset");
}
END_TEST

static Suite *otlp_suite(void)
{
  Suite *s = suite_create("otlp");
  TCase *tc = tcase_create("encoding");
  tcase_add_test(tc, encodes_every_field);
  tcase_add_test(tc, parent_links_and_contexts);
  tcase_add_test(tc, odd_strings_stay_valid_json);
  tcase_add_test(tc, invalid_arguments);
  tcase_add_test(tc, base64_round_trip);
  tcase_add_test(tc, names_of_enums);
  suite_add_tcase(s, tc);
  tc = tcase_create("export");
  tcase_add_test(tc, retry_after_values);
  tcase_add_test(tc, export_posts_json);
  tcase_add_test(tc, export_endpoint_with_path);
  tcase_add_test(tc, export_retries_retryable_statuses);
  tcase_add_test(tc, export_never_retries_400);
  tcase_add_test(tc, export_plain_text_error);
  tcase_add_test(tc, export_retry_after_past_deadline_gives_up_at_once);
  tcase_add_test(tc, export_backoff_stops_at_deadline);
  tcase_add_test(tc, export_partial_success_rejected);
  tcase_add_test(tc, export_refused_connection);
  tcase_add_test(tc, export_argument_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return rig_test_main(otlp_suite());
}
