/*
 * jaeger_parse_v1.c - reads the v1 query API's own JSON (`{"data": [{"traceID", "spans",
 * "processes"}]}`, `{"errors": [...]}`) into the trace model, making it look like what the
 * OTLP readers give: kind, status and scope out of tags, arrays out of their JSON text, logs
 * as events, processes as resources.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "jaeger_reader.h"
#include "stackrig/error.h"

/*
 * The v1 API flattens an array attribute into its JSON text ("[\"a\",\"b\"]"). A string
 * tag that is a JSON array of scalars becomes an array again, so that `contains` and the
 * model agree across API flavours.
 */
static int array_from_text(rig__jreader *r, const char *text, rig_value *out)
{
  if (text[0] != '[')
    return 0;
  json_object *array = json_tokener_parse(text);
  if (array == NULL || !json_object_is_type(array, json_type_array)) {
    json_object_put(array);
    return 0;
  }
  size_t n = json_object_array_length(array);
  rig_value *items = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *items);
  int scalars = 1;
  for (size_t i = 0; i < n && scalars; i++) {
    json_object *item = json_object_array_get_idx(array, i);
    switch (json_object_get_type(item)) {
    case json_type_string:
      items[i].type = RIG_VALUE_STRING;
      items[i].string = rig__jaeger_arena_strdup(r->arena, json_object_get_string(item));
      break;
    case json_type_int:
      items[i].type = RIG_VALUE_INT;
      items[i].integer = json_object_get_int64(item);
      break;
    case json_type_double:
      items[i].type = RIG_VALUE_DOUBLE;
      items[i].number = json_object_get_double(item);
      break;
    case json_type_boolean:
      items[i].type = RIG_VALUE_BOOL;
      items[i].boolean = json_object_get_boolean(item) ? 1 : 0;
      break;
    default:
      scalars = 0;
    }
  }
  json_object_put(array);
  if (!scalars)
    return 0;
  out->type = RIG_VALUE_ARRAY;
  out->items = items;
  out->count = n;
  return 1;
}

/* A v1 tag {"key", "type", "value"} as a typed value. */
static int read_v1_tag(rig__jreader *r, json_object *tag, rig_attribute *out)
{
  out->key =
      rig__jaeger_arena_strdup(r->arena, rig__jr_string_or_empty(rig__jr_member(tag, "key")));
  const char *type = rig__jr_string_or_empty(rig__jr_member(tag, "type"));
  json_object *value = rig__jr_member(tag, "value");
  memset(&out->value, 0, sizeof out->value);
  if (strcasecmp(type, "bool") == 0) {
    out->value.type = RIG_VALUE_BOOL;
    out->value.boolean = json_object_get_boolean(value) ? 1 : 0;
  } else if (strcasecmp(type, "int64") == 0) {
    out->value.type = RIG_VALUE_INT;
    return rig__jr_read_int64(r, value, "value", &out->value.integer);
  } else if (strcasecmp(type, "float64") == 0) {
    out->value.type = RIG_VALUE_DOUBLE;
    return rig__jr_read_double(r, value, &out->value.number);
  } else if (strcasecmp(type, "binary") == 0) {
    const char *text = rig__jr_string_or_empty(value);
    uint8_t *bytes;
    size_t len;
    if (rig__base64_decode(&bytes, &len, text, strlen(text), RIG_BASE64_EITHER) == 0) {
      uint8_t *copy = rig__jaeger_arena_alloc(r->arena, len ? len : 1);
      memcpy(copy, bytes, len);
      free(bytes);
      out->value.type = RIG_VALUE_BYTES;
      out->value.bytes = copy;
      out->value.count = len;
    } else {
      out->value.type = RIG_VALUE_STRING;
      out->value.string = rig__jaeger_arena_strdup(r->arena, json_object_get_string(value));
    }
  } else {
    const char *text =
        value && !json_object_is_type(value, json_type_null) ? json_object_get_string(value) : "";
    if (!array_from_text(r, text, &out->value)) {
      out->value.type = RIG_VALUE_STRING;
      out->value.string = rig__jaeger_arena_strdup(r->arena, text);
    }
  }
  return RIG_OK;
}

static int read_v1_tags(rig__jreader *r, json_object *array, const char *key, rig_attribute **out,
                        size_t *count)
{
  *out = NULL;
  *count = 0;
  int rc = rig__jr_read_array_of(r, array, key);
  size_t n = array && rc == RIG_OK ? json_object_array_length(array) : 0;
  rig_attribute *attrs = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *attrs);
  size_t saved = rig__jr_path_key(r, key);
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    size_t saved_index = rig__jr_path_index(r, i);
    rc = read_v1_tag(r, json_object_array_get_idx(array, i), &attrs[i]);
    rig__jr_path_pop(r, saved_index);
  }
  rig__jr_path_pop(r, saved);
  *out = attrs;
  *count = n;
  return rc;
}

static const rig_value *find_tag(rig_attribute *attrs, size_t count, const char *key)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(attrs[i].key, key) == 0)
      return &attrs[i].value;
  return NULL;
}

/* Removes a tag that the model carries in a field of its own. */
static void drop_tag(rig_attribute *attrs, size_t *count, const char *key)
{
  for (size_t i = 0; i < *count; i++) {
    if (strcmp(attrs[i].key, key) == 0) {
      memmove(&attrs[i], &attrs[i + 1], (*count - i - 1) * sizeof *attrs);
      (*count)--;
      return;
    }
  }
}

static const char *tag_string(rig_attribute *attrs, size_t count, const char *key)
{
  const rig_value *v = find_tag(attrs, count, key);
  return v && v->type == RIG_VALUE_STRING ? v->string : NULL;
}

/*
 * v1 carries in tags what OTLP has fields for (span.kind, otel.status_code, otel.scope.*,
 * error); they move to the model's fields so that both flavours give the same spans.
 */
static void lift_v1_tags(rig_span *span, rig_attribute *attrs, size_t *count)
{
  static const char *const kinds[] = {"unspecified", "internal", "server",
                                      "client",      "producer", "consumer"};
  const char *kind = tag_string(attrs, *count, "span.kind");
  span->kind = RIG_SPAN_KIND_UNSPECIFIED;
  for (int k = 0; kind && k < 6; k++)
    if (strcasecmp(kind, kinds[k]) == 0)
      span->kind = (rig_span_kind)k;
  const char *code = tag_string(attrs, *count, "otel.status_code");
  const rig_value *error = find_tag(attrs, *count, "error");
  if (code && strcasecmp(code, "ERROR") == 0)
    span->status = RIG_STATUS_ERROR;
  else if (code && strcasecmp(code, "OK") == 0)
    span->status = RIG_STATUS_OK;
  else if (error && ((error->type == RIG_VALUE_BOOL && error->boolean) ||
                     (error->type == RIG_VALUE_STRING && strcasecmp(error->string, "true") == 0)))
    span->status = RIG_STATUS_ERROR;
  const char *description = tag_string(attrs, *count, "otel.status_description");
  if (description)
    span->status_message = description;
  const char *scope = tag_string(attrs, *count, "otel.scope.name");
  if (scope == NULL)
    scope = tag_string(attrs, *count, "otel.library.name");
  const char *version = tag_string(attrs, *count, "otel.scope.version");
  if (version == NULL)
    version = tag_string(attrs, *count, "otel.library.version");
  if (scope)
    span->scope_name = scope;
  if (version)
    span->scope_version = version;
  static const char *const lifted[] = {
      "span.kind",          "otel.status_code",  "otel.status_description", "otel.scope.name",
      "otel.scope.version", "otel.library.name", "otel.library.version"};
  for (size_t i = 0; i < sizeof lifted / sizeof lifted[0]; i++)
    drop_tag(attrs, count, lifted[i]);
  if (span->status == RIG_STATUS_ERROR)
    drop_tag(attrs, count, "error");
}

typedef struct v1_process {
  const char *id;
  const char *service;
  rig_attribute *attrs;
  size_t count;
} v1_process;

static int read_v1_trace(rig__jreader *r, json_object *trace)
{
  json_object *processes = rig__jr_member(trace, "processes");
  size_t np = processes && json_object_is_type(processes, json_type_object)
                  ? (size_t)json_object_object_length(processes)
                  : 0;
  v1_process *procs = rig__jaeger_arena_alloc(r->arena, (np ? np : 1) * sizeof *procs);
  size_t p = 0;
  int rc = RIG_OK;
  if (np > 0) {
    json_object_object_foreach(processes, key, process)
    {
      procs[p].id = rig__jaeger_arena_strdup(r->arena, key);
      procs[p].service = rig__jaeger_arena_strdup(
          r->arena, rig__jr_string_or_empty(rig__jr_member(process, "serviceName")));
      size_t saved = rig__jr_path_key(r, "processes");
      rig__jr_path_key(r, key);
      rig_attribute *tags;
      size_t count;
      if (rc == RIG_OK)
        rc = read_v1_tags(r, rig__jr_member(process, "tags"), "tags", &tags, &count);
      rig__jr_path_pop(r, saved);
      if (rc != RIG_OK)
        break;
      /* The resource of OTLP has service.name among its attributes; so does ours. */
      rig_attribute *attrs = rig__jaeger_arena_alloc(r->arena, (count + 1) * sizeof *attrs);
      attrs[0].key = "service.name";
      attrs[0].value.type = RIG_VALUE_STRING;
      attrs[0].value.string = procs[p].service;
      memcpy(attrs + 1, tags, count * sizeof *tags);
      procs[p].attrs = attrs;
      procs[p].count = count + 1;
      p++;
    }
  }
  if (rc != RIG_OK)
    return rc;
  json_object *spans = rig__jr_member(trace, "spans");
  rc = rig__jr_read_array_of(r, spans, "spans");
  size_t n = spans && rc == RIG_OK ? json_object_array_length(spans) : 0;
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    json_object *obj = json_object_array_get_idx(spans, i);
    size_t saved = rig__jr_path_key(r, "spans");
    rig__jr_path_index(r, i);
    rig_span *span = rig__span_pile_add(r->pile);
    int present;
    rc =
        rig__jr_read_id(r, rig__jr_member(obj, "traceID"), "traceID", span->trace_id, 16, &present);
    if (rc == RIG_OK && !present)
      rc = rig__jr_read_id(r, rig__jr_member(trace, "traceID"), "traceID", span->trace_id, 16,
                           &present);
    if (rc == RIG_OK && !present)
      rc = rig__jr_fail(r, "%s", "span without a traceID");
    if (rc == RIG_OK)
      rc = rig__jr_read_id(r, rig__jr_member(obj, "spanID"), "spanID", span->span_id, 8, &present);
    if (rc == RIG_OK && !present)
      rc = rig__jr_fail(r, "%s", "span without a spanID");
    /* The parent: the first CHILD_OF reference in this trace, else the first FOLLOWS_FROM,
     * else the parentSpanID field older servers send. */
    json_object *refs = rig__jr_member(obj, "references");
    size_t nrefs =
        refs && json_object_is_type(refs, json_type_array) ? json_object_array_length(refs) : 0;
    int have_parent = 0;
    for (int pass = 0; pass < 2 && rc == RIG_OK && !have_parent; pass++) {
      for (size_t k = 0; k < nrefs && rc == RIG_OK && !have_parent; k++) {
        json_object *ref = json_object_array_get_idx(refs, k);
        const char *type = rig__jr_string_or_empty(rig__jr_member(ref, "refType"));
        if (strcasecmp(type, pass == 0 ? "CHILD_OF" : "FOLLOWS_FROM") != 0)
          continue;
        uint8_t ref_trace[16];
        int ref_trace_present;
        size_t saved_ref = rig__jr_path_key(r, "references");
        rig__jr_path_index(r, k);
        rc = rig__jr_read_id(r, rig__jr_member(ref, "traceID"), "traceID", ref_trace, 16,
                             &ref_trace_present);
        if (rc == RIG_OK && (!ref_trace_present || memcmp(ref_trace, span->trace_id, 16) == 0))
          rc = rig__jr_read_id(r, rig__jr_member(ref, "spanID"), "spanID", span->parent_span_id, 8,
                               &have_parent);
        rig__jr_path_pop(r, saved_ref);
      }
    }
    if (rc == RIG_OK && !have_parent)
      rc = rig__jr_read_id(r, rig__jr_member(obj, "parentSpanID"), "parentSpanID",
                           span->parent_span_id, 8, &have_parent);
    int64_t start_us = 0, duration_us = 0;
    if (rc == RIG_OK)
      rc = rig__jr_read_int64(r, rig__jr_member(obj, "startTime"), "startTime", &start_us);
    if (rc == RIG_OK)
      rc = rig__jr_read_int64(r, rig__jr_member(obj, "duration"), "duration", &duration_us);
    span->start_unix_ns = start_us * 1000;
    span->duration_ns = duration_us * 1000;
    span->name = rig__jaeger_arena_strdup(
        r->arena, rig__jr_string_or_empty(rig__jr_member(obj, "operationName")));
    rig_attribute *tags = NULL;
    size_t tag_count = 0;
    if (rc == RIG_OK)
      rc = read_v1_tags(r, rig__jr_member(obj, "tags"), "tags", &tags, &tag_count);
    if (rc == RIG_OK) {
      lift_v1_tags(span, tags, &tag_count);
      span->attributes = tags;
      span->attribute_count = tag_count;
    }
    const char *process_id = rig__jr_string_or_empty(rig__jr_member(obj, "processID"));
    json_object *inline_process = rig__jr_member(obj, "process");
    for (size_t k = 0; k < p; k++) {
      if (strcmp(procs[k].id, process_id) == 0) {
        span->service = procs[k].service;
        span->resource_attributes = procs[k].attrs;
        span->resource_attribute_count = procs[k].count;
      }
    }
    if (inline_process && span->service[0] == '\0')
      span->service = rig__jaeger_arena_strdup(
          r->arena, rig__jr_string_or_empty(rig__jr_member(inline_process, "serviceName")));
    /* logs: an event's name is its "event" field, as OTLP-to-Jaeger translation puts it. */
    json_object *logs = rig__jr_member(obj, "logs");
    size_t nl = rc == RIG_OK && logs && json_object_is_type(logs, json_type_array)
                    ? json_object_array_length(logs)
                    : 0;
    rig_span_event *events = rig__jaeger_arena_alloc(r->arena, (nl ? nl : 1) * sizeof *events);
    for (size_t k = 0; k < nl && rc == RIG_OK; k++) {
      json_object *log = json_object_array_get_idx(logs, k);
      size_t saved_log = rig__jr_path_key(r, "logs");
      rig__jr_path_index(r, k);
      int64_t ts_us = 0;
      rc = rig__jr_read_int64(r, rig__jr_member(log, "timestamp"), "timestamp", &ts_us);
      rig_attribute *fields = NULL;
      size_t field_count = 0;
      if (rc == RIG_OK)
        rc = read_v1_tags(r, rig__jr_member(log, "fields"), "fields", &fields, &field_count);
      if (rc == RIG_OK) {
        const char *name = tag_string(fields, field_count, "event");
        events[k].name = name ? name : "log";
        if (name)
          drop_tag(fields, &field_count, "event");
        events[k].time_unix_ns = ts_us * 1000;
        events[k].attributes = fields;
        events[k].attribute_count = field_count;
      }
      rig__jr_path_pop(r, saved_log);
    }
    span->events = events;
    span->event_count = nl;
    rig__jr_path_pop(r, saved);
  }
  return rc;
}

int rig__jr_read_v1(rig__jreader *r, json_object *root)
{
  json_object *errors = rig__jr_member(root, "errors");
  json_object *data = rig__jr_member(root, "data");
  if (errors && json_object_is_type(errors, json_type_array) &&
      json_object_array_length(errors) > 0 &&
      (data == NULL || json_object_is_type(data, json_type_null))) {
    json_object *first = json_object_array_get_idx(errors, 0);
    int code = json_object_get_int(rig__jr_member(first, "code"));
    const char *msg = rig__jr_string_or_empty(rig__jr_member(first, "msg"));
    return rig_error_set(code == 404 ? RIG_ENOTFOUND : RIG_EHTTP, "jaeger: %s (code %d)",
                         msg[0] ? msg : "error", code);
  }
  if (data == NULL || json_object_is_type(data, json_type_null))
    return RIG_OK;
  size_t saved = rig__jr_path_key(r, "data");
  if (!json_object_is_type(data, json_type_array)) {
    int rc = rig__jr_fail(r, "%s", "expected an array of traces");
    rig__jr_path_pop(r, saved);
    return rc;
  }
  int rc = RIG_OK;
  size_t n = json_object_array_length(data);
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    size_t saved_index = rig__jr_path_index(r, i);
    json_object *trace = json_object_array_get_idx(data, i);
    if (!json_object_is_type(trace, json_type_object))
      rc = rig__jr_fail(r, "%s",
                        "expected a trace object (is this a services or operations answer?)");
    else
      rc = read_v1_trace(r, trace);
    rig__jr_path_pop(r, saved_index);
  }
  rig__jr_path_pop(r, saved);
  return rc;
}
