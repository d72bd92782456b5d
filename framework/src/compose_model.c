/*
 * compose_model.c - typed reading of tree values (with messages that name the path and the
 * place), generic values for x-* extensions, and the project-level model: top-level keys,
 * networks, volumes, profiles, references between services and dependency cycles.
 */
#include "compose_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- typed values ---- */

int rig__compose_expect_scalar(rig__compose_ctx *ctx, const rig__cnode *node, const char **out)
{
  if (node->kind != RIG__CN_SCALAR)
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a string, not %s",
                              rig__cnode_kind_name(node));
  *out = node->text;
  return RIG_OK;
}

int rig__compose_expect_string(rig__compose_ctx *ctx, const rig__cnode *node, const char **out)
{
  if (rig__cnode_is_null(node)) {
    *out = NULL;
    return RIG_OK;
  }
  const char *text = NULL;
  int rc = rig__compose_expect_scalar(ctx, node, &text);
  if (rc == RIG_OK)
    *out = rig__carena_strdup(ctx->out, text);
  return rc;
}

int rig__compose_expect_map(rig__compose_ctx *ctx, const rig__cnode *node)
{
  if (node->kind != RIG__CN_MAP)
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a mapping, not %s",
                              rig__cnode_kind_name(node));
  return RIG_OK;
}

int rig__compose_expect_seq(rig__compose_ctx *ctx, const rig__cnode *node)
{
  if (node->kind != RIG__CN_SEQ)
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a list, not %s",
                              rig__cnode_kind_name(node));
  return RIG_OK;
}

int rig__compose_get_bool(rig__compose_ctx *ctx, const rig__cnode *node, int *out)
{
  int value = 0;
  if (node->kind != RIG__CN_SCALAR || rig_parse_bool(&value, node->text) != RIG_OK) {
    rig_error_clear();
    if (node->kind == RIG__CN_SCALAR)
      return rig__compose_error(ctx, node, RIG_EPARSE,
                                "must be a boolean (true or false), not \"%s\"", node->text);
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a boolean (true or false), not %s",
                              rig__cnode_kind_name(node));
  }
  *out = value;
  return RIG_OK;
}

int rig__compose_get_int(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out)
{
  int64_t value = 0;
  if (node->kind != RIG__CN_SCALAR || rig_parse_int(&value, node->text) != RIG_OK) {
    rig_error_clear();
    if (node->kind == RIG__CN_SCALAR)
      return rig__compose_error(ctx, node, RIG_EPARSE, "must be an integer, not \"%s\"",
                                node->text);
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be an integer, not %s",
                              rig__cnode_kind_name(node));
  }
  *out = value;
  return RIG_OK;
}

int rig__compose_get_duration(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out_ns)
{
  int64_t value = 0;
  if (node->kind != RIG__CN_SCALAR || rig_duration_parse_ns(&value, node->text) != RIG_OK ||
      value < 0) {
    rig_error_clear();
    if (node->kind == RIG__CN_SCALAR)
      return rig__compose_error(ctx, node, RIG_EPARSE,
                                "invalid duration \"%s\" (examples: 250ms, 10s, 1m30s)",
                                node->text);
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a duration, not %s",
                              rig__cnode_kind_name(node));
  }
  *out_ns = value;
  return RIG_OK;
}

int rig__compose_get_bytes(rig__compose_ctx *ctx, const rig__cnode *node, int64_t *out)
{
  if (node->kind != RIG__CN_SCALAR || rig__parse_bytes(out, node->text) != RIG_OK) {
    if (node->kind == RIG__CN_SCALAR)
      return rig__compose_error(ctx, node, RIG_EPARSE,
                                "invalid size \"%s\" (examples: 1024, 64m, 1g)", node->text);
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a size, not %s",
                              rig__cnode_kind_name(node));
  }
  return RIG_OK;
}

int rig__compose_get_strings(rig__compose_ctx *ctx, const rig__cnode *node, int allow_scalar,
                             rig_compose_strings *out)
{
  out->items = NULL;
  out->count = 0;
  if (rig__cnode_is_null(node))
    return RIG_OK;
  rig__vec vec = {NULL, 0, 0};
  if (node->kind == RIG__CN_SCALAR && allow_scalar) {
    rig__vec_push(&vec, rig__carena_strdup(ctx->out, node->text));
  } else if (node->kind == RIG__CN_SEQ) {
    for (size_t i = 0; i < node->count; i++) {
      const rig__cnode *item = node->items[i];
      if (item->kind != RIG__CN_SCALAR) {
        rig__vec_dispose(&vec);
        size_t mark = rig__compose_path_push_index(ctx, i);
        int rc = rig__compose_error(ctx, item, RIG_EPARSE, "must be a string, not %s",
                                    rig__cnode_kind_name(item));
        rig__compose_path_pop(ctx, mark);
        return rc;
      }
      rig__vec_push(&vec, rig__carena_strdup(ctx->out, item->text));
    }
  } else {
    return rig__compose_error(ctx, node, RIG_EPARSE, "must be a list%s, not %s",
                              allow_scalar ? " or a string" : "", rig__cnode_kind_name(node));
  }
  out->count = vec.count;
  out->items = (const char *const *)rig__vec_finish(&vec, ctx->out);
  return RIG_OK;
}

int rig__compose_get_kv(rig__compose_ctx *ctx, const rig__cnode *node, int allow_null,
                        const rig_compose_kv **out, size_t *out_count)
{
  *out = NULL;
  *out_count = 0;
  if (rig__cnode_is_null(node))
    return RIG_OK;
  int rc = rig__compose_expect_map(ctx, node);
  if (rc != RIG_OK)
    return rc;
  rig_compose_kv *kv = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *kv);
  for (size_t i = 0; i < node->count; i++) {
    const rig__cnode *value = node->values[i];
    kv[i].key = rig__carena_strdup(ctx->out, node->keys[i]->text);
    if (rig__cnode_is_null(value)) {
      kv[i].value = allow_null ? NULL : "";
    } else if (value->kind != RIG__CN_SCALAR) {
      size_t mark = rig__compose_path_push(ctx, node->keys[i]->text);
      rc = rig__compose_error(ctx, value, RIG_EPARSE, "must be a string, not %s",
                              rig__cnode_kind_name(value));
      rig__compose_path_pop(ctx, mark);
      return rc;
    } else {
      kv[i].value = rig__carena_strdup(ctx->out, value->text);
    }
  }
  *out = kv;
  *out_count = node->count;
  return RIG_OK;
}

static int is_extension(const char *key)
{
  return key[0] == 'x' && key[1] == '-';
}

int rig__compose_check_keys(rig__compose_ctx *ctx, const rig__cnode *map, const char *const *known,
                            const char *const *unsupported)
{
  for (size_t i = 0; i < map->count; i++) {
    const rig__cnode *key = map->keys[i];
    const char *name = key->text;
    if (is_extension(name))
      continue;
    int found = 0;
    for (const char *const *k = known; *k && !found; k++)
      found = strcmp(*k, name) == 0;
    if (found)
      continue;
    size_t mark = rig__compose_path_push(ctx, name);
    for (const char *const *k = unsupported; k && *k; k++)
      if (strcmp(*k, name) == 0) {
        const char *hint = rig__compose_unsupported_hint(name);
        int rc = rig__compose_error(ctx, key, RIG_EUNSUPPORTED, "not supported by stackrig yet%s%s",
                                    hint ? ": " : "", hint ? hint : "");
        rig__compose_path_pop(ctx, mark);
        return rc;
      }
    rig__compose_path_pop(ctx, mark);
    const char *suggestion = rig__did_you_mean(name, known);
    if (!suggestion)
      suggestion = rig__did_you_mean(name, unsupported);
    if (suggestion)
      return rig__compose_error(ctx, key, RIG_EPARSE, "unknown key \"%s\" (did you mean \"%s\"?)",
                                name, suggestion);
    return rig__compose_error(ctx, key, RIG_EPARSE, "unknown key \"%s\"", name);
  }
  return RIG_OK;
}

const char *rig__compose_unsupported_hint(const char *key)
{
  static const struct {
    const char *key;
    const char *hint;
  } hints[] = {
      {"build", "build the image first and use image:"},
      {"extends", "copy the settings, or put them in a second file given with -f"},
      {"include", "list the files with -f instead"},
      {"secrets", "mount the file with volumes: instead"},
      {"configs", "mount the file with volumes: instead"},
      {"develop", "it is for docker compose watch"},
      {"links", "services reach each other by name on their networks"},
      {"logging", "stackrig reads container logs through the engine"},
  };
  for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
    if (strcmp(hints[i].key, key) == 0)
      return hints[i].hint;
  return NULL;
}

/* ---- generic values ---- */

static int is_int_text(const char *s)
{
  if (*s == '-' || *s == '+')
    s++;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2]) {
    int hex = s[1] == 'x';
    for (s += 2; *s; s++)
      if (hex ? !isxdigit((unsigned char)*s) : (*s < '0' || *s > '7'))
        return 0;
    return 1;
  }
  if (!*s)
    return 0;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s))
      return 0;
  return 1;
}

static int is_float_text(const char *s)
{
  if (*s == '-' || *s == '+')
    s++;
  if (strcmp(s, ".inf") == 0 || strcmp(s, ".Inf") == 0 || strcmp(s, ".INF") == 0)
    return 1;
  int digits = 0;
  while (isdigit((unsigned char)*s)) {
    s++;
    digits++;
  }
  if (*s == '.') {
    s++;
    while (isdigit((unsigned char)*s)) {
      s++;
      digits++;
    }
  }
  if (!digits)
    return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+')
      s++;
    if (!isdigit((unsigned char)*s))
      return 0;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == '\0';
}

int rig__compose_value(rig__compose_ctx *ctx, const rig__cnode *node, rig_compose_value *out)
{
  memset(out, 0, sizeof *out);
  out->file = node->file;
  out->line = node->line;
  out->column = node->col;
  if (node->kind == RIG__CN_SCALAR) {
    const char *t = node->text;
    out->string = rig__carena_strndup(ctx->out, t, node->len);
    out->type = RIG_COMPOSE_VALUE_STRING;
    if (!node->plain || node->interpolated)
      return RIG_OK;
    if (rig__cnode_is_null(node)) {
      out->type = RIG_COMPOSE_VALUE_NULL;
    } else if (!strcmp(t, "true") || !strcmp(t, "True") || !strcmp(t, "TRUE")) {
      out->type = RIG_COMPOSE_VALUE_BOOL;
      out->boolean = 1;
    } else if (!strcmp(t, "false") || !strcmp(t, "False") || !strcmp(t, "FALSE")) {
      out->type = RIG_COMPOSE_VALUE_BOOL;
    } else if (is_int_text(t)) {
      const char *digits = t + (*t == '-' || *t == '+');
      int base = digits[0] == '0' && digits[1] == 'x'   ? 16
                 : digits[0] == '0' && digits[1] == 'o' ? 8
                                                        : 10;
      long long v = strtoll(base == 10 ? digits : digits + 2, NULL, base);
      if (*t == '-')
        v = -v;
      out->type = RIG_COMPOSE_VALUE_INT;
      out->integer = v;
      out->number = (double)v;
    } else if (is_float_text(t)) {
      out->type = RIG_COMPOSE_VALUE_FLOAT;
      const char *s = t + (*t == '-' || *t == '+');
      out->number = s[0] == '.' && (s[1] == 'i' || s[1] == 'I') ? HUGE_VAL : strtod(s, NULL);
      if (*t == '-')
        out->number = -out->number;
    }
    return RIG_OK;
  }
  out->type = node->kind == RIG__CN_MAP ? RIG_COMPOSE_VALUE_MAP : RIG_COMPOSE_VALUE_LIST;
  out->count = node->count;
  rig_compose_value *items = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *items);
  const char **keys = NULL;
  if (node->kind == RIG__CN_MAP)
    keys = rig__carena_alloc(ctx->out, (node->count + 1) * sizeof *keys);
  for (size_t i = 0; i < node->count; i++) {
    if (--ctx->node_budget < 0)
      return rig__compose_error(ctx, node, RIG_EPARSE, "the document is too large");
    int rc = rig__compose_value(ctx, node->kind == RIG__CN_MAP ? node->values[i] : node->items[i],
                                &items[i]);
    if (rc != RIG_OK)
      return rc;
    if (keys)
      keys[i] = rig__carena_strdup(ctx->out, node->keys[i]->text);
  }
  out->items = items;
  out->keys = keys;
  return RIG_OK;
}

int rig__compose_extensions(rig__compose_ctx *ctx, const rig__cnode *map,
                            const rig_compose_value **out)
{
  rig_compose_value *value = rig__carena_alloc(ctx->out, sizeof *value);
  value->type = RIG_COMPOSE_VALUE_MAP;
  if (map) {
    value->file = map->file;
    value->line = map->line;
    value->column = map->col;
  }
  size_t count = 0;
  for (size_t i = 0; map && i < map->count; i++)
    count += is_extension(map->keys[i]->text);
  rig_compose_value *items = rig__carena_alloc(ctx->out, (count + 1) * sizeof *items);
  const char **keys = rig__carena_alloc(ctx->out, (count + 1) * sizeof *keys);
  size_t n = 0;
  for (size_t i = 0; map && i < map->count; i++) {
    if (!is_extension(map->keys[i]->text))
      continue;
    size_t mark = rig__compose_path_push(ctx, map->keys[i]->text);
    int rc = rig__compose_value(ctx, map->values[i], &items[n]);
    rig__compose_path_pop(ctx, mark);
    if (rc != RIG_OK)
      return rc;
    keys[n++] = rig__carena_strdup(ctx->out, map->keys[i]->text);
  }
  value->count = n;
  value->items = items;
  value->keys = keys;
  *out = value;
  return RIG_OK;
}

/* ---- keys of a mapping ---- */

int rig__compose_sub_bool(rig__compose_ctx *ctx, const rig__cnode *map, const char *key, int *out)
{
  const rig__cnode *v = rig__cnode_get(map, key);
  if (!v)
    return RIG_OK;
  size_t mark = rig__compose_path_push(ctx, key);
  int rc = rig__compose_get_bool(ctx, v, out);
  rig__compose_path_pop(ctx, mark);
  return rc;
}

int rig__compose_sub_string(rig__compose_ctx *ctx, const rig__cnode *map, const char *key,
                            const char **out)
{
  const rig__cnode *v = rig__cnode_get(map, key);
  if (!v)
    return RIG_OK;
  size_t mark = rig__compose_path_push(ctx, key);
  int rc = rig__compose_expect_string(ctx, v, out);
  rig__compose_path_pop(ctx, mark);
  return rc;
}
