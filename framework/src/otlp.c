/*
 * otlp.c - spans built in C: batches of resources, spans, events and typed attributes, and
 * their OTLP/HTTP JSON encoding (ExportTraceServiceRequest).
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_internal.h"
#include "stackrig/error.h"

struct rig_otlp_attrs {
  rig_attribute *items;
  size_t count;
  size_t cap;
};

typedef struct otlp_event {
  char *name;
  int64_t time_unix_ns;
  rig_otlp_attrs attrs;
} otlp_event;

struct rig_otlp_resource {
  rig_otlp_batch *batch;
  rig_otlp_attrs attrs;
};

struct rig_otlp_span {
  rig_otlp_batch *batch;
  rig_otlp_resource *resource;
  char *name;
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_span_id[8];
  int has_parent;
  rig_span_kind kind;
  rig_status_code status;
  char *status_message;
  char *scope_name;
  char *scope_version;
  int64_t start_unix_ns;
  int64_t end_unix_ns; /* 0 until ended */
  rig_otlp_attrs attrs;
  otlp_event **events;
  size_t event_count;
};

struct rig_otlp_batch {
  rig_otlp_resource **resources;
  size_t resource_count;
  rig_otlp_span **spans;
  size_t span_count;
};

const char *rig_span_kind_name(rig_span_kind kind)
{
  switch (kind) {
  case RIG_SPAN_KIND_INTERNAL:
    return "internal";
  case RIG_SPAN_KIND_SERVER:
    return "server";
  case RIG_SPAN_KIND_CLIENT:
    return "client";
  case RIG_SPAN_KIND_PRODUCER:
    return "producer";
  case RIG_SPAN_KIND_CONSUMER:
    return "consumer";
  default:
    return "unspecified";
  }
}

const char *rig_status_code_name(rig_status_code code)
{
  switch (code) {
  case RIG_STATUS_OK:
    return "ok";
  case RIG_STATUS_ERROR:
    return "error";
  default:
    return "unset";
  }
}

/* ---- attribute lists ---- */

static void attrs_dispose(rig_otlp_attrs *attrs)
{
  for (size_t i = 0; i < attrs->count; i++) {
    free((char *)attrs->items[i].key);
    rig__value_dispose(&attrs->items[i].value);
  }
  free(attrs->items);
  memset(attrs, 0, sizeof *attrs);
}

/* Takes ownership of value (already deep-copied by the caller). */
static int attrs_put(rig_otlp_attrs *attrs, const char *key, rig_value *value)
{
  for (size_t i = 0; i < attrs->count; i++) {
    if (strcmp(attrs->items[i].key, key) == 0) {
      rig__value_dispose(&attrs->items[i].value);
      attrs->items[i].value = *value;
      return RIG_OK;
    }
  }
  if (attrs->count == attrs->cap) {
    attrs->cap = attrs->cap ? attrs->cap * 2 : 8;
    attrs->items = rig__realloc(attrs->items, attrs->cap * sizeof *attrs->items);
  }
  attrs->items[attrs->count].key = rig__strdup(key);
  attrs->items[attrs->count].value = *value;
  attrs->count++;
  return RIG_OK;
}

static int check_key(const rig_otlp_attrs *attrs, const char *key)
{
  if (attrs == NULL)
    return rig_error_set(RIG_EINVAL, "otlp attribute: no attribute list");
  if (key == NULL || key[0] == '\0')
    return rig_error_set(RIG_EINVAL, "otlp attribute: empty key");
  return RIG_OK;
}

int rig_otlp_attrs_set_value(rig_otlp_attrs *attrs, const char *key, const rig_value *value)
{
  int rc = check_key(attrs, key);
  if (rc != RIG_OK)
    return rc;
  if (value == NULL)
    return rig_error_set(RIG_EINVAL, "otlp attribute %s: no value", key);
  if (value->type == RIG_VALUE_STRING && value->string == NULL)
    return rig_error_set(RIG_EINVAL, "otlp attribute %s: NULL string", key);
  if ((value->type == RIG_VALUE_ARRAY && value->count > 0 && value->items == NULL) ||
      (value->type == RIG_VALUE_KVLIST && value->count > 0 && value->attributes == NULL) ||
      (value->type == RIG_VALUE_BYTES && value->count > 0 && value->bytes == NULL))
    return rig_error_set(RIG_EINVAL, "otlp attribute %s: %zu items but no array", key,
                         value->count);
  rig_value copy;
  rig__value_copy(&copy, value);
  return attrs_put(attrs, key, &copy);
}

int rig_otlp_attrs_set_string(rig_otlp_attrs *attrs, const char *key, const char *value)
{
  rig_value v = {.type = RIG_VALUE_STRING, .string = value};
  return rig_otlp_attrs_set_value(attrs, key, &v);
}

int rig_otlp_attrs_set_bool(rig_otlp_attrs *attrs, const char *key, int value)
{
  rig_value v = {.type = RIG_VALUE_BOOL, .boolean = value != 0};
  return rig_otlp_attrs_set_value(attrs, key, &v);
}

int rig_otlp_attrs_set_int(rig_otlp_attrs *attrs, const char *key, int64_t value)
{
  rig_value v = {.type = RIG_VALUE_INT, .integer = value};
  return rig_otlp_attrs_set_value(attrs, key, &v);
}

int rig_otlp_attrs_set_double(rig_otlp_attrs *attrs, const char *key, double value)
{
  rig_value v = {.type = RIG_VALUE_DOUBLE, .number = value};
  return rig_otlp_attrs_set_value(attrs, key, &v);
}

int rig_otlp_attrs_set_bytes(rig_otlp_attrs *attrs, const char *key, const void *data, size_t len)
{
  rig_value v = {.type = RIG_VALUE_BYTES, .bytes = data, .count = len};
  return rig_otlp_attrs_set_value(attrs, key, &v);
}

/* Builds an array value from count scalars made by make(i) and sets it. */
static int set_array(rig_otlp_attrs *attrs, const char *key, size_t count, const void *values,
                     void (*make)(rig_value *out, const void *values, size_t i))
{
  int rc = check_key(attrs, key);
  if (rc != RIG_OK)
    return rc;
  if (count > 0 && values == NULL)
    return rig_error_set(RIG_EINVAL, "otlp attribute %s: %zu items but no array", key, count);
  rig_value *items = rig__calloc(count ? count : 1, sizeof *items);
  for (size_t i = 0; i < count; i++)
    make(&items[i], values, i);
  rig_value v = {.type = RIG_VALUE_ARRAY, .items = items, .count = count};
  rc = rig_otlp_attrs_set_value(attrs, key, &v);
  free(items);
  return rc;
}

static void make_string(rig_value *out, const void *values, size_t i)
{
  const char *s = ((const char *const *)values)[i];
  out->type = RIG_VALUE_STRING;
  out->string = s ? s : "";
}

static void make_int(rig_value *out, const void *values, size_t i)
{
  out->type = RIG_VALUE_INT;
  out->integer = ((const int64_t *)values)[i];
}

static void make_double(rig_value *out, const void *values, size_t i)
{
  out->type = RIG_VALUE_DOUBLE;
  out->number = ((const double *)values)[i];
}

static void make_bool(rig_value *out, const void *values, size_t i)
{
  out->type = RIG_VALUE_BOOL;
  out->boolean = ((const int *)values)[i] != 0;
}

int rig_otlp_attrs_set_string_array(rig_otlp_attrs *attrs, const char *key,
                                    const char *const *values, size_t count)
{
  return set_array(attrs, key, count, values, make_string);
}

int rig_otlp_attrs_set_int_array(rig_otlp_attrs *attrs, const char *key, const int64_t *values,
                                 size_t count)
{
  return set_array(attrs, key, count, values, make_int);
}

int rig_otlp_attrs_set_double_array(rig_otlp_attrs *attrs, const char *key, const double *values,
                                    size_t count)
{
  return set_array(attrs, key, count, values, make_double);
}

int rig_otlp_attrs_set_bool_array(rig_otlp_attrs *attrs, const char *key, const int *values,
                                  size_t count)
{
  return set_array(attrs, key, count, values, make_bool);
}

size_t rig_otlp_attrs_count(const rig_otlp_attrs *attrs)
{
  return attrs ? attrs->count : 0;
}

const rig_value *rig_otlp_attrs_get(const rig_otlp_attrs *attrs, const char *key)
{
  if (attrs == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < attrs->count; i++)
    if (strcmp(attrs->items[i].key, key) == 0)
      return &attrs->items[i].value;
  return NULL;
}

/* ---- batches, resources, spans ---- */

int rig_otlp_batch_new(rig_otlp_batch **out)
{
  if (out == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_batch_new: out is NULL");
  *out = rig__calloc(1, sizeof **out);
  return RIG_OK;
}

static void span_free(rig_otlp_span *span)
{
  free(span->name);
  free(span->status_message);
  free(span->scope_name);
  free(span->scope_version);
  attrs_dispose(&span->attrs);
  for (size_t i = 0; i < span->event_count; i++) {
    free(span->events[i]->name);
    attrs_dispose(&span->events[i]->attrs);
    free(span->events[i]);
  }
  free(span->events);
  free(span);
}

void rig_otlp_batch_free(rig_otlp_batch *batch)
{
  if (batch == NULL)
    return;
  for (size_t i = 0; i < batch->span_count; i++)
    span_free(batch->spans[i]);
  for (size_t i = 0; i < batch->resource_count; i++) {
    attrs_dispose(&batch->resources[i]->attrs);
    free(batch->resources[i]);
  }
  free(batch->spans);
  free(batch->resources);
  free(batch);
}

size_t rig_otlp_batch_span_count(const rig_otlp_batch *batch)
{
  return batch ? batch->span_count : 0;
}

int rig_otlp_batch_add_resource(rig_otlp_resource **out, rig_otlp_batch *batch,
                                const char *service_name)
{
  if (out == NULL || batch == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_batch_add_resource: no batch or out");
  if (service_name == NULL || service_name[0] == '\0')
    return rig_error_set(RIG_EINVAL, "otlp resource: empty service name");
  rig_otlp_resource *resource = rig__calloc(1, sizeof *resource);
  resource->batch = batch;
  rig_otlp_attrs_set_string(&resource->attrs, "service.name", service_name);
  batch->resources =
      rig__realloc(batch->resources, (batch->resource_count + 1) * sizeof *batch->resources);
  batch->resources[batch->resource_count++] = resource;
  *out = resource;
  return RIG_OK;
}

rig_otlp_attrs *rig_otlp_resource_attributes(rig_otlp_resource *resource)
{
  return resource ? &resource->attrs : NULL;
}

static int span_new(rig_otlp_span **out, rig_otlp_resource *resource, const char *name)
{
  if (out == NULL || resource == NULL)
    return rig_error_set(RIG_EINVAL, "otlp span: no resource or out");
  if (name == NULL || name[0] == '\0')
    return rig_error_set(RIG_EINVAL, "otlp span: empty name");
  rig_otlp_span *span = rig__calloc(1, sizeof *span);
  span->batch = resource->batch;
  span->resource = resource;
  span->name = rig__strdup(name);
  span->kind = RIG_SPAN_KIND_INTERNAL;
  span->scope_name = rig__strdup("stackrig");
  span->scope_version = rig__strdup(RIG_VERSION_STRING);
  span->start_unix_ns = rig__wall_ns();
  *out = span;
  return RIG_OK;
}

static void span_attach(rig_otlp_span *span)
{
  rig_otlp_batch *batch = span->batch;
  batch->spans = rig__realloc(batch->spans, (batch->span_count + 1) * sizeof *batch->spans);
  batch->spans[batch->span_count++] = span;
}

int rig_otlp_span_start(rig_otlp_span **out, rig_otlp_resource *resource, const char *name,
                        const rig_otlp_span *parent)
{
  if (parent != NULL && resource != NULL && parent->batch != resource->batch)
    return rig_error_set(RIG_EINVAL, "otlp span %s: parent %s belongs to another batch",
                         name ? name : "", parent->name);
  rig_otlp_span *span;
  int rc = span_new(&span, resource, name);
  if (rc != RIG_OK)
    return rc;
  rig_traceparent context;
  rig_traceparent parent_context;
  if (parent != NULL)
    rig_otlp_span_context(&parent_context, parent);
  rc = rig_traceparent_new(&context, parent ? &parent_context : NULL, 1);
  if (rc != RIG_OK) {
    span_free(span);
    return rc;
  }
  memcpy(span->trace_id, context.trace_id, 16);
  memcpy(span->span_id, context.span_id, 8);
  if (parent != NULL) {
    memcpy(span->parent_span_id, parent->span_id, 8);
    span->has_parent = 1;
  }
  span_attach(span);
  *out = span;
  return RIG_OK;
}

int rig_otlp_span_start_remote(rig_otlp_span **out, rig_otlp_resource *resource, const char *name,
                               const rig_traceparent *remote)
{
  if (remote == NULL)
    return rig_otlp_span_start(out, resource, name, NULL);
  if (!rig_trace_id_is_valid(remote->trace_id) || !rig_span_id_is_valid(remote->span_id))
    return rig_error_set(RIG_EINVAL, "otlp span %s: the remote parent has an all-zero id",
                         name ? name : "");
  rig_otlp_span *span;
  int rc = span_new(&span, resource, name);
  if (rc != RIG_OK)
    return rc;
  rig_traceparent context;
  rc = rig_traceparent_new(&context, remote, 1);
  if (rc != RIG_OK) {
    span_free(span);
    return rc;
  }
  memcpy(span->trace_id, context.trace_id, 16);
  memcpy(span->span_id, context.span_id, 8);
  memcpy(span->parent_span_id, remote->span_id, 8);
  span->has_parent = 1;
  span_attach(span);
  *out = span;
  return RIG_OK;
}

void rig_otlp_span_end(rig_otlp_span *span)
{
  if (span == NULL)
    return;
  int64_t now = rig__wall_ns();
  /* The wall clock may step back; a span never ends before it started. */
  span->end_unix_ns = now < span->start_unix_ns ? span->start_unix_ns : now;
}

int rig_otlp_span_set_times(rig_otlp_span *span, int64_t start_unix_ns, int64_t end_unix_ns)
{
  if (span == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_span_set_times: no span");
  if (end_unix_ns < start_unix_ns || start_unix_ns < 0)
    return rig_error_set(RIG_EINVAL, "otlp span %s: end %" PRId64 " is before start %" PRId64,
                         span->name, end_unix_ns, start_unix_ns);
  span->start_unix_ns = start_unix_ns;
  span->end_unix_ns = end_unix_ns;
  return RIG_OK;
}

void rig_otlp_span_set_kind(rig_otlp_span *span, rig_span_kind kind)
{
  if (span != NULL && kind >= RIG_SPAN_KIND_UNSPECIFIED && kind <= RIG_SPAN_KIND_CONSUMER)
    span->kind = kind;
}

void rig_otlp_span_set_status(rig_otlp_span *span, rig_status_code code, const char *message)
{
  if (span == NULL || code < RIG_STATUS_UNSET || code > RIG_STATUS_ERROR)
    return;
  span->status = code;
  free(span->status_message);
  span->status_message = NULL;
  if (code == RIG_STATUS_ERROR && message != NULL && message[0] != '\0')
    span->status_message = rig__strdup(message);
}

int rig_otlp_span_set_scope(rig_otlp_span *span, const char *name, const char *version)
{
  if (span == NULL || name == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_span_set_scope: no span or name");
  free(span->scope_name);
  free(span->scope_version);
  span->scope_name = rig__strdup(name);
  span->scope_version = version ? rig__strdup(version) : NULL;
  return RIG_OK;
}

int rig_otlp_span_set_ids(rig_otlp_span *span, const uint8_t trace_id[16], const uint8_t span_id[8],
                          const uint8_t parent_span_id[8])
{
  if (span == NULL || !rig_trace_id_is_valid(trace_id) || !rig_span_id_is_valid(span_id))
    return rig_error_set(RIG_EINVAL, "otlp span %s: an all-zero or missing trace or span id",
                         span ? span->name : "");
  if (parent_span_id != NULL && !rig_span_id_is_valid(parent_span_id))
    return rig_error_set(RIG_EINVAL,
                         "otlp span %s: all-zero parent span id (pass NULL "
                         "for a root span)",
                         span->name);
  memcpy(span->trace_id, trace_id, 16);
  memcpy(span->span_id, span_id, 8);
  span->has_parent = parent_span_id != NULL;
  if (parent_span_id != NULL)
    memcpy(span->parent_span_id, parent_span_id, 8);
  else
    memset(span->parent_span_id, 0, 8);
  return RIG_OK;
}

void rig_otlp_span_context(rig_traceparent *out, const rig_otlp_span *span)
{
  memset(out, 0, sizeof *out);
  memcpy(out->trace_id, span->trace_id, 16);
  memcpy(out->span_id, span->span_id, 8);
  out->flags = RIG_TRACE_FLAG_SAMPLED;
}

void rig_otlp_span_trace_id_hex(char out[RIG_TRACE_ID_HEX_LEN + 1], const rig_otlp_span *span)
{
  rig_trace_id_to_hex(out, span->trace_id);
}

rig_otlp_attrs *rig_otlp_span_attributes(rig_otlp_span *span)
{
  return span ? &span->attrs : NULL;
}

int rig_otlp_span_add_event(rig_otlp_attrs **out, rig_otlp_span *span, const char *name,
                            int64_t time_unix_ns)
{
  if (span == NULL || name == NULL || name[0] == '\0')
    return rig_error_set(RIG_EINVAL, "otlp event: no span or empty name");
  otlp_event *event = rig__calloc(1, sizeof *event);
  event->name = rig__strdup(name);
  event->time_unix_ns = time_unix_ns ? time_unix_ns : rig__wall_ns();
  span->events = rig__realloc(span->events, (span->event_count + 1) * sizeof *span->events);
  span->events[span->event_count++] = event;
  if (out)
    *out = &event->attrs;
  return RIG_OK;
}

/* ---- encoding ---- */

static void put_hex(rig_buf *buf, const uint8_t *id, size_t n)
{
  char hex[33];
  if (n == 16)
    rig_trace_id_to_hex(hex, id);
  else
    rig_span_id_to_hex(hex, id);
  rig__buf_putc(buf, '"');
  rig__buf_puts(buf, hex);
  rig__buf_putc(buf, '"');
}

static void encode_span(rig_buf *buf, const rig_otlp_span *span, int64_t now)
{
  int64_t end = span->end_unix_ns ? span->end_unix_ns : now;
  if (end < span->start_unix_ns)
    end = span->start_unix_ns;
  rig__buf_puts(buf, "{\"traceId\":");
  put_hex(buf, span->trace_id, 16);
  rig__buf_puts(buf, ",\"spanId\":");
  put_hex(buf, span->span_id, 8);
  if (span->has_parent) {
    rig__buf_puts(buf, ",\"parentSpanId\":");
    put_hex(buf, span->parent_span_id, 8);
  }
  rig__buf_puts(buf, ",\"name\":");
  rig__json_string(buf, span->name);
  rig__buf_printf(buf, ",\"kind\":%d", (int)span->kind);
  rig__buf_printf(buf, ",\"startTimeUnixNano\":\"%" PRId64 "\",\"endTimeUnixNano\":\"%" PRId64 "\"",
                  span->start_unix_ns, end);
  rig__buf_puts(buf, ",\"attributes\":");
  rig__json_attributes(buf, span->attrs.items, span->attrs.count);
  if (span->event_count > 0) {
    rig__buf_puts(buf, ",\"events\":[");
    for (size_t i = 0; i < span->event_count; i++) {
      const otlp_event *event = span->events[i];
      if (i > 0)
        rig__buf_putc(buf, ',');
      rig__buf_printf(buf, "{\"timeUnixNano\":\"%" PRId64 "\",\"name\":", event->time_unix_ns);
      rig__json_string(buf, event->name);
      rig__buf_puts(buf, ",\"attributes\":");
      rig__json_attributes(buf, event->attrs.items, event->attrs.count);
      rig__buf_putc(buf, '}');
    }
    rig__buf_putc(buf, ']');
  }
  if (span->status != RIG_STATUS_UNSET) {
    rig__buf_printf(buf, ",\"status\":{\"code\":%d", (int)span->status);
    if (span->status_message) {
      rig__buf_puts(buf, ",\"message\":");
      rig__json_string(buf, span->status_message);
    }
    rig__buf_putc(buf, '}');
  }
  rig__buf_putc(buf, '}');
}

static int same_scope(const rig_otlp_span *a, const rig_otlp_span *b)
{
  return rig__streq(a->scope_name, b->scope_name) && rig__streq(a->scope_version, b->scope_version);
}

int rig_otlp_batch_to_json(char **out, const rig_otlp_batch *batch)
{
  if (out == NULL || batch == NULL)
    return rig_error_set(RIG_EINVAL, "rig_otlp_batch_to_json: no batch or out");
  int64_t now = rig__wall_ns();
  rig_buf buf = RIG_BUF_INIT;
  char *done = rig__calloc(batch->span_count ? batch->span_count : 1, 1);
  rig__buf_puts(&buf, "{\"resourceSpans\":[");
  int first_resource = 1;
  for (size_t r = 0; r < batch->resource_count; r++) {
    const rig_otlp_resource *resource = batch->resources[r];
    int has_spans = 0;
    for (size_t i = 0; i < batch->span_count && !has_spans; i++)
      has_spans = batch->spans[i]->resource == resource;
    if (!has_spans)
      continue;
    if (!first_resource)
      rig__buf_putc(&buf, ',');
    first_resource = 0;
    rig__buf_puts(&buf, "{\"resource\":{\"attributes\":");
    rig__json_attributes(&buf, resource->attrs.items, resource->attrs.count);
    rig__buf_puts(&buf, "},\"scopeSpans\":[");
    /* One scopeSpans entry per distinct scope, in the order scopes first appear. */
    int first_scope = 1;
    for (size_t i = 0; i < batch->span_count; i++) {
      const rig_otlp_span *lead = batch->spans[i];
      if (done[i] || lead->resource != resource)
        continue;
      if (!first_scope)
        rig__buf_putc(&buf, ',');
      first_scope = 0;
      rig__buf_puts(&buf, "{\"scope\":{\"name\":");
      rig__json_string(&buf, lead->scope_name);
      if (lead->scope_version) {
        rig__buf_puts(&buf, ",\"version\":");
        rig__json_string(&buf, lead->scope_version);
      }
      rig__buf_puts(&buf, "},\"spans\":[");
      int first_span = 1;
      for (size_t j = i; j < batch->span_count; j++) {
        const rig_otlp_span *span = batch->spans[j];
        if (done[j] || span->resource != resource || !same_scope(span, lead))
          continue;
        if (!first_span)
          rig__buf_putc(&buf, ',');
        first_span = 0;
        encode_span(&buf, span, now);
        done[j] = 1;
      }
      rig__buf_puts(&buf, "]}");
    }
    rig__buf_puts(&buf, "]}");
  }
  rig__buf_puts(&buf, "]}");
  free(done);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
