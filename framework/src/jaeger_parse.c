/*
 * jaeger_parse.c - reads what Jaeger answers into spans of the one trace model:
 *   - OTLP JSON (`{"resourceSpans": [...]}`), bare or wrapped by the v3 gateway as
 *     `{"result": {...}}`, one object or a stream of them;
 *   - the v1 API's own JSON (`{"data": [...]}`), read by jaeger_parse_v1.c;
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

#include "base64.h"
#include "jaeger_reader.h"
#include "stackrig/error.h"

int rig__jr_fail(rig__jreader *r, const char *fmt, const char *arg)
{
  char *problem = rig__sprintf(fmt, arg);
  int rc =
      rig_error_set(RIG_EPARSE, "jaeger answer: %s: %s", r->path.len ? r->path.data : "$", problem);
  free(problem);
  return rc;
}

/* Path bookkeeping: push a member or index, pop back to a saved length. */
size_t rig__jr_path_key(rig__jreader *r, const char *key)
{
  size_t saved = r->path.len;
  rig__buf_printf(&r->path, "%s%s", r->path.len ? "." : "", key);
  return saved;
}

size_t rig__jr_path_index(rig__jreader *r, size_t i)
{
  size_t saved = r->path.len;
  rig__buf_printf(&r->path, "[%zu]", i);
  return saved;
}

void rig__jr_path_pop(rig__jreader *r, size_t saved)
{
  r->path.len = saved;
  if (r->path.data)
    r->path.data[saved] = '\0';
}

json_object *rig__jr_member(json_object *obj, const char *key)
{
  json_object *value = NULL;
  if (obj && json_object_is_type(obj, json_type_object) &&
      json_object_object_get_ex(obj, key, &value))
    return value;
  return NULL;
}

/* The first of two spellings that is present (camelCase, snake_case). */
json_object *rig__jr_member2(json_object *obj, const char *key, const char *alt)
{
  json_object *value = rig__jr_member(obj, key);
  return value ? value : rig__jr_member(obj, alt);
}

const char *rig__jr_string_or_empty(json_object *value)
{
  return value && json_object_is_type(value, json_type_string) ? json_object_get_string(value) : "";
}

/* proto3 JSON writes 64-bit integers as strings; some writers use numbers. */
int rig__jr_read_int64(rig__jreader *r, json_object *value, const char *key, int64_t *out)
{
  if (value == NULL || json_object_is_type(value, json_type_null)) {
    *out = 0;
    return RIG_OK;
  }
  size_t saved = rig__jr_path_key(r, key);
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
      rc = rig__jr_fail(r, "expected a decimal integer, got \"%s\"", s);
    } else {
      *out = v;
    }
  } else {
    rc = rig__jr_fail(r, "expected an integer, got %s", json_object_to_json_string(value));
  }
  rig__jr_path_pop(r, saved);
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
int rig__jr_read_id(rig__jreader *r, json_object *value, const char *key, uint8_t *out, size_t size,
                    int *present)
{
  *present = 0;
  memset(out, 0, size);
  const char *s = rig__jr_string_or_empty(value);
  if (value && !json_object_is_type(value, json_type_string) &&
      !json_object_is_type(value, json_type_null)) {
    size_t saved = rig__jr_path_key(r, key);
    int rc = rig__jr_fail(r, "expected an id string, got %s", json_object_to_json_string(value));
    rig__jr_path_pop(r, saved);
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
    int decoded = rig__base64_decode(&bytes, &len, s, strlen(s), RIG_BASE64_EITHER) == 0;
    if (!decoded || len != size) {
      free(bytes);
      size_t saved = rig__jr_path_key(r, key);
      int rc = rig__jr_fail(r, "expected a hex or base64 id, got \"%s\"", s);
      rig__jr_path_pop(r, saved);
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

int rig__jr_read_double(rig__jreader *r, json_object *value, double *out)
{
  if (json_object_is_type(value, json_type_double) || json_object_is_type(value, json_type_int)) {
    *out = json_object_get_double(value);
    return RIG_OK;
  }
  const char *s = rig__jr_string_or_empty(value);
  if (strcmp(s, "NaN") == 0)
    *out = NAN;
  else if (strcmp(s, "Infinity") == 0)
    *out = INFINITY;
  else if (strcmp(s, "-Infinity") == 0)
    *out = -INFINITY;
  else
    return rig__jr_fail(r, "expected a number, got %s", json_object_to_json_string(value));
  return RIG_OK;
}

int rig__jr_read_array_of(rig__jreader *r, json_object *array, const char *key)
{
  if (array != NULL && !json_object_is_type(array, json_type_array) &&
      !json_object_is_type(array, json_type_null)) {
    size_t saved = rig__jr_path_key(r, key);
    int rc = rig__jr_fail(r, "%s", "expected an array");
    rig__jr_path_pop(r, saved);
    return rc;
  }
  return RIG_OK;
}

/* ---- OTLP values ---- */

static int read_any_value(rig__jreader *r, json_object *obj, rig_value *out);

static int read_attributes(rig__jreader *r, json_object *array, const rig_attribute **out,
                           size_t *count)
{
  *out = NULL;
  *count = 0;
  if (array == NULL || json_object_is_type(array, json_type_null))
    return RIG_OK;
  if (!json_object_is_type(array, json_type_array))
    return rig__jr_fail(r, "%s", "expected an array of attributes");
  size_t n = json_object_array_length(array);
  rig_attribute *attrs = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *attrs);
  for (size_t i = 0; i < n; i++) {
    json_object *kv = json_object_array_get_idx(array, i);
    size_t saved = rig__jr_path_index(r, i);
    json_object *key = rig__jr_member(kv, "key");
    if (key == NULL || !json_object_is_type(key, json_type_string)) {
      int rc = rig__jr_fail(r, "%s", "attribute without a \"key\" string");
      rig__jr_path_pop(r, saved);
      return rc;
    }
    attrs[i].key = rig__jaeger_arena_strdup(r->arena, json_object_get_string(key));
    size_t saved_value = rig__jr_path_key(r, "value");
    int rc = read_any_value(r, rig__jr_member(kv, "value"), &attrs[i].value);
    rig__jr_path_pop(r, saved_value);
    rig__jr_path_pop(r, saved);
    if (rc != RIG_OK)
      return rc;
  }
  *out = attrs;
  *count = n;
  return RIG_OK;
}

static int read_any_value(rig__jreader *r, json_object *obj, rig_value *out)
{
  memset(out, 0, sizeof *out);
  json_object *v;
  if (obj == NULL || json_object_is_type(obj, json_type_null))
    return RIG_OK;
  if (!json_object_is_type(obj, json_type_object))
    return rig__jr_fail(r, "expected an AnyValue object, got %s", json_object_to_json_string(obj));
  if ((v = rig__jr_member2(obj, "stringValue", "string_value")) != NULL) {
    out->type = RIG_VALUE_STRING;
    out->string = rig__jaeger_arena_strdup(r->arena, json_object_get_string(v));
  } else if ((v = rig__jr_member2(obj, "boolValue", "bool_value")) != NULL) {
    out->type = RIG_VALUE_BOOL;
    out->boolean = json_object_get_boolean(v) ? 1 : 0;
  } else if ((v = rig__jr_member2(obj, "intValue", "int_value")) != NULL) {
    out->type = RIG_VALUE_INT;
    return rig__jr_read_int64(r, v, "intValue", &out->integer);
  } else if ((v = rig__jr_member2(obj, "doubleValue", "double_value")) != NULL) {
    out->type = RIG_VALUE_DOUBLE;
    return rig__jr_read_double(r, v, &out->number);
  } else if ((v = rig__jr_member2(obj, "bytesValue", "bytes_value")) != NULL) {
    const char *text = rig__jr_string_or_empty(v);
    uint8_t *bytes;
    size_t len;
    if (rig__base64_decode(&bytes, &len, text, strlen(text), RIG_BASE64_EITHER) != 0)
      return rig__jr_fail(r, "bytesValue is not base64: %s", json_object_to_json_string(v));
    out->type = RIG_VALUE_BYTES;
    uint8_t *copy = rig__jaeger_arena_alloc(r->arena, len ? len : 1);
    memcpy(copy, bytes, len);
    free(bytes);
    out->bytes = copy;
    out->count = len;
  } else if ((v = rig__jr_member2(obj, "arrayValue", "array_value")) != NULL) {
    json_object *values = rig__jr_member(v, "values");
    size_t n = values && json_object_is_type(values, json_type_array)
                   ? json_object_array_length(values)
                   : 0;
    rig_value *items = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *items);
    for (size_t i = 0; i < n; i++) {
      size_t saved = rig__jr_path_index(r, i);
      int rc = read_any_value(r, json_object_array_get_idx(values, i), &items[i]);
      rig__jr_path_pop(r, saved);
      if (rc != RIG_OK)
        return rc;
    }
    out->type = RIG_VALUE_ARRAY;
    out->items = items;
    out->count = n;
  } else if ((v = rig__jr_member2(obj, "kvlistValue", "kvlist_value")) != NULL) {
    out->type = RIG_VALUE_KVLIST;
    return read_attributes(r, rig__jr_member(v, "values"), &out->attributes, &out->count);
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
  const char *s = rig__jr_string_or_empty(value);
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

static int read_otlp_span(rig__jreader *r, json_object *obj, const rig_attribute *resource_attrs,
                          size_t resource_attr_count, const char *service, const char *scope_name,
                          const char *scope_version)
{
  rig_span *span = rig__span_pile_add(r->pile);
  int present;
  int rc = rig__jr_read_id(r, rig__jr_member2(obj, "traceId", "trace_id"), "traceId",
                           span->trace_id, 16, &present);
  if (rc == RIG_OK && !present)
    return rig__jr_fail(r, "%s", "span without a traceId");
  if (rc == RIG_OK)
    rc = rig__jr_read_id(r, rig__jr_member2(obj, "spanId", "span_id"), "spanId", span->span_id, 8,
                         &present);
  if (rc == RIG_OK && !present)
    return rig__jr_fail(r, "%s", "span without a spanId");
  if (rc == RIG_OK)
    rc = rig__jr_read_id(r, rig__jr_member2(obj, "parentSpanId", "parent_span_id"), "parentSpanId",
                         span->parent_span_id, 8, &present);
  int64_t start = 0, end = 0;
  if (rc == RIG_OK)
    rc = rig__jr_read_int64(r, rig__jr_member2(obj, "startTimeUnixNano", "start_time_unix_nano"),
                            "startTimeUnixNano", &start);
  if (rc == RIG_OK)
    rc = rig__jr_read_int64(r, rig__jr_member2(obj, "endTimeUnixNano", "end_time_unix_nano"),
                            "endTimeUnixNano", &end);
  if (rc != RIG_OK)
    return rc;
  span->start_unix_ns = start;
  span->duration_ns = end > start ? end - start : 0;
  span->name =
      rig__jaeger_arena_strdup(r->arena, rig__jr_string_or_empty(rig__jr_member(obj, "name")));
  span->kind = (rig_span_kind)enum_value(rig__jr_member(obj, "kind"), kind_names, 6, 0);
  json_object *status = rig__jr_member(obj, "status");
  span->status = (rig_status_code)enum_value(rig__jr_member(status, "code"), status_names, 3, 0);
  span->status_message = rig__jaeger_arena_strdup(
      r->arena, rig__jr_string_or_empty(rig__jr_member(status, "message")));
  span->service = service;
  span->scope_name = scope_name;
  span->scope_version = scope_version;
  span->resource_attributes = resource_attrs;
  span->resource_attribute_count = resource_attr_count;
  size_t saved = rig__jr_path_key(r, "attributes");
  rc = read_attributes(r, rig__jr_member(obj, "attributes"), &span->attributes,
                       &span->attribute_count);
  rig__jr_path_pop(r, saved);
  if (rc != RIG_OK)
    return rc;
  json_object *events = rig__jr_member(obj, "events");
  size_t n =
      events && json_object_is_type(events, json_type_array) ? json_object_array_length(events) : 0;
  rig_span_event *list = rig__jaeger_arena_alloc(r->arena, (n ? n : 1) * sizeof *list);
  saved = rig__jr_path_key(r, "events");
  for (size_t i = 0; i < n && rc == RIG_OK; i++) {
    json_object *event = json_object_array_get_idx(events, i);
    size_t saved_index = rig__jr_path_index(r, i);
    list[i].name =
        rig__jaeger_arena_strdup(r->arena, rig__jr_string_or_empty(rig__jr_member(event, "name")));
    rc = rig__jr_read_int64(r, rig__jr_member2(event, "timeUnixNano", "time_unix_nano"),
                            "timeUnixNano", &list[i].time_unix_ns);
    if (rc == RIG_OK) {
      size_t saved_attrs = rig__jr_path_key(r, "attributes");
      rc = read_attributes(r, rig__jr_member(event, "attributes"), &list[i].attributes,
                           &list[i].attribute_count);
      rig__jr_path_pop(r, saved_attrs);
    }
    rig__jr_path_pop(r, saved_index);
  }
  rig__jr_path_pop(r, saved);
  span->events = list;
  span->event_count = n;
  return rc;
}

static int read_otlp(rig__jreader *r, json_object *traces_data)
{
  json_object *resource_spans = rig__jr_member2(traces_data, "resourceSpans", "resource_spans");
  int rc = rig__jr_read_array_of(r, resource_spans, "resourceSpans");
  size_t nr = resource_spans && rc == RIG_OK ? json_object_array_length(resource_spans) : 0;
  for (size_t i = 0; i < nr && rc == RIG_OK; i++) {
    json_object *rs = json_object_array_get_idx(resource_spans, i);
    size_t saved_rs = rig__jr_path_key(r, "resourceSpans");
    rig__jr_path_index(r, i);
    const rig_attribute *resource_attrs;
    size_t resource_attr_count;
    size_t saved = rig__jr_path_key(r, "resource.attributes");
    rc = read_attributes(r, rig__jr_member(rig__jr_member(rs, "resource"), "attributes"),
                         &resource_attrs, &resource_attr_count);
    rig__jr_path_pop(r, saved);
    const char *service = "";
    for (size_t a = 0; a < resource_attr_count; a++)
      if (strcmp(resource_attrs[a].key, "service.name") == 0 &&
          resource_attrs[a].value.type == RIG_VALUE_STRING)
        service = resource_attrs[a].value.string;
    /* instrumentationLibrarySpans: the name before OTLP 0.15, still sent by old servers. */
    const char *scopes_key = "scopeSpans";
    json_object *scopes = rig__jr_member2(rs, "scopeSpans", "scope_spans");
    if (scopes == NULL) {
      scopes_key = "instrumentationLibrarySpans";
      scopes = rig__jr_member2(rs, "instrumentationLibrarySpans", "instrumentation_library_spans");
    }
    if (rc == RIG_OK)
      rc = rig__jr_read_array_of(r, scopes, scopes_key);
    size_t ns = scopes && rc == RIG_OK ? json_object_array_length(scopes) : 0;
    for (size_t s = 0; s < ns && rc == RIG_OK; s++) {
      json_object *ss = json_object_array_get_idx(scopes, s);
      size_t saved_ss = rig__jr_path_key(r, scopes_key);
      rig__jr_path_index(r, s);
      json_object *scope = rig__jr_member(ss, "scope");
      if (scope == NULL)
        scope = rig__jr_member2(ss, "instrumentationLibrary", "instrumentation_library");
      const char *scope_name = rig__jaeger_arena_strdup(
          r->arena, rig__jr_string_or_empty(rig__jr_member(scope, "name")));
      const char *scope_version = rig__jaeger_arena_strdup(
          r->arena, rig__jr_string_or_empty(rig__jr_member(scope, "version")));
      json_object *spans = rig__jr_member(ss, "spans");
      rc = rig__jr_read_array_of(r, spans, "spans");
      size_t n = spans && rc == RIG_OK ? json_object_array_length(spans) : 0;
      for (size_t k = 0; k < n && rc == RIG_OK; k++) {
        size_t saved_span = rig__jr_path_key(r, "spans");
        rig__jr_path_index(r, k);
        rc = read_otlp_span(r, json_object_array_get_idx(spans, k), resource_attrs,
                            resource_attr_count, service, scope_name, scope_version);
        rig__jr_path_pop(r, saved_span);
      }
      rig__jr_path_pop(r, saved_ss);
    }
    rig__jr_path_pop(r, saved_rs);
  }
  return rc;
}

/* ---- dispatch ---- */

static int read_document(rig__jreader *r, json_object *root)
{
  if (!json_object_is_type(root, json_type_object))
    return rig__jr_fail(r, "expected a JSON object, got %s",
                        json_type_to_name(json_object_get_type(root)));
  json_object *error = rig__jr_member(root, "error");
  if (error && json_object_is_type(error, json_type_object)) {
    int code = json_object_get_int(rig__jr_member2(error, "httpCode", "http_code"));
    if (code == 0)
      code = json_object_get_int(rig__jr_member(error, "code"));
    const char *message = rig__jr_string_or_empty(rig__jr_member(error, "message"));
    return rig_error_set(code == 404 || code == 5 /* gRPC NOT_FOUND */ ? RIG_ENOTFOUND : RIG_EHTTP,
                         "jaeger: %s (code %d)", message[0] ? message : "error", code);
  }
  json_object *result = rig__jr_member(root, "result");
  if (result) {
    size_t saved = rig__jr_path_key(r, "result");
    int rc = json_object_is_type(result, json_type_object)
                 ? read_otlp(r, result)
                 : rig__jr_fail(r, "%s", "expected an object");
    rig__jr_path_pop(r, saved);
    return rc;
  }
  if (rig__jr_member2(root, "resourceSpans", "resource_spans"))
    return read_otlp(r, root);
  if (rig__jr_member(root, "data") || rig__jr_member(root, "errors"))
    return rig__jr_read_v1(r, root);
  /* An empty TracesData ({}) is a valid "nothing". */
  if (json_object_object_length(root) == 0)
    return RIG_OK;
  return rig__jr_fail(r, "%s",
                      "neither OTLP JSON (resourceSpans, result) nor Jaeger v1 JSON (data)");
}

int rig__jaeger_parse_into(rig__span_pile *pile, const char *json, size_t len)
{
  rig__jreader r = {pile, pile->arena, RIG_BUF_INIT};
  json_tokener *tok = json_tokener_new_ex(128);
  size_t pos = 0, documents = 0;
  int rc = RIG_OK;
  /* A body may hold several JSON objects one after another (a streamed answer). */
  while (rc == RIG_OK) {
    while (pos < len &&
           (json[pos] == ' ' || json[pos] == '\n' || json[pos] == '\r' || json[pos] == '\t'))
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
    rig__jr_path_pop(&r, 0);
    json_object_put(root);
    documents++;
  }
  if (rc == RIG_OK && documents == 0)
    rc = rig_error_set(RIG_EPARSE, "jaeger answer: empty body");
  json_tokener_free(tok);
  rig__buf_dispose(&r.path);
  return rc;
}
