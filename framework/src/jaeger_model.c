/*
 * jaeger_model.c - the trace model: an arena per answer, spans sorted by start time and
 * linked to their parents and children, trace lists, descriptions for humans and
 * stackrig's own JSON encoding.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "jaeger_internal.h"
#include "stackrig/error.h"

/* ---- arena: blocks freed together; shared by the traces of one answer ---- */

typedef struct arena_block {
  struct arena_block *next;
  size_t used;
  size_t size;
  max_align_t data[];
} arena_block;

struct rig__jaeger_arena {
  arena_block *head;
  int refs;
};

rig__jaeger_arena *rig__jaeger_arena_new(void)
{
  rig__jaeger_arena *arena = rig__calloc(1, sizeof *arena);
  arena->refs = 1;
  return arena;
}

static void arena_ref(rig__jaeger_arena *arena)
{
  __atomic_add_fetch(&arena->refs, 1, __ATOMIC_RELAXED);
}

void rig__jaeger_arena_free(rig__jaeger_arena *arena)
{
  if (arena == NULL || __atomic_sub_fetch(&arena->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  arena_block *block = arena->head;
  while (block) {
    arena_block *next = block->next;
    free(block);
    block = next;
  }
  free(arena);
}

void *rig__jaeger_arena_alloc(rig__jaeger_arena *arena, size_t size)
{
  const size_t align = sizeof(max_align_t);
  size = (size + align - 1) / align * align;
  if (size == 0)
    size = align;
  arena_block *block = arena->head;
  if (block == NULL || block->size - block->used < size) {
    size_t block_size = size > 16384 ? size : 16384;
    block = rig__malloc(sizeof *block + block_size);
    block->size = block_size;
    block->used = 0;
    block->next = arena->head;
    arena->head = block;
  }
  void *p = (char *)block->data + block->used;
  block->used += size;
  memset(p, 0, size);
  return p;
}

char *rig__jaeger_arena_strndup(rig__jaeger_arena *arena, const char *s, size_t n)
{
  char *copy = rig__jaeger_arena_alloc(arena, n + 1);
  memcpy(copy, s, n);
  copy[n] = '\0';
  return copy;
}

char *rig__jaeger_arena_strdup(rig__jaeger_arena *arena, const char *s)
{
  if (s == NULL)
    s = "";
  return rig__jaeger_arena_strndup(arena, s, strlen(s));
}

/* ---- the pile of spans a reader fills ---- */

void rig__span_pile_init(rig__span_pile *pile)
{
  memset(pile, 0, sizeof *pile);
  pile->arena = rig__jaeger_arena_new();
}

void rig__span_pile_dispose(rig__span_pile *pile)
{
  free(pile->spans);
  rig__jaeger_arena_free(pile->arena);
  memset(pile, 0, sizeof *pile);
}

rig_span *rig__span_pile_add(rig__span_pile *pile)
{
  if (pile->count == pile->cap) {
    pile->cap = pile->cap ? pile->cap * 2 : 64;
    pile->spans = rig__realloc(pile->spans, pile->cap * sizeof *pile->spans);
  }
  rig_span *span = &pile->spans[pile->count++];
  memset(span, 0, sizeof *span);
  span->service = span->name = span->status_message = "";
  span->scope_name = span->scope_version = "";
  return span;
}

/* ---- traces ---- */

struct rig_trace {
  rig__jaeger_arena *arena;
  char trace_id_hex[RIG_TRACE_ID_HEX_LEN + 1];
  rig_span *spans;
  size_t span_count;
  const char **services;
  size_t service_count;
};

struct rig_trace_list {
  rig_trace **traces;
  size_t count;
};

rig__jaeger_arena *rig__trace_arena(const rig_trace *trace)
{
  return trace->arena;
}

static int compare_start(const void *a, const void *b)
{
  const rig_span *x = a, *y = b;
  if (x->start_unix_ns != y->start_unix_ns)
    return x->start_unix_ns < y->start_unix_ns ? -1 : 1;
  return memcmp(x->span_id, y->span_id, 8);
}

static int compare_id(const void *a, const void *b)
{
  const rig_span *x = *(const rig_span *const *)a, *y = *(const rig_span *const *)b;
  int c = memcmp(x->span_id, y->span_id, 8);
  if (c != 0)
    return c;
  return x < y ? -1 : x > y; /* earlier position first, so the first copy wins */
}

static const rig_span *lookup(rig_span *const *by_id, size_t n, const uint8_t id[8])
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = memcmp(by_id[mid]->span_id, id, 8);
    if (c == 0)
      return by_id[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int is_zero(const uint8_t *bytes, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (bytes[i])
      return 0;
  return 1;
}

/* Sorts, drops repeated span ids, links parents and children, lists services. */
static rig_trace *trace_build(rig__jaeger_arena *arena, rig_span *spans, size_t count)
{
  rig_trace *trace = rig__calloc(1, sizeof *trace);
  trace->arena = arena;
  arena_ref(arena);
  rig_span *own = rig__jaeger_arena_alloc(arena, (count ? count : 1) * sizeof *own);
  memcpy(own, spans, count * sizeof *own);
  qsort(own, count, sizeof *own, compare_start);

  rig_span **by_id = rig__malloc((count ? count : 1) * sizeof *by_id);
  for (size_t i = 0; i < count; i++)
    by_id[i] = &own[i];
  qsort(by_id, count, sizeof *by_id, compare_id);
  char *drop = rig__calloc(count ? count : 1, 1);
  for (size_t i = 1; i < count; i++)
    if (memcmp(by_id[i]->span_id, by_id[i - 1]->span_id, 8) == 0)
      drop[by_id[i] - own] = 1;
  size_t kept = 0;
  for (size_t i = 0; i < count; i++)
    if (!drop[i])
      own[kept++] = own[i];
  free(drop);
  count = kept;
  for (size_t i = 0; i < count; i++)
    by_id[i] = &own[i];
  qsort(by_id, count, sizeof *by_id, compare_id);

  size_t *child_counts = rig__calloc(count ? count : 1, sizeof *child_counts);
  for (size_t i = 0; i < count; i++)
    own[i].index = i; /* before linking: a parent may come later in start order */
  for (size_t i = 0; i < count; i++) {
    rig_span *span = &own[i];
    rig_trace_id_to_hex(span->trace_id_hex, span->trace_id);
    rig_span_id_to_hex(span->span_id_hex, span->span_id);
    if (is_zero(span->parent_span_id, 8))
      span->parent_span_id_hex[0] = '\0';
    else
      rig_span_id_to_hex(span->parent_span_id_hex, span->parent_span_id);
    span->parent = NULL;
    span->children = NULL;
    span->child_count = 0;
    if (!is_zero(span->parent_span_id, 8)) {
      const rig_span *parent = lookup(by_id, count, span->parent_span_id);
      if (parent != NULL && parent != span) {
        span->parent = parent;
        child_counts[parent->index]++;
      }
    }
  }
  /* Children arrays: filled in start order because spans are visited in start order. */
  for (size_t i = 0; i < count; i++) {
    if (child_counts[i] > 0)
      own[i].children = rig__jaeger_arena_alloc(arena, child_counts[i] * sizeof(rig_span *));
  }
  for (size_t i = 0; i < count; i++) {
    rig_span *parent = (rig_span *)own[i].parent;
    if (parent != NULL)
      ((const rig_span **)parent->children)[parent->child_count++] = &own[i];
  }
  free(child_counts);
  free(by_id);

  trace->spans = own;
  trace->span_count = count;
  if (count > 0)
    memcpy(trace->trace_id_hex, own[0].trace_id_hex, sizeof trace->trace_id_hex);
  trace->services = rig__jaeger_arena_alloc(arena, (count ? count : 1) * sizeof(char *));
  for (size_t i = 0; i < count; i++) {
    size_t s = 0;
    while (s < trace->service_count && strcmp(trace->services[s], own[i].service) != 0)
      s++;
    if (s == trace->service_count)
      trace->services[trace->service_count++] = own[i].service;
  }
  return trace;
}

rig_trace_list *rig__trace_list_from_pile(rig__span_pile *pile)
{
  rig_trace_list *list = rig__calloc(1, sizeof *list);
  size_t count = pile->count;
  char *taken = rig__calloc(count ? count : 1, 1);
  rig_span *group = rig__malloc((count ? count : 1) * sizeof *group);
  for (size_t i = 0; i < count; i++) {
    if (taken[i])
      continue;
    size_t n = 0;
    for (size_t j = i; j < count; j++) {
      if (!taken[j] && memcmp(pile->spans[j].trace_id, pile->spans[i].trace_id, 16) == 0) {
        group[n++] = pile->spans[j];
        taken[j] = 1;
      }
    }
    list->traces = rig__realloc(list->traces, (list->count + 1) * sizeof *list->traces);
    list->traces[list->count++] = trace_build(pile->arena, group, n);
  }
  free(group);
  free(taken);
  rig__span_pile_dispose(pile);
  return list;
}

rig_trace_list *rig__trace_list_new(void)
{
  return rig__calloc(1, sizeof(rig_trace_list));
}

void rig__trace_list_append(rig_trace_list *list, rig_trace *trace)
{
  list->traces = rig__realloc(list->traces, (list->count + 1) * sizeof *list->traces);
  list->traces[list->count++] = trace;
}

int rig_trace_list_parse(rig_trace_list **out, const char *json, size_t len)
{
  if (out == NULL || json == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_list_parse: no JSON or out");
  rig__span_pile pile;
  rig__span_pile_init(&pile);
  int rc = rig__jaeger_parse_into(&pile, json, len);
  if (rc == RIG_ENOTFOUND) {
    /* An answer that says "no traces" is an empty list here. */
    pile.count = 0;
    rig_error_clear();
    rc = RIG_OK;
  }
  if (rc != RIG_OK) {
    rig__span_pile_dispose(&pile);
    return rc;
  }
  *out = rig__trace_list_from_pile(&pile);
  return RIG_OK;
}

int rig_trace_parse(rig_trace **out, const char *json, size_t len)
{
  if (out == NULL || json == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_parse: no JSON or out");
  rig__span_pile pile;
  rig__span_pile_init(&pile);
  /* Unlike a search, a trace answer that says "not found" keeps the server's words. */
  int rc = rig__jaeger_parse_into(&pile, json, len);
  if (rc != RIG_OK) {
    rig__span_pile_dispose(&pile);
    return rc;
  }
  rig_trace_list *list = rig__trace_list_from_pile(&pile);
  if (list->count == 0) {
    rig_trace_list_free(list);
    return rig_error_set(RIG_ENOTFOUND, "the answer holds no spans");
  }
  *out = rig_trace_list_take(list, 0);
  rig_trace_list_free(list);
  return RIG_OK;
}

void rig_trace_free(rig_trace *trace)
{
  if (trace == NULL)
    return;
  rig__jaeger_arena_free(trace->arena);
  free(trace);
}

size_t rig_trace_list_count(const rig_trace_list *list)
{
  return list ? list->count : 0;
}

const rig_trace *rig_trace_list_get(const rig_trace_list *list, size_t i)
{
  return list && i < list->count ? list->traces[i] : NULL;
}

rig_trace *rig_trace_list_take(rig_trace_list *list, size_t i)
{
  if (list == NULL || i >= list->count)
    return NULL;
  rig_trace *trace = list->traces[i];
  list->traces[i] = NULL;
  return trace;
}

void rig_trace_list_free(rig_trace_list *list)
{
  if (list == NULL)
    return;
  for (size_t i = 0; i < list->count; i++)
    rig_trace_free(list->traces[i]);
  free(list->traces);
  free(list);
}

const char *rig_trace_id_hex(const rig_trace *trace)
{
  return trace ? trace->trace_id_hex : "";
}

size_t rig_trace_span_count(const rig_trace *trace)
{
  return trace ? trace->span_count : 0;
}

const rig_span *rig_trace_span(const rig_trace *trace, size_t i)
{
  return trace && i < trace->span_count ? &trace->spans[i] : NULL;
}

const rig_span *rig_trace_find_span(const rig_trace *trace, const char *span_id_hex)
{
  uint8_t id[8];
  if (trace == NULL || rig_span_id_from_hex(id, span_id_hex) != RIG_OK) {
    rig_error_clear();
    return NULL;
  }
  for (size_t i = 0; i < trace->span_count; i++)
    if (memcmp(trace->spans[i].span_id, id, 8) == 0)
      return &trace->spans[i];
  return NULL;
}

const rig_span *rig_trace_root(const rig_trace *trace)
{
  if (trace == NULL)
    return NULL;
  for (size_t i = 0; i < trace->span_count; i++)
    if (trace->spans[i].parent_span_id_hex[0] == '\0')
      return &trace->spans[i];
  return NULL;
}

size_t rig_trace_service_count(const rig_trace *trace)
{
  return trace ? trace->service_count : 0;
}

const char *rig_trace_service(const rig_trace *trace, size_t i)
{
  return trace && i < trace->service_count ? trace->services[i] : NULL;
}

const rig_value *rig_span_resource_attribute(const rig_span *span, const char *key)
{
  if (span == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < span->resource_attribute_count; i++)
    if (strcmp(span->resource_attributes[i].key, key) == 0)
      return &span->resource_attributes[i].value;
  return NULL;
}

const rig_value *rig_span_attribute(const rig_span *span, const char *key)
{
  if (span == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < span->attribute_count; i++)
    if (strcmp(span->attributes[i].key, key) == 0)
      return &span->attributes[i].value;
  return rig_span_resource_attribute(span, key);
}

int rig_value_to_string(char **out, const rig_value *value)
{
  if (out == NULL || value == NULL)
    return rig_error_set(RIG_EINVAL, "rig_value_to_string: no value or out");
  *out = rig__value_to_text(value);
  return RIG_OK;
}

/* ---- connectedness ---- */

static void span_label(rig_buf *buf, const rig_span *span)
{
  rig__buf_printf(buf, "%s: %s (%s)", span->service[0] ? span->service : "?", span->name,
                  span->span_id_hex);
}

int rig_trace_check_connected(const rig_trace *trace)
{
  if (trace == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_check_connected: no trace");
  if (trace->span_count == 0)
    return rig_error_set(RIG_EASSERT, "trace %s has no spans", trace->trace_id_hex);
  rig_buf roots = RIG_BUF_INIT, orphans = RIG_BUF_INIT;
  size_t root_count = 0, orphan_count = 0;
  const rig_span *root = NULL;
  for (size_t i = 0; i < trace->span_count; i++) {
    const rig_span *span = &trace->spans[i];
    if (span->parent_span_id_hex[0] == '\0') {
      if (root_count++ > 0)
        rig__buf_puts(&roots, ", ");
      span_label(&roots, span);
      if (root == NULL)
        root = span;
    } else if (span->parent == NULL) {
      if (orphan_count++ > 0)
        rig__buf_puts(&orphans, ", ");
      span_label(&orphans, span);
      rig__buf_printf(&orphans, " whose parent %s is not in the trace", span->parent_span_id_hex);
    }
  }
  /* Everything must hang below the root; what does not is in a cycle. */
  size_t reachable = 0;
  if (root != NULL) {
    const rig_span **stack = rig__malloc(trace->span_count * sizeof *stack);
    size_t top = 0;
    stack[top++] = root;
    while (top > 0) {
      const rig_span *span = stack[--top];
      reachable++;
      for (size_t c = 0; c < span->child_count; c++)
        stack[top++] = span->children[c];
    }
    free(stack);
  }
  int rc = RIG_OK;
  if (root_count != 1 || orphan_count > 0 || reachable != trace->span_count) {
    rig_buf msg = RIG_BUF_INIT;
    rig__buf_printf(&msg, "trace %s is not one connected tree:", trace->trace_id_hex);
    if (root_count == 0)
      rig__buf_puts(&msg, " no root span");
    else if (root_count > 1)
      rig__buf_printf(&msg, " %zu root spans (%s)", root_count, roots.data);
    if (orphan_count > 0)
      rig__buf_printf(&msg, "%s %zu orphan span%s (%s)", root_count != 1 ? ";" : "", orphan_count,
                      orphan_count == 1 ? "" : "s", orphans.data);
    if (root_count == 1 && orphan_count == 0)
      rig__buf_printf(&msg, " %zu spans are in a parent cycle", trace->span_count - reachable);
    rc = rig_error_set(RIG_EASSERT, "%s", msg.data);
    rig__buf_dispose(&msg);
  }
  rig__buf_dispose(&roots);
  rig__buf_dispose(&orphans);
  return rc;
}

/* ---- descriptions ---- */

/* "250ms", "1.5ms", "12s", "850us", "42ns": short and exact enough for messages. */
void rig__put_duration(rig_buf *buf, int64_t ns)
{
  static const struct {
    int64_t scale;
    const char *unit;
  } units[] = {{3600000000000LL, "h"}, {60000000000LL, "m"}, {1000000000, "s"},
               {1000000, "ms"},        {1000, "us"},         {1, "ns"}};
  if (ns < 0) {
    rig__buf_putc(buf, '-');
    ns = -ns;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (ns >= units[i].scale || units[i].scale == 1) {
      double v = (double)ns / (double)units[i].scale;
      if (ns % units[i].scale == 0)
        rig__buf_printf(buf, "%" PRId64 "%s", ns / units[i].scale, units[i].unit);
      else
        rig__buf_printf(buf, "%.3g%s", v, units[i].unit);
      return;
    }
  }
}

static void describe_span(rig_buf *buf, const rig_span *span, int depth, size_t *lines,
                          size_t max_lines)
{
  if (*lines >= max_lines)
    return;
  (*lines)++;
  rig__buf_printf(buf, "\n  %*s%s: %s [%s, %s", depth * 2, "",
                  span->service[0] ? span->service : "?", span->name,
                  rig_span_kind_name(span->kind), rig_status_code_name(span->status));
  if (span->status_message[0])
    rig__buf_printf(buf, " \"%s\"", span->status_message);
  rig__buf_puts(buf, ", ");
  rig__put_duration(buf, span->duration_ns);
  rig__buf_putc(buf, ']');
  if (span->parent == NULL && span->parent_span_id_hex[0])
    rig__buf_printf(buf, " (parent %s missing)", span->parent_span_id_hex);
  for (size_t c = 0; c < span->child_count && depth < 40; c++)
    describe_span(buf, span->children[c], depth + 1, lines, max_lines);
}

void rig__describe_trace(rig_buf *buf, const rig_trace *trace)
{
  rig__buf_printf(buf, "trace %s: %zu span%s, %zu service%s (", trace->trace_id_hex,
                  trace->span_count, trace->span_count == 1 ? "" : "s", trace->service_count,
                  trace->service_count == 1 ? "" : "s");
  for (size_t s = 0; s < trace->service_count; s++) {
    size_t n = 0;
    for (size_t i = 0; i < trace->span_count; i++)
      n += strcmp(trace->spans[i].service, trace->services[s]) == 0;
    rig__buf_printf(buf, "%s%s: %zu", s ? ", " : "",
                    trace->services[s][0] ? trace->services[s] : "?", n);
  }
  rig__buf_putc(buf, ')');
  const size_t max_lines = 60;
  size_t lines = 0;
  /* Roots and orphans start a tree each; deeper spans come with their parents. */
  for (size_t i = 0; i < trace->span_count; i++)
    if (trace->spans[i].parent == NULL)
      describe_span(buf, &trace->spans[i], 0, &lines, max_lines);
  if (lines < trace->span_count)
    rig__buf_printf(buf, "\n  ... %zu more span%s", trace->span_count - lines,
                    trace->span_count - lines == 1 ? "" : "s");
}

int rig_trace_describe(char **out, const rig_trace *trace)
{
  if (out == NULL || trace == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_describe: no trace or out");
  rig_buf buf = RIG_BUF_INIT;
  rig__describe_trace(&buf, trace);
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}

/* ---- stackrig's own JSON ---- */

static void put_string_member(rig_buf *buf, const char *key, const char *value)
{
  rig__buf_printf(buf, ",\"%s\":", key);
  rig__json_string(buf, value);
}

int rig_trace_to_json(char **out, const rig_trace *trace)
{
  if (out == NULL || trace == NULL)
    return rig_error_set(RIG_EINVAL, "rig_trace_to_json: no trace or out");
  rig_buf buf = RIG_BUF_INIT;
  rig__buf_puts(&buf, "{\"traceId\":");
  rig__json_string(&buf, trace->trace_id_hex);
  rig__buf_puts(&buf, ",\"services\":[");
  for (size_t s = 0; s < trace->service_count; s++) {
    if (s)
      rig__buf_putc(&buf, ',');
    rig__json_string(&buf, trace->services[s]);
  }
  rig__buf_puts(&buf, "],\"spans\":[");
  for (size_t i = 0; i < trace->span_count; i++) {
    const rig_span *span = &trace->spans[i];
    if (i)
      rig__buf_putc(&buf, ',');
    rig__buf_puts(&buf, "\n{\"spanId\":");
    rig__json_string(&buf, span->span_id_hex);
    put_string_member(&buf, "parentSpanId", span->parent_span_id_hex);
    put_string_member(&buf, "service", span->service);
    put_string_member(&buf, "name", span->name);
    put_string_member(&buf, "kind", rig_span_kind_name(span->kind));
    put_string_member(&buf, "status", rig_status_code_name(span->status));
    put_string_member(&buf, "statusMessage", span->status_message);
    rig__buf_printf(&buf, ",\"startTimeUnixNano\":\"%" PRId64 "\",\"durationNano\":\"%" PRId64 "\"",
                    span->start_unix_ns, span->duration_ns);
    rig__buf_puts(&buf, ",\"scope\":{\"name\":");
    rig__json_string(&buf, span->scope_name);
    put_string_member(&buf, "version", span->scope_version);
    rig__buf_puts(&buf, "},\"attributes\":");
    rig__json_attributes(&buf, span->attributes, span->attribute_count);
    rig__buf_puts(&buf, ",\"resourceAttributes\":");
    rig__json_attributes(&buf, span->resource_attributes, span->resource_attribute_count);
    rig__buf_puts(&buf, ",\"events\":[");
    for (size_t e = 0; e < span->event_count; e++) {
      const rig_span_event *event = &span->events[e];
      if (e)
        rig__buf_putc(&buf, ',');
      rig__buf_puts(&buf, "{\"name\":");
      rig__json_string(&buf, event->name);
      rig__buf_printf(&buf,
                      ",\"timeUnixNano\":\"%" PRId64 "\",\"attributes\":", event->time_unix_ns);
      rig__json_attributes(&buf, event->attributes, event->attribute_count);
      rig__buf_putc(&buf, '}');
    }
    rig__buf_puts(&buf, "]}");
  }
  rig__buf_puts(&buf, "]}\n");
  *out = rig__buf_detach(&buf);
  return RIG_OK;
}
