/*
 * compose_merge.c - several compose files become one tree, by the Compose Specification's
 * merge rules: mappings merge key by key; sequences append, except command, entrypoint and
 * healthcheck.test which the later file replaces; ports, volumes and a few string lists
 * are unique by a key (a later entry with the same key replaces the earlier one in place);
 * `!reset` removes a value and `!override` replaces it without merging.
 *
 * Before merging, list forms that compose merges by key (environment, labels, depends_on,
 * networks, extra_hosts) are rewritten as mappings, so that "KEY=VALUE" in one file and
 * `KEY: value` in another meet.
 */
#include "compose_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_PATH_DEPTH = 64 };

typedef struct path {
  const char *segments[MAX_PATH_DEPTH];
  int depth;
} path;

/* Matches a pattern such as "services.*.ports" against the path. */
static int path_is(const path *p, const char *pattern)
{
  int i = 0;
  const char *s = pattern;
  while (*s) {
    if (i >= p->depth)
      return 0;
    const char *dot = strchr(s, '.');
    size_t len = dot ? (size_t)(dot - s) : strlen(s);
    if (!(len == 1 && s[0] == '*') &&
        (strlen(p->segments[i]) != len || strncmp(p->segments[i], s, len) != 0))
      return 0;
    i++;
    s += len;
    if (*s == '.')
      s++;
  }
  return i == p->depth;
}

/* ---- normalization ---- */

static rig__cnode *synth_scalar(rig__compose_ctx *ctx, const char *text, size_t len,
                                const rig__cnode *pos)
{
  rig__cnode *node = rig__cnode_new(ctx->tmp, RIG__CN_SCALAR, pos);
  node->text = rig__carena_strndup(ctx->tmp, text, len);
  node->len = len;
  return node;
}

static rig__cnode *synth_null(rig__compose_ctx *ctx, const rig__cnode *pos)
{
  rig__cnode *node = synth_scalar(ctx, "", 0, pos);
  node->plain = 1;
  return node;
}

/* "KEY=VALUE" items become KEY: VALUE; a bare "KEY" becomes KEY: null (or "" for labels). */
static int list_to_map(rig__compose_ctx *ctx, rig__cnode **slot, const char *what, char sep,
                       int bare_is_null)
{
  rig__cnode *list = *slot;
  if (list->kind != RIG__CN_SEQ)
    return RIG_OK;
  rig__cnode *map = rig__cnode_new(ctx->tmp, RIG__CN_MAP, list);
  map->tag = list->tag;
  for (size_t i = 0; i < list->count; i++) {
    rig__cnode *item = list->items[i];
    if (item->kind != RIG__CN_SCALAR || rig__cnode_is_null(item))
      return rig__compose_error(ctx, item, RIG_EPARSE,
                                "%s entries must be strings like KEY=VALUE, not %s", what,
                                rig__cnode_kind_name(item));
    const char *text = item->text;
    /* extra_hosts: "host=ip" (which allows IPv6 addresses) or the older "host:ip" */
    const char *eq = sep == ':' && strchr(text, '=') ? strchr(text, '=') : strchr(text, sep);
    rig__cnode *key, *value;
    if (eq) {
      key = synth_scalar(ctx, text, (size_t)(eq - text), item);
      value = synth_scalar(ctx, eq + 1, strlen(eq + 1), item);
    } else {
      key = synth_scalar(ctx, text, strlen(text), item);
      value = bare_is_null ? synth_null(ctx, item) : synth_scalar(ctx, "", 0, item);
    }
    long existing = rig__cnode_index(map, key->text);
    if (existing >= 0 && sep == ':') {
      /* extra_hosts may give a host several addresses */
      rig__cnode *prev = map->values[existing];
      if (prev->kind != RIG__CN_SEQ) {
        rig__cnode *seq = rig__cnode_new(ctx->tmp, RIG__CN_SEQ, prev);
        rig__cnode_append(ctx->tmp, seq, NULL, prev);
        map->values[existing] = prev = seq;
      }
      rig__cnode_append(ctx->tmp, prev, NULL, value);
    } else if (existing >= 0) {
      map->values[existing] = value;
    } else {
      rig__cnode_append(ctx->tmp, map, key, value);
    }
  }
  *slot = map;
  return RIG_OK;
}

static int depends_list_to_map(rig__compose_ctx *ctx, rig__cnode **slot)
{
  rig__cnode *list = *slot;
  if (list->kind != RIG__CN_SEQ)
    return RIG_OK;
  rig__cnode *map = rig__cnode_new(ctx->tmp, RIG__CN_MAP, list);
  map->tag = list->tag;
  for (size_t i = 0; i < list->count; i++) {
    rig__cnode *item = list->items[i];
    if (item->kind != RIG__CN_SCALAR || rig__cnode_is_null(item))
      return rig__compose_error(ctx, item, RIG_EPARSE,
                                "depends_on entries must be service names, not %s",
                                rig__cnode_kind_name(item));
    rig__cnode *entry = rig__cnode_new(ctx->tmp, RIG__CN_MAP, item);
    rig__cnode *cond = synth_scalar(ctx, "service_started", 15, item);
    rig__cnode *req = synth_scalar(ctx, "true", 4, item);
    req->plain = 1;
    rig__cnode_append(ctx->tmp, entry, synth_scalar(ctx, "condition", 9, item), cond);
    rig__cnode_append(ctx->tmp, entry, synth_scalar(ctx, "required", 8, item), req);
    if (rig__cnode_index(map, item->text) >= 0)
      return rig__compose_error(ctx, item, RIG_EPARSE, "depends_on lists \"%s\" twice", item->text);
    rig__cnode_append(ctx->tmp, map, item, entry);
  }
  *slot = map;
  return RIG_OK;
}

static int networks_list_to_map(rig__compose_ctx *ctx, rig__cnode **slot)
{
  rig__cnode *list = *slot;
  if (list->kind != RIG__CN_SEQ)
    return RIG_OK;
  rig__cnode *map = rig__cnode_new(ctx->tmp, RIG__CN_MAP, list);
  map->tag = list->tag;
  for (size_t i = 0; i < list->count; i++) {
    rig__cnode *item = list->items[i];
    if (item->kind != RIG__CN_SCALAR || rig__cnode_is_null(item))
      return rig__compose_error(ctx, item, RIG_EPARSE,
                                "networks entries must be network names, not %s",
                                rig__cnode_kind_name(item));
    if (rig__cnode_index(map, item->text) < 0)
      rig__cnode_append(ctx->tmp, map, item, synth_null(ctx, item));
  }
  *slot = map;
  return RIG_OK;
}

/* A scalar where compose also takes a list (env_file, dns, tmpfs...): make it a list. */
static void scalar_to_list(rig__compose_ctx *ctx, rig__cnode **slot)
{
  rig__cnode *node = *slot;
  if (node->kind != RIG__CN_SCALAR || rig__cnode_is_null(node))
    return;
  rig__cnode *list = rig__cnode_new(ctx->tmp, RIG__CN_SEQ, node);
  list->tag = node->tag == RIG__TAG_STR ? RIG__TAG_NONE : node->tag;
  rig__cnode_append(ctx->tmp, list, NULL, node);
  *slot = list;
}

int rig__compose_normalize(rig__compose_ctx *ctx, rig__cnode *root)
{
  rig__cnode *services = rig__cnode_get(root, "services");
  if (!services || services->kind != RIG__CN_MAP)
    return RIG_OK; /* reported by the model stage */
  size_t top = rig__compose_path_push(ctx, "services");
  int rc = RIG_OK;
  for (size_t i = 0; i < services->count && rc == RIG_OK; i++) {
    rig__cnode *svc = services->values[i];
    if (svc->kind != RIG__CN_MAP)
      continue;
    size_t mark = rig__compose_path_push(ctx, services->keys[i]->text);
    for (size_t k = 0; k < svc->count && rc == RIG_OK; k++) {
      const char *key = svc->keys[k]->text;
      rig__cnode **slot = &svc->values[k];
      size_t key_mark = rig__compose_path_push(ctx, key);
      if (strcmp(key, "environment") == 0)
        rc = list_to_map(ctx, slot, "environment", '=', 1);
      else if (strcmp(key, "labels") == 0)
        rc = list_to_map(ctx, slot, "labels", '=', 0);
      else if (strcmp(key, "extra_hosts") == 0)
        rc = list_to_map(ctx, slot, "extra_hosts", ':', 0);
      else if (strcmp(key, "depends_on") == 0)
        rc = depends_list_to_map(ctx, slot);
      else if (strcmp(key, "networks") == 0)
        rc = networks_list_to_map(ctx, slot);
      else if (strcmp(key, "env_file") == 0 || strcmp(key, "dns") == 0 ||
               strcmp(key, "dns_search") == 0 || strcmp(key, "tmpfs") == 0)
        scalar_to_list(ctx, slot);
      rig__compose_path_pop(ctx, key_mark);
    }
    rig__compose_path_pop(ctx, mark);
  }
  rig__compose_path_pop(ctx, top);
  return rc;
}

/* ---- merge ---- */

/* The key that makes an entry unique in the sequence at p, or NULL for plain append. */
typedef char *(*indexer_fn)(rig__compose_ctx *ctx, const rig__cnode *item);

static char *index_text(rig__compose_ctx *ctx, const rig__cnode *item)
{
  if (item->kind == RIG__CN_SCALAR)
    return rig__carena_strdup(ctx->tmp, item->text);
  return NULL;
}

static char *index_env_file(rig__compose_ctx *ctx, const rig__cnode *item)
{
  if (item->kind == RIG__CN_MAP) {
    const rig__cnode *p = rig__cnode_get(item, "path");
    return p && p->kind == RIG__CN_SCALAR ? rig__carena_strdup(ctx->tmp, p->text) : NULL;
  }
  return index_text(ctx, item);
}

static char *index_volume(rig__compose_ctx *ctx, const rig__cnode *item)
{
  if (item->kind == RIG__CN_MAP) {
    const rig__cnode *t = rig__cnode_get(item, "target");
    return t && t->kind == RIG__CN_SCALAR ? rig__carena_strdup(ctx->tmp, t->text) : NULL;
  }
  if (item->kind != RIG__CN_SCALAR)
    return NULL;
  /* the target is the second field of source:target[:mode], or the only one */
  const char *text = item->text;
  const char *colon = strchr(text, ':');
  if (!colon)
    return rig__carena_strdup(ctx->tmp, text);
  const char *target = colon + 1;
  const char *end = strchr(target, ':');
  return rig__carena_strndup(ctx->tmp, target, end ? (size_t)(end - target) : strlen(target));
}

static char *index_port(rig__compose_ctx *ctx, const rig__cnode *item)
{
  if (item->kind == RIG__CN_MAP) {
    const rig__cnode *ip = rig__cnode_get(item, "host_ip");
    const rig__cnode *published = rig__cnode_get(item, "published");
    const rig__cnode *target = rig__cnode_get(item, "target");
    const rig__cnode *protocol = rig__cnode_get(item, "protocol");
    return rig__carena_sprintf(ctx->tmp, "%s:%s:%s/%s",
                               ip && !rig__cnode_is_null(ip) ? ip->text : "",
                               published && !rig__cnode_is_null(published) ? published->text : "",
                               target ? target->text : "", protocol ? protocol->text : "tcp");
  }
  if (item->kind != RIG__CN_SCALAR)
    return NULL;
  rig__port_spec *specs = NULL;
  size_t count = 0;
  char *message = NULL;
  char *key = NULL;
  if (rig__parse_port_short(&specs, &count, item->text, &message) == RIG_OK && count == 1) {
    char published[32] = "";
    if (specs[0].published_start && specs[0].published_end != specs[0].published_start)
      snprintf(published, sizeof published, "%d-%d", specs[0].published_start,
               specs[0].published_end);
    else if (specs[0].published_start)
      snprintf(published, sizeof published, "%d", specs[0].published_start);
    key = rig__carena_sprintf(ctx->tmp, "%s:%s:%d/%s", specs[0].host_ip ? specs[0].host_ip : "",
                              published, specs[0].target, specs[0].protocol);
  } else {
    key = rig__carena_strdup(ctx->tmp, item->text);
  }
  if (specs) {
    for (size_t i = 0; i < count; i++) {
      free((char *)specs[i].host_ip);
      free((char *)specs[i].protocol);
    }
    free(specs);
  }
  free(message);
  return key;
}

static indexer_fn indexer_for(const path *p)
{
  if (path_is(p, "services.*.ports"))
    return index_port;
  if (path_is(p, "services.*.volumes"))
    return index_volume;
  if (path_is(p, "services.*.env_file"))
    return index_env_file;
  static const char *const by_text[] = {"services.*.expose",
                                        "services.*.dns",
                                        "services.*.dns_search",
                                        "services.*.cap_add",
                                        "services.*.cap_drop",
                                        "services.*.security_opt",
                                        "services.*.profiles",
                                        "services.*.tmpfs",
                                        "services.*.networks.*.aliases",
                                        NULL};
  for (const char *const *pattern = by_text; *pattern; pattern++)
    if (path_is(p, *pattern))
      return index_text;
  return NULL;
}

static int replaces(const path *p)
{
  return path_is(p, "services.*.command") || path_is(p, "services.*.entrypoint") ||
         path_is(p, "services.*.healthcheck.test");
}

static rig__cnode *merge_seq(rig__compose_ctx *ctx, const path *p, rig__cnode *base,
                             rig__cnode *over)
{
  rig__cnode *result = rig__cnode_new(ctx->tmp, RIG__CN_SEQ, base);
  indexer_fn indexer = indexer_for(p);
  rig__vec keys = {NULL, 0, 0};
  for (int side = 0; side < 2; side++) {
    rig__cnode *seq = side == 0 ? base : over;
    for (size_t i = 0; i < seq->count; i++) {
      rig__cnode *item = seq->items[i];
      char *key = indexer ? indexer(ctx, item) : NULL;
      size_t found = SIZE_MAX;
      if (key)
        for (size_t k = 0; k < keys.count; k++)
          if (keys.items[k] && strcmp(keys.items[k], key) == 0)
            found = k;
      if (found != SIZE_MAX) {
        result->items[found] = item;
      } else {
        rig__cnode_append(ctx->tmp, result, NULL, item);
        rig__vec_push(&keys, key);
      }
    }
  }
  rig__vec_dispose(&keys);
  return result;
}

static int merge_node(rig__compose_ctx *ctx, path *p, rig__cnode *base, rig__cnode *over,
                      rig__cnode **out);

static int merge_map(rig__compose_ctx *ctx, path *p, rig__cnode *base, rig__cnode *over,
                     rig__cnode **out)
{
  rig__cnode *result = rig__cnode_copy(ctx->tmp, base);
  for (size_t i = 0; i < over->count; i++) {
    rig__cnode *key = over->keys[i];
    rig__cnode *value = over->values[i];
    long at = rig__cnode_index(result, key->text);
    if (value->tag == RIG__TAG_RESET) {
      if (at >= 0) {
        memmove(result->keys + at, result->keys + at + 1,
                (result->count - (size_t)at - 1) * sizeof *result->keys);
        memmove(result->values + at, result->values + at + 1,
                (result->count - (size_t)at - 1) * sizeof *result->values);
        result->count--;
      }
      continue;
    }
    if (at < 0) {
      rig__cnode_append(ctx->tmp, result, key, value);
      continue;
    }
    if (p->depth >= MAX_PATH_DEPTH)
      return rig__compose_error_at(value, RIG_EPARSE, "nesting too deep to merge");
    p->segments[p->depth++] = key->text;
    rig__cnode *merged = NULL;
    int rc = merge_node(ctx, p, result->values[at], value, &merged);
    p->depth--;
    if (rc != RIG_OK)
      return rc;
    result->values[at] = merged;
  }
  *out = result;
  return RIG_OK;
}

static int merge_node(rig__compose_ctx *ctx, path *p, rig__cnode *base, rig__cnode *over,
                      rig__cnode **out)
{
  if (over->tag == RIG__TAG_OVERRIDE) {
    *out = over;
    return RIG_OK;
  }
  if (base->kind == RIG__CN_MAP && over->kind == RIG__CN_MAP)
    return merge_map(ctx, p, base, over, out);
  if (base->kind == RIG__CN_SEQ && over->kind == RIG__CN_SEQ && !replaces(p)) {
    *out = merge_seq(ctx, p, base, over);
    return RIG_OK;
  }
  /* a null in the later file does not erase a mapping declared earlier (`volumes: {data:}`) */
  if (base->kind == RIG__CN_MAP && rig__cnode_is_null(over)) {
    *out = base;
    return RIG_OK;
  }
  *out = over;
  return RIG_OK;
}

/* !reset and !override only mean something to a merge; drop the tags' values left in a
   base file so that the model never sees a reset value. */
static void strip_resets(rig__cnode *node, int depth)
{
  if (depth > 256 || node->kind != RIG__CN_MAP)
    return;
  size_t w = 0;
  for (size_t i = 0; i < node->count; i++) {
    if (node->values[i]->tag == RIG__TAG_RESET)
      continue;
    node->keys[w] = node->keys[i];
    node->values[w] = node->values[i];
    w++;
    strip_resets(node->values[i], depth + 1);
  }
  node->count = w;
}

int rig__compose_merge(rig__cnode **out, rig__compose_ctx *ctx, rig__cnode *base,
                       rig__cnode *override)
{
  path p;
  p.depth = 0;
  rig__cnode *result = NULL;
  int rc;
  if (!base) {
    result = override;
    rc = RIG_OK;
  } else {
    rc = merge_node(ctx, &p, base, override, &result);
  }
  if (rc == RIG_OK) {
    strip_resets(result, 0);
    *out = result;
  }
  return rc;
}
