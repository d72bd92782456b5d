/*
 * compose_node.c - the loader's plumbing: the arena that owns one load's nodes and the
 * model's strings, pointer vectors, node helpers, and error/warning reporting with the
 * file:line:col of a node and the path being read.
 */
#include "compose_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct rig__carena_chunk {
  rig__carena_chunk *next;
  size_t used;
  size_t size;
  max_align_t data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void *rig__carena_alloc(rig__carena *arena, size_t size)
{
  size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
  if (size == 0)
    size = sizeof(max_align_t);
  rig__carena_chunk *chunk = arena->head;
  if (!chunk || chunk->size - chunk->used < size) {
    /* Large requests get a chunk of their own behind the current one, so that the space
       left in the current chunk is not wasted. */
    size_t cap = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
    rig__carena_chunk *fresh = rig__malloc(sizeof *fresh + cap);
    fresh->used = 0;
    fresh->size = cap;
    if (chunk && cap != ARENA_CHUNK) {
      fresh->next = chunk->next;
      chunk->next = fresh;
    } else {
      fresh->next = chunk;
      arena->head = fresh;
    }
    chunk = fresh;
  }
  void *p = (char *)chunk->data + chunk->used;
  chunk->used += size;
  memset(p, 0, size);
  return p;
}

char *rig__carena_strndup(rig__carena *arena, const char *s, size_t n)
{
  char *p = rig__carena_alloc(arena, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *rig__carena_strdup(rig__carena *arena, const char *s)
{
  return s ? rig__carena_strndup(arena, s, strlen(s)) : NULL;
}

char *rig__carena_sprintf(rig__carena *arena, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *tmp = rig__vsprintf(fmt, ap);
  va_end(ap);
  char *p = rig__carena_strdup(arena, tmp);
  free(tmp);
  return p;
}

void rig__carena_dispose(rig__carena *arena)
{
  rig__carena_chunk *chunk = arena->head;
  while (chunk) {
    rig__carena_chunk *next = chunk->next;
    free(chunk);
    chunk = next;
  }
  arena->head = NULL;
}

/* ---- vectors ---- */

void rig__vec_push(rig__vec *vec, void *item)
{
  if (vec->count == vec->cap) {
    vec->cap = vec->cap ? vec->cap * 2 : 8;
    vec->items = rig__realloc(vec->items, vec->cap * sizeof *vec->items);
  }
  vec->items[vec->count++] = item;
}

void **rig__vec_finish(rig__vec *vec, rig__carena *arena)
{
  void **items = rig__carena_alloc(arena, (vec->count + 1) * sizeof *items);
  if (vec->count)
    memcpy(items, vec->items, vec->count * sizeof *items);
  items[vec->count] = NULL;
  rig__vec_dispose(vec);
  return items;
}

void rig__vec_dispose(rig__vec *vec)
{
  free(vec->items);
  vec->items = NULL;
  vec->count = vec->cap = 0;
}

/* ---- nodes ---- */

int rig__cnode_is_null(const rig__cnode *node)
{
  if (!node)
    return 1;
  /* an interpolated value is a string even when it came out empty ("${EMPTY}") */
  if (node->kind != RIG__CN_SCALAR || !node->plain || node->interpolated ||
      node->tag == RIG__TAG_STR)
    return 0;
  const char *t = node->text;
  return t[0] == '\0' || strcmp(t, "~") == 0 || strcmp(t, "null") == 0 || strcmp(t, "Null") == 0 ||
         strcmp(t, "NULL") == 0;
}

long rig__cnode_index(const rig__cnode *map, const char *key)
{
  if (!map || map->kind != RIG__CN_MAP)
    return -1;
  for (size_t i = 0; i < map->count; i++)
    if (strcmp(map->keys[i]->text, key) == 0)
      return (long)i;
  return -1;
}

rig__cnode *rig__cnode_get(const rig__cnode *map, const char *key)
{
  long i = rig__cnode_index(map, key);
  return i < 0 ? NULL : map->values[i];
}

rig__cnode *rig__cnode_new(rig__carena *arena, rig__cnode_kind kind, const rig__cnode *pos)
{
  rig__cnode *node = rig__carena_alloc(arena, sizeof *node);
  node->kind = kind;
  node->text = "";
  if (pos) {
    node->file = pos->file;
    node->line = pos->line;
    node->col = pos->col;
  }
  return node;
}

rig__cnode *rig__cnode_scalar(rig__carena *arena, const char *text, const rig__cnode *pos)
{
  rig__cnode *node = rig__cnode_new(arena, RIG__CN_SCALAR, pos);
  node->len = strlen(text);
  node->text = rig__carena_strndup(arena, text, node->len);
  return node;
}

static rig__cnode **grow(rig__carena *arena, rig__cnode **items, size_t count, size_t cap)
{
  rig__cnode **fresh = rig__carena_alloc(arena, cap * sizeof *fresh);
  if (items && count)
    memcpy(fresh, items, count * sizeof *fresh);
  return fresh;
}

void rig__cnode_append(rig__carena *arena, rig__cnode *node, rig__cnode *key, rig__cnode *value)
{
  if (node->count == node->cap) {
    size_t cap = node->cap ? node->cap * 2 : 4;
    if (node->kind == RIG__CN_SEQ) {
      node->items = grow(arena, node->items, node->count, cap);
    } else {
      node->keys = grow(arena, node->keys, node->count, cap);
      node->values = grow(arena, node->values, node->count, cap);
    }
    node->cap = cap;
  }
  if (node->kind == RIG__CN_SEQ) {
    node->items[node->count++] = value;
  } else {
    node->keys[node->count] = key;
    node->values[node->count] = value;
    node->count++;
  }
}

rig__cnode *rig__cnode_copy(rig__carena *arena, const rig__cnode *node)
{
  rig__cnode *copy = rig__carena_alloc(arena, sizeof *copy);
  *copy = *node;
  copy->items = copy->keys = copy->values = NULL;
  size_t n = node->count;
  copy->cap = n;
  if (n == 0)
    return copy;
  if (node->kind == RIG__CN_SEQ) {
    copy->items = grow(arena, node->items, n, n);
  } else if (node->kind == RIG__CN_MAP) {
    copy->keys = grow(arena, node->keys, n, n);
    copy->values = grow(arena, node->values, n, n);
  }
  return copy;
}

const char *rig__cnode_kind_name(const rig__cnode *node)
{
  if (!node || rig__cnode_is_null(node))
    return "null";
  switch (node->kind) {
  case RIG__CN_SEQ:
    return "a list";
  case RIG__CN_MAP:
    return "a mapping";
  default:
    return "a scalar";
  }
}

/* ---- context ---- */

const char *rig__compose_lookup(const rig__compose_ctx *ctx, const char *name)
{
  const char *v = rig_env_get(ctx->process_env, name);
  if (!v && ctx->dotenv)
    v = rig_env_get(ctx->dotenv, name);
  return v;
}

static int verror(const rig__cnode *node, const char *path, int code, const char *fmt, va_list ap)
{
  char *msg = rig__vsprintf(fmt, ap);
  char *text;
  if (!path || !*path)
    text = rig__strdup(msg);
  else if (rig_key_is_secret(path))
    /* "environment.DB_PASSWORD: required ..." would lose a word to the redaction of
       secret-looking "key: value" pairs in error messages */
    text = rig__sprintf("%s (at %s)", msg, path);
  else if (strncmp(msg, "must ", 5) == 0)
    text = rig__sprintf("%s %s", path, msg); /* "services.web.ports must be a list" */
  else
    text = rig__sprintf("%s: %s", path, msg);
  if (node && node->file)
    rig_error_set(code, "%s:%d:%d: %s", node->file, node->line, node->col, text);
  else
    rig_error_set(code, "%s", text);
  free(text);
  free(msg);
  return code;
}

int rig__compose_error(rig__compose_ctx *ctx, const rig__cnode *node, int code, const char *fmt,
                       ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(node, ctx->path.data, code, fmt, ap);
  va_end(ap);
  return code;
}

int rig__compose_error_at(const rig__cnode *node, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  verror(node, NULL, code, fmt, ap);
  va_end(ap);
  return code;
}

void rig__compose_warn(rig__compose_ctx *ctx, const rig__cnode *node, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = rig__vsprintf(fmt, ap);
  va_end(ap);
  char *text = node && node->file ? rig__carena_sprintf(ctx->out, "%s:%d:%d: %s", node->file,
                                                        node->line, node->col, msg)
                                  : rig__carena_strdup(ctx->out, msg);
  free(msg);
  for (size_t i = 0; i < ctx->warnings.count; i++)
    if (strcmp(ctx->warnings.items[i], text) == 0)
      return;
  rig__vec_push(&ctx->warnings, text);
}

size_t rig__compose_path_push(rig__compose_ctx *ctx, const char *segment)
{
  size_t mark = ctx->path.len;
  if (mark)
    rig__buf_putc(&ctx->path, '.');
  rig__buf_puts(&ctx->path, segment);
  return mark;
}

size_t rig__compose_path_push_index(rig__compose_ctx *ctx, size_t index)
{
  size_t mark = ctx->path.len;
  rig__buf_printf(&ctx->path, "[%zu]", index);
  return mark;
}

void rig__compose_path_pop(rig__compose_ctx *ctx, size_t mark)
{
  if (ctx->path.data && mark <= ctx->path.len) {
    ctx->path.len = mark;
    ctx->path.data[mark] = '\0';
  }
}

const char *rig__compose_path(const rig__compose_ctx *ctx)
{
  return ctx->path.data ? ctx->path.data : "";
}
