/*
 * compose_interp.c - variable interpolation in compose files.
 *
 * The grammar is the Compose Specification's: $VAR and ${VAR} with the modifiers :- - :? ?
 * :+ +, whose words may nest further substitutions, and $$ for a literal $. Unlike a
 * regular-expression implementation, words are evaluated lazily (as a shell does): the
 * default of ${A:-${B:?missing}} is not evaluated, and cannot fail, when A is set.
 */
#include "compose_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_NESTING = 64 };

typedef struct interp {
  const char *text;
  int depth;
  rig__lookup_fn lookup;
  void *lookup_data;
  void (*unset)(void *data, const char *name);
  void *unset_data;
  int changed;
  int code;
  char *error;
} interp;

static int is_name_start(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
  return is_name_start(c) || (c >= '0' && c <= '9');
}

static int fail(interp *in, int code, char *message)
{
  if (!in->error) {
    in->error = message;
    in->code = code;
  } else {
    free(message);
  }
  return code;
}

static int invalid(interp *in)
{
  return fail(
      in, RIG_EPARSE,
      rig__sprintf("invalid interpolation format \"%s\" (write $$ for a literal $)", in->text));
}

static int substitute(interp *in, const char *s, size_t *pos, rig_buf *out, int eval, int in_word);

/* ${NAME...}: *pos is just after "${". */
static int braced(interp *in, const char *s, size_t *pos, rig_buf *out, int eval)
{
  size_t i = *pos;
  if (!is_name_start(s[i]))
    return invalid(in);
  size_t name_start = i;
  while (is_name_char(s[i]))
    i++;
  char *name = rig__strndup(s + name_start, i - name_start);
  const char *value = eval ? in->lookup(in->lookup_data, name) : NULL;
  int rc = RIG_OK;

  if (s[i] == '}') {
    if (eval) {
      if (!value && in->unset)
        in->unset(in->unset_data, name);
      rig__buf_puts(out, value ? value : "");
    }
    *pos = i + 1;
    free(name);
    return RIG_OK;
  }

  int colon = 0;
  if (s[i] == ':') {
    colon = 1;
    i++;
  }
  char op = s[i];
  if (op != '-' && op != '?' && op != '+') {
    free(name);
    return invalid(in);
  }
  i++;
  int set = value != NULL && (!colon || value[0] != '\0');
  int need_word = 0;
  switch (op) {
  case '-':
  case '?':
    need_word = !set;
    break;
  default:
    need_word = set;
    break;
  }
  rig_buf word = RIG_BUF_INIT;
  if (++in->depth > MAX_NESTING) {
    free(name);
    return fail(in, RIG_EPARSE,
                rig__sprintf("interpolation nested deeper than %d levels", MAX_NESTING));
  }
  rc = substitute(in, s, &i, &word, eval && need_word, 1);
  in->depth--;
  if (rc == RIG_OK && s[i] != '}')
    rc = invalid(in);
  if (rc == RIG_OK) {
    i++;
    if (eval) {
      switch (op) {
      case '-':
        rig__buf_puts(out, set ? value : (word.data ? word.data : ""));
        break;
      case '+':
        if (set)
          rig__buf_puts(out, word.data ? word.data : "");
        break;
      default: /* '?' */
        if (!set)
          rc = fail(in, RIG_EINVAL,
                    word.len ? rig__sprintf("required variable %s is missing a value: %s", name,
                                            word.data)
                             : rig__sprintf("required variable %s is missing a value", name));
        else
          rig__buf_puts(out, value);
        break;
      }
    }
    *pos = i;
  }
  rig__buf_dispose(&word);
  free(name);
  return rc;
}

/* Copies s from *pos to the end (or to the '}' closing a word when in_word), substituting. */
static int substitute(interp *in, const char *s, size_t *pos, rig_buf *out, int eval, int in_word)
{
  size_t i = *pos;
  for (;;) {
    char c = s[i];
    if (c == '\0') {
      if (in_word)
        return invalid(in);
      break;
    }
    if (in_word && c == '}')
      break;
    if (c != '$') {
      size_t run = i;
      while (s[i] && s[i] != '$' && !(in_word && s[i] == '}'))
        i++;
      if (eval)
        rig__buf_append(out, s + run, i - run);
      continue;
    }
    char next = s[i + 1];
    in->changed = 1;
    if (next == '$') {
      if (eval)
        rig__buf_putc(out, '$');
      i += 2;
    } else if (next == '{') {
      i += 2;
      int rc = braced(in, s, &i, out, eval);
      if (rc != RIG_OK)
        return rc;
    } else if (is_name_start(next)) {
      size_t start = ++i;
      while (is_name_char(s[i]))
        i++;
      if (eval) {
        char *name = rig__strndup(s + start, i - start);
        const char *value = in->lookup(in->lookup_data, name);
        if (!value && in->unset)
          in->unset(in->unset_data, name);
        rig__buf_puts(out, value ? value : "");
        free(name);
      }
    } else {
      return invalid(in);
    }
  }
  *pos = i;
  return RIG_OK;
}

int rig__interpolate(char **out, int *changed, char **error_message, const char *text,
                     rig__lookup_fn lookup, void *lookup_data,
                     void (*unset)(void *data, const char *name), void *unset_data)
{
  interp in = {text, 0, lookup, lookup_data, unset, unset_data, 0, RIG_OK, NULL};
  if (error_message)
    *error_message = NULL;
  if (!strchr(text, '$')) {
    *out = rig__strdup(text);
    if (changed)
      *changed = 0;
    return RIG_OK;
  }
  rig_buf buf = RIG_BUF_INIT;
  size_t pos = 0;
  int rc = substitute(&in, text, &pos, &buf, 1, 0);
  if (rc != RIG_OK) {
    rig__buf_dispose(&buf);
    if (error_message)
      *error_message = in.error;
    else
      free(in.error);
    return in.code ? in.code : rc;
  }
  *out = rig__buf_detach(&buf);
  if (changed)
    *changed = in.changed;
  return RIG_OK;
}

/* ---- the whole tree ---- */

typedef struct tree_walk {
  rig__compose_ctx *ctx;
  const rig__cnode *node; /* the scalar being interpolated, for the warning's position */
  rig__vec unset_names;
} tree_walk;

static const char *ctx_lookup(void *data, const char *name)
{
  tree_walk *walk = data;
  return rig__compose_lookup(walk->ctx, name);
}

static void on_unset(void *data, const char *name)
{
  tree_walk *walk = data;
  for (size_t i = 0; i < walk->unset_names.count; i++)
    if (strcmp(walk->unset_names.items[i], name) == 0)
      return;
  rig__vec_push(&walk->unset_names, rig__carena_strdup(walk->ctx->tmp, name));
  rig__compose_warn(walk->ctx, walk->node,
                    "the \"%s\" variable is not set; defaulting to a blank string", name);
}

static int copy_tree(tree_walk *walk, const rig__cnode *node, rig__cnode **out, int depth)
{
  rig__compose_ctx *ctx = walk->ctx;
  if (--ctx->node_budget < 0)
    return rig__compose_error(ctx, node, RIG_EPARSE,
                              "the document is too large once its aliases are expanded");
  if (depth > 512)
    return rig__compose_error(ctx, node, RIG_EPARSE,
                              "the document nests too deeply once its aliases are expanded");
  rig__cnode *copy = rig__cnode_copy(ctx->tmp, node);
  if (node->kind == RIG__CN_SCALAR) {
    if (!strchr(node->text, '$')) {
      *out = copy;
      return RIG_OK;
    }
    char *value = NULL, *message = NULL;
    int changed = 0;
    walk->node = node;
    int rc =
        rig__interpolate(&value, &changed, &message, node->text, ctx_lookup, walk, on_unset, walk);
    if (rc != RIG_OK) {
      rc = rig__compose_error(ctx, node, rc, "%s", message ? message : "invalid interpolation");
      free(message);
      return rc;
    }
    copy->len = strlen(value);
    copy->text = rig__carena_strndup(ctx->tmp, value, copy->len);
    copy->interpolated = (unsigned char)changed;
    free(value);
    *out = copy;
    return RIG_OK;
  }
  for (size_t i = 0; i < node->count; i++) {
    size_t mark = node->kind == RIG__CN_MAP ? rig__compose_path_push(ctx, node->keys[i]->text)
                                            : rig__compose_path_push_index(ctx, i);
    const rig__cnode *child = node->kind == RIG__CN_MAP ? node->values[i] : node->items[i];
    rig__cnode *child_copy = NULL;
    int rc = copy_tree(walk, child, &child_copy, depth + 1);
    rig__compose_path_pop(ctx, mark);
    if (rc != RIG_OK)
      return rc;
    if (node->kind == RIG__CN_MAP)
      copy->values[i] = child_copy;
    else
      copy->items[i] = child_copy;
  }
  *out = copy;
  return RIG_OK;
}

int rig__compose_interpolate_tree(rig__cnode **out, rig__compose_ctx *ctx, const rig__cnode *root)
{
  tree_walk walk = {ctx, NULL, {NULL, 0, 0}};
  rig__cnode *copy = NULL;
  int rc = copy_tree(&walk, root, &copy, 0);
  rig__vec_dispose(&walk.unset_names);
  if (rc == RIG_OK)
    *out = copy;
  return rc;
}
