/*
 * jaeger_parse.c - reads what Jaeger answers into spans of the one trace model:
 *   - OTLP JSON (`{"resourceSpans": [...]}`), bare or wrapped by the v3 gateway as
 *     `{"result": {...}}`, one object or a stream of them;
 *   - the v1 API's own JSON (`{"data": [{"traceID", "spans", "processes"}]}`);
 *   - their error objects (`{"error": {"httpCode": 404, ...}}`, `{"errors": [...]}`).
 * Readers are lenient about what they do not use and precise about what they do: a bad
 * field is reported with its JSON path.
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

#include "jaeger_internal.h"
#include "stackrig/error.h"

typedef struct reader {
  rig__span_pile *pile;
  rig__jaeger_arena *arena;
  rig_buf path; /* JSON path of the element being read, for messages */
} reader;

static int fail(reader *r, const char *fmt, const char *arg)
{
  char *problem = rig__sprintf(fmt, arg);
  int rc = rig_error_set(RIG_EPARSE, "jaeger answer: %s: %s", r->path.len ? r->path.data : "$",
                         problem);
  free(problem);
  return rc;
}

/* Path bookkeeping: push a member or index, pop back to a saved length. */
static size_t path_key(reader *r, const char *key)
{
  size_t saved = r->path.len;
  rig__buf_printf(&r->path, "%s%s", r->path.len ? "." : "", key);
  return saved;
}

static size_t path_index(reader *r, size_t i)
{
  size_t saved = r->path.len;
  rig__buf_printf(&r->path, "[%zu]", i);
  return saved;
}

static void path_pop(reader *r, size_t saved)
{
  r->path.len = saved;
  if (r->path.data)
    r->path.data[saved] = '\0';
}

static json_object *member(json_object *obj, const char *key)
{
  json_object *value = NULL;
  if (obj && json_object_is_type(obj, json_type_object) &&
      json_object_object_get_ex(obj, key, &value))
    return value;
  return NULL;
}

/* The first of two spellings that is present (camelCase, snake_case). */
static json_object *member2(json_object *obj, const char *key, const char *alt)
{
  json_object *value = member(obj, key);
  return value ? value : member(obj, alt);
}

static const char *string_or_empty(json_object *value)
{
  return value && json_object_is_type(value, json_type_string) ? json_object_get_string(value)
                                                                : "";
}

/* proto3 JSON writes 64-bit integers as strings; some writers use numbers. */
static int read_int64(reader *r, json_object *value, const char *key, int64_t *out)
{
  if (value == NULL || json_object_is_type(value, json_type_null)) {
    *out = 0;
    return RIG_OK;
  }
  size_t saved = path_key(r, key);
  int rc = RIG_OK;
  if (json_object_is_type(value, json_type_int)) {
    *out = json_object_get_int64(value);
  } else if (json_object_is_type(value, json_type_double)) {
    *out = (int64_t)json_object_get_double(value);
  } else if (json_object_is_type(value, json_type_string)) {
    const char *s = json_object_get_string(value);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno == ERANGE) {
      /* Unsigned 64-bit values above INT64_MAX do not occur as times; reject them. */
      rc = fail(r, "expected a decimal integer, got \"%s\"", s);
    } else {
      *out = v;
    }
  } else {
    rc = fail(r, "expected an integer, got %s", json_object_to_json_string(value));
  }
  path_pop(r, saved);
  return rc;
}

static int hex_only(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
      return 0;
  }
  return 1;
}

/*
 * Ids arrive as hex (OTLP JSON, Jaeger v1; v1 may drop leading zeros) or as base64 (a
 * protobuf JSON writer that does not know OTLP's hex rule). Empty means "none".
 */
static int read_id(reader *r, json_object *value, const char *key, uint8_t *out, size_t size,
                   int *present)
{
  *present = 0;
  memset(out, 0, size);
  const char *s = string_or_empty(value);
  if (value && !json_object_is_type(value, json_type_string) &&
      !json_object_is_type(value, json_type_null)) {
    size_t saved = path_key(r, key);
    int rc = fail(r, "expected an id string, got %s", json_object_to_json_string(value));
    path_pop(r, saved);
    return rc;
  }
  size_t n = strlen(s);
  if (n == 0)
    return RIG_OK;
  if (n <= 2 * size && hex_only(s, n)) {
    if (size == 16)
      rig_trace_id_from_hex(out, s);
    else
      rig_span_id_from_hex(out, s);
  } else {
    uint8_t *bytes = NULL;
    size_t len = 0;
    int decoded = rig__base64_decode(&bytes, &len, s) == 0;
    if (!decoded || len != size) {
      free(bytes);
      size_t saved = path_key(r, key);
      int rc = fail(r, "expected a hex or base64 id, got \"%s\"", s);
      path_pop(r, saved);
      return rc;
    }
    memcpy(out, bytes, size);
    free(bytes);
  }
  for (size_t i = 0; i < size; i++)
    if (out[i])
      *present = 1;
  return RIG_OK;
}

/* ---- OTLP values ---- */

static int read_any_value(reader *r, json_object *obj, rig_value *out);

static int read_attributes(reader *r, json_object *array, const rig_attribute **out,
                           size_t *count)
{
  *out = NULL;
  *count = 0;
  if (array == NULL || json_object_is_type(array, json_type_null))
    return RIG_OK;
  if (!json_object_is_type(array, json_type_array))
    return fail(r, "%s", "expected an array of attributes");
  size_t n = json_object_array_length(array);
  rig_attribute *attrs = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *attrs);
  for (size_t i = 0; i < n; i++) {
    json_object *kv = json_object_array_get_idx(array, i);
    size_t saved = path_index(r, i);
    json_object *key = member(kv, "key");
    if (key == NULL || !json_object_is_type(key, json_type_string)) {
      int rc = fail(r, "%s", "attribute without a \"key\" string");
      path_pop(r, saved);
      return rc;
    }
    attrs[i].key = rig__jaeger_arena_strdup(r->arena, json_object_get_string(key));
    size_t saved_value = path_key(r, "value");
    int rc = read_any_value(r, member(kv, "value"), &attrs[i].value);
    path_pop(r, saved_value);
    path_pop(r, saved);
    if (rc != RIG_OK)
      return rc;
  }
  *out = attrs;
  *count = n;
  return RIG_OK;
}

static int read_double(reader *r, json_object *value, double *out)
{
  if (json_object_is_type(value, json_type_double) || json_object_is_type(value, json_type_int)) {
    *out = json_object_get_double(value);
    return RIG_OK;
  }
  const char *s = string_or_empty(value);
  if (strcmp(s, "NaN") == 0)
    *out = NAN;
  else if (strcmp(s, "Infinity") == 0)
    *out = INFINITY;
  else if (strcmp(s, "-Infinity") == 0)
    *out = -INFINITY;
  else
    return fail(r, "expected a number, got %s", json_object_to_json_string(value));
  return RIG_OK;
}

static int read_any_value(reader *r, json_object *obj, rig_value *out)
{
  memset(out, 0, sizeof *out);
  json_object *v;
  if (obj == NULL || json_object_is_type(obj, json_type_null))
    return RIG_OK;
  if (!json_object_is_type(obj, json_type_object))
    return fail(r, "expected an AnyValue object, got %s", json_object_to_json_string(obj));
  if ((v = member2(obj, "stringValue", "string_value")) != NULL) {
    out->type = RIG_VALUE_STRING;
    out->string = rig__jaeger_arena_strdup(r->arena, json_object_get_string(v));
  } else if ((v = member2(obj, "boolValue", "bool_value")) != NULL) {
    out->type = RIG_VALUE_BOOL;
    out->boolean = json_object_get_boolean(v) ? 1 : 0;
  } else if ((v = member2(obj, "intValue", "int_value")) != NULL) {
    out->type = RIG_VALUE_INT;
    return read_int64(r, v, "intValue", &out->integer);
  } else if ((v = member2(obj, "doubleValue", "double_value")) != NULL) {
    out->type = RIG_VALUE_DOUBLE;
    return read_double(r, v, &out->number);
  } else if ((v = member2(obj, "bytesValue", "bytes_value")) != NULL) {
    uint8_t *bytes;
    size_t len;
    if (rig__base64_decode(&bytes, &len, string_or_empty(v)) != 0)
      return fail(r, "bytesValue is not base64: %s", json_object_to_json_string(v));
    out->type = RIG_VALUE_BYTES;
    uint8_t *copy = rig__jaeger_arena_alloc(r->arena, len ? len : 1);
    memcpy(copy, bytes, len);
    free(bytes);
    out->bytes = copy;
    out->count = len;
  } else if ((v = member2(obj, "arrayValue", "array_value")) != NULL) {
    json_object *values = member(v, "values");
    size_t n = values && json_object_is_type(values, json_type_array)
                   ? json_object_array_length(values)
                   : 0;
    rig_value *items = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *items);
    for (size_t i = 0; i < n; i++) {
      size_t saved = path_index(r, i);
      int rc = read_any_value(r, json_object_array_get_idx(values, i), &items[i]);
      path_pop(r, saved);
      if (rc != RIG_OK)
        return rc;
    }
    out->type = RIG_VALUE_ARRAY;
    out->items = items;
    out->count = n;
  } else if ((v = member2(obj, "kvlistValue", "kvlist_value")) != NULL) {
    out->type = RIG_VALUE_KVLIST;
    return read_attributes(r, member(v, "values"), &out->attributes, &out->count);
  }
  return RIG_OK;
}

/* ---- OTLP traces ---- */

static int enum_value(json_object *value, const char *const *names, int count, int fallback)
{
  if (value == NULL)
    return fallback;
  if (json_object_is_type(value, json_type_int)) {
    int v = json_object_get_int(value);
    return v >= 0 && v < count ? v : fallback;
  }
  const char *s = string_or_empty(value);
  for (int i = 0; i < count; i++)
    if (strcasecmp(s, names[i]) == 0)
      return i;
  return fallback;
}

static const char *const kind_names[] = {"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL",
                                         "SPAN_KIND_SERVER",      "SPAN_KIND_CLIENT",
                                         "SPAN_KIND_PRODUCER",    "SPAN_KIND_CONSUMER"};
static const char *const status_names[] = {"STATUS_CODE_UNSET", "STATUS_CODE_OK",
                                           "STATUS_CODE_ERROR"};

static int read_otlp_span(reader *r, json_object *obj, const rig_attribute *resource_attrs,
                          size_t resource_attr_count, const char *service, const char *scope_name,
                          const char *scope_version)
{
  rig_span *span = rig__span_pile_add(r->pile);
  int present;
  int rc = read_id(r, member2(obj, "traceId", "trace_id"), "traceId", span->trace_id, 16, &present);
  if (rc == RIG_OK && !present)
    return fail(r, "%s", "span without a traceId");
  if (rc == RIG_OK)
    rc = read_id(r, member2(obj, "spanId", "span_id"), "spanId", span->span_id, 8, &present);
  if (rc == RIG_OK && !present)
    return fail(r, "%s", "span without a spanId");
  if (rc == RIG_OK)
    rc = read_id(r, member2(obj, "parentSpanId", "parent_span_id"), "parentSpanId",
                 span->parent_span_id, 8, &present);
  int64_t start = 0, end = 0;
  if (rc == RIG_OK)
    rc = read_int64(r, member2(obj, "startTimeUnixNano", "start_time_unix_nano"),
                    "startTimeUnixNano", &start);
  if (rc == RIG_OK)
    rc = read_int64(r, member2(obj, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano",
                    &end);
  if (rc != RIG_OK)
    return rc;
  span->start_unix_ns = start;
  span->duration_ns = end > start ? end - start : 0;
  span->name = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(obj, "name")));
  span->kind = (rig_span_kind)enum_value(member(obj, "kind"), kind_names, 6, 0);
  json_object *status = member(obj, "status");
  span->status = (rig_status_code)enum_value(member(status, "code"), status_names, 3, 0);
  span->status_message = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(status, "message")));
  span->service = service;
  span->scope_name = scope_name;
  span->scope_version = scope_version;
  span->resource_attributes = resource_attrs;
  span->resource_attribute_count = resource_attr_count;
  size_t saved = path_key(r, "attributes");
  rc = read_attributes(r, member(obj, "attributes"), &span->attributes, &span->attribute_count);
  path_pop(r, saved);
  if (rc != RIG_OK)
    return rc;
  json_object *events = member(obj, "events");
  size_t n = events && json_object_is_type(events, json_type_array)
                 ? json_object_array_length(events)
                 : 0;
  rig_span_event *list = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *list);
  saved = path_key(r, "events");
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    json_object *event = json_object_array_get_idx(events, i);
    size_t saved_index = path_index(r, i);
    list[i].name = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(event, "name")));
    rc = read_int64(r, member2(event, "timeUnixNano", "time_unix_nano"), "timeUnixNano",
                    &list[i].time_unix_ns);
    if (rc == RIG_OK) {
      size_t saved_attrs = path_key(r, "attributes");
      rc = read_attributes(r, member(event, "attributes"), &list[i].attributes,
                           &list[i].attribute_count);
      path_pop(r, saved_attrs);
    }
    path_pop(r, saved_index);
  }
  path_pop(r, saved);
  span->events = list;
  span->event_count = n;
  return rc;
}

static int read_array_of(reader *r, json_object *array, const char *key)
{
  if (array != NULL && !json_object_is_type(array, json_type_array) &&
      !json_object_is_type(array, json_type_null)) {
    size_t saved = path_key(r, key);
    int rc = fail(r, "%s", "expected an array");
    path_pop(r, saved);
    return rc;
  }
  return RIG_OK;
}

static int read_otlp(reader *r, json_object *traces_data)
{
  json_object *resource_spans = member2(traces_data, "resourceSpans", "resource_spans");
  int rc = read_array_of(r, resource_spans, "resourceSpans");
  size_t nr = resource_spans && rc == RIG_OK ? json_object_array_length(resource_spans) : 0;
  for (size_t i = 0; i < nr && rc == RIG_OK; i++) {
    json_object *rs = json_object_array_get_idx(resource_spans, i);
    size_t saved_rs = path_key(r, "resourceSpans");
    path_index(r, i);
    const rig_attribute *resource_attrs;
    size_t resource_attr_count;
    size_t saved = path_key(r, "resource.attributes");
    rc = read_attributes(r, member(member(rs, "resource"), "attributes"), &resource_attrs,
                         &resource_attr_count);
    path_pop(r, saved);
    const char *service = "";
    for (size_t a = 0; a < resource_attr_count; a++)
      if (strcmp(resource_attrs[a].key, "service.name") == 0 &&
          resource_attrs[a].value.type == RIG_VALUE_STRING)
        service = resource_attrs[a].value.string;
    /* instrumentationLibrarySpans: the name before OTLP 0.15, still sent by old servers. */
    const char *scopes_key = "scopeSpans";
    json_object *scopes = member2(rs, "scopeSpans", "scope_spans");
    if (scopes == NULL) {
      scopes_key = "instrumentationLibrarySpans";
      scopes = member2(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
    }
    if (rc == RIG_OK)
      rc = read_array_of(r, scopes, scopes_key);
    size_t ns = scopes && rc == RIG_OK ? json_object_array_length(scopes) : 0;
    for (size_t s = 0; s < ns && rc == RIG_OK; s++) {
      json_object *ss = json_object_array_get_idx(scopes, s);
      size_t saved_ss = path_key(r, scopes_key);
      path_index(r, s);
      json_object *scope = member(ss, "scope");
      if (scope == NULL)
        scope = member2(ss, "instrumentationLibrary", "instrumentation_library");
      const char *scope_name = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(scope, "name")));
      const char *scope_version =
          rig__jaeger_arena_strdup(r->arena, string_or_empty(member(scope, "version")));
      json_object *spans = member(ss, "spans");
      rc = read_array_of(r, spans, "spans");
      size_t n = spans && rc == RIG_OK ? json_object_array_length(spans) : 0;
      for (size_t k = 0; k < n && rc == RIG_OK; k++) {
        size_t saved_span = path_key(r, "spans");
        path_index(r, k);
        rc = read_otlp_span(r, json_object_array_get_idx(spans, k), resource_attrs,
                            resource_attr_count, service, scope_name, scope_version);
        path_pop(r, saved_span);
      }
      path_pop(r, saved_ss);
    }
    path_pop(r, saved_rs);
  }
  return rc;
}

/* ---- Jaeger v1 ---- */

/*
 * The v1 API flattens an array attribute into its JSON text ("[\"a\",\"b\"]"). A string
 * tag that is a JSON array of scalars becomes an array again, so that `contains` and the
 * model agree across API flavours.
 */
static int array_from_text(reader *r, const char *text, rig_value *out)
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
static int read_v1_tag(reader *r, json_object *tag, rig_attribute *out)
{
  out->key = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(tag, "key")));
  const char *type = string_or_empty(member(tag, "type"));
  json_object *value = member(tag, "value");
  memset(&out->value, 0, sizeof out->value);
  if (strcasecmp(type, "bool") == 0) {
    out->value.type = RIG_VALUE_BOOL;
    out->value.boolean = json_object_get_boolean(value) ? 1 : 0;
  } else if (strcasecmp(type, "int64") == 0) {
    out->value.type = RIG_VALUE_INT;
    return read_int64(r, value, "value", &out->value.integer);
  } else if (strcasecmp(type, "float64") == 0) {
    out->value.type = RIG_VALUE_DOUBLE;
    return read_double(r, value, &out->value.number);
  } else if (strcasecmp(type, "binary") == 0) {
    uint8_t *bytes;
    size_t len;
    if (rig__base64_decode(&bytes, &len, string_or_empty(value)) == 0) {
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

static int read_v1_tags(reader *r, json_object *array, const char *key, rig_attribute **out,
                        size_t *count)
{
  *out = NULL;
  *count = 0;
  int rc = read_array_of(r, array, key);
  size_t n = array && rc == RIG_OK ? json_object_array_length(array) : 0;
  rig_attribute *attrs = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *attrs);
  size_t saved = path_key(r, key);
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    size_t saved_index = path_index(r, i);
    rc = read_v1_tag(r, json_object_array_get_idx(array, i), &attrs[i]);
    path_pop(r, saved_index);
  }
  path_pop(r, saved);
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
  static const char *const lifted[] = {"span.kind",          "otel.status_code",
                                       "otel.status_description", "otel.scope.name",
                                       "otel.scope.version", "otel.library.name",
                                       "otel.library.version"};
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

static int read_v1_trace(reader *r, json_object *trace)
{
  json_object *processes = member(trace, "processes");
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
      procs[p].service = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(process, "serviceName")));
      size_t saved = path_key(r, "processes");
      path_key(r, key);
      rig_attribute *tags;
      size_t count;
      if (rc == RIG_OK)
        rc = read_v1_tags(r, member(process, "tags"), "tags", &tags, &count);
      path_pop(r, saved);
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
  json_object *spans = member(trace, "spans");
  rc = read_array_of(r, spans, "spans");
  size_t n = spans && rc == RIG_OK ? json_object_array_length(spans) : 0;
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    json_object *obj = json_object_array_get_idx(spans, i);
    size_t saved = path_key(r, "spans");
    path_index(r, i);
    rig_span *span = rig__span_pile_add(r->pile);
    int present;
    rc = read_id(r, member(obj, "traceID"), "traceID", span->trace_id, 16, &present);
    if (rc == RIG_OK && !present)
      rc = read_id(r, member(trace, "traceID"), "traceID", span->trace_id, 16, &present);
    if (rc == RIG_OK && !present)
      rc = fail(r, "%s", "span without a traceID");
    if (rc == RIG_OK)
      rc = read_id(r, member(obj, "spanID"), "spanID", span->span_id, 8, &present);
    if (rc == RIG_OK && !present)
      rc = fail(r, "%s", "span without a spanID");
    /* The parent: the first CHILD_OF reference in this trace, else the first FOLLOWS_FROM,
     * else the parentSpanID field older servers send. */
    json_object *refs = member(obj, "references");
    size_t nrefs =
        refs && json_object_is_type(refs, json_type_array) ? json_object_array_length(refs) : 0;
    int have_parent = 0;
    for (int pass = 0; pass < 2 && rc == RIG_OK && !have_parent; pass++) {
      for (size_t k = 0; k < nrefs && rc == RIG_OK && !have_parent; k++) {
        json_object *ref = json_object_array_get_idx(refs, k);
        const char *type = string_or_empty(member(ref, "refType"));
        if (strcasecmp(type, pass == 0 ? "CHILD_OF" : "FOLLOWS_FROM") != 0)
          continue;
        uint8_t ref_trace[16];
        int ref_trace_present;
        size_t saved_ref = path_key(r, "references");
        path_index(r, k);
        rc = read_id(r, member(ref, "traceID"), "traceID", ref_trace, 16, &ref_trace_present);
        if (rc == RIG_OK && (!ref_trace_present || memcmp(ref_trace, span->trace_id, 16) == 0))
          rc = read_id(r, member(ref, "spanID"), "spanID", span->parent_span_id, 8, &have_parent);
        path_pop(r, saved_ref);
      }
    }
    if (rc == RIG_OK && !have_parent)
      rc = read_id(r, member(obj, "parentSpanID"), "parentSpanID", span->parent_span_id, 8,
                   &have_parent);
    int64_t start_us = 0, duration_us = 0;
    if (rc == RIG_OK)
      rc = read_int64(r, member(obj, "startTime"), "startTime", &start_us);
    if (rc == RIG_OK)
      rc = read_int64(r, member(obj, "duration"), "duration", &duration_us);
    span->start_unix_ns = start_us * 1000;
    span->duration_ns = duration_us * 1000;
    span->name = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(obj, "operationName")));
    rig_attribute *tags = NULL;
    size_t tag_count = 0;
    if (rc == RIG_OK)
      rc = read_v1_tags(r, member(obj, "tags"), "tags", &tags, &tag_count);
    if (rc == RIG_OK) {
      lift_v1_tags(span, tags, &tag_count);
      span->attributes = tags;
      span->attribute_count = tag_count;
    }
    const char *process_id = string_or_empty(member(obj, "processID"));
    json_object *inline_process = member(obj, "process");
    for (size_t k = 0; k < p; k++) {
      if (strcmp(procs[k].id, process_id) == 0) {
        span->service = procs[k].service;
        span->resource_attributes = procs[k].attrs;
        span->resource_attribute_count = procs[k].count;
      }
    }
    if (inline_process && span->service[0] == '\0')
      span->service = rig__jaeger_arena_strdup(r->arena, string_or_empty(member(inline_process, "serviceName")));
    /* logs: an event's name is its "event" field, as OTLP-to-Jaeger translation puts it. */
    json_object *logs = member(obj, "logs");
    size_t nl = rc == RIG_OK && logs && json_object_is_type(logs, json_type_array)
                    ? json_object_array_length(logs)
                    : 0;
    rig_span_event *events = rig__jaeger_arena_alloc(r->arena, (nl ? nl : 1) * sizeof *events);
    for (size_t k = 0; k < nl && rc == RIG_OK; k++) {
      json_object *log = json_object_array_get_idx(logs, k);
      size_t saved_log = path_key(r, "logs");
      path_index(r, k);
      int64_t ts_us = 0;
      rc = read_int64(r, member(log, "timestamp"), "timestamp", &ts_us);
      rig_attribute *fields = NULL;
      size_t field_count = 0;
      if (rc == RIG_OK)
        rc = read_v1_tags(r, member(log, "fields"), "fields", &fields, &field_count);
      if (rc == RIG_OK) {
        const char *name = tag_string(fields, field_count, "event");
        events[k].name = name ? name : "log";
        if (name)
          drop_tag(fields, &field_count, "event");
        events[k].time_unix_ns = ts_us * 1000;
        events[k].attributes = fields;
        events[k].attribute_count = field_count;
      }
      path_pop(r, saved_log);
    }
    span->events = events;
    span->event_count = nl;
    path_pop(r, saved);
  }
  return rc;
}

static int read_v1(reader *r, json_object *root)
{
  json_object *errors = member(root, "errors");
  json_object *data = member(root, "data");
  if (errors && json_object_is_type(errors, json_type_array) &&
      json_object_array_length(errors) > 0 &&
      (data == NULL || json_object_is_type(data, json_type_null))) {
    json_object *first = json_object_array_get_idx(errors, 0);
    int code = json_object_get_int(member(first, "code"));
    const char *msg = string_or_empty(member(first, "msg"));
    return rig_error_set(code == 404 ? RIG_ENOTFOUND : RIG_EHTTP, "jaeger: %s (code %d)",
                         msg[0] ? msg : "error", code);
  }
  if (data == NULL || json_object_is_type(data, json_type_null))
    return RIG_OK;
  size_t saved = path_key(r, "data");
  if (!json_object_is_type(data, json_type_array)) {
    int rc = fail(r, "%s", "expected an array of traces");
    path_pop(r, saved);
    return rc;
  }
  int rc = RIG_OK;
  size_t n = json_object_array_length(data);
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    size_t saved_index = path_index(r, i);
    json_object *trace = json_object_array_get_idx(data, i);
    if (!json_object_is_type(trace, json_type_object))
      rc = fail(r, "%s", "expected a trace object (is this a services or operations answer?)");
    else
      rc = read_v1_trace(r, trace);
    path_pop(r, saved_index);
  }
  path_pop(r, saved);
  return rc;
}

/* ---- dispatch ---- */

static int read_document(reader *r, json_object *root)
{
  if (!json_object_is_type(root, json_type_object))
    return fail(r, "expected a JSON object, got %s", json_type_to_name(json_object_get_type(root)));
  json_object *error = member(root, "error");
  if (error && json_object_is_type(error, json_type_object)) {
    int code = json_object_get_int(member2(error, "httpCode", "http_code"));
    if (code == 0)
      code = json_object_get_int(member(error, "code"));
    const char *message = string_or_empty(member(error, "message"));
    return rig_error_set(code == 404 || code == 5 /* gRPC NOT_FOUND */ ? RIG_ENOTFOUND : RIG_EHTTP,
                         "jaeger: %s (code %d)", message[0] ? message : "error", code);
  }
  json_object *result = member(root, "result");
  if (result) {
    size_t saved = path_key(r, "result");
    int rc = json_object_is_type(result, json_type_object) ? read_otlp(r, result)
                                                             : fail(r, "%s", "expected an object");
    path_pop(r, saved);
    return rc;
  }
  if (member2(root, "resourceSpans", "resource_spans"))
    return read_otlp(r, root);
  if (member(root, "data") || member(root, "errors"))
    return read_v1(r, root);
  /* An empty TracesData ({}) is a valid "nothing". */
  if (json_object_object_length(root) == 0)
    return RIG_OK;
  return fail(r, "%s", "neither OTLP JSON (resourceSpans, result) nor Jaeger v1 JSON (data)");
}

int rig__jaeger_parse_into(rig__span_pile *pile, const char *json, size_t len)
{
  reader r = {pile, pile->arena, RIG_BUF_INIT};
  json_tokener *tok = json_tokener_new_ex(128);
  size_t pos = 0, documents = 0;
  int rc = RIG_OK;
  /* A body may hold several JSON objects one after another (a streamed answer). */
  while (rc == RIG_OK) {
    while (pos < len && (json[pos] == ' ' || json[pos] == '\n' || json[pos] == '\r' ||
                         json[pos] == '\t'))
      pos++;
    if (pos >= len)
      break;
    json_tokener_reset(tok);
    json_object *root = json_tokener_parse_ex(tok, json + pos, (int)(len - pos));
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    if (root == NULL) {
      rc = rig_error_set(RIG_EPARSE, "jaeger answer: invalid JSON at byte %zu: %s",
                         pos + json_tokener_get_parse_end(tok),
                         jerr == json_tokener_continue ? "unexpected end"
                                                       : json_tokener_error_desc(jerr));
      break;
    }
    pos += json_tokener_get_parse_end(tok);
    if (documents > 0)
      rig__buf_printf(&r.path, "<document %zu>", documents + 1);
    rc = read_document(&r, root);
    path_pop(&r, 0);
    json_object_put(root);
    documents++;
  }
  if (rc == RIG_OK && documents == 0)
    rc = rig_error_set(RIG_EPARSE, "jaeger answer: empty body");
  json_tokener_free(tok);
  rig__buf_dispose(&r.path);
  return rc;
}
