/*
 * prom_model.c - the answers of the Prometheus API mapped into the public model: the
 * response envelope and its errors, query results of the four types, targets and series.
 * Each answer lives in one arena, so parsers need no unwinding and a free is one call.
 */
#include <json-c/json.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_internal.h"
#include "stackrig/error.h"
#include "util.h"

/* ---- an arena: every answer is freed at once, and parsers need no unwinding ---- */

typedef struct arena_block {
  struct arena_block *next;
  size_t used;
  size_t cap;
  alignas(max_align_t) unsigned char data[];
} arena_block;

typedef struct arena {
  arena_block *head;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
  size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
  if (size == 0)
    size = alignof(max_align_t);
  if (!a->head || a->head->cap - a->head->used < size) {
    size_t cap = size > 8192 ? size : 8192;
    arena_block *block = rig__malloc(sizeof *block + cap);
    block->next = a->head;
    block->used = 0;
    block->cap = cap;
    a->head = block;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += size;
  memset(p, 0, size);
  return p;
}

static char *arena_strdup(arena *a, const char *s)
{
  size_t len = strlen(s);
  char *copy = arena_alloc(a, len + 1);
  memcpy(copy, s, len + 1);
  return copy;
}

static void arena_dispose(arena *a)
{
  while (a->head) {
    arena_block *next = a->head->next;
    free(a->head);
    a->head = next;
  }
}

/* Each public answer struct is the first member of a holder that also keeps its arena. */
typedef struct result_holder {
  rig_prom_result pub;
  arena mem;
} result_holder;

typedef struct targets_holder {
  rig_prom_target_list pub;
  arena mem;
} targets_holder;

typedef struct series_holder {
  rig_prom_label_sets pub;
  arena mem;
} series_holder;

/* ---- the envelope ---- */

static int code_of_error_type(const char *type)
{
  static const struct {
    const char *type;
    int code;
  } table[] = {
      {"bad_data", RIG_EINVAL},       {"execution", RIG_EINVAL},      {"timeout", RIG_ETIMEOUT},
      {"canceled", RIG_EINTERRUPTED}, {"unavailable", RIG_ENOTREADY}, {"not_found", RIG_ENOTFOUND},
      {"not_acceptable", RIG_EINVAL}, {"internal", RIG_EHTTP},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(type, table[i].type) == 0)
      return table[i].code;
  return RIG_EHTTP;
}

static const char *json_string_field(json_object *obj, const char *key)
{
  json_object *value = NULL;
  if (!obj || !json_object_object_get_ex(obj, key, &value) ||
      !json_object_is_type(value, json_type_string))
    return NULL;
  return json_object_get_string(value);
}

/* A short, single-line excerpt of a body that is not the API's JSON, for messages. */
static char *excerpt(const char *body, size_t len)
{
  size_t n = len < 160 ? len : 160;
  char *text = rig__strndup(body ? body : "", body ? n : 0);
  for (char *p = text; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
  size_t trimmed = strlen(text);
  while (trimmed > 0 && text[trimmed - 1] == ' ')
    text[--trimmed] = '\0';
  if (len > n) {
    char *longer = rig__sprintf("%s...", text);
    free(text);
    text = longer;
  }
  return text;
}

int rig__prom_decode(json_object **out_root, json_object **out_data, long status, const char *body,
                     size_t len, const char *what)
{
  json_tokener *tok = json_tokener_new();
  json_object *root = json_tokener_parse_ex(tok, body ? body : "", (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!root || jerr != json_tokener_success || !json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    char *text = excerpt(body, len);
    int code = (status >= 200 && status < 300) ? RIG_EPARSE : RIG_EHTTP;
    if (code == RIG_EPARSE)
      rig_error_set(code, "prometheus: %s: the answer is not the API's JSON: %s", what, text);
    else
      rig_error_set(code, "prometheus: %s: HTTP %ld: %s", what, status, *text ? text : "(empty)");
    free(text);
    rig_error_add_detail("status", "%ld", status);
    rig_error_add_detail("hint", "is the URL (STACKRIG_PROMETHEUS_URL) a Prometheus server?");
    return code;
  }
  const char *state = json_string_field(root, "status");
  if (state && strcmp(state, "error") == 0) {
    const char *type = json_string_field(root, "errorType");
    const char *message = json_string_field(root, "error");
    int code = code_of_error_type(type ? type : "");
    rig_error_set(code, "prometheus: %s: %s: %s", what, type ? type : "error",
                  message ? message : "(no message)");
    rig_error_add_detail("errorType", "%s", type ? type : "");
    rig_error_add_detail("status", "%ld", status);
    json_object_put(root);
    return code;
  }
  json_object *data = NULL;
  if (!state || strcmp(state, "success") != 0 || !json_object_object_get_ex(root, "data", &data)) {
    json_object_put(root);
    rig_error_set(RIG_EPARSE, "prometheus: %s: HTTP %ld: status is neither success nor error", what,
                  status);
    rig_error_add_detail("status", "%ld", status);
    return RIG_EPARSE;
  }
  *out_root = root;
  *out_data = data;
  return RIG_OK;
}

static int malformed(const char *what, const char *detail)
{
  return rig_error_set(RIG_EPARSE, "prometheus: %s: malformed answer: %s", what, detail);
}

/* ---- labels and samples ---- */

static int parse_labels(rig_prom_labels *out, arena *mem, json_object *obj, const char *what)
{
  if (!obj || !json_object_is_type(obj, json_type_object))
    return malformed(what, "labels are not an object");
  size_t n = (size_t)json_object_object_length(obj);
  rig_prom_label *items = arena_alloc(mem, (n ? n : 1) * sizeof *items);
  size_t i = 0;
  json_object_object_foreach(obj, key, value)
  {
    if (!json_object_is_type(value, json_type_string))
      return malformed(what, "a label value is not a string");
    items[i].name = arena_strdup(mem, key);
    items[i].value = arena_strdup(mem, json_object_get_string(value));
    i++;
  }
  out->count = i;
  out->items = items;
  return RIG_OK;
}

static int parse_time_number(int64_t *out_ms, json_object *value)
{
  if (!json_object_is_type(value, json_type_double) && !json_object_is_type(value, json_type_int))
    return RIG_EPARSE;
  double seconds = json_object_get_double(value);
  if (!isfinite(seconds))
    return RIG_EPARSE;
  *out_ms = (int64_t)llround(seconds * 1000.0);
  return RIG_OK;
}

/* [ <unix seconds>, "<value>" ] */
static int parse_pair(int64_t *out_ms, json_object **out_second, json_object *pair)
{
  if (!pair || !json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
    return RIG_EPARSE;
  if (parse_time_number(out_ms, json_object_array_get_idx(pair, 0)) != RIG_OK)
    return RIG_EPARSE;
  *out_second = json_object_array_get_idx(pair, 1);
  return RIG_OK;
}

static int parse_sample(rig_prom_sample *out, json_object *pair, const char *what)
{
  json_object *value = NULL;
  if (parse_pair(&out->time_ms, &value, pair) != RIG_OK ||
      !json_object_is_type(value, json_type_string))
    return malformed(what, "a sample is not [time, \"value\"]");
  if (rig__prom_parse_value(&out->value, json_object_get_string(value)) != RIG_OK)
    return rig_error_set(RIG_EPARSE, "prometheus: %s: malformed sample value '%s'", what,
                         json_object_get_string(value));
  return RIG_OK;
}

static int parse_series(rig_prom_series *out, arena *mem, json_object *elem, int matrix,
                        const char *what)
{
  if (!json_object_is_type(elem, json_type_object))
    return malformed(what, "a series is not an object");
  json_object *metric = NULL, *samples = NULL, *histograms = NULL;
  if (!json_object_object_get_ex(elem, "metric", &metric))
    return malformed(what, "a series has no metric");
  int rc = parse_labels(&out->labels, mem, metric, what);
  if (rc != RIG_OK)
    return rc;
  if (!matrix) {
    if (json_object_object_get_ex(elem, "histogram", &histograms)) {
      out->skipped_histograms = 1;
      return RIG_OK;
    }
    if (!json_object_object_get_ex(elem, "value", &samples))
      return malformed(what, "a vector element has no value");
    rig_prom_sample *sample = arena_alloc(mem, sizeof *sample);
    rc = parse_sample(sample, samples, what);
    if (rc != RIG_OK)
      return rc;
    out->samples = sample;
    out->sample_count = 1;
    return RIG_OK;
  }
  if (json_object_object_get_ex(elem, "histograms", &histograms) &&
      json_object_is_type(histograms, json_type_array))
    out->skipped_histograms = json_object_array_length(histograms);
  if (!json_object_object_get_ex(elem, "values", &samples)) {
    if (out->skipped_histograms > 0)
      return RIG_OK;
    return malformed(what, "a matrix element has no values");
  }
  if (!json_object_is_type(samples, json_type_array))
    return malformed(what, "values is not an array");
  size_t n = json_object_array_length(samples);
  rig_prom_sample *items = arena_alloc(mem, (n ? n : 1) * sizeof *items);
  for (size_t i = 0; i < n; i++) {
    rc = parse_sample(&items[i], json_object_array_get_idx(samples, i), what);
    if (rc != RIG_OK)
      return rc;
  }
  out->samples = items;
  out->sample_count = n;
  return RIG_OK;
}

static const char **parse_string_array(size_t *out_count, arena *mem, json_object *root,
                                       const char *key)
{
  json_object *array = NULL;
  *out_count = 0;
  if (!json_object_object_get_ex(root, key, &array) || !json_object_is_type(array, json_type_array))
    return NULL;
  size_t n = json_object_array_length(array);
  const char **items = arena_alloc(mem, (n ? n : 1) * sizeof *items);
  size_t count = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(array, i);
    if (json_object_is_type(item, json_type_string))
      items[count++] = arena_strdup(mem, json_object_get_string(item));
  }
  *out_count = count;
  return items;
}

static int parse_result_data(rig_prom_result *result, arena *mem, json_object *data,
                             const char *what)
{
  const char *type = json_string_field(data, "resultType");
  json_object *value = NULL;
  if (!type || !json_object_object_get_ex(data, "result", &value))
    return malformed(what, "data has no resultType and result");
  if (strcmp(type, "vector") == 0 || strcmp(type, "matrix") == 0) {
    int matrix = type[0] == 'm';
    result->type = matrix ? RIG_PROM_MATRIX : RIG_PROM_VECTOR;
    if (!json_object_is_type(value, json_type_array))
      return malformed(what, "result is not an array");
    size_t n = json_object_array_length(value);
    rig_prom_series *series = arena_alloc(mem, (n ? n : 1) * sizeof *series);
    for (size_t i = 0; i < n; i++) {
      int rc = parse_series(&series[i], mem, json_object_array_get_idx(value, i), matrix, what);
      if (rc != RIG_OK)
        return rc;
    }
    result->series = series;
    result->series_count = n;
    return RIG_OK;
  }
  if (strcmp(type, "scalar") == 0) {
    result->type = RIG_PROM_SCALAR;
    return parse_sample(&result->scalar, value, what);
  }
  if (strcmp(type, "string") == 0) {
    json_object *text = NULL;
    result->type = RIG_PROM_STRING;
    if (parse_pair(&result->scalar.time_ms, &text, value) != RIG_OK ||
        !json_object_is_type(text, json_type_string))
      return malformed(what, "a string result is not [time, \"text\"]");
    result->string = arena_strdup(mem, json_object_get_string(text));
    return RIG_OK;
  }
  return rig_error_set(RIG_EPARSE, "prometheus: %s: unknown resultType '%s'", what, type);
}

int rig__prom_parse_result(rig_prom_result **out, long status, const char *body, size_t len,
                           const char *expr, const char *what)
{
  json_object *root = NULL, *data = NULL;
  int rc = rig__prom_decode(&root, &data, status, body, len, what);
  if (rc != RIG_OK)
    return rc;
  result_holder *holder = rig__calloc(1, sizeof *holder);
  rig_prom_result *result = &holder->pub;
  result->expr = arena_strdup(&holder->mem, expr ? expr : "");
  rc = parse_result_data(result, &holder->mem, data, what);
  if (rc == RIG_OK) {
    result->warnings = parse_string_array(&result->warning_count, &holder->mem, root, "warnings");
    result->infos = parse_string_array(&result->info_count, &holder->mem, root, "infos");
  }
  json_object_put(root);
  if (rc != RIG_OK) {
    arena_dispose(&holder->mem);
    free(holder);
    return rc;
  }
  *out = result;
  return RIG_OK;
}

void rig_prom_result_free(rig_prom_result *result)
{
  if (!result)
    return;
  result_holder *holder = (result_holder *)result;
  arena_dispose(&holder->mem);
  free(holder);
}

/* ---- targets ---- */

static int parse_target(rig_prom_target *t, arena *mem, json_object *obj)
{
  const char *what = "targets";
  if (!json_object_is_type(obj, json_type_object))
    return malformed(what, "a target is not an object");
  json_object *labels = NULL, *discovered = NULL, *value = NULL;
  if (!json_object_object_get_ex(obj, "labels", &labels))
    return malformed(what, "a target has no labels");
  int rc = parse_labels(&t->labels, mem, labels, what);
  if (rc != RIG_OK)
    return rc;
  if (json_object_object_get_ex(obj, "discoveredLabels", &discovered)) {
    rc = parse_labels(&t->discovered_labels, mem, discovered, what);
    if (rc != RIG_OK)
      return rc;
  }
  const char *job = rig_prom_labels_get(&t->labels, "job");
  const char *instance = rig_prom_labels_get(&t->labels, "instance");
  t->job = job ? job : "";
  t->instance = instance ? instance : "";
#define STRING_FIELD(field, key)                                                                   \
  do {                                                                                             \
    const char *s = json_string_field(obj, key);                                                   \
    t->field = arena_strdup(mem, s ? s : "");                                                      \
  } while (0)
  STRING_FIELD(scrape_pool, "scrapePool");
  STRING_FIELD(scrape_url, "scrapeUrl");
  STRING_FIELD(global_url, "globalUrl");
  STRING_FIELD(last_error, "lastError");
#undef STRING_FIELD
  const char *health = json_string_field(obj, "health");
  t->health = !health                       ? RIG_PROM_HEALTH_UNKNOWN
              : strcmp(health, "up") == 0   ? RIG_PROM_HEALTH_UP
              : strcmp(health, "down") == 0 ? RIG_PROM_HEALTH_DOWN
                                            : RIG_PROM_HEALTH_UNKNOWN;
  const char *last_scrape = json_string_field(obj, "lastScrape");
  if (last_scrape && rig__prom_parse_time(&t->last_scrape_ms, last_scrape) != RIG_OK)
    return rig_error_set(RIG_EPARSE, "prometheus: targets: malformed lastScrape '%s'", last_scrape);
  if (json_object_object_get_ex(obj, "lastScrapeDuration", &value))
    t->last_scrape_duration_s = json_object_get_double(value);
  t->scrape_interval_ms = -1;
  t->scrape_timeout_ms = -1;
  const char *interval = json_string_field(obj, "scrapeInterval");
  const char *timeout = json_string_field(obj, "scrapeTimeout");
  if (interval && rig_prom_duration_parse(&t->scrape_interval_ms, interval) != RIG_OK)
    return rig_error_wrap(RIG_EPARSE, "prometheus: targets: scrapeInterval");
  if (timeout && rig_prom_duration_parse(&t->scrape_timeout_ms, timeout) != RIG_OK)
    return rig_error_wrap(RIG_EPARSE, "prometheus: targets: scrapeTimeout");
  return RIG_OK;
}

int rig__prom_parse_targets(rig_prom_target_list **out, long status, const char *body, size_t len)
{
  json_object *root = NULL, *data = NULL, *active = NULL;
  int rc = rig__prom_decode(&root, &data, status, body, len, "targets");
  if (rc != RIG_OK)
    return rc;
  if (!json_object_object_get_ex(data, "activeTargets", &active) ||
      !json_object_is_type(active, json_type_array)) {
    json_object_put(root);
    return malformed("targets", "data has no activeTargets array");
  }
  targets_holder *holder = rig__calloc(1, sizeof *holder);
  size_t n = json_object_array_length(active);
  rig_prom_target *items = arena_alloc(&holder->mem, (n ? n : 1) * sizeof *items);
  for (size_t i = 0; i < n && rc == RIG_OK; i++)
    rc = parse_target(&items[i], &holder->mem, json_object_array_get_idx(active, i));
  json_object_put(root);
  if (rc != RIG_OK) {
    arena_dispose(&holder->mem);
    free(holder);
    return rc;
  }
  holder->pub.items = items;
  holder->pub.count = n;
  *out = &holder->pub;
  return RIG_OK;
}

void rig_prom_target_list_free(rig_prom_target_list *list)
{
  if (!list)
    return;
  targets_holder *holder = (targets_holder *)list;
  arena_dispose(&holder->mem);
  free(holder);
}

const char *rig_prom_health_name(rig_prom_health health)
{
  switch (health) {
  case RIG_PROM_HEALTH_UP:
    return "up";
  case RIG_PROM_HEALTH_DOWN:
    return "down";
  default:
    return "unknown";
  }
}

/* ---- series ---- */

int rig__prom_parse_series(rig_prom_label_sets **out, long status, const char *body, size_t len,
                           const char *what)
{
  json_object *root = NULL, *data = NULL;
  int rc = rig__prom_decode(&root, &data, status, body, len, what);
  if (rc != RIG_OK)
    return rc;
  if (!json_object_is_type(data, json_type_array)) {
    json_object_put(root);
    return malformed(what, "data is not an array");
  }
  series_holder *holder = rig__calloc(1, sizeof *holder);
  size_t n = json_object_array_length(data);
  rig_prom_labels *items = arena_alloc(&holder->mem, (n ? n : 1) * sizeof *items);
  for (size_t i = 0; i < n && rc == RIG_OK; i++)
    rc = parse_labels(&items[i], &holder->mem, json_object_array_get_idx(data, i), what);
  json_object_put(root);
  if (rc != RIG_OK) {
    arena_dispose(&holder->mem);
    free(holder);
    return rc;
  }
  holder->pub.items = items;
  holder->pub.count = n;
  *out = &holder->pub;
  return RIG_OK;
}

void rig_prom_label_sets_free(rig_prom_label_sets *sets)
{
  if (!sets)
    return;
  series_holder *holder = (series_holder *)sets;
  arena_dispose(&holder->mem);
  free(holder);
}
