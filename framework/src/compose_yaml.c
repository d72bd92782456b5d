/*
 * compose_yaml.c - YAML text -> node tree with positions, on libyaml's event parser.
 *
 * Aliases share the anchored subtree instead of copying it, so a file full of anchors
 * stays small here; the interpolation stage copies (and budgets) the expansion. `<<` merge
 * keys are applied when their mapping ends: the mapping's own keys win, then the merged
 * mappings in the order listed (an earlier one wins over a later one).
 */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_DEPTH = 256 };

typedef struct anchor {
  char *name;
  rig__cnode *node;
} anchor;

typedef struct reader {
  yaml_parser_t parser;
  rig__carena *arena;
  const char *file;
  anchor *anchors;
  size_t anchor_count;
  size_t anchor_cap;
} reader;

static int at_mark(reader *r, yaml_mark_t mark, const char *fmt, const char *detail)
{
  return rig_error_set(RIG_EPARSE, "%s:%zu:%zu: %s%s%s", r->file, mark.line + 1, mark.column + 1,
                       fmt, detail ? ": " : "", detail ? detail : "");
}

static int parser_error(reader *r)
{
  yaml_parser_t *p = &r->parser;
  const char *problem = p->problem ? p->problem : "malformed YAML";
  if (p->context)
    return rig_error_set(RIG_EPARSE, "%s:%zu:%zu: %s (%s at line %zu)", r->file,
                         p->problem_mark.line + 1, p->problem_mark.column + 1, problem, p->context,
                         p->context_mark.line + 1);
  return rig_error_set(RIG_EPARSE, "%s:%zu:%zu: %s", r->file, p->problem_mark.line + 1,
                       p->problem_mark.column + 1, problem);
}

static int next_event(reader *r, yaml_event_t *event)
{
  if (!yaml_parser_parse(&r->parser, event))
    return parser_error(r);
  return RIG_OK;
}

static void set_anchor(reader *r, const yaml_char_t *name, rig__cnode *node)
{
  if (!name)
    return;
  for (size_t i = 0; i < r->anchor_count; i++)
    if (strcmp(r->anchors[i].name, (const char *)name) == 0) {
      r->anchors[i].node = node; /* a redefined anchor: later aliases see the new node */
      return;
    }
  if (r->anchor_count == r->anchor_cap) {
    r->anchor_cap = r->anchor_cap ? r->anchor_cap * 2 : 16;
    r->anchors = rig__realloc(r->anchors, r->anchor_cap * sizeof *r->anchors);
  }
  r->anchors[r->anchor_count].name = rig__strdup((const char *)name);
  r->anchors[r->anchor_count].node = node;
  r->anchor_count++;
}

static rig__cnode *find_anchor(reader *r, const yaml_char_t *name)
{
  for (size_t i = r->anchor_count; i-- > 0;)
    if (strcmp(r->anchors[i].name, (const char *)name) == 0)
      return r->anchors[i].node;
  return NULL;
}

static unsigned char tag_of(const yaml_char_t *tag)
{
  if (!tag)
    return RIG__TAG_NONE;
  const char *t = (const char *)tag;
  if (strcmp(t, "!reset") == 0)
    return RIG__TAG_RESET;
  if (strcmp(t, "!override") == 0)
    return RIG__TAG_OVERRIDE;
  if (strcmp(t, YAML_STR_TAG) == 0)
    return RIG__TAG_STR;
  return RIG__TAG_OTHER;
}

static rig__cnode *new_node(reader *r, rig__cnode_kind kind, yaml_mark_t mark)
{
  rig__cnode *node = rig__cnode_new(r->arena, kind, NULL);
  node->file = r->file;
  node->line = (int)mark.line + 1;
  node->col = (int)mark.column + 1;
  return node;
}

static int parse_node(reader *r, yaml_event_t *event, rig__cnode **out, int depth);

static int is_merge_key(const rig__cnode *key)
{
  return key->kind == RIG__CN_SCALAR && key->plain && key->tag == RIG__TAG_NONE &&
         strcmp(key->text, "<<") == 0;
}

static int has_key(rig__cnode **keys, size_t count, const char *text)
{
  for (size_t i = 0; i < count; i++)
    if (strcmp(keys[i]->text, text) == 0)
      return 1;
  return 0;
}

/* Builds the final mapping from its raw pairs, expanding merge keys. */
static int finish_mapping(reader *r, rig__cnode *raw, rig__cnode **out)
{
  int merges = 0;
  for (size_t i = 0; i < raw->count; i++) {
    if (is_merge_key(raw->keys[i])) {
      merges = 1;
      continue;
    }
    for (size_t j = 0; j < i; j++)
      if (!is_merge_key(raw->keys[j]) && strcmp(raw->keys[j]->text, raw->keys[i]->text) == 0)
        return rig__compose_error_at(raw->keys[i], RIG_EPARSE,
                                     "mapping key \"%s\" already defined at line %d",
                                     raw->keys[i]->text, raw->keys[j]->line);
  }
  if (!merges) {
    *out = raw;
    return RIG_OK;
  }
  rig__cnode *map = rig__cnode_new(r->arena, RIG__CN_MAP, raw);
  map->tag = raw->tag;
  for (size_t i = 0; i < raw->count; i++) {
    rig__cnode *key = raw->keys[i];
    if (!is_merge_key(key)) {
      rig__cnode_append(r->arena, map, key, raw->values[i]);
      continue;
    }
    rig__cnode *value = raw->values[i];
    rig__cnode *const *sources = &value;
    size_t source_count = 1;
    if (value->kind == RIG__CN_SEQ) {
      sources = value->items;
      source_count = value->count;
    }
    for (size_t s = 0; s < source_count; s++) {
      rig__cnode *src = sources[s];
      if (src->kind != RIG__CN_MAP)
        return rig__compose_error_at(
            src, RIG_EPARSE,
            "the value of a merge key (<<) must be a mapping or a list of mappings");
      for (size_t k = 0; k < src->count; k++) {
        const char *name = src->keys[k]->text;
        /* explicit keys of this mapping win, and so do keys merged earlier */
        int explicit = 0;
        for (size_t e = 0; e < raw->count; e++)
          if (!is_merge_key(raw->keys[e]) && strcmp(raw->keys[e]->text, name) == 0)
            explicit = 1;
        if (!explicit && !has_key(map->keys, map->count, name))
          rig__cnode_append(r->arena, map, src->keys[k], src->values[k]);
      }
    }
  }
  *out = map;
  return RIG_OK;
}

static int parse_collection(reader *r, yaml_event_t *start, rig__cnode **out, int depth)
{
  int is_map = start->type == YAML_MAPPING_START_EVENT;
  rig__cnode *node = new_node(r, is_map ? RIG__CN_MAP : RIG__CN_SEQ, start->start_mark);
  yaml_char_t *anchor_name = NULL;
  if (is_map) {
    node->tag = tag_of(start->data.mapping_start.tag);
    if (start->data.mapping_start.anchor)
      anchor_name = (yaml_char_t *)rig__strdup((const char *)start->data.mapping_start.anchor);
  } else {
    node->tag = tag_of(start->data.sequence_start.tag);
    if (start->data.sequence_start.anchor)
      anchor_name = (yaml_char_t *)rig__strdup((const char *)start->data.sequence_start.anchor);
  }
  if (depth > MAX_DEPTH) {
    free(anchor_name);
    return at_mark(r, start->start_mark, "nesting too deep", NULL);
  }
  int rc = RIG_OK;
  for (;;) {
    yaml_event_t event;
    if ((rc = next_event(r, &event)) != RIG_OK)
      break;
    if (event.type == YAML_MAPPING_END_EVENT || event.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&event);
      break;
    }
    rig__cnode *child = NULL;
    rc = parse_node(r, &event, &child, depth + 1);
    yaml_event_delete(&event);
    if (rc != RIG_OK)
      break;
    if (!is_map) {
      rig__cnode_append(r->arena, node, NULL, child);
      continue;
    }
    if (child->kind != RIG__CN_SCALAR) {
      rc = rig__compose_error_at(child, RIG_EPARSE, "mapping keys must be scalars, not %s",
                                 rig__cnode_kind_name(child));
      break;
    }
    yaml_event_t value_event;
    if ((rc = next_event(r, &value_event)) != RIG_OK)
      break;
    rig__cnode *value = NULL;
    rc = parse_node(r, &value_event, &value, depth + 1);
    yaml_event_delete(&value_event);
    if (rc != RIG_OK)
      break;
    rig__cnode_append(r->arena, node, child, value);
  }
  if (rc == RIG_OK && is_map)
    rc = finish_mapping(r, node, &node);
  if (rc == RIG_OK) {
    set_anchor(r, anchor_name, node);
    *out = node;
  }
  free(anchor_name);
  return rc;
}

static int parse_node(reader *r, yaml_event_t *event, rig__cnode **out, int depth)
{
  switch (event->type) {
  case YAML_SCALAR_EVENT: {
    rig__cnode *node = new_node(r, RIG__CN_SCALAR, event->start_mark);
    node->len = event->data.scalar.length;
    node->text = rig__carena_strndup(r->arena, (const char *)event->data.scalar.value, node->len);
    node->tag = tag_of(event->data.scalar.tag);
    node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && node->tag != RIG__TAG_STR;
    set_anchor(r, event->data.scalar.anchor, node);
    *out = node;
    return RIG_OK;
  }
  case YAML_ALIAS_EVENT: {
    rig__cnode *target = find_anchor(r, event->data.alias.anchor);
    if (!target)
      return at_mark(r, event->start_mark, "unknown anchor",
                     (const char *)event->data.alias.anchor);
    *out = target;
    return RIG_OK;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT:
    return parse_collection(r, event, out, depth);
  default:
    return at_mark(r, event->start_mark, "unexpected YAML event", NULL);
  }
}

int rig__compose_parse_yaml(rig__cnode **out, rig__carena *arena, const char *text, size_t len,
                            const char *display_name)
{
  reader r;
  memset(&r, 0, sizeof r);
  r.arena = arena;
  r.file = display_name;
  if (!yaml_parser_initialize(&r.parser))
    return rig_error_set(RIG_ENOMEM, "%s: cannot initialize the YAML parser", display_name);
  yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);

  rig__cnode *root = NULL;
  int documents = 0;
  int rc = RIG_OK;
  for (;;) {
    yaml_event_t event;
    if ((rc = next_event(&r, &event)) != RIG_OK)
      break;
    yaml_event_type_t type = event.type;
    if (type == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&event);
      break;
    }
    if (type == YAML_DOCUMENT_START_EVENT && ++documents > 1) {
      rc = at_mark(&r, event.start_mark,
                   "a compose file holds one YAML document; found a second one", NULL);
      yaml_event_delete(&event);
      break;
    }
    if (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
        type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT)
      rc = parse_node(&r, &event, &root, 0);
    yaml_event_delete(&event);
    if (rc != RIG_OK)
      break;
  }
  for (size_t i = 0; i < r.anchor_count; i++)
    free(r.anchors[i].name);
  free(r.anchors);
  yaml_parser_delete(&r.parser);
  if (rc == RIG_OK)
    *out = root;
  return rc;
}
