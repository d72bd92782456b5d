/*
 * jaeger_client.c - the Jaeger query client. It asks once which API the server speaks
 * (/api/v3 with camelCase or snake_case query parameters, or only the v1 /api/traces) and
 * then maps every answer into the one trace model.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <ctype.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jaeger_internal.h"
#include "stackrig/error.h"
#include "stackrig/http.h"

struct rig_jaeger {
  rig_http *http;
  char *base_url;
  rig_jaeger_api api; /* AUTO until detected */
  int64_t timeout_ms;
};

const char *rig_jaeger_api_name(rig_jaeger_api api)
{
  switch (api) {
  case RIG_JAEGER_API_V3:
    return "v3";
  case RIG_JAEGER_API_V3_SNAKE:
    return "v3-snake_case";
  case RIG_JAEGER_API_V1:
    return "v1";
  default:
    return "auto";
  }
}

const char *rig__jaeger_base_url(const rig_jaeger *client)
{
  return client ? client->base_url : "";
}

int rig_jaeger_new(rig_jaeger **out, const char *base_url, const rig_jaeger_options *opts)
{
  if (out == NULL || base_url == NULL || base_url[0] == '\0')
    return rig_error_set(RIG_EINVAL, "jaeger client: no base URL");
  rig_jaeger_options defaults = RIG_JAEGER_OPTIONS_INIT;
  if (opts == NULL)
    opts = &defaults;
  if (opts->version != RIG_JAEGER_OPTIONS_VERSION)
    return rig_error_set(RIG_EINVAL, "jaeger client options: version %u, expected %u",
                         opts->version, RIG_JAEGER_OPTIONS_VERSION);
  if (opts->api < RIG_JAEGER_API_AUTO || opts->api > RIG_JAEGER_API_V1)
    return rig_error_set(RIG_EINVAL, "jaeger client options: unknown api %d", (int)opts->api);
  rig_http_options http_opts = RIG_HTTP_OPTIONS_INIT;
  http_opts.timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 10000;
  rig_http *http;
  int rc = rig_http_new(&http, base_url, &http_opts);
  if (rc != RIG_OK)
    return rig_error_wrap(rc, "jaeger client %s", base_url);
  rig_jaeger *client = rig__calloc(1, sizeof *client);
  client->http = http;
  client->base_url = rig__strdup(rig_http_base_url(http));
  client->api = opts->api;
  client->timeout_ms = http_opts.timeout_ms;
  *out = client;
  return RIG_OK;
}

void rig_jaeger_free(rig_jaeger *client)
{
  if (client == NULL)
    return;
  rig_http_free(client->http);
  free(client->base_url);
  free(client);
}

/* ---- requests ---- */

static int get(rig_jaeger *client, const char *path, rig_http_response *resp)
{
  rig_http_request req = RIG_HTTP_REQUEST_INIT;
  req.path = path;
  static const char *const headers[] = {"Accept: application/json", NULL};
  req.headers = headers;
  int rc = rig_http_do(client->http, &req, resp);
  if (rc != RIG_OK)
    return rig_error_wrap(rc, "jaeger query service %s", client->base_url);
  return RIG_OK;
}

static json_object *parse_body(const rig_http_response *resp)
{
  if (resp->body == NULL || resp->body_len == 0)
    return NULL;
  return json_tokener_parse(resp->body);
}

/* What the server said: v3's {"error":{"message"}}, v1's {"errors":[{"msg"}]}, or text. */
static char *server_message(const rig_http_response *resp)
{
  json_object *root = parse_body(resp);
  json_object *v = NULL, *error = NULL;
  char *text = NULL;
  if (root && json_object_object_get_ex(root, "error", &error) &&
      json_object_object_get_ex(error, "message", &v))
    text = rig__strdup(json_object_get_string(v));
  else if (root && json_object_object_get_ex(root, "errors", &error) &&
           json_object_is_type(error, json_type_array) && json_object_array_length(error) > 0 &&
           json_object_object_get_ex(json_object_array_get_idx(error, 0), "msg", &v))
    text = rig__strdup(json_object_get_string(v));
  json_object_put(root);
  if (text)
    return text;
  size_t len = resp->body_len;
  while (len > 0 && isspace((unsigned char)resp->body[len - 1]))
    len--;
  if (len == 0)
    return rig__strdup("(empty body)");
  return len > 300 ? rig__sprintf("%.300s...", resp->body) : rig__strndup(resp->body, len);
}

static int http_error(rig_jaeger *client, const char *path, const rig_http_response *resp)
{
  char *message = server_message(resp);
  rig_error_set(RIG_EHTTP, "jaeger %s%s: HTTP %ld: %s", client->base_url, path, resp->status,
                message);
  rig_error_add_detail("url", "%s%s", client->base_url, path);
  rig_error_add_detail("status", "%ld", resp->status);
  free(message);
  return RIG_EHTTP;
}

static int json_is_object(const rig_http_response *resp)
{
  json_object *root = parse_body(resp);
  int object = root && json_object_is_type(root, json_type_object);
  json_object_put(root);
  return object;
}

/* A JSON object answer with the given member; a UI page or a proxy's text is not one. */
static int json_has(const rig_http_response *resp, const char *key)
{
  json_object *root = parse_body(resp);
  int found = root && json_object_is_type(root, json_type_object) &&
              json_object_object_get_ex(root, key, NULL);
  json_object_put(root);
  return found;
}

static void rfc3339(char *out, size_t size, int64_t unix_ns)
{
  time_t seconds = (time_t)(unix_ns / 1000000000);
  long nanos = (long)(unix_ns % 1000000000);
  if (nanos < 0) {
    nanos += 1000000000;
    seconds--;
  }
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%09ldZ", date, nanos);
}

static void add_param(rig_buf *query, const char *name, const char *value)
{
  char *escaped = NULL;
  rig_http_escape(&escaped, value);
  rig__buf_printf(query, "%c%s=%s", query->len ? '&' : '?', name, escaped);
  free(escaped);
}

/* ---- detection ---- */

int rig_jaeger_api_in_use(rig_jaeger_api *out, rig_jaeger *client)
{
  if (out == NULL || client == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_api_in_use: no client or out");
  if (client->api != RIG_JAEGER_API_AUTO) {
    *out = client->api;
    return RIG_OK;
  }
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = get(client, "/api/v3/services", &resp);
  if (rc != RIG_OK)
    return rc;
  long v3_status = resp.status;
  /* An empty answer is "{}": any JSON object will do; a UI page or "404 page not found"
   * says this server has no v3. */
  int v3 = resp.status == 200 && json_is_object(&resp);
  rig_http_response_dispose(&resp);
  if (!v3) {
    rc = get(client, "/api/services", &resp);
    if (rc != RIG_OK)
      return rc;
    long v1_status = resp.status;
    int v1 = resp.status == 200 && json_has(&resp, "data");
    rig_http_response_dispose(&resp);
    if (!v1)
      return rig_error_set(RIG_EUNSUPPORTED,
                           "%s is not a Jaeger query service: /api/v3/services answered HTTP "
                           "%ld and /api/services HTTP %ld without Jaeger JSON",
                           client->base_url, v3_status, v1_status);
    client->api = RIG_JAEGER_API_V1;
    *out = client->api;
    return RIG_OK;
  }
  /*
   * Newer servers read camelCase names (and still accept snake_case); older ones only
   * snake_case and, given camelCase, complain that query.start_time_min is missing.
   */
  int64_t now = rig__wall_ns();
  char min[48], max[48];
  rfc3339(min, sizeof min, now - 1000000000LL);
  rfc3339(max, sizeof max, now);
  rig_buf path = RIG_BUF_INIT;
  add_param(&path, "query.serviceName", "stackrig-api-probe");
  add_param(&path, "query.startTimeMin", min);
  add_param(&path, "query.startTimeMax", max);
  add_param(&path, "query.searchDepth", "1");
  char *full = rig__sprintf("/api/v3/traces%s", path.data);
  rig__buf_dispose(&path);
  rc = get(client, full, &resp);
  free(full);
  if (rc != RIG_OK)
    return rc;
  int snake = resp.status == 400 && resp.body && strstr(resp.body, "start_time_min") != NULL;
  rig_http_response_dispose(&resp);
  client->api = snake ? RIG_JAEGER_API_V3_SNAKE : RIG_JAEGER_API_V3;
  *out = client->api;
  return RIG_OK;
}

/* ---- traces ---- */

static int normalise_trace_id(char out[RIG_TRACE_ID_HEX_LEN + 1], const char *trace_id_hex)
{
  uint8_t id[16];
  if (trace_id_hex == NULL || rig_trace_id_from_hex(id, trace_id_hex) != RIG_OK)
    return rig_error_set(RIG_EINVAL, "jaeger: \"%.64s\" is not a trace id (1 to 32 hex digits)",
                         trace_id_hex ? trace_id_hex : "(null)");
  if (!rig_trace_id_is_valid(id))
    return rig_error_set(RIG_EINVAL, "jaeger: the all-zero trace id is invalid");
  rig_trace_id_to_hex(out, id);
  return RIG_OK;
}

int rig_jaeger_get_trace(rig_trace **out, rig_jaeger *client, const char *trace_id_hex)
{
  if (out == NULL || client == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_get_trace: no client or out");
  char id[RIG_TRACE_ID_HEX_LEN + 1];
  int rc = normalise_trace_id(id, trace_id_hex);
  if (rc != RIG_OK)
    return rc;
  rig_jaeger_api api;
  if ((rc = rig_jaeger_api_in_use(&api, client)) != RIG_OK)
    return rc;
  char *path = rig__sprintf(api == RIG_JAEGER_API_V1 ? "/api/traces/%s" : "/api/v3/traces/%s", id);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rc = get(client, path, &resp);
  if (rc == RIG_OK) {
    if (resp.status == 404) {
      rc = rig_error_set(RIG_ENOTFOUND, "trace %s not found in Jaeger (%s)", id, client->base_url);
    } else if (resp.status != 200) {
      rc = http_error(client, path, &resp);
    } else {
      rig_trace *trace = NULL;
      rc = rig_trace_parse(&trace, resp.body, resp.body_len);
      if (rc == RIG_ENOTFOUND)
        rc =
            rig_error_set(RIG_ENOTFOUND, "trace %s not found in Jaeger (%s)", id, client->base_url);
      else if (rc != RIG_OK)
        rig_error_wrap(rc, "jaeger %s%s", client->base_url, path);
      else if (strcmp(rig_trace_id_hex(trace), id) != 0) {
        rc = rig_error_set(RIG_EPARSE, "jaeger %s%s answered with trace %s", client->base_url, path,
                           rig_trace_id_hex(trace));
        rig_trace_free(trace);
      } else {
        *out = trace;
      }
    }
  }
  rig_http_response_dispose(&resp);
  free(path);
  return rc;
}

static char *duration_param(int64_t ns)
{
  return rig__sprintf("%" PRId64 "ns", ns);
}

static char *v3_search_path(const rig_trace_query *q, rig_jaeger_api api, int64_t min_ns,
                            int64_t max_ns, int limit)
{
  int camel = api == RIG_JAEGER_API_V3;
  rig_buf query = RIG_BUF_INIT;
  char time[48];
  add_param(&query, camel ? "query.serviceName" : "query.service_name", q->service);
  if (q->operation && q->operation[0])
    add_param(&query, camel ? "query.operationName" : "query.operation_name", q->operation);
  rfc3339(time, sizeof time, min_ns);
  add_param(&query, camel ? "query.startTimeMin" : "query.start_time_min", time);
  rfc3339(time, sizeof time, max_ns);
  add_param(&query, camel ? "query.startTimeMax" : "query.start_time_max", time);
  if (q->duration_min_ns > 0) {
    char *d = duration_param(q->duration_min_ns);
    add_param(&query, camel ? "query.durationMin" : "query.duration_min", d);
    free(d);
  }
  if (q->duration_max_ns > 0) {
    char *d = duration_param(q->duration_max_ns);
    add_param(&query, camel ? "query.durationMax" : "query.duration_max", d);
    free(d);
  }
  char n[24];
  snprintf(n, sizeof n, "%d", limit);
  add_param(&query, camel ? "query.searchDepth" : "query.num_traces", n);
  char *path = rig__sprintf("/api/v3/traces%s", query.data);
  rig__buf_dispose(&query);
  return path;
}

static char *v1_search_path(const rig_trace_query *q, int64_t min_ns, int64_t max_ns, int limit)
{
  rig_buf query = RIG_BUF_INIT;
  char n[32];
  add_param(&query, "service", q->service);
  if (q->operation && q->operation[0])
    add_param(&query, "operation", q->operation);
  snprintf(n, sizeof n, "%" PRId64, min_ns / 1000);
  add_param(&query, "start", n);
  snprintf(n, sizeof n, "%" PRId64, max_ns / 1000);
  add_param(&query, "end", n);
  if (q->duration_min_ns > 0) {
    char *d = duration_param(q->duration_min_ns);
    add_param(&query, "minDuration", d);
    free(d);
  }
  if (q->duration_max_ns > 0) {
    char *d = duration_param(q->duration_max_ns);
    add_param(&query, "maxDuration", d);
    free(d);
  }
  snprintf(n, sizeof n, "%d", limit);
  add_param(&query, "limit", n);
  if (q->tag_count > 0) {
    rig_buf tags = RIG_BUF_INIT;
    rig__buf_putc(&tags, '{');
    for (size_t i = 0; i < q->tag_count; i++) {
      if (i)
        rig__buf_putc(&tags, ',');
      rig__json_string(&tags, q->tags[i].key);
      rig__buf_putc(&tags, ':');
      rig__json_string(&tags, q->tags[i].value);
    }
    rig__buf_putc(&tags, '}');
    add_param(&query, "tags", tags.data);
    rig__buf_dispose(&tags);
  }
  char *path = rig__sprintf("/api/traces%s", query.data);
  rig__buf_dispose(&query);
  return path;
}

/* A tag matches when some span, or its resource, has the key with that value as text. */
static int trace_has_tags(const rig_trace *trace, const rig_trace_query *q)
{
  for (size_t t = 0; t < q->tag_count; t++) {
    int found = 0;
    for (size_t i = 0; i < rig_trace_span_count(trace) && !found; i++) {
      const rig_value *value = rig_span_attribute(rig_trace_span(trace, i), q->tags[t].key);
      if (value != NULL) {
        char *text = rig__value_to_text(value);
        found = strcmp(text, q->tags[t].value ? q->tags[t].value : "") == 0;
        free(text);
      }
    }
    if (!found)
      return 0;
  }
  return 1;
}

int rig_jaeger_find_traces(rig_trace_list **out, rig_jaeger *client, const rig_trace_query *query)
{
  if (out == NULL || client == NULL || query == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_find_traces: no client, query or out");
  if (query->version != RIG_TRACE_QUERY_VERSION)
    return rig_error_set(RIG_EINVAL, "jaeger trace query: version %u, expected %u", query->version,
                         RIG_TRACE_QUERY_VERSION);
  if (query->service == NULL || query->service[0] == '\0')
    return rig_error_set(RIG_EINVAL, "jaeger trace query: a service name is required");
  if (query->tag_count > 0 && query->tags == NULL)
    return rig_error_set(RIG_EINVAL, "jaeger trace query: %zu tags but no array", query->tag_count);
  rig_jaeger_api api;
  int rc = rig_jaeger_api_in_use(&api, client);
  if (rc != RIG_OK)
    return rc;
  int64_t now = rig__wall_ns();
  int64_t min_ns = query->start_min_unix_ns > 0 ? query->start_min_unix_ns : now - 3600000000000LL;
  /* A minute ahead: the clocks of the host and of the spans' senders may disagree. */
  int64_t max_ns = query->start_max_unix_ns > 0 ? query->start_max_unix_ns : now + 60000000000LL;
  int limit = query->limit > 0 ? query->limit : 20;
  char *path = api == RIG_JAEGER_API_V1 ? v1_search_path(query, min_ns, max_ns, limit)
                                        : v3_search_path(query, api, min_ns, max_ns, limit);
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  rc = get(client, path, &resp);
  rig_trace_list *list = NULL;
  if (rc == RIG_OK) {
    if (resp.status == 404 && api != RIG_JAEGER_API_V1 && json_has(&resp, "error")) {
      /* The v3 gateway answers an empty search with 404 "No traces found". */
      list = rig__trace_list_new();
    } else if (resp.status != 200) {
      rc = http_error(client, path, &resp);
    } else {
      rc = rig_trace_list_parse(&list, resp.body, resp.body_len);
      if (rc != RIG_OK)
        rig_error_wrap(rc, "jaeger %s%s", client->base_url, path);
    }
  }
  rig_http_response_dispose(&resp);
  free(path);
  if (rc != RIG_OK)
    return rc;
  /* The same filter for every flavour: tags, and the limit after them. */
  rig_trace_list *kept = rig__trace_list_new();
  for (size_t i = 0; i < rig_trace_list_count(list); i++) {
    if ((int)rig_trace_list_count(kept) >= limit)
      break;
    if (!trace_has_tags(rig_trace_list_get(list, i), query))
      continue;
    rig__trace_list_append(kept, rig_trace_list_take(list, i));
  }
  rig_trace_list_free(list);
  *out = kept;
  return RIG_OK;
}

/* ---- services and operations ---- */

static int compare_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects strings from a JSON array (of strings, or of objects with "name"), sorted, unique. */
static char **names_from(json_object *array)
{
  size_t n =
      array && json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
  char **names = rig__calloc(n + 1, sizeof *names);
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(array, i);
    json_object *name = item;
    if (json_object_is_type(item, json_type_object))
      json_object_object_get_ex(item, "name", &name);
    if (name == NULL || !json_object_is_type(name, json_type_string))
      continue;
    names[count++] = rig__strdup(json_object_get_string(name));
  }
  qsort(names, count, sizeof *names, compare_names);
  size_t unique = 0;
  for (size_t i = 0; i < count; i++) {
    if (unique > 0 && strcmp(names[unique - 1], names[i]) == 0)
      free(names[i]);
    else
      names[unique++] = names[i];
  }
  names[unique] = NULL;
  return names;
}

static int get_names(char ***out, rig_jaeger *client, const char *path, const char *member)
{
  rig_http_response resp = RIG_HTTP_RESPONSE_INIT;
  int rc = get(client, path, &resp);
  if (rc != RIG_OK)
    return rc;
  if (resp.status != 200) {
    rc = http_error(client, path, &resp);
    rig_http_response_dispose(&resp);
    return rc;
  }
  json_object *root = parse_body(&resp);
  json_object *array = NULL;
  if (root == NULL || !json_object_is_type(root, json_type_object)) {
    rc = rig_error_set(RIG_EPARSE, "jaeger %s%s: expected a JSON object with \"%s\"",
                       client->base_url, path, member);
  } else {
    /* v3 leaves an empty list out ({}), v1 writes null: both read as none. */
    json_object_object_get_ex(root, member, &array);
    *out = names_from(array);
  }
  json_object_put(root);
  rig_http_response_dispose(&resp);
  return rc;
}

int rig_jaeger_services(char ***out, rig_jaeger *client)
{
  if (out == NULL || client == NULL)
    return rig_error_set(RIG_EINVAL, "rig_jaeger_services: no client or out");
  rig_jaeger_api api;
  int rc = rig_jaeger_api_in_use(&api, client);
  if (rc != RIG_OK)
    return rc;
  if (api == RIG_JAEGER_API_V1)
    return get_names(out, client, "/api/services", "data");
  return get_names(out, client, "/api/v3/services", "services");
}

int rig_jaeger_operations(char ***out, rig_jaeger *client, const char *service)
{
  if (out == NULL || client == NULL || service == NULL || service[0] == '\0')
    return rig_error_set(RIG_EINVAL, "rig_jaeger_operations: no client, service or out");
  rig_jaeger_api api;
  int rc = rig_jaeger_api_in_use(&api, client);
  if (rc != RIG_OK)
    return rc;
  char *escaped = NULL;
  rig_http_escape(&escaped, service);
  char *path = api == RIG_JAEGER_API_V1 ? rig__sprintf("/api/services/%s/operations", escaped)
                                        : rig__sprintf("/api/v3/operations?service=%s", escaped);
  rc = get_names(out, client, path, api == RIG_JAEGER_API_V1 ? "data" : "operations");
  free(path);
  free(escaped);
  return rc;
}

void rig_jaeger_names_free(char **names)
{
  if (names == NULL)
    return;
  for (size_t i = 0; names[i]; i++)
    free(names[i]);
  free(names);
}
