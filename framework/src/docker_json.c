/*
 * docker_json.c - what the docker_*.c files share to speak JSON and URLs: typed getters
 * that accept absent members, string lists and label maps, the filters parameter, query
 * strings, and the arena in which the structs handed to callers are built.
 */
#include "docker_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "stackrig/error.h"

/* ------------------------------------------------------------------------------------ */
/* JSON helpers                                                                           */

json_object *rig__json_get(json_object *obj, const char *key)
{
  json_object *value = NULL;
  if (!obj || !json_object_is_type(obj, json_type_object) ||
      !json_object_object_get_ex(obj, key, &value))
    return NULL;
  return json_object_is_type(value, json_type_null) ? NULL : value;
}

const char *rig__json_str(json_object *obj, const char *key)
{
  json_object *value = rig__json_get(obj, key);
  return value && json_object_is_type(value, json_type_string) ? json_object_get_string(value)
                                                               : NULL;
}

int64_t rig__json_int(json_object *obj, const char *key)
{
  json_object *value = rig__json_get(obj, key);
  return value ? json_object_get_int64(value) : 0;
}

int rig__json_bool(json_object *obj, const char *key)
{
  json_object *value = rig__json_get(obj, key);
  return value ? json_object_get_boolean(value) : 0;
}

json_object *rig__json_strv(const char *const *list)
{
  if (!list)
    return NULL;
  json_object *array = json_object_new_array();
  for (; *list; list++)
    json_object_array_add(array, json_object_new_string(*list));
  return array;
}

json_object *rig__json_labels(const rig_docker_label *labels, size_t count)
{
  json_object *map = json_object_new_object();
  for (size_t i = 0; i < count; i++)
    if (labels[i].key)
      json_object_object_add(map, labels[i].key,
                             json_object_new_string(labels[i].value ? labels[i].value : ""));
  return map;
}

char *rig__docker_filters_json(const rig_docker_filter *filters, size_t count)
{
  if (!filters || count == 0)
    return NULL;
  json_object *map = json_object_new_object();
  for (size_t i = 0; i < count; i++) {
    if (!filters[i].name || !filters[i].value)
      continue;
    json_object *list = rig__json_get(map, filters[i].name);
    if (!list) {
      list = json_object_new_array();
      json_object_object_add(map, filters[i].name, list);
    }
    json_object_array_add(list, json_object_new_string(filters[i].value));
  }
  char *text = NULL;
  if (json_object_object_length(map) > 0)
    text = rig__strdup(json_object_to_json_string_ext(map, JSON_C_TO_STRING_PLAIN));
  json_object_put(map);
  return text;
}

void rig__docker_query(rig_buf *path, const char *name, const char *value)
{
  char *escaped = NULL;
  rig_http_escape(&escaped, value);
  rig__buf_printf(path, "%c%s=%s", path->data && strchr(path->data, '?') ? '&' : '?', name,
                  escaped);
  free(escaped);
}

char *rig__docker_path(const char *collection, const char *id, const char *rest_fmt, ...)
{
  char *escaped = NULL;
  rig_http_escape(&escaped, id);
  rig_buf path = RIG_BUF_INIT;
  rig__buf_printf(&path, "/%s/%s", collection, escaped);
  free(escaped);
  if (rest_fmt) {
    va_list ap;
    va_start(ap, rest_fmt);
    rig__buf_vprintf(&path, rest_fmt, ap);
    va_end(ap);
  }
  return rig__buf_detach(&path);
}

/* ------------------------------------------------------------------------------------ */
/* Arena                                                                                  */

struct rig__arena_block {
  rig__arena_block *next;
  size_t used;
  size_t cap;
  max_align_t data[];
};

void *rig__arena_alloc(rig__arena *arena, size_t size)
{
  size_t align = sizeof(max_align_t);
  size = (size + align - 1) / align * align;
  if (size == 0)
    size = align;
  rig__arena_block *block = arena->head;
  if (!block || block->cap - block->used < size) {
    size_t cap = size > 4096 ? size : 4096;
    block = rig__calloc(1, sizeof *block + cap);
    block->cap = cap;
    block->next = arena->head;
    arena->head = block;
  }
  void *p = (char *)block->data + block->used;
  block->used += size;
  return p;
}

char *rig__arena_strdup(rig__arena *arena, const char *s)
{
  if (!s)
    return NULL;
  size_t len = strlen(s);
  char *copy = rig__arena_alloc(arena, len + 1);
  memcpy(copy, s, len + 1);
  return copy;
}

void rig__arena_dispose(rig__arena *arena)
{
  rig__arena_block *block = arena->head;
  while (block) {
    rig__arena_block *next = block->next;
    free(block);
    block = next;
  }
  arena->head = NULL;
}

static int label_cmp(const void *a, const void *b)
{
  return strcmp(((const rig_docker_label *)a)->key, ((const rig_docker_label *)b)->key);
}

void rig__arena_labels(rig__arena *arena, json_object *map, const rig_docker_label **out,
                       size_t *out_count)
{
  *out = NULL;
  *out_count = 0;
  if (!map || !json_object_is_type(map, json_type_object))
    return;
  size_t n = (size_t)json_object_object_length(map);
  if (n == 0)
    return;
  rig_docker_label *labels = rig__arena_alloc(arena, n * sizeof *labels);
  size_t i = 0;
  json_object_object_foreach(map, key, value)
  {
    labels[i].key = rig__arena_strdup(arena, key);
    labels[i].value = rig__arena_strdup(arena, json_object_is_type(value, json_type_string)
                                                   ? json_object_get_string(value)
                                                   : json_object_to_json_string(value));
    i++;
  }
  qsort(labels, i, sizeof *labels, label_cmp);
  *out = labels;
  *out_count = i;
}

const char *const *rig__arena_strv(rig__arena *arena, json_object *array)
{
  size_t n =
      array && json_object_is_type(array, json_type_array) ? json_object_array_length(array) : 0;
  const char **list = rig__arena_alloc(arena, (n + 1) * sizeof *list);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *item = json_object_array_get_idx(array, i);
    if (json_object_is_type(item, json_type_string))
      list[k++] = rig__arena_strdup(arena, json_object_get_string(item));
  }
  list[k] = NULL;
  return list;
}

const char *rig__docker_label_get(const rig_docker_label *labels, size_t count, const char *key)
{
  if (!key)
    return NULL;
  for (size_t i = 0; i < count; i++)
    if (strcmp(labels[i].key, key) == 0)
      return labels[i].value;
  return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* Lists                                                                                  */

char *rig__docker_list_path(const char *base, const rig_docker_list_options *opts, int with_all)
{
  rig_buf path = RIG_BUF_INIT;
  rig__buf_puts(&path, base);
  if (opts && with_all && opts->all)
    rig__docker_query(&path, "all", "1");
  char *filters = opts ? rig__docker_filters_json(opts->filters, opts->filter_count) : NULL;
  if (filters)
    rig__docker_query(&path, "filters", filters);
  free(filters);
  return rig__buf_detach(&path);
}
