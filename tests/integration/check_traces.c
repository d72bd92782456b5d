/*
 * check_traces.c - spans emitted through the real OpenTelemetry Collector (OTLP/HTTP) of
 * the default stack reach the real Jaeger: found by id and by service, with every
 * attribute type intact, through both query APIs; selectors and assertions hold on them,
 * and a wrong expectation fails with a message that shows what was there.
 *
 * The stack's endpoints come from STACKRIG_OTLP_HTTP_ENDPOINT (the collector's port 4318)
 * and STACKRIG_JAEGER_URL (Jaeger's port 16686), as the runner hands them to suites; when
 * they are not set the suite brings a default stack of its own up (and down again).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stackrig.h>

#include "defaultstack.h"
#include "testutil.h"
#include "util.h"

static char *otlp_endpoint;
static char *jaeger_url;

/* "127.0.0.1:4318" or "http://127.0.0.1:4318" */
static char *as_url(const char *value)
{
  return strstr(value, "://") ? rig__strdup(value) : rig__sprintf("http://%s", value);
}

static rig_jaeger *jaeger(rig_jaeger_api api)
{
  rig_jaeger_options opts = RIG_JAEGER_OPTIONS_INIT;
  opts.api = api;
  rig_jaeger *client;
  ck_assert_int_eq(rig_jaeger_new(&client, jaeger_url, &opts), RIG_OK);
  return client;
}

static rig_jaeger_wait_options patient(void)
{
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 30000;
  return opts;
}

/* A 3-level trace across 2 services, with unique service names so runs never mix. */
typedef struct sent_trace {
  char *frontend;
  char *orders;
  char trace_id[RIG_TRACE_ID_HEX_LEN + 1];
  char checkout_id[RIG_SPAN_ID_HEX_LEN + 1];
} sent_trace;

static void send_trace(sent_trace *out)
{
  out->frontend = rig_test_unique_name("frontend");
  out->orders = rig_test_unique_name("orders");
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *frontend, *orders;
  ck_assert_int_eq(rig_otlp_batch_add_resource(&frontend, batch, out->frontend), RIG_OK);
  ck_assert_int_eq(rig_otlp_batch_add_resource(&orders, batch, out->orders), RIG_OK);
  rig_otlp_attrs_set_string(rig_otlp_resource_attributes(orders), "deployment.environment", "ci");

  int64_t now = rig__wall_ns();
  rig_otlp_span *checkout, *create, *insert;
  ck_assert_int_eq(rig_otlp_span_start(&checkout, frontend, "GET /checkout", NULL), RIG_OK);
  rig_otlp_span_set_kind(checkout, RIG_SPAN_KIND_SERVER);
  rig_otlp_span_set_times(checkout, now, now + 40000000);
  rig_otlp_attrs_set_int(rig_otlp_span_attributes(checkout), "http.response.status_code", 200);

  ck_assert_int_eq(rig_otlp_span_start(&create, orders, "POST /orders", checkout), RIG_OK);
  rig_otlp_span_set_kind(create, RIG_SPAN_KIND_SERVER);
  rig_otlp_span_set_times(create, now + 5000000, now + 35000000);
  rig_otlp_span_set_status(create, RIG_STATUS_ERROR, "payment declined");
  rig_otlp_attrs *a = rig_otlp_span_attributes(create);
  rig_otlp_attrs_set_int(a, "http.response.status_code", 402);
  rig_otlp_attrs_set_double(a, "order.total", 12.5);
  rig_otlp_attrs_set_bool(a, "order.express", 1);
  const char *tags[] = {"gift", "fragile"};
  rig_otlp_attrs_set_string_array(a, "order.tags", tags, 2);
  rig_otlp_attrs_set_bytes(a, "order.digest", "\x00\x01\xff", 3);
  rig_otlp_attrs *event;
  rig_otlp_span_add_event(&event, create, "payment.rejected", now + 30000000);
  rig_otlp_attrs_set_string(event, "reason", "insufficient funds");

  ck_assert_int_eq(rig_otlp_span_start(&insert, orders, "INSERT orders", create), RIG_OK);
  rig_otlp_span_set_kind(insert, RIG_SPAN_KIND_CLIENT);
  rig_otlp_span_set_times(insert, now + 10000000, now + 12000000);
  rig_otlp_attrs_set_string(rig_otlp_span_attributes(insert), "db.system", "postgresql");

  rig_otlp_span_trace_id_hex(out->trace_id, checkout);
  rig_traceparent context;
  rig_otlp_span_context(&context, checkout);
  rig_span_id_to_hex(out->checkout_id, context.span_id);

  rig_otlp_exporter *exporter;
  ck_assert_int_eq(rig_otlp_exporter_new(&exporter, otlp_endpoint, NULL), RIG_OK);
  int rc = rig_otlp_exporter_send(exporter, batch);
  ck_assert_msg(rc == RIG_OK, "%s", rig_error_last()->text);
  rig_otlp_exporter_free(exporter);
  rig_otlp_batch_free(batch);
}

static void sent_dispose(sent_trace *sent)
{
  free(sent->frontend);
  free(sent->orders);
}

START_TEST(trace_found_by_id_with_assertions)
{
  sent_trace sent;
  send_trace(&sent);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  ck_assert_int_eq(rig_trace_expect_span_count(expect, 3), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, NULL, "connected"), RIG_OK);
  char *sel = rig__sprintf("span[service.name=\"%s\" name=\"GET /checkout\"] > "
                           "span[service.name=\"%s\" name=\"POST /orders\"] > "
                           "span[name=\"INSERT orders\"]",
                           sent.frontend, sent.orders);
  ck_assert_int_eq(rig_trace_expect_add(expect, sel, "count == 1"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, sel, "kind = client"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[kind=server]", "duration < 200ms"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[name=\"POST /orders\"]", "status = error"),
                   RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[name=\"POST /orders\"]",
                                        "http.response.status_code = 402"),
                   RIG_OK);
  ck_assert_int_eq(
      rig_trace_expect_add(expect, "span[status=error]:first", "deployment.environment = ci"),
      RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[name=\"DELETE /orders\"]", "count == 0"),
                   RIG_OK);
  rig_jaeger_wait_options opts = patient();
  rig_trace *trace = NULL;
  int rc = rig_jaeger_expect_trace(&trace, client, sent.trace_id, expect, &opts);
  ck_assert_msg(rc == RIG_OK, "%s", rig_error_last()->text);
  ck_assert_str_eq(rig_trace_id_hex(trace), sent.trace_id);
  ck_assert_str_eq(rig_trace_root(trace)->span_id_hex, sent.checkout_id);
  ck_assert_uint_eq(rig_trace_service_count(trace), 2);

  /* Once there, a plain lookup finds it too. */
  rig_trace *again = NULL;
  ck_assert_int_eq(rig_jaeger_get_trace(&again, client, sent.trace_id), RIG_OK);
  ck_assert_uint_eq(rig_trace_span_count(again), 3);
  rig_trace_free(again);

  rig_jaeger_api api;
  ck_assert_int_eq(rig_jaeger_api_in_use(&api, client), RIG_OK);
  ck_assert_msg(api == RIG_JAEGER_API_V3 || api == RIG_JAEGER_API_V3_SNAKE,
                "the default stack's Jaeger speaks /api/v3, detected %s", rig_jaeger_api_name(api));
  free(sel);
  rig_trace_free(trace);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  sent_dispose(&sent);
}
END_TEST

START_TEST(attribute_types_survive)
{
  sent_trace sent;
  send_trace(&sent);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  rig_jaeger_wait_options opts = patient();
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  rig_trace_expect_span_count(expect, 3);
  rig_trace *trace = NULL;
  int rc = rig_jaeger_expect_trace(&trace, client, sent.trace_id, expect, &opts);
  ck_assert_msg(rc == RIG_OK, "%s", rig_error_last()->text);
  const rig_span *create = NULL;
  for (size_t i = 0; i < rig_trace_span_count(trace); i++)
    if (strcmp(rig_trace_span(trace, i)->name, "POST /orders") == 0)
      create = rig_trace_span(trace, i);
  ck_assert_ptr_nonnull(create);
  ck_assert_str_eq(create->service, sent.orders);
  ck_assert_int_eq(create->kind, RIG_SPAN_KIND_SERVER);
  ck_assert_int_eq(create->status, RIG_STATUS_ERROR);
  ck_assert_str_eq(create->status_message, "payment declined");
  ck_assert_int_eq(create->duration_ns, 30000000);
  ck_assert_str_eq(create->parent_span_id_hex, sent.checkout_id);
  const rig_value *v = rig_span_attribute(create, "http.response.status_code");
  ck_assert_int_eq(v->type, RIG_VALUE_INT);
  ck_assert_int_eq(v->integer, 402);
  v = rig_span_attribute(create, "order.total");
  ck_assert_int_eq(v->type, RIG_VALUE_DOUBLE);
  ck_assert(v->number == 12.5);
  v = rig_span_attribute(create, "order.express");
  ck_assert_int_eq(v->type, RIG_VALUE_BOOL);
  ck_assert_int_eq(v->boolean, 1);
  v = rig_span_attribute(create, "order.tags");
  ck_assert_int_eq(v->type, RIG_VALUE_ARRAY);
  ck_assert_uint_eq(v->count, 2);
  ck_assert_str_eq(v->items[1].string, "fragile");
  v = rig_span_attribute(create, "order.digest");
  ck_assert_int_eq(v->type, RIG_VALUE_BYTES);
  ck_assert_uint_eq(v->count, 3);
  ck_assert(memcmp(v->bytes, "\x00\x01\xff", 3) == 0);
  ck_assert_uint_eq(create->event_count, 1);
  ck_assert_str_eq(create->events[0].name, "payment.rejected");
  ck_assert_str_eq(create->events[0].attributes[0].value.string, "insufficient funds");
  ck_assert_str_eq(rig_span_resource_attribute(create, "deployment.environment")->string, "ci");

  /* The v1 API gives the same model of the same trace. */
  rig_jaeger *v1 = jaeger(RIG_JAEGER_API_V1);
  rig_trace *old = NULL;
  ck_assert_int_eq(rig_jaeger_get_trace(&old, v1, sent.trace_id), RIG_OK);
  ck_assert_uint_eq(rig_trace_span_count(old), 3);
  for (size_t i = 0; i < 3; i++) {
    const rig_span *a = rig_trace_span(trace, i), *b = rig_trace_span(old, i);
    ck_assert_str_eq(a->span_id_hex, b->span_id_hex);
    ck_assert_str_eq(a->parent_span_id_hex, b->parent_span_id_hex);
    ck_assert_str_eq(a->service, b->service);
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_int_eq(a->status, b->status);
    ck_assert_str_eq(a->status_message, b->status_message);
    ck_assert_int_eq(a->start_unix_ns / 1000, b->start_unix_ns / 1000); /* v1 has microseconds */
    ck_assert_uint_eq(a->attribute_count, b->attribute_count);
    ck_assert_uint_eq(a->event_count, b->event_count);
  }
  ck_assert_int_eq(rig_trace_assert(old, "span[order.tags contains gift]", "count == 1"), RIG_OK);
  rig_trace_free(old);
  rig_jaeger_free(v1);
  rig_trace_free(trace);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  sent_dispose(&sent);
}
END_TEST

START_TEST(trace_found_by_service)
{
  sent_trace sent;
  send_trace(&sent);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  rig_trace_query query = RIG_TRACE_QUERY_INIT;
  query.service = sent.frontend;
  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  rig_trace_expect_span_count(expect, 3);
  rig_jaeger_wait_options opts = patient();
  rig_trace *trace = NULL;
  int rc = rig_jaeger_expect_search(&trace, client, &query, expect, &opts);
  ck_assert_msg(rc == RIG_OK, "%s", rig_error_last()->text);
  ck_assert_str_eq(rig_trace_id_hex(trace), sent.trace_id);
  rig_trace_free(trace);

  /* Operation, duration bounds and tags narrow the search; the same for v1. */
  for (int flavour = 0; flavour < 2; flavour++) {
    rig_jaeger *c = flavour ? jaeger(RIG_JAEGER_API_V1) : jaeger(RIG_JAEGER_API_AUTO);
    rig_trace_query q = RIG_TRACE_QUERY_INIT;
    q.service = sent.orders;
    q.operation = "POST /orders";
    q.duration_min_ns = 20000000;
    rig_jaeger_tag tags[] = {{"http.response.status_code", "402"}};
    q.tags = tags;
    q.tag_count = 1;
    rig_trace_list *list = NULL;
    ck_assert_int_eq(rig_jaeger_find_traces(&list, c, &q), RIG_OK);
    ck_assert_uint_eq(rig_trace_list_count(list), 1);
    ck_assert_str_eq(rig_trace_id_hex(rig_trace_list_get(list, 0)), sent.trace_id);
    rig_trace_list_free(list);
    q.duration_min_ns = 0;
    q.duration_max_ns = 20000000; /* POST /orders took 30 ms */
    ck_assert_int_eq(rig_jaeger_find_traces(&list, c, &q), RIG_OK);
    ck_assert_uint_eq(rig_trace_list_count(list), 0);
    rig_trace_list_free(list);
    rig_jaeger_free(c);
  }

  char **names;
  ck_assert_int_eq(rig_jaeger_services(&names, client), RIG_OK);
  int seen = 0;
  for (size_t i = 0; names[i]; i++)
    seen += strcmp(names[i], sent.frontend) == 0 || strcmp(names[i], sent.orders) == 0;
  ck_assert_int_eq(seen, 2);
  rig_jaeger_names_free(names);
  ck_assert_int_eq(rig_jaeger_operations(&names, client, sent.orders), RIG_OK);
  ck_assert_str_eq(names[0], "INSERT orders");
  ck_assert_str_eq(names[1], "POST /orders");
  ck_assert_ptr_null(names[2]);
  rig_jaeger_names_free(names);
  rig_trace_expect_free(expect);
  rig_jaeger_free(client);
  sent_dispose(&sent);
}
END_TEST

START_TEST(wrong_expectation_fails_usefully)
{
  sent_trace sent;
  send_trace(&sent);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  /* Wait for the whole trace first, so that the failure below is about the expectation. */
  rig_trace_expect *complete;
  rig_trace_expect_new(&complete);
  rig_trace_expect_span_count(complete, 3);
  rig_jaeger_wait_options opts = patient();
  ck_assert_int_eq(rig_jaeger_expect_trace(NULL, client, sent.trace_id, complete, &opts), RIG_OK);

  rig_trace_expect *expect;
  rig_trace_expect_new(&expect);
  char *sel = rig__sprintf("span[service.name=\"%s\" name=\"POST /order\"]", sent.orders);
  ck_assert_int_eq(rig_trace_expect_add(expect, sel, "count == 1"), RIG_OK);
  ck_assert_int_eq(rig_trace_expect_add(expect, "span[kind=server]", "duration < 10ms"), RIG_OK);
  char *dir = rig_test_tempdir();
  opts.timeout_ms = 500;
  opts.artifacts_dir = dir;
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_trace(&trace, client, sent.trace_id, expect, &opts),
                   RIG_EASSERT);
  const rig_error *err = rig_error_last();
  char *closest = rig__sprintf("closest: %s: POST /orders (", sent.orders);
  ck_assert_msg(strstr(err->text, "2 of 2 expectations failed") != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, closest) != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, "fails name = \"POST /order\" (name is \"POST /orders\")") !=
                    NULL,
                "%s", err->text);
  ck_assert_msg(strstr(err->text, "2 of 2 picked spans fail") != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, "has duration 40ms") != NULL, "%s", err->text);
  ck_assert_msg(strstr(err->text, "3 spans, 2 services") != NULL, "%s", err->text);
  const char *artifact = rig_error_detail_get(err, "artifact");
  ck_assert_ptr_nonnull(artifact);
  char *json = NULL;
  ck_assert_int_eq(rig__read_file(&json, NULL, artifact), RIG_OK);
  ck_assert_ptr_nonnull(strstr(json, sent.trace_id));
  free(json);
  ck_assert_ptr_nonnull(trace);
  rig_trace_free(trace);
  rig_test_rmtree(dir);
  free(dir);
  free(closest);
  free(sel);
  rig_trace_expect_free(expect);
  rig_trace_expect_free(complete);
  rig_jaeger_free(client);
  sent_dispose(&sent);
}
END_TEST

START_TEST(remote_parent_from_traceparent)
{
  /* A service continuing a trace from an incoming header: its span hangs below the
   * caller's span, which nobody reported, so the trace is not one tree. */
  rig_traceparent caller;
  ck_assert_int_eq(rig_traceparent_new(&caller, NULL, 1), RIG_OK);
  char header[RIG_TRACEPARENT_LEN + 1];
  rig_traceparent_format(header, &caller);
  rig_traceparent incoming;
  ck_assert_int_eq(rig_traceparent_parse(&incoming, header), RIG_OK);

  char *service = rig_test_unique_name("handler");
  rig_otlp_batch *batch;
  rig_otlp_batch_new(&batch);
  rig_otlp_resource *res;
  rig_otlp_batch_add_resource(&res, batch, service);
  rig_otlp_span *span;
  ck_assert_int_eq(rig_otlp_span_start_remote(&span, res, "GET /handled", &incoming), RIG_OK);
  rig_otlp_span_set_kind(span, RIG_SPAN_KIND_SERVER);
  rig_otlp_span_end(span);
  rig_otlp_exporter *exporter;
  rig_otlp_exporter_new(&exporter, otlp_endpoint, NULL);
  ck_assert_int_eq(rig_otlp_exporter_send(exporter, batch), RIG_OK);

  char trace_id[RIG_TRACE_ID_HEX_LEN + 1], caller_span[RIG_SPAN_ID_HEX_LEN + 1];
  rig_trace_id_to_hex(trace_id, caller.trace_id);
  rig_span_id_to_hex(caller_span, caller.span_id);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  rig_jaeger_wait_options opts = patient();
  rig_trace *trace = NULL;
  ck_assert_int_eq(rig_jaeger_expect_trace(&trace, client, trace_id, NULL, &opts), RIG_OK);
  ck_assert_str_eq(rig_trace_span(trace, 0)->parent_span_id_hex, caller_span);
  ck_assert_ptr_null(rig_trace_span(trace, 0)->parent);
  ck_assert_int_eq(rig_trace_assert(trace, NULL, "connected"), RIG_EASSERT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "orphan span"));
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, caller_span));
  rig_trace_free(trace);
  rig_jaeger_free(client);
  rig_otlp_exporter_free(exporter);
  rig_otlp_batch_free(batch);
  free(service);
}
END_TEST

START_TEST(absent_trace_times_out_naming_services)
{
  rig_traceparent nobody;
  rig_traceparent_new(&nobody, NULL, 1);
  char trace_id[RIG_TRACE_ID_HEX_LEN + 1];
  rig_trace_id_to_hex(trace_id, nobody.trace_id);
  rig_jaeger *client = jaeger(RIG_JAEGER_API_AUTO);
  rig_jaeger_wait_options opts = RIG_JAEGER_WAIT_OPTIONS_INIT;
  opts.timeout_ms = 300;
  ck_assert_int_eq(rig_jaeger_expect_trace(NULL, client, trace_id, NULL, &opts), RIG_ETIMEOUT);
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "did not show up in Jaeger"));
  ck_assert_ptr_nonnull(strstr(rig_error_last()->text, "services Jaeger knows: "));
  rig_jaeger_free(client);
}
END_TEST

static Suite *traces_suite(void)
{
  Suite *s = suite_create("traces");
  TCase *tc = tcase_create("stack");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, trace_found_by_id_with_assertions);
  tcase_add_test(tc, attribute_types_survive);
  tcase_add_test(tc, trace_found_by_service);
  tcase_add_test(tc, wrong_expectation_fails_usefully);
  tcase_add_test(tc, remote_parent_from_traceparent);
  tcase_add_test(tc, absent_trace_times_out_naming_services);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  rig_test_require_docker();
  /* Against the stack the runner names, or else a default stack of this suite's own. */
  rig_stack *stack = NULL;
  const char *otlp = getenv("STACKRIG_OTLP_HTTP_ENDPOINT");
  const char *query = getenv("STACKRIG_JAEGER_URL");
  if (otlp == NULL || otlp[0] == '\0' || query == NULL || query[0] == '\0') {
    if (rig_test_default_stack_up(&stack) != RIG_OK)
      return 1;
    otlp = getenv("STACKRIG_OTLP_HTTP_ENDPOINT");
    query = getenv("STACKRIG_JAEGER_URL");
  }
  otlp_endpoint = as_url(otlp);
  jaeger_url = as_url(query);
  int rc = rig_test_main(traces_suite());
  rig_test_default_stack_down(stack);
  free(otlp_endpoint);
  free(jaeger_url);
  return rc;
}
